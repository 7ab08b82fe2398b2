import Foundation
import PostgresClient
import RegistryClient
import TestSupport
import Testing

@testable import SyncAgent

/// Git operations under a running agent: each gives one write of its result.
extension RunAgentTests {
    @Test("git commit, checkout, stash and rebase each give one write of their result (held while git works)")
    func operationsWriteOnce() async throws {
        let (registry, project, id) = try RegistrySeeder.withTrunk(of: "ops", in: fixture)
        let trunk = project.trunk
        try await withRunningAgent(RunningAgent(settings: registry.settings)) { running in
            #expect(try await eventually("ready") { running.statistics.ready })
            /// Runs `operation`, waits until its result is in the row and nothing is pending,
            /// and returns how many writes it took.
            func writes(_ what: String, _ operation: () throws -> Void, until done: @escaping () throws -> Bool) async throws -> Int {
                // What came before has settled, so only this operation's writes are counted.
                #expect(try await eventually("settled before \(what)") {
                    running.statistics.dirtyWorktrees == 0 && running.statistics.pendingStates == 0
                })
                let before = running.statistics.rowsWritten
                try operation()
                #expect(try await eventually(what) {
                    try done() && running.statistics.dirtyWorktrees == 0 && running.statistics.pendingStates == 0
                })
                return running.statistics.rowsWritten - before
            }
            for index in 0..<20 { try write("line \(index)\n", "f\(index).txt", in: trunk) }
            #expect(try await eventually("files seen") { try registry.row(id).files == 20 })
            let committed = try await writes("commit written", {
                try fixture.git(["add", "-A"], in: trunk)
                try fixture.git(["commit", "--quiet", "-m", "twenty files"], in: trunk)
            }, until: { try registry.row(id).files == 0 && registry.row(id).message == "twenty files" })
            #expect(committed == 1)
            let checkedOut = try await writes("checkout written", {
                try fixture.git(["checkout", "--quiet", "-b", "side", "HEAD~1"], in: trunk)
            }, until: { try registry.row(id).message == "initial commit" })
            #expect(checkedOut == 1)
            try write("dirty\n", "README.md", in: trunk)
            #expect(try await eventually("edit seen") { try registry.row(id).files == 1 })
            let stashed = try await writes("stash written", {
                try fixture.git(["stash", "--quiet"], in: trunk)
            }, until: { try registry.row(id).files == 0 })
            #expect(stashed == 1)
            try write("side\n", "side.txt", in: trunk)
            try fixture.git(["add", "-A"], in: trunk)
            try fixture.git(["commit", "--quiet", "-m", "on side"], in: trunk)
            #expect(try await eventually("side commit seen") { try registry.row(id).message == "on side" })
            let rebased = try await writes("rebase written", {
                try fixture.git(["rebase", "--quiet", "main"], in: trunk)
            }, until: { try registry.row(id).message == "on side" && registry.row(id).hash == fixture.revParseHEAD(in: trunk) })
            #expect(rebased == 1)
        }
    }
}
