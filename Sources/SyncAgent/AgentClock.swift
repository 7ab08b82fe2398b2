/// The injected clock, reduced to what the agent loop needs: time since start, and a way to
/// wait on its thread until a deadline on that clock or until input arrives.
///
/// Built from any `Clock<Duration>`, so every debounce, backoff and heartbeat in the agent
/// follows the clock the caller chose. For the real clocks the loop waits on its own condition
/// variable; for any other (a test's manual clock) a task sleeps on that clock and posts a
/// `.tick` when the deadline is reached.
package struct AgentClock: Sendable {
    package let now: @Sendable () -> Duration
    private let sleep: @Sendable (Duration) async throws -> Void
    private let isRealTime: Bool

    package init(_ clock: any Clock<Duration>) {
        self.init(opening: clock)
    }

    private init<C: Clock<Duration>>(opening clock: C) {
        let start = clock.now
        now = { start.duration(to: clock.now) }
        sleep = { duration in try await clock.sleep(for: duration) }
        isRealTime = C.self == ContinuousClock.self || C.self == SuspendingClock.self
    }

    /// Blocks the calling thread until `deadline` (`nil`: none) or until `inbox` has input.
    package func wait(until deadline: Duration?, on inbox: Inbox) {
        guard let deadline else { return inbox.wait(timeout: nil) }
        let remaining = deadline - now()
        guard remaining > .zero else { return }
        if isRealTime { return inbox.wait(timeout: remaining) }
        let sleep = self.sleep
        let timer = Task {
            try await sleep(remaining)
            inbox.post(.tick)
        }
        inbox.wait(timeout: nil)
        timer.cancel()
    }
}
