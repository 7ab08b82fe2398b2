import Foundation
import GitProbe
import Logging
import PostgresClient
import RegistryClient
import Synchronization
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

@testable import SyncAgent
@testable import LinuxPlatform
@testable import McpServer
@testable import WorktreeProbing

/// A FIFO named `.gitignore` makes libgit2's plain `open(2)` wait for a writer forever. No
/// single worktree may stop the others, the watchdog or shutdown: the probe is given up,
/// named, and everything else goes on.
@Suite("a blocked probe holds up nothing else", .ownThreads)
struct BlockedProbeTests {
    /// Runs `body` on a thread of its own; records an issue instead of hanging the suite
    /// when it has not returned within `seconds` (a regression, not a speed measurement).
    private func finishes<T: Sendable>(
        _ what: String, within seconds: Double = 60, _ body: @escaping @Sendable () throws -> T
    ) async throws -> T? {
        let result = Mutex<Result<T, any Error>?>(nil)
        let thread = Thread { result.withLock { $0 = Result { try body() } } }
        thread.start()
        let finished = try await eventually(what, seconds: seconds) { result.withLock { $0 != nil } }
        guard finished else { return nil }
        return try result.withLock { $0! }.get()
    }

    private func worktree(_ name: String, in fixture: GitFixture, fifo: String? = nil) throws -> URL {
        let tree = try fixture.initRepository(name)
        try fixture.write("a\n", to: "sub/a.txt", in: tree)
        _ = try fixture.commitAll("one", in: tree)
        try fixture.write("edited\n", to: "sub/a.txt", in: tree)
        if let fifo { #expect(mkfifo(tree.appendingPathComponent(fifo).path, 0o644) == 0) }
        return tree
    }

    @Test("GuardedBatch gives up a job blocked opening a FIFO, names it, and finishes the rest")
    func batchNamesTheFIFO() async throws {
        let fixture = try GitFixture()
        let fifo = try fixture.directory("pipes").appendingPathComponent("never")
        #expect(mkfifo(fifo.path, 0o644) == 0)
        let outcomes = try await finishes("the batch") {
            GuardedBatch(patience: .seconds(600)).run(Array(0..<6)) { index -> Int in
                if index == 2 {
                    let descriptor = open(fifo.path, O_RDONLY | O_CLOEXEC)
                    if descriptor >= 0 { close(descriptor) }
                }
                return index * 10
            }
        }
        let given = try #require(outcomes)
        #expect(given.count == 6)
        for (index, outcome) in given.enumerated() {
            switch outcome {
            case .finished(let value):
                #expect(index != 2)
                #expect(value == index * 10)
            case .givenUp(let blocked, _):
                #expect(index == 2)
                #expect(blocked == BlockedOpen(path: fifo.path, isFIFO: true))
            }
        }
    }

    @Test("GuardedBatch gives up a job still running after its patience and keeps the others")
    func batchPatience() async throws {
        let gate = DispatchSemaphore(value: 0)
        defer { gate.signal() }
        let outcomes = try await finishes("the batch") {
            GuardedBatch(patience: .milliseconds(300), width: 1).run(Array(0..<3)) { index -> Int in
                if index == 0 { gate.wait() }
                return index
            }
        }
        let given = try #require(outcomes)
        guard case .givenUp(nil, let ran) = given[0] else {
            Issue.record("the stuck job was not given up: \(given[0])")
            return
        }
        #expect(ran >= .milliseconds(300))
        // With one worker, the others ran only because a fresh worker replaced the stuck one.
        #expect(given.dropFirst().map { if case .finished(let value) = $0 { value } else { -1 } } == [1, 2])
    }

    @Test("probe and once: the FIFO worktree is reported blocked, the other matches git")
    func probeReportsTheFIFO() async throws {
        let fixture = try GitFixture()
        let blocked = try worktree("blocked", in: fixture, fifo: "sub/.gitignore")
        let fine = try worktree("fine", in: fixture)
        let requests = [blocked, fine].map {
            RegisteredWorktree(id: $0.lastPathComponent, projectName: "p", name: $0.lastPathComponent, path: $0.path, defaultBranch: "main")
        }
        let outcomes = try #require(try await finishes("probeAll") { WorktreeProber().probeAll(requests) })
        let failure = try #require(outcomes[0].failure)
        #expect(failure.code == .blocked)
        #expect(failure.description.contains(blocked.appendingPathComponent("sub/.gitignore").path))
        #expect(failure.description.contains("FIFO"))
        #expect(outcomes[1].state?.uncommittedFilesCount == (try fixture.porcelainLineCount(in: fine)))
    }

    @Test("mcp refresh: a FIFO gives a tool error naming it, and the registry answers the next call")
    func mcpRefresh() async throws {
        let fixture = try GitFixture()
        let registry = try RegistrySeeder.freshRegistry(prefix: "fifo")
        let blocked = try worktree("blocked", in: fixture, fifo: "sub/.gitignore")
        let projectID = try registry.addProject("p", trunk: blocked)
        let id = try registry.addWorktree("blocked", path: blocked, project: projectID)
        let tools = McpTools(worker: RegistryWorker(settings: registry.settings), hostName: "here", logger: Logger(label: "test"))
        // Awaited, not polled against the wall clock: the refresh is bounded by its own
        // patience, and a test task the cooperative pool runs late (two threads on a 2-core
        // machine, shared with every other test) must not read as a hang.
        let text: String
        do {
            _ = try await tools.state((id, nil), refresh: true)
            text = "answered without an error"
        } catch {
            // The same worker and connection go on serving.
            let again = try? await tools.state((id, nil), refresh: false)
            text = "\(error) | then \(again.map { "\($0.refreshed)" } ?? "no answer")"
        }
        #expect(text.contains(blocked.appendingPathComponent("sub/.gitignore").path))
        #expect(text.contains("FIFO"))
        #expect(text.hasSuffix("| then false"))
    }

    @Test("once: a forecast partner whose .gitignore became a FIFO stops neither the forecast nor once")
    func forecastPartner() throws {
        let setup = try OverlapTests.Setup()
        let (a, b) = (setup.paths["a"]!, setup.paths["b"]!)
        try setup.git.write("A\nb\nc\nd\ne\nf\n", to: "README.md", in: a)
        try setup.git.write("a\nb\nc\nd\ne\nF\n", to: "README.md", in: b)
        #expect(try setup.imiSync(["once"]).status == 0)
        #expect(try setup.overlaps()["a+b README.md"] == "clean")
        // b's stored change set makes it a's partner; its scan would now wait on the FIFO.
        #expect(mkfifo(b.appendingPathComponent(".gitignore").path, 0o644) == 0)
        try setup.git.write("AA\nb\nc\nd\ne\nf\n", to: "README.md", in: a)
        let (status, output) = try setup.imiSync(["once"])
        #expect(status == 0, "once did not finish: \(output)")
        #expect(output.contains(b.appendingPathComponent(".gitignore").path) && output.contains("FIFO"), "\(output)")
        // b could not be read: its stored change set is kept, marked stale.
        let stale = try setup.registry.connection.execute(
            "SELECT stale_since IS NOT NULL, stale_reason FROM worktree_change_sets WHERE worktree_id = $1", [setup.ids["b"]!])
        #expect(stale.string(0, 0) == "t")
        #expect(stale.string(0, 1)?.contains("FIFO") == true)
    }

    @Test("run: a FIFO in one worktree stops neither the start, nor the other worktree's rows, nor shutdown")
    func agentGoesOn() async throws {
        let fixture = try GitFixture()
        let registry = try RegistrySeeder.freshRegistry(prefix: "fifo")
        let blocked = try worktree("blocked", in: fixture, fifo: "sub/.gitignore")
        let fine = try worktree("fine", in: fixture)
        let projectID = try registry.addProject("p", trunk: fine)
        let blockedID = try registry.addWorktree("blocked", path: blocked, project: projectID)
        let fineID = try registry.addWorktree("fine", path: fine, project: projectID)
        // Present at start: the first watch and the first probe meet it (the restart case).
        try await withRunningAgent(RunningAgent(settings: registry.settings)) { running in
            #expect(try await eventually("ready") { running.statistics.ready })
            #expect(try await eventually("the blocked worktree counted") { running.statistics.blockedWorktrees == 1 })
            #expect(running.messages.all.contains { $0.contains("probe blocked") || $0.contains("given up") })
            #expect(try registry.row(blockedID).files == nil)

            // Edits elsewhere keep reaching their rows.
            for round in 1...3 {
                try fixture.write("new \(round)\n", to: "new-\(round).txt", in: fine)
                let expected = try fixture.porcelainLineCount(in: fine)
                #expect(try await eventually("round \(round) written") { try registry.row(fineID).files == expected })
            }
            // The FIFO goes away: the worktree is read again.
            try FileManager.default.removeItem(at: blocked.appendingPathComponent("sub/.gitignore"))
            try fixture.write("x\n", to: "sub/b.txt", in: blocked)
            let expected = try fixture.porcelainLineCount(in: blocked)
            #expect(try await eventually("blocked worktree read once the FIFO is gone") {
                try registry.row(blockedID).files == expected && running.statistics.blockedWorktrees == 0
            })
            let stopped = Mutex(false)
            Task {
                await running.stop()
                stopped.withLock { $0 = true }
            }
            #expect(try await eventually("shutdown") { stopped.withLock { $0 } })
        }
    }
}
