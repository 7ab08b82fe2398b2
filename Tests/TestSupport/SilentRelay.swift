import Foundation
#if canImport(Glibc)
import Glibc
#endif
import PostgresClient
import Synchronization

/// A TCP relay on 127.0.0.1 in front of a PostgreSQL Unix socket that can go silent: while
/// paused it keeps every connection open but forwards nothing, like a proxy that stopped
/// forwarding (its kernel still acknowledges what is sent, so keepalives see nothing wrong).
public final class SilentRelay: @unchecked Sendable {
    /// The port clients connect to.
    public let port: Int
    private let listener: Int32
    private let target: String
    private let state = Mutex(State())

    private struct State {
        var forwarding = true
        var stopped = false
        var descriptors: [Int32] = []
    }

    /// Listens on an ephemeral port and forwards each connection to the socket at `socketPath`.
    public init(socketPath: String) throws {
        target = socketPath
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.listener = listener
        guard listener >= 0 else { throw TestSupportError("socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                bind(listener, address, length) == 0 && listen(listener, 16) == 0
                    && getsockname(listener, address, &length) == 0
            }
        }
        guard bound else { throw TestSupportError("relay bind: \(String(cString: strerror(errno)))") }
        port = Int(UInt16(bigEndian: address.sin_port))
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "silent relay"
        thread.start()
    }

    /// Stops forwarding in both directions; connections stay open.
    public func pause() { state.withLock { $0.forwarding = false } }

    /// Forwards again what was held back and everything after.
    public func resume() { state.withLock { $0.forwarding = true } }

    /// Closes the listener and every connection.
    public func stop() {
        let descriptors = state.withLock { state in
            state.stopped = true
            defer { state.descriptors = [] }
            return state.descriptors
        }
        _ = shutdown(listener, Int32(SHUT_RDWR))
        for descriptor in descriptors { _ = shutdown(descriptor, Int32(SHUT_RDWR)) }
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                return
            }
            guard let server = connectToTarget() else {
                close(client)
                continue
            }
            let stopped = state.withLock { state in
                state.descriptors += [client, server]
                return state.stopped
            }
            if stopped {
                close(client)
                close(server)
                return
            }
            let pump = Thread { [self] in self.pump(client, server) }
            pump.name = "silent relay pump"
            pump.start()
        }
    }

    private func connectToTarget() -> Int32? {
        let server = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { bytes in
            for (index, byte) in target.utf8.prefix(bytes.count - 1).enumerated() { bytes[index] = byte }
        }
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(server, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) == 0
            }
        }
        if connected { return server }
        close(server)
        return nil
    }

    /// Copies bytes both ways while forwarding; while paused it reads nothing at all.
    private func pump(_ client: Int32, _ server: Int32) {
        defer {
            close(client)
            close(server)
        }
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let (forwarding, stopped) = state.withLock { ($0.forwarding, $0.stopped) }
            if stopped { return }
            guard forwarding else {
                usleep(20_000)
                continue
            }
            var descriptors = [
                pollfd(fd: client, events: Int16(POLLIN), revents: 0),
                pollfd(fd: server, events: Int16(POLLIN), revents: 0),
            ]
            guard poll(&descriptors, 2, 50) >= 0 || errno == EINTR else { return }
            for (index, descriptor) in descriptors.enumerated() where descriptor.revents != 0 {
                let destination = index == 0 ? server : client
                let count = read(descriptor.fd, &buffer, buffer.count)
                if count <= 0 { return }
                var sent = 0
                while sent < count {
                    let written = buffer[sent..<count].withUnsafeBytes { send(destination, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                    // MSG_NOSIGNAL: a peer that closed (the client's reply deadline shuts its
                    // socket down) is an error here, not a SIGPIPE that ends the test process.
                    if written <= 0 { return }
                    sent += written
                }
            }
        }
    }
}

/// Runs `body` on a thread of its own and waits at most `limit` for it: a call that hangs
/// becomes `nil` (the caller records a failure) instead of a test run that never ends.
public func finishing<T>(within limit: Duration, _ body: @escaping () throws -> T) -> Result<T, any Error>? {
    let outcome = FinishingOutcome<T>()
    nonisolated(unsafe) let body = body
    let thread = Thread {
        outcome.value = Result { try body() }
        outcome.done.signal()
    }
    thread.start()
    let seconds = Int(limit.components.seconds)
    guard outcome.done.wait(timeout: .now() + .seconds(seconds)) == .success else { return nil }
    return outcome.value
}

private final class FinishingOutcome<T>: @unchecked Sendable {
    var value: Result<T, any Error>?
    let done = DispatchSemaphore(value: 0)
}

extension PostgresCluster {
    /// A fresh database reached over TCP through a ``SilentRelay`` on 127.0.0.1, as the
    /// superuser: the relay (stop it when done) and the connection string, `extra` appended.
    public func databaseBehindRelay(extra: String = "") throws -> (relay: SilentRelay, conninfo: String) {
        let database = try createDatabase()
        guard let name = ConnectionSettings.parse(database.conninfo)?.first(where: { $0.key == "dbname" })?.value else {
            throw TestSupportError("no dbname in \(database.conninfo)")
        }
        let relay = try SilentRelay(socketPath: "\(socketDirectory)/.s.PGSQL.\(port)")
        return (relay, "host=127.0.0.1 port=\(relay.port) user=\(superuser) dbname=\(name) \(extra)")
    }
}
