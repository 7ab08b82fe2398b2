/// Capped exponential backoff for reconnecting: `initial`, doubled per failed attempt,
/// never more than `cap`. Deterministic, so tests pin the sequence.
package struct Backoff: Equatable {
    package var initial: Duration
    package var cap: Duration

    /// The wait before attempt `attempt` (0 is the first retry).
    package func delay(forAttempt attempt: Int) -> Duration {
        var delay = initial
        for _ in 0..<max(0, attempt) {
            delay = delay * 2
            if delay >= cap { return cap }
        }
        return min(delay, cap)
    }
}
