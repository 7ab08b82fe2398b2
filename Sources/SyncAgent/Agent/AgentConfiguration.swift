import Foundation

/// The agent's timings; read from flags and an optional `key = value` file, re-read on SIGHUP.
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

    /// The keys a configuration file may set, with what they mean.
    static let fileKeys: [String: String] = [
        "settle_ms": "quiet time before probing a changed worktree",
        "max_delay_ms": "longest delay before probing a worktree with ongoing changes",
        "heartbeat_seconds": "how often last_sync_at is refreshed",
        "reconcile_seconds": "how often every worktree is re-read regardless of events",
        "poll_seconds": "poll interval for worktrees that could not be watched",
        "reconnect_cap_seconds": "longest wait between reconnection attempts",
    ]

    /// Applies `key = value` lines (`#` starts a comment); unknown keys and bad numbers throw.
    mutating func apply(fileContents: String, path: String) throws {
        for (number, rawLine) in fileContents.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0]
                .trimmingCharacters(in: .whitespaces)
            if line.isEmpty { continue }
            let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, let value = Int64(parts[1]), value > 0 else {
                throw ConfigurationError("\(path):\(number + 1): expected `key = positive integer`")
            }
            switch parts[0] {
            case "settle_ms": settle = .milliseconds(value)
            case "max_delay_ms": maxDelay = .milliseconds(value)
            case "heartbeat_seconds": heartbeat = .seconds(value)
            case "reconcile_seconds": reconcile = .seconds(value)
            case "poll_seconds": pollInterval = .seconds(value)
            case "reconnect_cap_seconds": reconnect.cap = .seconds(value)
            default:
                throw ConfigurationError(
                    "\(path):\(number + 1): unknown key \(parts[0]) (known: "
                        + Self.fileKeys.keys.sorted().joined(separator: ", ") + ")")
            }
        }
    }

    /// `$XDG_CONFIG_HOME/imi/sync.conf`, else `~/.config/imi/sync.conf`.
    static func defaultFilePath(environment: [String: String]) -> String {
        let base = environment["XDG_CONFIG_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (environment["HOME"] ?? NSHomeDirectory()) + "/.config"
        return base + "/imi/sync.conf"
    }
}

/// A configuration file that cannot be used, with the file and line.
struct ConfigurationError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
