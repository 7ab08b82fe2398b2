import Foundation
import GitProbe
import Logging
import PostgresClient
import RegistryClient
import Synchronization
import LinuxPlatform
import WorktreeMembership

/// `imi-sync run`'s engine: a thread that waits, drains the inbox and calls the stages.
///
///     inotify event (InotifyReader) -> inbox -> WatchStage (WorktreeWatcher classifies)
///     -> ProbeStage (debounce schedule, then WorktreeProber) -> changed state (StateLedger)
///     -> one batched write + NOTIFY (RegistrySession.flush) -> ForecastStage
///
/// Beside them: MembershipStage (worktrees and clones coming and going, the legacy file) and
/// PeriodicStage (heartbeat, reconcile, watchdog). Each stage owns its state and its next
/// deadline; the loop sleeps until the earliest of them or until input arrives, so an idle
/// agent wakes only for the heartbeat and the systemd watchdog. Every libpq call and every
/// libgit2 probe runs on (or, for probes, is waited for by) this thread, never a thread of
/// Swift's cooperative pool; other threads (the inotify reader, the LISTEN connection,
/// signal handlers) only post to ``inbox``.
package final class AgentLoop: @unchecked Sendable {
    package typealias Statistics = AgentStatus.Statistics

    package let inbox = Inbox()
    package let status: AgentStatus
    private let context: AgentContext
    private let loadConfiguration: @Sendable () throws -> AgentConfiguration
    private let loadConnectionSettings: (@Sendable () throws -> ConnectionSettings)?
    private let clock: AgentClock
    private let host: HostScope
    private let backoff: ReloadableBox<Backoff>
    /// The heartbeat interval the session advertises on the host row; a reload changes it.
    private let heartbeatInterval: ReloadableBox<Duration>
    private var forecast: ForecastStage!
    private var probe: ProbeStage!
    private var watch: WatchStage!
    private var membership: MembershipStage!
    private var periodic: PeriodicStage!
    /// Every stage, in the order a step runs them.
    private var stages: [any AgentStage] = []
    private var loadedRegistry = false
    private var stopRequestedAt: Duration?
    /// How long the probes still due at shutdown may take before the agent stops anyway.
    private static let stopPatience: Duration = .seconds(10)

    package init(
        settings: ConnectionSettings,
        configuration: AgentConfiguration,
        loadConfiguration: @escaping @Sendable () throws -> AgentConfiguration,
        loadConnectionSettings: (@Sendable () throws -> ConnectionSettings)? = nil,
        clock: any Clock<Duration>,
        logger: Logger,
        notifier: SystemdNotifier? = nil,
        watchdogInterval: Duration? = nil,
        watchLimit: Int? = nil,
        legacyPath: String? = nil,
        host: HostScope,
        pooling: PoolingMode = .auto,
        listenSettings: ConnectionSettings? = nil,
        versionPoll: Duration = .seconds(1),
        hubPath: String? = nil,
        metrics: AgentMetrics? = nil
    ) {
        self.loadConfiguration = loadConfiguration
        self.loadConnectionSettings = loadConnectionSettings
        self.clock = AgentClock(clock)
        self.host = host
        self.status = AgentStatus(notifier: notifier, logger: logger)
        let backoff = ReloadableBox(configuration.reconnect)
        let heartbeat = ReloadableBox(configuration.heartbeat)
        self.backoff = backoff
        self.heartbeatInterval = heartbeat
        let session = RegistrySession(
            settings: settings, host: host, heartbeat: { heartbeat.value }, backoff: { backoff.value },
            inbox: inbox, logger: logger, legacyPath: legacyPath, pooling: pooling, listenSettings: listenSettings,
            versionPoll: versionPoll)
        session.metrics = metrics
        context = AgentContext(configuration: configuration, logger: logger, session: session)
        forecast = ForecastStage(context: context)
        probe = ProbeStage(context: context, forecast: forecast) { [unowned self] in keepAlive() }
        watch = WatchStage(context: context, probe: probe, forecast: forecast, watchLimit: watchLimit)
        membership = MembershipStage(context: context, watch: watch)
        periodic = PeriodicStage(
            context: context, probe: probe, watch: watch, status: status, watchdogInterval: watchdogInterval,
            start: self.clock.now())
        watch.onMembership = { [unowned self] trigger, now in membership.schedule(trigger, at: now) }
        membership.onRegistryChanged = { [unowned self] now in followRegistry(at: now) }
        stages = [membership, watch, probe, forecast, periodic]
        if let hubPath {
            let inbox = self.inbox
            do {
                hub = try AgentHubService(
                    path: hubPath, shared: session.shared, hostName: host.name, database: settings.redactedDescription,
                    logger: logger, wake: { inbox.post(.tick) })
            } catch {
                logger.warning("cannot open the hub for local mcp sessions; they connect on their own", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Where the host's mcp sessions reach the agent (`nil`: they connect on their own).
    private var hub: AgentHubService?

    /// A snapshot of the counters; safe from any thread.
    package var currentStatistics: Statistics { status.current }

    // MARK: Running

    /// Starts the loop on a thread of its own, at once (not from a task the cooperative pool
    /// may be too busy to run). It runs until `.shutdown` is posted and flushes before it ends.
    package func start() {
        thread.start { [self] in loop() }
    }

    /// Asks the loop to shut down (it flushes first) and waits until it has stopped; at once
    /// for a loop never started.
    package func stop() async {
        inbox.post(.shutdown)
        await thread.joined()
    }

    /// Starts the loop and returns once it has stopped; cancelling the task shuts it down.
    package func run() async {
        start()
        await withTaskCancellationHandler {
            await thread.joined()
        } onCancel: {
            inbox.post(.shutdown)
        }
    }

    /// Waits (without blocking a thread) until the loop has stopped.
    package func waitUntilStopped() async {
        await thread.joined()
    }

    private let thread = OwnedThread(name: "imi-sync agent")

    private func loop() {
        watch.start(posting: inbox)
        startHub()
        while !context.stopping {
            step(at: clock.now())
            if context.stopping { break }
            let deadline = (stages.compactMap(\.nextDeadline) + [context.session.nextDeadline].compactMap { $0 }).min()
            publishStatus(nextWake: deadline)
            clock.wait(until: deadline, on: inbox)
            // A scan registering a thousand rows sends a thousand notifications: one re-read.
            var registryChanged = false
            for input in inbox.drain() {
                if input == .registryChanged {
                    registryChanged = true
                } else {
                    handle(input, at: clock.now())
                }
            }
            if registryChanged { followRegistry(at: clock.now()) }
        }
        shutDown()
    }

    /// Does everything that is due at `now`: connecting, then each stage whose deadline
    /// passed (the probe stage's states are written right after it), then readiness.
    private func step(at now: Duration) {
        let session = context.session
        // The connection broke under a local mcp session's call through the hub.
        if let lost = session.shared.takeBroken() { session.lost(lost, at: now) }
        if let listed = session.connectIfDue(at: now) {
            loadedRegistry = true
            periodic.connected(at: now)
            apply(listed, at: now)
            // Worktrees may have come or gone while the agent was away, and the old CLI written.
            membership.scheduleAll(at: now)
        }
        // Behind a transaction pooler without listen_url: the registry version, polled.
        if session.pollVersionIfDue(at: now) { followRegistry(at: now) }
        for stage in stages {
            if let due = stage.nextDeadline, now >= due { stage.runDue(at: now) }
            if stage === probe { session.flush(at: now) }
        }
        if session.isConnected, loadedRegistry, !context.ready, probe.isIdle, session.ledger.pending.isEmpty,
            membership.walkedOnce
        {
            becomeReady(at: now)
        }
    }

    /// Called while probes run: keeps the watchdog, and stops waiting when a shutdown
    /// arrives (or, when stopping, after ``stopPatience``).
    private func keepAlive() -> Bool {
        let now = clock.now()
        periodic.pingWatchdog(at: now)
        if let stopRequestedAt { return now - stopRequestedAt < Self.stopPatience }
        return !inbox.contains(.shutdown)
    }

    private func becomeReady(at now: Duration) {
        context.ready = true
        periodic.heartbeat(at: now)
        context.logger.notice(
            "first full sync done; watching for changes",
            metadata: [
                "worktrees.count": "\(context.worktrees.count)",
                "inotify.watches": "\(watch.watchCount)",
                "inotify.limit": "\(watch.watchLimitNow.map(String.init) ?? "unknown")",
            ])
        status.notify(["READY=1"])
        // The first sync probed everything on many threads; give their freed malloc arenas
        // back to the system so the resident size reflects the steady state.
        releaseFreedMemory()
    }

    private func handle(_ input: AgentInput, at now: Duration) {
        switch input {
        case .inotify(let events):
            watch.handle(events, at: now)
        case .registryChanged:
            followRegistry(at: now)
        case .listenerLost(let reason):
            context.session.lost(PostgresError(.connection, reason), at: now)
        case .reload:
            reload(at: now)
        case .shutdown:
            context.stopping = true
            stopRequestedAt = now
        case .tick:
            break
        }
    }

    // MARK: The registry's list of worktrees

    /// Reads this host's worktrees again and follows them.
    private func followRegistry(at now: Duration) {
        if let listed = context.session.activeWorktrees(at: now) { apply(listed, at: now) }
    }

    /// Starts watching new worktrees, forgets removed ones (in every stage, one call each),
    /// re-watches moved ones.
    private func apply(_ listed: [RegisteredWorktree], at now: Duration) {
        let (removed, changed) = context.worktrees.replace(with: listed)
        for worktree in removed {
            forget(worktree.id)
            context.logger.info("stopped watching a worktree removed from the registry",
                                metadata: ["worktree.id": "\(worktree.id)", "worktree.path": "\(worktree.path)"])
        }
        watch.watchAll(changed, at: now)
    }

    /// Forgets `id` everywhere: each stage, and the session's ledger.
    private func forget(_ id: String) {
        for stage in stages { stage.forget(id) }
        context.session.forget(id)
    }

    private func reload(at now: Duration) {
        let logger = context.logger
        do {
            let configuration = try loadConfiguration()
            context.configuration = configuration
            backoff.value = configuration.reconnect
            if heartbeatInterval.value != configuration.heartbeat {
                heartbeatInterval.value = configuration.heartbeat
                // Other hosts judge this one stale by the interval on its row: say the new one.
                _ = context.session.withRegistry(.heartbeat, at: now) { [host] registry, _ in
                    try host.register(on: registry, heartbeat: configuration.heartbeat)
                }
            }
            for stage in stages { stage.reload(configuration, at: now) }
            logger.notice("configuration reloaded")
        } catch {
            logger.error("cannot reload the configuration; keeping the current one", metadata: ["error": "\(error)"])
        }
        if let loadConnectionSettings {
            do {
                context.session.reload(try loadConnectionSettings(), at: now)
            } catch {
                logger.error("cannot reload the database settings; keeping the current ones",
                             metadata: ["error": "\(error)"])
            }
        }
        // A reload also retries worktrees that could not be watched (e.g. after raising the limit).
        watch.retry([.polled, .missing, .unreadable], at: now)
        followRegistry(at: now)
    }

    private func startHub() {
        guard let hub else { return }
        do {
            try hub.start()
            context.session.pushes.send { [hub] event in hub.push(event) }
            context.logger.info("serving local mcp sessions", metadata: ["socket": "\(hub.path)"])
        } catch {
            context.logger.warning("cannot serve local mcp sessions; they connect on their own", metadata: ["error": "\(error)"])
            self.hub = nil
        }
    }

    private func shutDown() {
        status.notify(["STOPPING=1"])
        context.session.pushes.send { _ in }
        hub?.stop()
        probe.probeRemaining()
        let session = context.session
        session.flush(at: clock.now())
        session.stop()
        watch.stop()
        publishStatus(nextWake: nil)
        if session.ledger.pending.isEmpty {
            context.logger.notice("stopped; every state read was written")
        } else {
            context.logger.warning(
                "stopped with states the registry did not receive (database unreachable)",
                metadata: ["pending.count": "\(session.ledger.pending.count)"])
        }
    }

    // MARK: Status

    private func publishStatus(nextWake: Duration?) {
        let session = context.session
        let counters = session.counters
        var statistics = Statistics()
        for stage in stages {
            stage.report(into: &statistics)
            statistics.worktreesKept.formUnion(stage.keptWorktrees)
        }
        statistics.worktreesKept.formUnion(session.ledger.pending.keys)
        statistics.worktreesKept.formUnion(session.ledger.stored.keys)
        statistics.flushes = counters.flushes
        statistics.rowsWritten = counters.rowsWritten
        statistics.lastWrite = counters.lastWrite
        statistics.pendingStates = session.ledger.pending.count
        statistics.refusedStates = session.refusedIDs.count
        statistics.refusedFlushes = counters.refusedFlushes
        statistics.databaseUp = session.isConnected
        statistics.hostProblem = session.hostProblem
        statistics.connectAttempts = counters.connectAttempts
        statistics.heartbeats = counters.heartbeats
        statistics.nextWake = nextWake
        statistics.ready = context.ready
        status.publish(statistics, watchLimit: watch.watchLimitNow)
    }
}


/// A setting shared by the loop (which reloads it) and the session (which reads it); both
/// run on the loop's thread.
package final class ReloadableBox<Value>: @unchecked Sendable {
    package var value: Value
    package init(_ value: Value) { self.value = value }
}
