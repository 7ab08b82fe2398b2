import Foundation
import Logging
import Synchronization
import LinuxPlatform

/// What the agent reports about itself: the counters tests and the benchmark read, and the
/// one line systemd shows (`STATUS=`), sent only when it changes.
package final class AgentStatus: Sendable {
    /// A snapshot of the agent, safe to read from any thread.
    package struct Statistics: Sendable, Equatable {
        package var probes = 0
        /// Of those, probes answered by a status of the changed paths alone.
        package var pathProbes = 0
        /// Non-clean paths remembered for path-level probes, over all worktrees.
        package var rememberedEntries = 0
        /// Overlap forecast passes, and the pairs they merged.
        package var forecastPasses = 0
        package var pairsMerged = 0
        package var flushes = 0
        package var rowsWritten = 0
        package var lastWrite: Date?
        package var watchedWorktrees = 0
        package var watches = 0
        package var polledWorktrees = 0
        package var missingWorktrees = 0
        /// Registered paths that exist but are not readable git worktrees.
        package var unreadableWorktrees = 0
        /// Worktrees with changes not yet probed.
        package var dirtyWorktrees = 0
        /// Probed states not yet written (kept while the database is away or refuses them).
        package var pendingStates = 0
        /// Pending states the server refused to store; retried with backoff.
        package var refusedStates = 0
        /// Worktrees whose last probe was given up (blocked opening a FIFO, or too slow).
        package var blockedWorktrees = 0
        /// The worktrees any stage keeps something for (forgetting one must empty it of it).
        package var worktreesKept: Set<String> = []
        /// Flushes in which the server refused at least one state.
        package var refusedFlushes = 0
        package var databaseUp = false
        /// Why the database role may not act for the host the agent names (its writes are refused).
        package var hostProblem: String?
        /// Connection attempts so far (the first one included).
        package var connectAttempts = 0
        /// Kernel queue overflows handled by rescanning everything.
        package var overflows = 0
        /// Heartbeats that refreshed `last_sync_at`.
        package var heartbeats = 0
        /// Membership passes run (walks of the roots and reads of one repository).
        package var membershipPasses = 0
        /// Rows those passes registered, repaired, reactivated or deactivated.
        package var membershipChanges = 0
        /// Dual-run imports of the legacy registry, and the rows they brought.
        package var legacyImports = 0
        package var legacyRowsImported = 0
        /// Periodic reconciles done.
        package var reconciles = 0
        /// When the loop next wakes on its own (agent clock); `nil` while it has no deadline.
        package var nextWake: Duration?
        package var ready = false
    }

    private let snapshot = Mutex(Statistics())
    private let lastLine = Mutex("")
    private let notifier: SystemdNotifier?
    private let logger: Logger

    package init(notifier: SystemdNotifier?, logger: Logger) {
        self.notifier = notifier
        self.logger = logger
    }

    package var current: Statistics { snapshot.withLock { $0 } }

    /// Stores `statistics` and sends `STATUS=` when its line changed.
    package func publish(_ statistics: Statistics, watchLimit: Int?) {
        snapshot.withLock { $0 = statistics }
        guard notifier != nil else { return }
        let line = Self.statusLine(statistics, watchLimit: watchLimit)
        let changed = lastLine.withLock { last in
            defer { last = line }
            return last != line
        }
        if changed { notify(["STATUS=" + line]) }
    }

    /// Sends sd_notify assignments (READY=1, WATCHDOG=1, STOPPING=1) when run by systemd.
    package func notify(_ assignments: [String]) {
        guard let notifier else { return }
        do {
            try notifier.send(assignments)
        } catch {
            logger.debug("sd_notify failed", metadata: ["error": "\(error)"])
        }
    }

    /// The one line systemd shows in `systemctl --user status imi-sync`.
    package static func statusLine(_ statistics: Statistics, watchLimit: Int?) -> String {
        var parts = [
            "\(statistics.watchedWorktrees) worktrees watched",
            "\(statistics.watches)/\(watchLimit.map(String.init) ?? "?") inotify watches",
        ]
        if statistics.polledWorktrees > 0 { parts.append("\(statistics.polledWorktrees) polled") }
        if statistics.missingWorktrees > 0 { parts.append("\(statistics.missingWorktrees) missing") }
        if statistics.blockedWorktrees > 0 {
            parts.append("\(statistics.blockedWorktrees) blocked (probe given up, see the log)")
        }
        if statistics.unreadableWorktrees > 0 {
            parts.append("\(statistics.unreadableWorktrees) not git worktrees")
        }
        if let lastWrite = statistics.lastWrite {
            parts.append("last write \(lastWrite.formatted(.iso8601.time(includingFractionalSeconds: false)))Z")
        } else {
            parts.append("no write yet")
        }
        if statistics.refusedStates > 0 {
            parts.append("\(statistics.refusedStates) states refused by the registry, retrying")
        }
        if let hostProblem = statistics.hostProblem {
            // The problem's first clause: "role R may not act for host 'H'".
            parts.append(String(hostProblem.prefix { $0 != ":" }) + ", its writes are refused")
        }
        parts.append(statistics.databaseUp ? "database up" : "database unreachable, retrying")
        return parts.joined(separator: "; ")
    }
}
