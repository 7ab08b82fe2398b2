#if canImport(Glibc)
import Glibc
#endif
internal import CLibPQ

/// One `NOTIFY` received on a connection that is listening.
public struct PostgresNotification: Sendable, Equatable {
    public var channel: String
    public var payload: String
    /// The server process that sent it (a connection can recognise its own notifications).
    public var senderProcessID: Int32
}

/// What a wait on a listening connection ended with.
public enum NotificationWait: Sendable, Equatable {
    case notifications([PostgresNotification])
    /// The other descriptor passed in became readable (a stop or wake-up request).
    case woken
    case timedOut
}

/// LISTEN/NOTIFY with libpq: `PQsocket` polled for input, `PQconsumeInput`, `PQnotifies`.
extension PostgresConnection {
    /// Starts listening on `channel`. Channel names are identifiers, not values, so they cannot
    /// be parameters: only lower-case letters, digits and `_` are accepted, and libpq quotes it.
    public func listen(_ channel: String) throws {
        try execute("LISTEN " + quotedIdentifier(channel))
    }

    /// Sends `payload` on `channel`; delivered to listeners when the surrounding transaction
    /// commits (at once outside one).
    public func notify(_ channel: String, payload: String) throws {
        try execute("SELECT pg_notify($1, $2)", [channel, payload])
    }

    /// The notifications that have already arrived, after reading what the socket holds.
    public func receivedNotifications() throws -> [PostgresNotification] {
        try consumeInput()
        return queuedNotifications()
    }

    /// Reads what the socket holds without waiting (libpq queues the notifications in it).
    public func consumeInput() throws {
        guard PQconsumeInput(connection) == 1 else {
            throw PostgresError(
                .connection,
                "lost the listening connection to \(settings.redactedDescription): "
                    + String(cString: PQerrorMessage(connection)).singleLine)
        }
    }

    /// The socket libpq reads from (`PQsocket`), to wait on with `poll`; `nil` when closed.
    public var socketDescriptor: Int32? {
        let socket = PQsocket(connection)
        return socket >= 0 ? socket : nil
    }

    /// The notifications libpq has already read (while reading a statement's answer, say),
    /// without touching the socket.
    public func queuedNotifications() -> [PostgresNotification] {
        var received: [PostgresNotification] = []
        while let notification = PQnotifies(connection) {
            received.append(
                PostgresNotification(
                    channel: String(cString: notification.pointee.relname),
                    payload: String(cString: notification.pointee.extra),
                    senderProcessID: notification.pointee.be_pid))
            PQfreemem(notification)
        }
        return received
    }

    /// Blocks in `poll` until a notification arrives, `wakeDescriptor` becomes readable, or
    /// `timeoutMilliseconds` pass (-1: no timeout). A lost connection throws `.connection`.
    public func waitForNotifications(
        timeoutMilliseconds: Int32 = -1, wakeDescriptor: Int32? = nil
    ) throws -> NotificationWait {
        let pending = try receivedNotifications()
        if !pending.isEmpty { return .notifications(pending) }
        let socket = PQsocket(connection)
        guard socket >= 0 else {
            throw PostgresError(.connection, "the listening connection has no socket")
        }
        var descriptors = [pollfd(fd: socket, events: Int16(POLLIN), revents: 0)]
        if let wakeDescriptor {
            descriptors.append(pollfd(fd: wakeDescriptor, events: Int16(POLLIN), revents: 0))
        }
        let ready = try pollRetryingEINTR(&descriptors, timeoutMilliseconds)
        if ready == 0 { return .timedOut }
        if descriptors.count > 1, descriptors[1].revents != 0 { return .woken }
        let received = try receivedNotifications()
        // Readable without a notification: some other message (or nothing yet); the caller loops.
        return received.isEmpty ? .timedOut : .notifications(received)
    }

    private func pollRetryingEINTR(_ descriptors: inout [pollfd], _ timeout: Int32) throws -> Int32 {
        let count = nfds_t(descriptors.count)
        while true {
            let result = descriptors.withUnsafeMutableBufferPointer { poll($0.baseAddress, count, timeout) }
            if result >= 0 { return result }
            if errno == EINTR { continue }
            throw PostgresError(
                .connection, "poll on the listening connection failed: \(String(cString: strerror(errno)))")
        }
    }

    private func quotedIdentifier(_ name: String) throws -> String {
        let allowed = name.utf8.allSatisfy {
            ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z")) || $0 == UInt8(ascii: "_")
                || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9"))
        }
        guard allowed, !name.isEmpty, let escaped = PQescapeIdentifier(connection, name, name.utf8.count)
        else {
            throw PostgresError(.invalidInput, "not a valid channel name: \(name)")
        }
        defer { PQfreemem(escaped) }
        return String(cString: escaped)
    }
}
