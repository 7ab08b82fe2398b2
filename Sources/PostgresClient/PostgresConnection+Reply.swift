#if canImport(Glibc)
import Glibc
#endif
internal import CLibPQ

/// A moment by which the server must have answered, and the bound it came from (for messages).
struct ReplyDeadline {
    let instant: ContinuousClock.Instant
    let bound: Duration

    /// `nil` when there is no bound: wait for ever, as a blocking libpq call would.
    init?(_ bound: Duration?) {
        guard let bound else { return nil }
        self.bound = bound
        self.instant = .now + bound
    }
}

/// Sending and awaiting answers on the non-blocking socket: `poll` on `PQsocket` with a
/// deadline, `PQflush` until the statement is out, `PQconsumeInput`/`PQisBusy`/`PQgetResult`
/// until the answer is complete.
extension PostgresConnection {
    /// Sends a statement with `send` (a `PQsend…` call) and returns its results as `PQexec`
    /// would (the last one, or the first COPY one), under the reply deadline. `nil` when libpq
    /// failed; its error message says why and ``check(_:sql:)`` reports it.
    func awaitReply(to sql: String, send: () -> Int32) throws -> OpaquePointer? {
        if let abandoned { throw abandoned }
        let deadline = ReplyDeadline(timeouts.reply)
        guard send() == 1 else { return nil }
        try flushOutput(until: deadline, doing: sql)
        return try collectResults(until: deadline, doing: sql)
    }

    /// Reads results until libpq has none left (or a COPY starts), under `deadline`.
    func collectResults(until deadline: ReplyDeadline?, doing sql: String) throws -> OpaquePointer? {
        var last: OpaquePointer?
        while true {
            while PQisBusy(connection) == 1 {
                do {
                    try waitForSocket(POLLIN, until: deadline, doing: sql)
                } catch {
                    if let last { PQclear(last) }
                    throw error
                }
                // Read failed (the server closed the connection): libpq is no longer busy and
                // PQgetResult returns at once the error, with what the server said last.
                if PQconsumeInput(connection) != 1 { break }
            }
            guard let result = PQgetResult(connection) else { return last }
            if let last { PQclear(last) }
            last = result
            switch PQresultStatus(result) {
            case PGRES_COPY_IN, PGRES_COPY_OUT, PGRES_COPY_BOTH: return result
            default: if PQstatus(connection) == CONNECTION_BAD { return result }
            }
        }
    }

    /// Sends what libpq has queued; while the socket is full, waits for it to drain (reading
    /// what the server sends meanwhile, as libpq asks). A send failure shows in the results.
    func flushOutput(until deadline: ReplyDeadline?, doing sql: String) throws {
        while PQflush(connection) == 1 {
            let ready = try waitForSocket(POLLOUT | POLLIN, until: deadline, doing: sql)
            if ready & Int16(POLLIN) != 0, PQconsumeInput(connection) != 1 { return }
        }
    }

    /// Waits until the socket is ready for `events` and returns what it is ready for; when
    /// `deadline` passes first, the connection is abandoned and the reason thrown.
    @discardableResult
    func waitForSocket(_ events: Int32, until deadline: ReplyDeadline?, doing sql: String) throws -> Int16 {
        let socket = PQsocket(connection)
        guard socket >= 0 else {
            throw PostgresError(.connection, "lost the connection to \(settings.redactedDescription): no socket")
        }
        while true {
            var timeout: Int32 = -1
            if let deadline {
                let remaining = deadline.instant - .now
                if remaining <= .zero { throw abandon(after: deadline.bound, doing: sql) }
                timeout = Int32(clamping: remaining.milliseconds)
            }
            var descriptor = pollfd(fd: socket, events: Int16(events), revents: 0)
            let ready = poll(&descriptor, 1, timeout)
            if ready > 0 { return descriptor.revents }
            if ready < 0, errno != EINTR {
                throw PostgresError(
                    .connection,
                    "poll on the connection to \(settings.redactedDescription) failed: \(String(cString: strerror(errno)))")
            }
        }
    }

    /// Shuts the socket down (the server sees it closed; libpq's state mid-statement is never
    /// used again) and returns the error every later call on this connection throws.
    private func abandon(after bound: Duration, doing sql: String) -> PostgresError {
        let error = PostgresError(
            .connection,
            "no answer from PostgreSQL at \(settings.redactedDescription) for \(bound.spoken) "
                + "(\(firstWords(of: sql))); the connection is dropped and will be reopened")
        abandoned = error
        _ = shutdown(PQsocket(connection), Int32(SHUT_RDWR))
        return error
    }
}
