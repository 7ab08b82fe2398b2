import Foundation
import SyncConfiguration

/// The agent's timings: defaults, then `[sync]` in config.toml, then flags; re-read on SIGHUP.
package struct AgentConfiguration: Equatable, Sendable {
    /// Quiet time after the last event before a worktree is probed.
    package var settle: Duration = .milliseconds(20)
    /// Longest a worktree waits for its probe while events keep coming.
    package var maxDelay: Duration = .milliseconds(1000)
    /// How often `last_sync_at` is refreshed for worktrees whose state is current.
    package var heartbeat: Duration = .seconds(300)
    /// How often every worktree is probed regardless of events (safety net).
    package var reconcile: Duration = .seconds(1800)
    /// Probe interval for worktrees that could not be watched (watch limit reached).
    package var pollInterval: Duration = .seconds(30)
    /// How often a vanished worktree directory is looked for.
    package var missingRecheck: Duration = .seconds(2)
    /// Reconnect waits: doubled per failure, capped.
    package var reconnect = Backoff(initial: .milliseconds(250), cap: .seconds(30))
    /// Keeping the registry's membership true (worktrees and clones added, moved, removed).
    package var membership = Membership()
    /// The overlap forecast: re-evaluated once a probed worktree has been quiet for `settle`,
    /// or `maxDelay` after its first unevaluated probe. The probes already settle edits into
    /// one, and a pass after a path-level probe updates one state and merges its pairs (a few
    /// ms), so the forecast waits little more than the probes do.
    package var forecastSettle: Duration = .milliseconds(30)
    package var forecastMaxDelay: Duration = .milliseconds(300)
    /// The legacy SQLite registry to follow during the dual-run period (`[database.fallback]
    /// enabled = true`); `nil` otherwise.
    package var followedLegacyRegistry: String?

    package struct Membership: Equatable, Sendable {
        /// Off: `run` only syncs the git state of rows others registered.
        package var enabled = true
        /// Walked for new clones (absolute, symbolic links resolved); the repositories of
        /// registered worktrees are watched wherever they are.
        package var roots: [String] = []
        package var depthLimit = 6
        /// Quiet time after a membership event before the registry is compared with the disk.
        package var settle: Duration = .milliseconds(150)
        /// Wait before looking again at a directory that was not a repository yet (a clone
        /// in progress).
        package var retry: Duration = .milliseconds(500)
    }

    /// Applies the `[sync]` table of config.toml; a value that is not positive is refused.
    package mutating func apply(_ sync: ConfigFile.Sync, path: String) throws {
        func positive(_ value: Int64?, _ key: ConfigFile.Sync.CodingKeys) throws -> Int64? {
            guard let value else { return nil }
            guard value > 0 else { throw ConfigError("\(path): sync.\(key.rawValue) must be a positive integer, got \(value)") }
            return value
        }
        if let value = try positive(sync.settleMs, .settleMs) { settle = .milliseconds(value) }
        if let value = try positive(sync.maxDelayMs, .maxDelayMs) { maxDelay = .milliseconds(value) }
        if let value = try positive(sync.heartbeatSeconds, .heartbeatSeconds) { heartbeat = .seconds(value) }
        if let value = try positive(sync.reconcileSeconds, .reconcileSeconds) { reconcile = .seconds(value) }
        if let value = try positive(sync.pollSeconds, .pollSeconds) { pollInterval = .seconds(value) }
        if let value = try positive(sync.reconnectCapSeconds, .reconnectCapSeconds) { reconnect.cap = .seconds(value) }
        _ = try positive(sync.versionPollMs, .versionPollMs)
    }

    package init(settle: Duration = .milliseconds(20), maxDelay: Duration = .milliseconds(1000), heartbeat: Duration = .seconds(300), reconcile: Duration = .seconds(1800), pollInterval: Duration = .seconds(30), missingRecheck: Duration = .seconds(2),
        reconnect: Backoff = Backoff(initial: .milliseconds(250), cap: .seconds(30)), membership: Membership = Membership(),
        forecastSettle: Duration = .milliseconds(30), forecastMaxDelay: Duration = .milliseconds(300), followedLegacyRegistry: String? = nil) {
        self.settle = settle
        self.maxDelay = maxDelay
        self.heartbeat = heartbeat
        self.reconcile = reconcile
        self.pollInterval = pollInterval
        self.missingRecheck = missingRecheck
        self.reconnect = reconnect
        self.membership = membership
        self.forecastSettle = forecastSettle
        self.forecastMaxDelay = forecastMaxDelay
        self.followedLegacyRegistry = followedLegacyRegistry
    }
}
