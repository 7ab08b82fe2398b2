#if canImport(Glibc)
import Glibc
#endif
import Foundation
import SystemPackage
import Logging
import PostgresClient
import RegistryClient
import TestSupport
import Synchronization
import Testing

@testable import SyncAgent
@testable import LinuxPlatform

/// A bound AF_UNIX datagram socket standing in for systemd's notify socket.
final class DatagramReceiver: @unchecked Sendable {
    let path: String
    let descriptor: Int32

    init(path: String, abstract: Bool = false) throws {
        self.path = abstract ? "@" + path : path
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(path.utf8)
        if abstract { bytes.insert(0, at: 0) }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in bytes.enumerated() { buffer[index] = byte }
        }
        let length = socklen_t(2 + bytes.count + (abstract ? 0 : 1))
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
        }
        guard rc == 0 else { throw TestSupportError("bind \(path): \(String(cString: strerror(errno)))") }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit {
        close(descriptor)
        if !path.hasPrefix("@") { unlink(path) }
    }

    /// Reads every datagram as it arrives, on a thread of its own, into the returned list
    /// (so a test task that runs late cannot let the sender's queue fill up).
    func drainContinuously() -> Recorded<String> {
        let received = Recorded<String>()
        var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let thread = Thread { [weak self] in
            while let self, !self.closed.withLock({ $0 }) {
                for line in self.receive(flags: 0) { received.append(line) }
            }
        }
        thread.start()
        return received
    }

    private let closed = Mutex(false)

    func stopDraining() {
        closed.withLock { $0 = true }
    }

    /// The next datagram, split into its lines (waits up to 5 s; for synchronous tests).
    func receive() -> [String] {
        receive(flags: 0)
    }

    /// A datagram if one is queued, without waiting.
    func receiveNow() -> [String] {
        receive(flags: Int32(MSG_DONTWAIT))
    }

    private func receive(flags: Int32) -> [String] {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = recv(descriptor, &buffer, buffer.count, flags)
        guard count > 0 else { return [] }
        return String(decoding: buffer[..<count], as: UTF8.self).split(separator: "\n").map(String.init)
    }
}

@Suite("Notify: sd_notify datagrams, journald priorities, LISTEN/NOTIFY", .serialized, .ownThreads)
struct NotifyTests {
    @Test("READY, STATUS and WATCHDOG reach a real datagram socket as sd_notify sends them")
    func notifySocket() throws {
        let path = "/tmp/imi-notify-\(UUID().uuidString.prefix(8)).sock"
        let receiver = try DatagramReceiver(path: path)
        let notifier = try #require(SystemdNotifier(environment: ["NOTIFY_SOCKET": path]))
        try notifier.send(["READY=1", "STATUS=3 worktrees watched"])
        #expect(receiver.receive() == ["READY=1", "STATUS=3 worktrees watched"])
        try notifier.send(["WATCHDOG=1"])
        #expect(receiver.receive() == ["WATCHDOG=1"])
    }

    @Test("an abstract notify socket (@name) is reached too")
    func abstractSocket() throws {
        let name = "imi-notify-\(UUID().uuidString.prefix(8))"
        let receiver = try DatagramReceiver(path: name, abstract: true)
        let notifier = try #require(SystemdNotifier(environment: ["NOTIFY_SOCKET": "@" + name]))
        try notifier.send(["STOPPING=1"])
        #expect(receiver.receive() == ["STOPPING=1"])
    }

    /// A notify socket nobody reads fills after net.unix.max_dgram_qlen datagrams; a blocking
    /// send would then freeze the agent loop (seen: SIGTERM never handled).
    @Test("a notify socket nobody reads makes a send fail at once with EAGAIN, never block")
    func fullSocketDoesNotBlock() throws {
        let path = "/tmp/imi-notify-\(UUID().uuidString.prefix(8)).sock"
        let receiver = try DatagramReceiver(path: path)
        let notifier = try SystemdNotifier(socketPath: path)
        var refused: SystemCallError?
        for _ in 0..<1000 where refused == nil {
            do { try notifier.send(["WATCHDOG=1"]) } catch { refused = error }
        }
        #expect(refused?.errno == .resourceTemporarilyUnavailable)
        #expect(receiver.receiveNow() == ["WATCHDOG=1"], "what was queued is still there")
    }

    @Test("without NOTIFY_SOCKET there is no notifier; a missing socket is an error naming sendto")
    func noSocket() throws {
        #expect(SystemdNotifier(environment: [:]) == nil)
        let notifier = try SystemdNotifier(socketPath: "/tmp/imi-no-such-\(UUID().uuidString).sock")
        let error = #expect(throws: SystemCallError.self) { try notifier.send(["READY=1"]) }
        #expect(error?.call == "sendto")
        #expect(error?.errno == .noSuchFileOrDirectory)
    }

    @Test(
        "the watchdog interval is half of WATCHDOG_USEC, only for this process",
        arguments: [
            (["WATCHDOG_USEC": "60000000"], Duration.seconds(30)),
            (["WATCHDOG_USEC": "60000000", "WATCHDOG_PID": "1"], nil),
            (["WATCHDOG_USEC": "60000000", "WATCHDOG_PID": String(getpid())], Duration.seconds(30)),
            ([:], nil),
            (["WATCHDOG_USEC": "junk"], nil),
        ] as [([String: String], Duration?)])
    func watchdogInterval(environment: [String: String], expected: Duration?) {
        #expect(SystemdNotifier.watchdogInterval(environment: environment) == expected)
    }

    @Test("the agent's STATUS line names worktrees, watches, last write and the database")
    func statusLine() {
        var statistics = AgentLoop.Statistics()
        statistics.watchedWorktrees = 200
        statistics.watches = 1812
        statistics.polledWorktrees = 2
        statistics.databaseUp = false
        let line = AgentStatus.statusLine(statistics, watchLimit: 8192)
        #expect(line == "200 worktrees watched; 1812/8192 inotify watches; 2 polled; no write yet; database unreachable, retrying")
    }

    @Test(
        "log levels map to journald priorities",
        arguments: [
            (Logger.Level.trace, 7), (.debug, 7), (.info, 6), (.notice, 5), (.warning, 4),
            (.error, 3), (.critical, 2),
        ])
    func priorities(level: Logger.Level, priority: Int) {
        #expect(JournalLogHandler.priority(level) == priority)
    }

    @Test("JOURNAL_STREAM only counts when it names the descriptor stderr really is")
    func journalStream() {
        var info = stat()
        fstat(STDERR_FILENO, &info)
        let matching = "\(info.st_dev):\(info.st_ino)"
        #expect(JournalLogHandler.stderrIsJournal(environment: ["JOURNAL_STREAM": matching]))
        #expect(!JournalLogHandler.stderrIsJournal(environment: ["JOURNAL_STREAM": "\(info.st_dev):\(info.st_ino + 1)"]))
        #expect(!JournalLogHandler.stderrIsJournal(environment: [:]))
    }

    @Test("the registry trigger notifies on add, move, deactivate and delete, not on git-state writes")
    func registryTrigger() throws {
        let registry = try RegistrySeeder.freshRegistry(prefix: "run")
        let listener = try PostgresConnection(settings: registry.settings)
        try listener.listen(Registry.registryChannel)
        let project = try registry.addProject("p", trunk: URL(fileURLWithPath: "/tmp/p/trunk-main"))
        let id = try registry.addWorktree("w", path: URL(fileURLWithPath: "/tmp/p/w"), project: project)

        func payloads() throws -> [String] {
            guard case .notifications(let received) = try listener.waitForNotifications(timeoutMilliseconds: 5000)
            else { return [] }
            return received.map(\.payload)
        }
        #expect(try payloads() == ["worktrees:\(id)"])

        // A git-state write (what the agent does all day) does not wake listeners.
        _ = try Registry(connection: registry.connection).writeChanged([
            GitStateUpdate(
                worktreeID: id, uncommittedFilesCount: 2, aheadOfTrunk: nil, behindTrunk: nil,
                lastCommitHash: "abc", lastCommitMessage: "it's", readAt: Date()),
        ])
        try registry.connection.execute("UPDATE worktrees SET path = $1 WHERE id = $2", ["/tmp/p/moved", id])
        #expect(try payloads() == ["worktrees:\(id)"])
        try registry.connection.execute("UPDATE worktrees SET active = false WHERE id = $1", [id])
        #expect(try payloads() == ["worktrees:\(id)"])
        try registry.connection.execute("DELETE FROM worktrees WHERE id = $1", [id])
        #expect(try payloads() == ["worktrees:\(id)"])
        #expect(try listener.waitForNotifications(timeoutMilliseconds: 200) == .timedOut)
    }

    @Test("changed rows are written once and their ids notified after commit")
    func stateNotifications() throws {
        let registry = try RegistrySeeder.freshRegistry(prefix: "run")
        let listener = try PostgresConnection(settings: registry.settings)
        try listener.listen(Registry.stateChannel)
        let project = try registry.addProject("p", trunk: URL(fileURLWithPath: "/tmp/q/trunk-main"))
        let first = try registry.addWorktree("a", path: URL(fileURLWithPath: "/tmp/q/a"), project: project)
        let second = try registry.addWorktree("b", path: URL(fileURLWithPath: "/tmp/q/b"), project: project)
        let writer = Registry(connection: registry.connection)
        func state(_ id: String, files: Int, message: String) -> GitStateUpdate {
            GitStateUpdate(
                worktreeID: id, uncommittedFilesCount: files, aheadOfTrunk: 1, behindTrunk: 0,
                lastCommitHash: "c0ffee", lastCommitMessage: message, readAt: Date())
        }
        let firstWrite = try writer.writeChanged([
            state(first, files: 1, message: "a'; DROP TABLE worktrees; --"), state(second, files: 0, message: "b"),
        ])
        #expect(Set(firstWrite.changed) == [first, second])
        #expect(firstWrite.refused.isEmpty)
        guard case .notifications(let received) = try listener.waitForNotifications(timeoutMilliseconds: 5000) else {
            Issue.record("no notification")
            return
        }
        #expect(Set(received.flatMap { $0.payload.split(separator: ",").map(String.init) }) == [first, second])
        // Same state again: no row changes, no notification.
        #expect(try writer.writeChanged([state(second, files: 0, message: "b")]).changed == [])
        #expect(try listener.waitForNotifications(timeoutMilliseconds: 200) == .timedOut)
        #expect(try registry.row(first).message == "a'; DROP TABLE worktrees; --")
        #expect(try writer.stampSynced([first, second], at: Date()) == 2)
    }
    @Test("once writes through the same path: changed rows notified, unchanged ones only stamped")
    func onceNotifies() throws {
        let git = try GitFixture()
        let registry = try RegistrySeeder.freshRegistry(prefix: "once")
        let project = try git.makeProject("p")
        let id = try registry.addWorktree("trunk-main", path: project.trunk, project: try registry.addProject("p", trunk: project.trunk))
        let listener = try PostgresConnection(settings: registry.settings)
        try listener.listen(Registry.stateChannel)
        let once = OnceSync(connection: registry.connection, logger: Logger(label: "test"), host: .forTests)
        let first = try once.run()
        #expect(first.rowsChanged == 1)
        guard case .notifications(var received) = try listener.waitForNotifications(timeoutMilliseconds: 5000) else {
            Issue.record("once wrote a row and no listener heard of it")
            return
        }
        // The git state, then the change set the forecast wrote (dashboards show both).
        while case .notifications(let more) = try listener.waitForNotifications(timeoutMilliseconds: 300) { received += more }
        #expect(Set(received.map(\.payload)) == [id])
        // Nothing changed: the row is stamped, not rewritten, and nobody is woken.
        let stampedBefore = try registry.connection.execute("SELECT last_sync_at::text FROM worktrees WHERE id = $1", [id]).string(0, 0)
        let second = try once.run()
        #expect(second.rowsChanged == 0)
        #expect(second.rowsWritten == 1)
        #expect(try listener.waitForNotifications(timeoutMilliseconds: 200) == .timedOut)
        #expect(try registry.connection.execute("SELECT last_sync_at::text FROM worktrees WHERE id = $1", [id]).string(0, 0) != stampedBefore)
    }
}
