import Foundation

/// Everything that reaches the agent from other threads.
enum AgentInput: Sendable, Equatable {
    case watch(WatchSignal)
    /// A worktree or project was added, moved, deactivated or removed (LISTEN).
    case registryChanged
    /// The listening connection broke; the agent reconnects.
    case listenerLost(String)
    /// SIGHUP: re-read the configuration and the registry.
    case reload
    /// SIGTERM/SIGINT: flush and stop.
    case shutdown
}

/// A lock-protected queue with one waiting consumer (the agent loop). Producers never block.
final class Inbox: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [AgentInput] = []
    private var waiter: CheckedContinuation<Void, Never>?

    func post(_ input: AgentInput) {
        lock.lock()
        items.append(input)
        let waiter = self.waiter
        self.waiter = nil
        lock.unlock()
        waiter?.resume()
    }

    func drain() -> [AgentInput] {
        lock.withLock {
            defer { items = [] }
            return items
        }
    }

    /// Returns once something is queued or the task is cancelled.
    func waitForInput() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                lock.lock()
                if !items.isEmpty || Task.isCancelled {
                    lock.unlock()
                    continuation.resume()
                    return
                }
                waiter = continuation
                lock.unlock()
            }
        } onCancel: {
            lock.lock()
            let waiter = self.waiter
            self.waiter = nil
            lock.unlock()
            waiter?.resume()
        }
    }

    /// Waits for input or until `timeout` has passed on `clock`, whichever is first.
    func wait(timeout: Duration?, clock: AgentClock) async {
        guard let timeout else {
            await waitForInput()
            return
        }
        if timeout <= .zero { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitForInput() }
            group.addTask { try? await clock.sleep(timeout) }
            await group.next()
            group.cancelAll()
        }
    }
}
