import Foundation

/// The one way a long-lived part of imi-sync runs on a thread of its own (the agent's loop,
/// the inotify reader, the LISTEN thread, the MCP stdin reader).
///
/// Nothing starts in an initializer: the owner calls ``start(_:)`` once, and the thread runs
/// its work until the work returns. How the work is asked to end belongs to the owner — a
/// wake pipe for a thread in `poll`, `.shutdown` in the agent's inbox — and the owner's
/// `stop()` asks, then ``join()``s. Joining a thread that never started returns at once, so
/// stopping an owner that was never started is harmless.
package final class OwnedThread: @unchecked Sendable {
    private enum Phase { case idle, running, finished }

    private let name: String
    private let condition = NSCondition()
    private var phase = Phase.idle
    private var waiters: [CheckedContinuation<Void, Never>] = []

    package init(name: String) {
        self.name = name
    }

    /// Runs `work` on a new thread; false (and nothing runs) when it was started before.
    @discardableResult
    package func start(_ work: @escaping @Sendable () -> Void) -> Bool {
        let starting = condition.withLock { () -> Bool in
            guard phase == .idle else { return false }
            phase = .running
            return true
        }
        guard starting else { return false }
        let thread = Thread { [self] in
            work()
            finish()
        }
        thread.name = name
        thread.start()
        return true
    }

    package var isStarted: Bool { condition.withLock { phase != .idle } }

    /// Blocks until the work has returned; at once when it never started or already ended.
    package func join() {
        condition.withLock {
            while phase == .running { condition.wait() }
        }
    }

    /// Waits, without blocking a thread, until the work has returned.
    package func joined() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = condition.withLock { () -> Bool in
                guard phase == .running else { return true }
                waiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }

    private func finish() {
        let waiting = condition.withLock { () -> [CheckedContinuation<Void, Never>] in
            phase = .finished
            condition.broadcast()
            defer { waiters = [] }
            return waiters
        }
        waiting.forEach { $0.resume() }
    }
}
