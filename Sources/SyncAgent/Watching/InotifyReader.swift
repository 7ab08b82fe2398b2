import Foundation
import Logging
import LinuxPlatform

/// Reads and decodes inotify events on a thread of its own, and does nothing else: it takes
/// no lock the watch set needs, walks nothing and opens no repository. What it reads goes to
/// `deliver` (the agent posts it to its inbox, where the loop classifies it).
///
/// It holds back while `backlog` delivered events are not yet ``consumed(_:)``: a consumer
/// that stalls makes the kernel queue fill and overflow (reported as `IN_Q_OVERFLOW`, after
/// which every worktree is rescanned) instead of this process's memory grow.
///
/// Inert until ``start()``; ``stop()`` ends the thread and waits for it.
package final class InotifyReader: @unchecked Sendable {
    private let inotify: Inotify
    private let backlog: Int
    private let logger: Logger
    private let deliver: @Sendable ([InotifyEvent]) -> Void
    private let wake: WakeSignal
    private let condition = NSCondition()
    private var pending = 0
    private var stopping = false
    private let thread = OwnedThread(name: "imi-sync inotify")

    package init(
        inotify: Inotify, backlog: Int = 16_384, logger: Logger,
        deliver: @escaping @Sendable ([InotifyEvent]) -> Void
    ) throws(SystemCallError) {
        self.inotify = inotify
        self.backlog = backlog
        self.logger = logger
        self.deliver = deliver
        self.wake = try WakeSignal()
    }

    /// Starts the reader thread (once; not after `stop`).
    package func start() {
        guard !condition.withLock({ stopping }) else { return }
        thread.start { [self] in readLoop() }
    }

    /// Ends the reader thread and waits for it; a reader never started stays inert for good.
    package func stop() {
        condition.withLock {
            stopping = true
            condition.broadcast()
        }
        wake.wake()
        thread.join()
    }

    /// The consumer handled `count` delivered events.
    package func consumed(_ count: Int) {
        condition.withLock {
            pending = max(0, pending - count)
            condition.broadcast()
        }
    }

    private func readLoop() {
        while true {
            let go = condition.withLock {
                while pending >= backlog && !stopping { condition.wait() }
                return !stopping
            }
            guard go else { return }
            let ready: (descriptor: Bool, other: Bool)
            do {
                ready = try SystemCall.waitReadable(inotify.descriptor, or: wake.descriptor)
            } catch {
                logger.error("inotify reader stopped", metadata: ["error": "\(error)"])
                return
            }
            if ready.other { wake.drain() }
            guard ready.descriptor else { continue }
            do {
                let events = try inotify.readEvents()
                guard !events.isEmpty else { continue }
                condition.withLock { pending += events.count }
                deliver(events)
            } catch {
                logger.error("cannot read inotify events", metadata: ["error": "\(error)"])
                return
            }
        }
    }
}
