/// The injected clock, reduced to what the agent needs: time since start and sleeping.
///
/// Built from any `Clock<Duration>` (a test clock, `ContinuousClock`), so every debounce,
/// backoff and heartbeat in the agent follows the clock the caller chose.
struct AgentClock: Sendable {
    let now: @Sendable () -> Duration
    let sleep: @Sendable (Duration) async throws -> Void

    init(_ clock: any Clock<Duration>) {
        self.init(opening: clock)
    }

    private init<C: Clock<Duration>>(opening clock: C) {
        let start = clock.now
        now = { start.duration(to: clock.now) }
        sleep = { duration in try await clock.sleep(for: duration) }
    }
}
