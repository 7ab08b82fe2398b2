import Foundation
import GitProbe
import TestSupport
import Testing

/// One `GitProbe` value used from many threads at once gives each caller the same answer as a
/// lone call.
@Suite("GitProbe under concurrency", .ownThreads)
struct GitProbeConcurrencyTests {
    @Test("concurrent probes of many worktrees match sequential probes")
    func concurrentMatchesSequential() async throws {
        let fixture = try GitFixture()
        let project = try fixture.makeProject("busy", files: Scenario.standardFiles)
        var worktrees = [project.trunk]
        for number in 0..<8 {
            let tree = try fixture.addWorktree(
                "feat-\(number)", branch: "feat/\(number)", to: project)
            // A different state per worktree: `number` untracked files and commits.
            for file in 0..<number {
                try fixture.write("\(file)\n", to: "untracked-\(file).txt", in: tree)
            }
            for commit in 0..<(number % 3) {
                try fixture.write("\(commit)\n", to: "committed-\(commit).txt", in: tree)
                try fixture.git(["add", "committed-\(commit).txt"], in: tree)
                try fixture.commit("commit \(commit) on \(number)", in: tree)
            }
            worktrees.append(tree)
        }
        let probe = GitProbe()
        let paths = worktrees.map(\.path)
        var expected: [String: WorktreeState] = [:]
        for path in paths {
            expected[path] = try probe.probe(path: path, defaultBranch: "main")
        }

        let results = try await withThrowingTaskGroup(of: (String, WorktreeState).self) { group in
            for _ in 0..<6 {
                for path in paths {
                    group.addTask { (path, try probe.probe(path: path, defaultBranch: "main")) }
                }
            }
            var collected: [(String, WorktreeState)] = []
            for try await result in group { collected.append(result) }
            return collected
        }

        #expect(results.count == paths.count * 6)
        for (path, state) in results {
            let reference = try #require(expected[path])
            #expect(state.sameGitState(as: reference), "\(path)")
        }
        for (number, tree) in worktrees.dropFirst().enumerated() {
            #expect(expected[tree.path]?.uncommittedFilesCount == number)
            #expect(expected[tree.path]?.aheadOfTrunk == number % 3)
        }
    }
}
