import Foundation

/// The agent's timings: defaults, then `[sync]` in config.toml, then flags; re-read on SIGHUP.
struct AgentConfiguration: Equatable, Sendable {
    /// Quiet time after the last event before a worktree is probed.
    var settle: Duration = .milliseconds(60)
    /// Longest a worktree waits for its probe while events keep coming.
    var maxDelay: Duration = .milliseconds(1000)
    /// How often `last_sync_at` is refreshed for worktrees whose state is current.
    var heartbeat: Duration = .seconds(300)
    /// How often every worktree is probed regardless of events (safety net).
    var reconcile: Duration = .seconds(1800)
    /// Probe interval for worktrees that could not be watched (watch limit reached).
    var pollInterval: Duration = .seconds(30)
    /// How often a vanished worktree directory is looked for.
    var missingRecheck: Duration = .seconds(2)
    /// Reconnect waits: doubled per failure, capped.
    var reconnect = Backoff(initial: .milliseconds(250), cap: .seconds(30))
    /// Keeping the registry's membership true (worktrees and clones added, moved, removed).
    var membership = Membership()
    /// The overlap forecast: re-evaluated once a probed worktree has been quiet for `settle`,
    /// or `maxDelay` after its first unevaluated probe (it costs a full status of the
    /// worktree and of each partner, so it runs less often than probes).
    var forecastSettle: Duration = .milliseconds(100)
    var forecastMaxDelay: Duration = .milliseconds(600)
    /// The legacy SQLite registry to follow during the dual-run period (`[database.fallback]
    /// enabled = true`); `nil` otherwise.
    var followedLegacyRegistry: String?

    struct Membership: Equatable, Sendable {
        /// Off: `run` only syncs the git state of rows others registered.
        var enabled = true
        /// Walked for new clones (absolute, symbolic links resolved); the repositories of
        /// registered worktrees are watched wherever they are.
        var roots: [String] = []
        var depthLimit = 6
        /// Quiet time after a membership event before the registry is compared with the disk.
        var settle: Duration = .milliseconds(150)
        /// Wait before looking again at a directory that was not a repository yet (a clone
        /// in progress).
        var retry: Duration = .milliseconds(500)
    }

    /// Applies the `[sync]` table of config.toml; a value that is not positive is refused.
    mutating func apply(_ sync: ConfigFile.Sync, path: String) throws {
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
    }
}
