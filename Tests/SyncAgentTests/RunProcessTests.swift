#if canImport(Glibc)
import Glibc
#endif
import Foundation
import PostgresClient
import RegistryClient
import TestSupport
import Testing

@testable import SyncAgent

/// The imi-sync binary started like systemd starts it, with posix_spawn and polled with
/// `waitpid(WNOHANG)`: Foundation's `Process.waitUntilExit()` blocks a cooperative thread,
/// and two such waits at once (this test and a git fixture elsewhere) starved the pool.
final class AgentProcess {
    let pid: pid_t

    init(_ executable: String, _ arguments: [String], environment: [String: String], stderrPath: String) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let env = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { env.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &actions, nil, argv, env)
        guard rc == 0 else { throw TestSupportError("posix_spawn \(executable): \(String(cString: strerror(rc)))") }
        self.pid = pid
    }

    enum Exit: Equatable {
        case status(Int32)
        /// Another part of the test process (Foundation's SIGCHLD handling for its own
        /// `Process`es) reaped it first; it has exited, its status is unknown.
        case reapedElsewhere
    }

    /// How the process ended, or `nil` if it is still running after `seconds`.
    func exit(within seconds: Double) async throws -> Exit? {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            var status: Int32 = 0
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid { return .status(status) }
            if result == -1, errno == ECHILD { return .reapedElsewhere }
            try await Task.sleep(for: .milliseconds(20))
        }
        return nil
    }

    /// Kills and reaps the process if a failed test left it running.
    func killIfRunning() {
        var status: Int32 = 0
        if waitpid(pid, &status, WNOHANG) == 0 {
            kill(pid, SIGKILL)
            waitpid(pid, &status, 0)
        }
    }
}

@Suite("imi-sync run as systemd starts it: notify socket, journal, signals", .serialized)
struct RunProcessTests {
    /// The imi-sync binary built next to the test bundle.
    private func binary() throws -> String {
        let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [directory, directory.deletingLastPathComponent()] {
            let url = candidate.appendingPathComponent("imi-sync")
            if FileManager.default.isExecutableFile(atPath: url.path) { return url.path }
        }
        throw TestSupportError("imi-sync binary not found near \(CommandLine.arguments[0])")
    }

    @Test("READY after the first sync, STATUS and WATCHDOG, SIGHUP reloads, SIGTERM flushes and stops")
    func systemdLifecycle() async throws {
        let fixture = try GitFixture()
        let registry = try RegistrySeeder.freshRegistry(prefix: "run")
        let project = try fixture.makeProject("svc")
        let projectID = try registry.addProject("svc", trunk: project.trunk)
        let id = try registry.addWorktree("trunk-main", path: project.trunk, project: projectID)

        let socketPath = "/tmp/imi-notify-\(UUID().uuidString.prefix(8)).sock"
        let receiver = try DatagramReceiver(path: socketPath)
        let logURL = fixture.root.appendingPathComponent("agent.log")
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        var info = stat()
        stat(logURL.path, &info)

        let agent = try AgentProcess(
            try binary(), ["run", "--database-url", registry.settings.conninfo, "--log-level", "info"],
            environment: [
                "HOME": fixture.home.path,
                "XDG_CONFIG_HOME": fixture.root.appendingPathComponent("config").path,
                "PATH": "/usr/bin:/bin",
                "NOTIFY_SOCKET": socketPath,
                "WATCHDOG_USEC": "1000000",
                // What systemd sets when stderr is the journal: device and inode of that stream.
                "JOURNAL_STREAM": "\(info.st_dev):\(info.st_ino)",
            ],
            stderrPath: logURL.path)
        defer { agent.killIfRunning() }

        var messages: [String] = []
        func received(_ what: String, _ predicate: @escaping ([String]) -> Bool) async throws -> Bool {
            try await eventually(what) {
                messages += receiver.receiveNow()
                return predicate(messages)
            }
        }
        #expect(try await received("READY=1") { $0.contains("READY=1") })
        #expect(try registry.row(id).hash == fixture.revParseHEAD(in: project.trunk))
        #expect(try await received("STATUS=") { $0.contains { $0.hasPrefix("STATUS=1 worktrees watched;") } })
        #expect(try await received("WATCHDOG=1") { $0.contains("WATCHDOG=1") })

        kill(agent.pid, SIGHUP)
        #expect(try await eventually("reload logged") {
            try String(contentsOf: logURL, encoding: .utf8).contains("<5>configuration reloaded")
        })

        try "late\n".write(to: project.trunk.appendingPathComponent("late.txt"), atomically: false, encoding: .utf8)
        #expect(try await eventually("edit written") { try registry.row(id).files == 1 })
        kill(agent.pid, SIGTERM)
        let exit = try await agent.exit(within: 20)
        #expect(exit != nil, "exited after SIGTERM")
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
