#if canImport(Glibc)
import Glibc
#endif
import Foundation
import RegistryClient
import TestSupport
import Testing

@testable import SyncAgent

@Suite("imi-sync run as systemd starts it: notify socket, journal, signals", .serialized)
struct RunProcessTests {
    /// The imi-sync binary built next to the test bundle.
    private func binary() throws -> URL {
        let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [directory, directory.deletingLastPathComponent()] {
            let url = candidate.appendingPathComponent("imi-sync")
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        throw TestSupportError("imi-sync binary not found near \(CommandLine.arguments[0])")
    }

    @Test("READY after the first sync, STATUS and WATCHDOG, SIGHUP reloads, SIGTERM flushes and stops")
    func systemdLifecycle() async throws {
        let fixture = try GitFixture()
        let registry = try TestRegistry.make()
        let project = try fixture.makeProject("svc")
        let projectID = try registry.addProject("svc", trunk: project.trunk)
        let id = try registry.addWorktree("trunk-main", path: project.trunk, project: projectID)

        let socketPath = "/tmp/imi-notify-\(UUID().uuidString.prefix(8)).sock"
        let receiver = try DatagramReceiver(path: socketPath)
        let logURL = fixture.root.appendingPathComponent("agent.log")
        FileManager.default.createFile(atPath: logURL.path, contents: nil)
        let log = try FileHandle(forWritingTo: logURL)
        var info = stat()
        fstat(log.fileDescriptor, &info)

        let process = Process()
        process.executableURL = try binary()
        process.arguments = ["run", "--database-url", registry.settings.conninfo, "--log-level", "info"]
        process.environment = [
            "HOME": fixture.home.path,
            "XDG_CONFIG_HOME": fixture.root.appendingPathComponent("config").path,
            "PATH": "/usr/bin:/bin",
            "NOTIFY_SOCKET": socketPath,
            "WATCHDOG_USEC": "1000000",
            // What systemd sets when stderr is the journal: device and inode of that stream.
            "JOURNAL_STREAM": "\(info.st_dev):\(info.st_ino)",
        ]
        process.standardError = log
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { process.terminate() } }

        var messages: [String] = []
        func receive(until predicate: ([String]) -> Bool) -> Bool {
            for _ in 0..<10 {
                if predicate(messages) { return true }
                messages += receiver.receive()
            }
            return predicate(messages)
        }
        #expect(receive { $0.contains("READY=1") })
        #expect(try registry.row(id).hash == fixture.revParseHEAD(in: project.trunk))
        #expect(receive { $0.contains { $0.hasPrefix("STATUS=1 worktrees watched;") } })
        #expect(receive { $0.contains("WATCHDOG=1") })

        kill(process.processIdentifier, SIGHUP)
        #expect(try await eventually("reload logged") {
            try String(contentsOf: logURL, encoding: .utf8).contains("<5>configuration reloaded")
        })

        try "late\n".write(to: project.trunk.appendingPathComponent("late.txt"), atomically: false, encoding: .utf8)
        #expect(try await eventually("edit written") { try registry.row(id).files == 1 })
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        #expect(process.terminationReason == .exit)
        #expect(process.terminationStatus == 0)
        #expect(receive { $0.contains("STOPPING=1") })
        let text = try String(contentsOf: logURL, encoding: .utf8)
        #expect(text.contains("<5>first full sync done"))
        #expect(text.contains("<5>stopped; every state read was written"))
        // Every line carries a priority prefix and no timestamp of its own.
        let lines = text.split(separator: "\n")
        #expect(!lines.isEmpty && lines.allSatisfy { $0.first == "<" })
    }
}
