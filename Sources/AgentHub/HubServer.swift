import Foundation
import Logging
import LinuxPlatform

/// The agent's side of the hub: a Unix socket (mode 600, in the user's runtime directory)
/// where the host's `imi-sync mcp` sessions send their calls, so they share the agent's one
/// registry connection instead of each opening its own.
///
/// Messages are lines of JSON; what they mean is the handler's business (McpServer's
/// ``HubToolCall``). One thread polls the listening socket and every client; each request runs
/// in a task of its own and its answer is queued back to the thread, which writes it without
/// blocking. Only processes of the same user are served (`SO_PEERCRED`).
package final class HubServer: @unchecked Sendable {
    package typealias Handler = @Sendable (Data) async -> HubAnswer

    /// One answer line; `watch` makes its client a watcher: it receives every line
    /// ``broadcast(_:)`` sends from then on (events pushed to the host's sessions).
    package struct HubAnswer: Sendable {
        package var line: Data
        package var watch = false

        package init(line: Data, watch: Bool = false) {
            self.line = line
            self.watch = watch
        }
    }

    /// A request line longer than this closes the client (a tool call is a few hundred bytes).
    package static let maximumRequestBytes = 1 << 20
    /// Answers and pushed events waiting for a client that does not read: beyond this the
    /// client is closed (a session that stopped reading must not grow the agent's memory).
    package static let maximumBacklogBytes = 4 << 20

    package let path: String
    private let handler: Handler
    private let logger: Logger
    private let thread = OwnedThread(name: "imi-sync hub")
    private let wake: WakeSignal
    private let lock = NSLock()
    /// Answers ready to be written, by client; guarded by `lock`.
    private var ready: [UInt64: [Data]] = [:]
    /// Clients that asked to watch; guarded by `lock`.
    private var watchers: Set<UInt64> = []
    private var stopping = false
    private var listening: Int32 = -1
    private var inode: UInt64?
    /// Only the hub's thread touches the clients.
    private var clients: [UInt64: Client] = [:]
    private var nextClient: UInt64 = 0

    private final class Client {
        let fd: Int32
        var input: [UInt8] = []
        var output: [UInt8] = []
        init(fd: Int32) { self.fd = fd }
    }

    package init(path: String, logger: Logger, handler: @escaping Handler) throws {
        self.path = path
        self.logger = logger
        self.handler = handler
        wake = try WakeSignal()
    }

    /// Binds the socket and starts serving. Refuses when another process serves `path` (a
    /// second agent for the same host on this machine); a socket left by one that died is
    /// replaced.
    package func start() throws {
        if FileKind.of(path) != .missing {
            if let fd = try? UnixSocket.connect(to: path) {
                SystemCall.close(fd)
                throw HubError("another imi-sync agent already serves \(path)")
            }
            UnixSocket.unlink(path)
        }
        listening = try UnixSocket.listen(at: path)
        inode = UnixSocket.inode(of: path)
        thread.start { [self] in serve() }
    }

    /// Stops serving, closes every client and removes the socket (if it is still this one).
    package func stop() {
        guard listening >= 0 else { return }
        lock.withLock { stopping = true }
        wake.wake()
        thread.join()
        for client in clients.values { SystemCall.close(client.fd) }
        clients = [:]
        SystemCall.close(listening)
        listening = -1
        if let inode, UnixSocket.inode(of: path) == inode { UnixSocket.unlink(path) }
    }

    /// How many sessions are connected now (the hub's thread's count; for tests and status).
    package var clientCount: Int { lock.withLock { connectedCount } }
    private var connectedCount = 0

    private func serve() {
        while !lock.withLock({ stopping }) {
            let order = Array(clients.keys)
            var descriptors = [
                pollfd(fd: listening, events: Int16(POLLIN), revents: 0),
                pollfd(fd: wake.descriptor, events: Int16(POLLIN), revents: 0),
            ]
            for id in order {
                let client = clients[id]!
                let events = Int16(POLLIN) | (client.output.isEmpty ? 0 : Int16(POLLOUT))
                descriptors.append(pollfd(fd: client.fd, events: events, revents: 0))
            }
            do {
                _ = try SystemCall.poll(&descriptors, timeoutMilliseconds: -1)
            } catch {
                logger.error("the hub cannot wait for its clients; it stops", metadata: ["error": "\(error)"])
                return
            }
            if descriptors[1].revents != 0 { wake.drain() }
            collectAnswers()
            if descriptors[0].revents != 0 { acceptAll() }
            for (index, id) in order.enumerated() where descriptors[index + 2].revents != 0 {
                service(id, events: descriptors[index + 2].revents)
            }
            lock.withLock { connectedCount = clients.count }
        }
    }

    private func acceptAll() {
        while let fd = try? UnixSocket.accept(listening) {
            guard let uid = try? UnixSocket.peerUserID(fd), uid == UnixSocket.userID else {
                logger.warning("the hub refused a connection from another user", metadata: ["socket": "\(path)"])
                SystemCall.close(fd)
                continue
            }
            nextClient += 1
            clients[nextClient] = Client(fd: fd)
        }
    }

    private func collectAnswers() {
        let answers = lock.withLock { () -> [UInt64: [Data]] in
            defer { ready = [:] }
            return ready
        }
        for (id, lines) in answers {
            guard let client = clients[id] else { continue }  // it left meanwhile
            for line in lines { client.output += line + [UInt8(ascii: "\n")] }
            flush(id, client)
            if clients[id] != nil, client.output.count > Self.maximumBacklogBytes {
                logger.warning("the hub closed a session that stopped reading", metadata: ["bytes.waiting": "\(client.output.count)"])
                close(id)
            }
        }
    }

    private func service(_ id: UInt64, events: Int16) {
        guard let client = clients[id] else { return }
        if events & Int16(POLLOUT) != 0 { flush(id, client) }
        guard events & (Int16(POLLIN) | Int16(POLLHUP) | Int16(POLLERR)) != 0, clients[id] != nil else { return }
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count: Int?
            do {
                count = try buffer.withUnsafeMutableBytes { try UnixSocket.receive(client.fd, into: $0) }
            } catch {
                count = nil
            }
            guard let count else { return close(id) }
            if count == 0 { break }
            client.input += buffer[..<count]
        }
        while let newline = client.input.firstIndex(of: UInt8(ascii: "\n")) {
            let line = Data(client.input[..<newline])
            client.input.removeSubrange(...newline)
            dispatch(line, for: id)
        }
        if client.input.count > Self.maximumRequestBytes {
            logger.warning("the hub closed a session whose request was too long", metadata: ["bytes": "\(client.input.count)"])
            close(id)
        }
    }

    private func dispatch(_ line: Data, for id: UInt64) {
        let handler = self.handler
        Task.detached { [self] in
            let answer = await handler(line)
            lock.withLock {
                ready[id, default: []].append(answer.line)
                if answer.watch { watchers.insert(id) }
            }
            wake.wake()
        }
    }

    /// Sends `line` to every watcher (a client that reads slowly gets it queued; one that is
    /// gone is dropped).
    package func broadcast(_ line: Data) {
        let any = lock.withLock { () -> Bool in
            for id in watchers { ready[id, default: []].append(line) }
            return !watchers.isEmpty
        }
        if any { wake.wake() }
    }

    /// How many sessions watch now.
    package var watcherCount: Int { lock.withLock { watchers.count } }

    private func flush(_ id: UInt64, _ client: Client) {
        while !client.output.isEmpty {
            let sent: Int
            do {
                sent = try client.output.withUnsafeBytes { try UnixSocket.send(client.fd, $0) }
            } catch {
                return close(id)
            }
            if sent == 0 { return }
            client.output.removeFirst(sent)
        }
    }

    private func close(_ id: UInt64) {
        guard let client = clients.removeValue(forKey: id) else { return }
        lock.withLock {
            watchers.remove(id)
            ready[id] = nil
        }
        SystemCall.close(client.fd)
    }
}

/// Why the hub cannot serve or be reached, in one line.
package struct HubError: Error, CustomStringConvertible, Sendable {
    package var description: String
    package init(_ description: String) { self.description = description }
}
