import Foundation
import GitProbe
import PostgresClient
import RegistryClient
import TestSupport
import Testing

@testable import SyncAgent

/// `run` re-probes edited worktrees from the changed paths alone; whatever the route, the row
/// must end every quiet period with exactly what the git CLI says.
@Suite("imi-sync run: path-level re-probing agrees with the git CLI", .ownThreads)
struct IncrementalAgentTests {
    @Test("random operations under a running agent: the row matches git status after each")
    func randomOperationsUnderTheAgent() async throws {
        let run = PropertyRun(defaultCases: 160)
        let fixture = try GitFixture()
        let registry = try RegistrySeeder.freshRegistry(prefix: "incr")
        let tree = try fixture.makeProject("p", files: WorktreeOperation.seedFiles).trunk
        let projectID = try registry.addProject("p", trunk: tree)
        let id = try registry.addWorktree("trunk-main", path: tree, project: projectID)
        try await withRunningAgent(RunningAgent(settings: registry.settings)) { running in
            #expect(try await eventually("ready") { running.statistics.ready })

            var generator = SeededGenerator(seed: run.seed)
            var history: [String] = []
            var unmergedSteps = 0
            for step in 0..<run.cases {
                let operation = WorktreeOperation.random(in: tree, using: &generator)
                history.append(operation.description)
                try operation.apply(in: tree, fixture: fixture)
                let (files, fromGit) = try fixture.oracleLineCount(in: tree) {
                    try GitProbe().probe(path: tree.path, defaultBranch: "main").uncommittedFilesCount
                }
                if !fromGit { unmergedSteps += 1 }
                let hash = try fixture.revParseHEAD(in: tree)
                let converged = try await eventually("step \(step)", seconds: 10) {
                    let row = try registry.row(id)
                    let statistics = running.statistics
                    return row.files == files && row.hash == hash && statistics.dirtyWorktrees == 0
                        && statistics.pendingStates == 0
                }
                guard converged else {
                    // Tells a wrong path-level answer from a wrong full status or a missed event.
                    let fresh = try? GitProbe().probe(path: tree.path, defaultBranch: "main").uncommittedFilesCount
                    let porcelain = try fixture.git(["--no-optional-locks", "status", "--porcelain"], in: tree)
                    Issue.record(
                        """
                        row \(try registry.row(id)) != git (\(files) lines, HEAD \(hash ?? "unborn")); \
                        a full probe now says \(fresh.map(String.init) ?? "error"); git: \(porcelain.debugDescription) \
                        after IMI_PROPERTY_SEED=\(run.seed) step \(step): \(history.suffix(12).joined(separator: "; "))
                        """)
                    break
                }
            }
            let statistics = running.statistics
            // Worth something only if the path-level route was taken, and not for everything.
            #expect(statistics.pathProbes > run.cases / 8)
            #expect(statistics.pathProbes < statistics.probes)
            print("agent: \(statistics.probes) probes, \(statistics.pathProbes) path-level, \(run.cases) operations (\(unmergedSteps) with unmerged paths), seed \(run.seed)")
        }
    }

    @Test("an edit of one file is answered from that file; an index change needs a full status")
    func routeFollowsTheChange() async throws {
        let fixture = try GitFixture()
        let (registry, project, id) = try RegistrySeeder.withTrunk(of: "r", in: fixture)
        try await withRunningAgent(RunningAgent(settings: registry.settings)) { running in
            #expect(try await eventually("ready") { running.statistics.ready })
            let before = running.statistics

            try fixture.write("edited\n", to: "README.md", in: project.trunk)
            #expect(try await eventually("edit written") { try registry.row(id).files == 1 })
            #expect(try await eventually("one path-level probe") { running.statistics.pathProbes == before.pathProbes + 1 })
            #expect(running.statistics.rememberedEntries == 1)

            let afterEdit = running.statistics
            try fixture.git(["add", "README.md"], in: project.trunk)
            try fixture.write("again\n", to: "README.md", in: project.trunk)
            #expect(try await eventually("staged and edited: one line") {
                try registry.row(id).files == 1 && running.statistics.probes > afterEdit.probes
                    && running.statistics.dirtyWorktrees == 0
            })
            #expect(running.statistics.probes > running.statistics.pathProbes)
        }
    }
}
