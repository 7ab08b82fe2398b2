/// The registry session's state machine, written down: which phase the session is in, what
/// each event does to it, and what the session (its executor) must do next. A value: tested
/// without a server or a clock (postgres-nio's ConnectionStateMachine is the model).
///
///     disconnected(attempt, retryAt) --due--> connect --ok--> connected
///          ^  ^                              \--failed--> disconnected(attempt + 1)
///          |  \-- lost (a statement or the listener broke): disconnected(1, backoff(0))
///          \----- reload with other settings: disconnected(0, now)
///     connected: a write refused -> refusal(attempt, retryAt[, reconnect when read-only]);
///                a lock or statement bound ran out -> busy(attempt, retryAt);
///                accepted again -> cleared
package struct RegistrySessionState: Equatable {
    package enum Phase: Equatable {
        /// Not connected; the next attempt is due at `retryAt`, after `attempt` failures.
        case disconnected(attempt: Int, retryAt: Duration)
        case connected(Connected)
        case stopped
    }

    /// What holds back writes on a live connection.
    package struct Connected: Equatable {
        package var busy: Retry?
        /// The attempt that succeeded (0: the first, or the first after a reload).
        package var afterAttempt = 0
    }

    package struct Retry: Equatable {
        package var attempt: Int
        package var retryAt: Duration
        /// A read-only session stays read-only: the retry opens a new one.
        package var reconnect = false
    }

    /// What the session must do.
    package enum Action: Equatable {
        case none
        /// Open a connection (check the schema, register the host, listen, read).
        case connect
        /// Close the connection and its listener.
        case drop
        /// The first failed attempt is a warning, later ones are quiet; retried in `delay`.
        case reportUnreachable(firstFailure: Bool, retryIn: Duration)
        case reportBack
        case reportLost(retryIn: Duration)
        /// Refusals started (`first`), retried in `delay`.
        case reportRefused(first: Bool, retryIn: Duration)
        case reportAccepted
        case reportBusy(first: Bool, retryIn: Duration)
        case reportNotBusy
    }

    package private(set) var phase: Phase = .disconnected(attempt: 0, retryAt: .zero)
    /// Rows the server refused: retried with backoff, across connections (they are about
    /// rows, not about one session).
    package private(set) var refusal: Retry?
    package var backoff: Backoff

    package init(backoff: Backoff) {
        self.backoff = backoff
    }

    package var isConnected: Bool {
        if case .connected = phase { return true }
        return false
    }

    private var connected: Connected? {
        if case .connected(let connected) = phase { return connected }
        return nil
    }

    /// Whether writes wait: the registry is busy until its retry.
    package func writesHeldBack(at now: Duration) -> Bool {
        guard let busy = connected?.busy else { return false }
        return now < busy.retryAt
    }

    /// Whether refused rows are due to be tried again.
    package func refusedRowsDue(at now: Duration) -> Bool {
        refusal.map { now >= $0.retryAt } ?? true
    }

    /// The earliest moment the session needs the loop.
    package var nextDeadline: Duration? {
        switch phase {
        case .disconnected(_, let retryAt): retryAt
        case .connected(let connected): [refusal?.retryAt, connected.busy?.retryAt].compactMap { $0 }.min()
        case .stopped: nil
        }
    }

    // MARK: Events

    /// Time passed: a connection attempt may be due, or a read-only session must be replaced.
    package mutating func tick(at now: Duration) -> Action {
        switch phase {
        case .disconnected(_, let retryAt):
            return now >= retryAt ? .connect : .none
        case .connected:
            guard let refusal, refusal.reconnect, now >= refusal.retryAt else { return .none }
            self.refusal?.reconnect = false
            phase = .disconnected(attempt: 0, retryAt: now)
            return .drop
        case .stopped:
            return .none
        }
    }

    package mutating func connectSucceeded() -> Action {
        guard case .disconnected(let attempt, _) = phase else { return .none }
        phase = .connected(Connected(afterAttempt: attempt))
        return attempt > 0 ? .reportBack : .none
    }

    package mutating func connectFailed(at now: Duration) -> Action {
        guard case .disconnected(let attempt, _) = phase else { return .none }
        let delay = backoff.delay(forAttempt: attempt)
        phase = .disconnected(attempt: attempt + 1, retryAt: now + delay)
        return .reportUnreachable(firstFailure: attempt == 0, retryIn: delay)
    }

    /// A statement or the listener broke on a live connection.
    package mutating func lost(at now: Duration) -> Action {
        guard isConnected else { return .none }
        let delay = backoff.delay(forAttempt: 0)
        phase = .disconnected(attempt: 1, retryAt: now + delay)
        return .reportLost(retryIn: delay)
    }

    /// SIGHUP: refused rows are retried at once; other settings reconnect at once.
    package mutating func reload(settingsChanged: Bool, at now: Duration) -> Action {
        refusal?.retryAt = now
        guard settingsChanged, phase != .stopped else { return .none }
        let wasConnected = isConnected
        phase = .disconnected(attempt: 0, retryAt: now)
        return wasConnected ? .drop : .none
    }

    /// A flush wrote some rows and the server refused others (`readOnly`: 25006).
    package mutating func refused(readOnly: Bool, at now: Duration) -> Action {
        let attempt = (refusal?.attempt ?? -1) + 1
        let delay = backoff.delay(forAttempt: attempt)
        let first = refusal == nil
        refusal = Retry(attempt: attempt, retryAt: now + delay, reconnect: readOnly)
        return .reportRefused(first: first, retryIn: delay)
    }

    /// A flush left no refused row.
    package mutating func accepted() -> Action {
        guard refusal != nil else { return .none }
        refusal = nil
        return .reportAccepted
    }

    /// The server's lock or statement bound ran out.
    package mutating func busy(at now: Duration) -> Action {
        guard var connected else { return .none }
        let attempt = (connected.busy?.attempt ?? -1) + 1
        let delay = backoff.delay(forAttempt: attempt)
        let first = connected.busy == nil
        connected.busy = Retry(attempt: attempt, retryAt: now + delay)
        phase = .connected(connected)
        return .reportBusy(first: first, retryIn: delay)
    }

    package mutating func notBusy() -> Action {
        guard var connected, connected.busy != nil else { return .none }
        connected.busy = nil
        phase = .connected(connected)
        return .reportNotBusy
    }

    package mutating func stop() -> Action {
        let wasConnected = isConnected
        phase = .stopped
        return wasConnected ? .drop : .none
    }
}

/// What a piece of registry work came to, so its caller knows which of these happened.
package enum RegistryAccess<Value> {
    case done(Value)
    /// Not connected (the session reconnects by itself).
    case notConnected
    /// The server refused the statement (a grant, a policy, a read-only database).
    case refused
    /// The server's lock or statement bound ran out; tried again with backoff.
    case busy
    /// The connection broke during it; the session reconnects.
    case lost

    package var value: Value? {
        if case .done(let value) = self { return value }
        return nil
    }
}
