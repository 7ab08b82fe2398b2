import AgentHub
import ArgumentParser
import Foundation
import GitProbe
import Logging
import PostgresClient
import RegistryClient
import ServiceLifecycle
import LinuxPlatform
import RegistryServe
import SyncConfiguration
import SyncAgent
import WorktreeMembership

/// `imi-sync run`: the background agent that keeps every worktree's git state current.
struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Watch every active worktree and keep its git state in the registry current.",
        discussion: """
            Meant to run as the systemd user service deploy/imi-sync.service (Type=notify). \
            Worktrees are watched with inotify (git-ignored directories cost no watch) and \
            probed with libgit2 once a burst of changes settles; only rows whose state changed \
            are written, and their ids are sent with NOTIFY imi_worktree_state. Registry \
            changes arrive through LISTEN imi_registry_changed (migration 004). A database \
            outage is survived: the latest state per worktree is kept and written on reconnect. \
            SIGTERM/SIGINT flush and stop; SIGHUP re-reads config.toml (timings and database \
            settings, reconnecting when they changed) and the registry.

            Membership: the agent also keeps the registry's rows true as worktrees come and \
            go. It watches each registered repository's .git/worktrees/ and the directories \
            of the roots above the worktrees (roots as for `imi-sync scan`), so `git worktree \
            add` is registered and synced, `git worktree remove` or `prune` deactivates the \
            row, a moved worktree keeps its row, and a new clone under a root is registered, \
            each within about a second. Symbolic links are never followed. --no-membership \
            turns this off.

            Dual-run: with [database.fallback] enabled = true in config.toml, the legacy \
            SQLite registry (its path) is watched too, and what the old iMi CLI adds to it is \
            imported within about a second, with migrate's rules: rows imported before are \
            never overwritten, a row that cannot be imported goes to legacy_quarantine, and a \
            worktree the agent already registered from disk is matched by its path.

            Timings come from the [sync] table of config.toml: settle_ms, max_delay_ms, \
            heartbeat_seconds, reconcile_seconds, poll_seconds, reconnect_cap_seconds; the \
            flags below override them.
            """)

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "Quiet time in milliseconds before a changed worktree is probed.")
    var settleMs: Int64?

    @Option(name: .long, help: "Longest delay in milliseconds before a busy worktree is probed.")
    var maxDelayMs: Int64?

    @Option(name: .long, help: "Serve Prometheus /metrics on this loopback HOST:PORT ([agent] metrics_listen).")
    var metricsListen: String?

    @Option(name: .long, help: "Seconds between full reconciles of every worktree.")
    var reconcileSeconds: Int64?

    @Option(name: .long, help: "Seconds between last_sync_at heartbeats.")
    var heartbeatSeconds: Int64?

    @Flag(name: .long, help: "Do not register, move or deactivate rows; only sync git state.")
    var noMembership = false

    func validate() throws {
        for (name, value) in [
            ("--settle-ms", settleMs), ("--max-delay-ms", maxDelayMs),
            ("--reconcile-seconds", reconcileSeconds), ("--heartbeat-seconds", heartbeatSeconds),
        ] {
            if let value, value <= 0 { throw ValidationError("\(name) must be positive") }
        }
    }

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let journal = JournalLogHandler.stderrIsJournal(environment: environment)
        let level = global.logLevel
        var logger = Logger(label: "imi-sync") { label in
            var handler = JournalLogHandler(label: label, journal: journal)
            handler.logLevel = level
            return handler
        }
        logger.logLevel = level
        GitLibrary.initialize()

        let resolved = try global.resolvedConfig()
        let settings = resolved.backgroundConnectionSettings
        let configuration = try loadConfiguration(environment: environment)
        let flags = self
        let metricsAddress = try (metricsListen ?? resolved.metricsListen.value).map { listen in
            let (host, port) = try Serve.address(listen)
            guard ServeSettings.isLoopback(host) else {
                throw ConfigError("metrics_listen \(listen): /metrics is served on loopback only (scrape it there, or through a proxy that authenticates)")
            }
            return (host, port)
        }
        let metrics = metricsAddress.map { _ in AgentMetrics() }
        let agent = AgentLoop(
            settings: settings,
            configuration: configuration,
            loadConfiguration: { try flags.loadConfiguration(environment: environment) },
            loadConnectionSettings: { try flags.global.resolvedConfig().backgroundConnectionSettings },
            clock: ContinuousClock(),
            logger: logger,
            notifier: SystemdNotifier(environment: environment),
            watchdogInterval: SystemdNotifier.watchdogInterval(environment: environment),
            legacyPath: resolved.legacyPath.value,
            host: HostScope(name: resolved.hostName.value),
            pooling: resolved.pooling.value,
            listenSettings: resolved.listenConnectionSettings,
            versionPoll: .milliseconds(resolved.sync.versionPollMs ?? 1000),
            hubPath: hubPath(host: resolved.hostName.value, environment: environment, logger: logger),
            metrics: metrics)
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: AgentService(agent: agent), successTerminationBehavior: .gracefullyShutdownGroup),
            .init(service: ReloadOnHangup(inbox: agent.inbox)),
        ]
        if let metrics, let (host, port) = metricsAddress {
            services.append(.init(service: MetricsApplication.make(host: host, port: port, logger: logger) {
                metrics.scrape(agent.currentStatistics)
            }))
        }

        // The agent ends the group when it has flushed and stopped; SIGHUP is a reload.
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: services,
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
    }

    /// The socket local mcp sessions reach this agent on, in the user's runtime directory.
    func hubPath(host: String, environment: [String: String], logger: Logger) -> String? {
        switch RuntimeDirectory.prepare(environment: environment) {
        case .success(let directory):
            return HubSocket.path(directory: directory, host: host)
        case .failure(let problem):
            logger.warning("no runtime directory for the hub; mcp sessions connect on their own", metadata: ["error": "\(problem)"])
            return nil
        }
    }

    /// Defaults, then `[sync]` in config.toml, then flags.
    func loadConfiguration(environment: [String: String]) throws -> AgentConfiguration {
        var configuration = AgentConfiguration()
        let resolved = try global.resolvedConfig()
        try configuration.apply(resolved.sync, path: resolved.configPath)
        configuration.membership.enabled = !noMembership
        configuration.membership.roots = MembershipScan.canonical(resolved.roots.value)
        configuration.membership.depthLimit = resolved.scanDepth.value
        if resolved.fallbackEnabled.value { configuration.followedLegacyRegistry = resolved.legacyPath.value }
        if let settleMs { configuration.settle = .milliseconds(settleMs) }
        if let maxDelayMs { configuration.maxDelay = .milliseconds(maxDelayMs) }
        if let reconcileSeconds { configuration.reconcile = .seconds(reconcileSeconds) }
        if let heartbeatSeconds { configuration.heartbeat = .seconds(heartbeatSeconds) }
        return configuration
    }
}
