#if canImport(Glibc)
import Glibc
#endif
import Foundation
import PostgresClient
import RegistryClient
import TestSupport
import Testing

@testable import SyncAgent

@Suite("imi-sync run as systemd starts it: notify socket, journal, signals", .serialized, .ownThreads)
struct RunProcessTests {
    @Test("READY after the first sync, STATUS and WATCHDOG, SIGHUP reloads, SIGTERM flushes and stops")
    func systemdLifecycle() async throws {
        let fixture = try GitFixture()
        let (registry, project, id) = try RegistrySeeder.withTrunk(of: "svc", in: fixture)

        let socketPath = "/tmp/imi-notify-\(UUID().uuidString.prefix(8)).sock"
        let receiver = try DatagramReceiver(path: socketPath)
        let logURL = fixture.root.appendingPathComponent("agent.log")
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        var info = stat()
        stat(logURL.path, &info)

        let agent = try ChildProcess(
            try imiSyncBinary(), ["run", "--database-url", registry.settings.conninfo, "--log-level", "info"],
            environment: [
                "HOME": fixture.home.path,
                "XDG_CONFIG_HOME": fixture.root.appendingPathComponent("config").path,
                "PATH": "/usr/bin:/bin",
                "NOTIFY_SOCKET": socketPath,
                "WATCHDOG_USEC": "1000000",
                // What systemd sets when stderr is the journal: device and inode of that stream.
                "JOURNAL_STREAM": "\(info.st_dev):\(info.st_ino)",
            ],
            standardError: logURL.path)

        let messages = receiver.drainContinuously()
        defer { receiver.stopDraining() }
        func received(_ what: String, _ predicate: @escaping ([String]) -> Bool) async throws -> Bool {
            try await eventually(what) { predicate(messages.all) }
        }
        #expect(try await received("READY=1") { $0.contains("READY=1") })
        #expect(try registry.row(id).hash == fixture.revParseHEAD(in: project.trunk))
        #expect(try await received("STATUS=") { $0.contains { $0.hasPrefix("STATUS=1 worktrees watched;") } })
        #expect(try await received("WATCHDOG=1") { $0.contains("WATCHDOG=1") })

        agent.signal(SIGHUP)
        #expect(try await eventually("reload logged") {
            try String(contentsOf: logURL, encoding: .utf8).contains("<5>configuration reloaded")
        })

        try "late\n".write(to: project.trunk.appendingPathComponent("late.txt"), atomically: false, encoding: .utf8)
        #expect(try await eventually("edit written") { try registry.row(id).files == 1 })
        agent.signal(SIGTERM)
        let exit = try await agent.exit(within: 20)
        #expect(exit != nil, "exited after SIGTERM; its log: \((try? String(contentsOf: logURL, encoding: .utf8)) ?? "")")
        if case .status(let status) = exit { #expect(status == 0, "exited normally with status 0") }
        #expect(try await received("STOPPING=1") { $0.contains("STOPPING=1") })
        let text = try String(contentsOf: logURL, encoding: .utf8)
        #expect(text.contains("<5>first full sync done"))
        #expect(text.contains("<5>stopped; every state read was written"))
        // Every line carries a priority prefix and no timestamp of its own.
        let lines = text.split(separator: "\n")
        #expect(!lines.isEmpty && lines.allSatisfy { $0.first == "<" })
    }
}
