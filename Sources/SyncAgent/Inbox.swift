import Foundation
import LinuxPlatform

/// Everything that reaches the agent loop from other threads.
package enum AgentInput: Sendable, Equatable {
    /// Events the inotify reader read, for the watcher to classify on the loop's thread.
    case inotify([InotifyEvent])
    /// A worktree or project was added, moved, deactivated or removed (LISTEN).
    case registryChanged
    /// The listening connection broke; the agent reconnects.
    case listenerLost(String)
    /// SIGHUP: re-read the configuration and the registry.
    case reload
    /// SIGTERM/SIGINT: flush and stop.
    case shutdown
    /// A deadline on a clock the loop cannot wait on directly has passed (see ``AgentClock``).
    case tick
}

/// A queue with one waiting consumer, the agent loop's thread, which blocks on a condition
/// variable: waiting never occupies a thread of Swift's cooperative pool. Producers (the
/// inotify reader, the LISTEN thread, signal handlers) never block.
package final class Inbox: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [AgentInput] = []

    package func post(_ input: AgentInput) {
        condition.withLock {
            items.append(input)
            condition.signal()
        }
    }

    /// Removes and returns everything queued.
    package func drain() -> [AgentInput] {
        condition.withLock {
            defer { items = [] }
            return items
        }
    }

    /// True when `input` is queued (not yet drained); lets a long wait notice a shutdown.
    package func contains(_ input: AgentInput) -> Bool {
        condition.withLock { items.contains(input) }
    }

    /// Blocks until something is queued or `timeout` of real time has passed (`nil`: no
    /// limit). A wait is at most 30 s at a time, so a wall-clock step backwards cannot
    /// stretch it; the caller works out its deadlines again after each wake-up anyway.
    package func wait(timeout: Duration?) {
        condition.withLock {
            guard items.isEmpty else { return }
            let slice = min(timeout ?? .seconds(30), .seconds(30))
            guard slice > .zero else { return }
            let seconds = Double(slice.components.seconds) + Double(slice.components.attoseconds) / 1e18
            _ = condition.wait(until: Date(timeIntervalSinceNow: seconds))
        }
    }
}
