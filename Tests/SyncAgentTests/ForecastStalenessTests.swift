import Foundation
import GitProbe
import Logging
import PostgresClient
import RegistryClient
import TestSupport
import Testing

@testable import SyncAgent
@testable import OverlapForecast

/// The forecast's change sets when a worktree's state cannot be built (kept, marked stale, and
/// said so by `conflicts` and `check`), when a new directory holds many files (one row), and
/// when the sandboxes start afresh over their memory budget (the same results).
@Suite("Forecast: stale change sets, collapsed directories, memory budget", .ownThreads)
struct ForecastStalenessTests {
    static func worktrees(_ setup: OverlapTests.Setup) throws -> [RegisteredWorktree] {
        try Registry(connection: setup.registry.connection).activeWorktrees()
    }

    static func targets(_ worktrees: [RegisteredWorktree], _ setup: OverlapTests.Setup) -> [OverlapForecaster.Target] {
        worktrees.map { OverlapForecaster.Target(worktree: $0, inFlight: $0.id != setup.ids["trunk"]) }
    }

    @Test("a worktree whose state cannot be built keeps its change set, marked stale in conflicts, check and --json")
    func staleChangeSet() throws {
        let setup = try OverlapTests.Setup()
        try setup.git.write("A\nb\nc\nd\ne\nf\n", to: "README.md", in: setup.paths["a"]!)
        try setup.git.write("B\nb\nc\nd\ne\nf\n", to: "README.md", in: setup.paths["b"]!)
        #expect(try setup.imiSync(["once"]).status == 0)
        #expect(try setup.overlaps() == ["a+b README.md": "conflict"])

        let forecaster = OverlapForecaster(logger: Logger(label: "test"))
        let broken = setup.paths["a"]!.path
        forecaster.scanWorktree = { worktree throws(GitProbeError) in
            if worktree.path == broken {
                throw GitProbeError(code: .libgit2, path: worktree.path, operation: "read README.md", libgit2Message: "Input/output error")
            }
            return try MergeSandbox.scan(worktreeAt: worktree.path, defaultBranch: worktree.defaultBranch)
        }
        let local = try Self.worktrees(setup)
        let report = try forecaster.forecast(
            Self.targets(local, setup), local: local, registry: Registry(connection: setup.registry.connection))
        #expect(report.failures == 1)
        let stored = try setup.registry.connection.execute(
            "SELECT stale_since IS NOT NULL, stale_reason, path_count FROM worktree_change_sets WHERE worktree_id = $1", [setup.ids["a"]!])
        #expect(try stored.decode(0, 0) as Bool)
        #expect((try stored.decode(0, 1) as String).contains("Input/output error"))
        #expect(try stored.decode(0, 2) as Int == 1, "the change set is kept")
        #expect(try setup.overlaps() == ["a+b README.md": "conflict"], "the overlap is still shown")

        let table = try setup.imiSync(["conflicts"])
        #expect(table.output.contains("feat-a (here) [stale since "), "\(table.output)")
        #expect(!table.output.contains("feat-b (here) [stale"), "\(table.output)")
        let json = try setup.imiSync(["conflicts", "--json"])
        #expect(json.output.contains("\"stale_since\""), "\(json.output)")
        let bReadme = setup.paths["b"]!.appendingPathComponent("README.md").path
        let checked = try setup.imiSync(["check", "--worktree", setup.paths["b"]!.path, bReadme])
        #expect(checked.output.contains("stale since"), "\(checked.output)")

        // Built again: current, the mark cleared.
        #expect(try setup.imiSync(["once"]).status == 0)
        let cleared = try setup.registry.connection.execute(
            "SELECT count(*) FROM worktree_change_sets WHERE stale_since IS NOT NULL").int(0, 0)
        #expect(cleared == 0)
        #expect(!(try setup.imiSync(["conflicts"])).output.contains("stale since"))
    }

    @Test("a new directory of 2,000 files is one change-set row; two worktrees adding into it overlap and conflict there")
    func newDirectoryIsOneRow() throws {
        let setup = try OverlapTests.Setup()
        let generated = setup.paths["a"]!.appendingPathComponent("gen")
        try FileManager.default.createDirectory(at: generated, withIntermediateDirectories: true)
        for number in 0..<2000 {
            try "a \(number)\n".write(to: generated.appendingPathComponent("f\(number).txt"), atomically: false, encoding: .utf8)
        }
        try setup.git.write("b's own\n", to: "gen/f7.txt", in: setup.paths["b"]!)
        #expect(try setup.imiSync(["once"]).status == 0)
        let rows = try setup.registry.connection.execute(
            "SELECT path, kind FROM worktree_changes WHERE worktree_id = $1", [setup.ids["a"]!])
        #expect(rows.count == 1)
        #expect(try rows.decode(0, 0) as String == "gen/")
        #expect(try rows.decode(0, 1) as String == "added")
        #expect(try setup.overlaps() == ["a+b gen/": "conflict"])
        let checked = try setup.imiSync(["check", "--worktree", setup.paths["b"]!.path,
                                         setup.paths["b"]!.appendingPathComponent("gen/f7.txt").path])
        #expect(checked.status == 2, "check finds the file inside a's new directory: \(checked.output)")
    }

    @Test("sandboxes started afresh over their budget give the results a fresh forecaster gives")
    func budgetResetIsInvisible() throws {
        let setup = try OverlapTests.Setup()
        let registry = Registry(connection: setup.registry.connection)
        try setup.git.write("A\nb\nc\nd\ne\nf\n", to: "README.md", in: setup.paths["a"]!)
        try setup.git.write("B\nb\nc\nd\ne\nf\n", to: "README.md", in: setup.paths["b"]!)
        try setup.git.write("a\nb\nc\nd\ne\nC\n", to: "README.md", in: setup.paths["c"]!)
        try setup.git.write("int d;\n", to: "src/app.c", in: setup.paths["d"]!)
        let local = try Self.worktrees(setup)
        let tight = OverlapForecaster(logger: Logger(label: "test"))
        tight.storeBudget = 0
        _ = try tight.forecast(Self.targets(local, setup), local: local, registry: registry)
        // Edits applied path by path in the same forecaster, each pass over the budget.
        for (name, text) in [("a", "a\nb\nc\nd\ne\nF\n"), ("c", "a\nb\nX\nd\ne\nC\n"), ("d", "int dd;\n")] {
            let file = name == "d" ? "src/app.c" : "README.md"
            try setup.git.write(text, to: file, in: setup.paths[name]!)
            let worktree = local.first { $0.id == setup.ids[name] }!
            _ = try tight.forecast(
                [OverlapForecaster.Target(worktree: worktree, inFlight: true, changedPaths: [Array(file.utf8)])],
                local: local, registry: registry)
        }
        #expect(tight.resets >= 3)
        let afterTight = try setup.overlaps()
        let fresh = try OverlapForecaster(logger: Logger(label: "test"))
            .forecast(Self.targets(local, setup), local: local, registry: registry)
        #expect(fresh.changeSetsWritten == 0 && fresh.verdictsWritten == 0, "nothing differs from what the tight one stored")
        #expect(try setup.overlaps() == afterTight)
        #expect(afterTight.count == 3 && afterTight["a+c README.md"] == "conflict" && !afterTight.values.contains("unknown"),
                "\(afterTight)")
    }
}
