import Foundation
import GitProbe
import Logging
import PostgresClient
import RegistryClient
import TestSupport
import Testing

@testable import SyncAgent
@testable import WorktreeMembership

/// Finished work leaves the in-flight list: `once` and `run` write merged_at, merged_by and
/// merge_commit_hash as git sees the merge, and `v_inflight_work` hides a merged worktree
/// unless it has uncommitted changes.
@Suite("merged worktrees: once and run", .ownThreads)
struct MergedWorktreeTests {
    init() { GitLibrary.initialize() }

    struct MergeColumns: Equatable {
        var mergedAt: Date?
        var mergedBy: String?
        var hash: String?
    }

    static func columns(_ id: String, _ registry: RegistrySeeder) throws -> MergeColumns {
        let row = try registry.connection.execute(
            "SELECT merged_at, merged_by, merge_commit_hash FROM worktrees WHERE id = $1", [id])
        return MergeColumns(
            mergedAt: try row.decode(0, 0, as: Date?.self), mergedBy: try row.decode(0, 1, as: String?.self),
            hash: try row.decode(0, 2, as: String?.self))
    }

    /// The status `v_inflight_work` lists `id` with, or nil when it is not listed.
    static func inflight(_ id: String, _ registry: RegistrySeeder) throws -> String? {
        let rows = try registry.connection.execute("SELECT status FROM v_inflight_work WHERE worktree_id = $1", [id])
        return rows.count == 0 ? nil : try rows.decode(0, 0, as: String.self)
    }

    /// What git says of `commit`: its committer ("Name <email>") and committer time.
    static func committer(_ commit: String, in repository: URL, _ git: GitFixture) throws -> (String, Date) {
        let fields = try git.git(["log", "-1", "--format=%cn <%ce>%n%ct", commit], in: repository)
            .split(separator: "\n").map(String.init)
        return (fields[0], Date(timeIntervalSince1970: Double(fields[1])!))
    }

    private func once(_ registry: RegistrySeeder) throws -> OnceSync.Report {
        try OnceSync(connection: registry.connection, logger: Logger(label: "test"), host: .forTests).run()
    }

    @Test("once: merged (no-ff, squash) leave the view with git's merge commit; a fresh worktree and open work stay; edits and commits after the merge")
    func onceRecognisesMerges() throws {
        let git = try GitFixture()
        let project = try git.makeProject("app")
        let registry = try RegistrySeeder.freshRegistry(prefix: "merged")
        let projectID = try registry.addProject("app", trunk: project.trunk)
        try registry.addWorktree("trunk-main", path: project.trunk, project: projectID)
        func feature(_ name: String) throws -> (URL, String) {
            let path = try git.addWorktree(name, branch: "feat/\(name)", to: project)
            try git.write("\(name)\n", to: "\(name).txt", in: path)
            try git.commitAll("work on \(name)", in: path)
            return (path, try registry.addWorktree(name, path: path, project: projectID, branch: "feat/\(name)"))
        }
        let (noFF, noFFID) = try feature("noff")
        let (squash, squashID) = try feature("squash")
        let (_, openID) = try feature("open")
        let fresh = try git.addWorktree("fresh", branch: "feat/fresh", to: project)
        let freshID = try registry.addWorktree("fresh", path: fresh, project: projectID, branch: "feat/fresh")

        try git.git(["merge", "--quiet", "--no-ff", "-m", "merge noff", "feat/noff"], in: project.trunk)
        let mergeCommit = try #require(try git.revParseHEAD(in: project.trunk))
        try git.git(["merge", "--quiet", "--squash", "feat/squash"], in: project.trunk)
        let squashCommit = try git.commit("squash of feat/squash", in: project.trunk)
        try git.git(["push", "--quiet", "origin", "main"], in: project.trunk)
        // The git CLI agrees with what follows: one is an ancestor, the other merges to nothing.
        #expect(try git.gitResult(["merge-base", "--is-ancestor", "HEAD", "origin/main"], in: noFF).status == 0)
        let mergedTree = try git.git(["merge-tree", "--write-tree", "origin/main", "HEAD"], in: squash)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let trunkTree: String? = try git.git(["rev-parse", "origin/main^{tree}"], in: squash)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(mergedTree == trunkTree, "merge-tree \(mergedTree) vs trunk's tree \(trunkTree ?? "-")")

        let report = try once(registry)
        #expect(report.failures.isEmpty)
        let (by, at) = try Self.committer(mergeCommit, in: project.trunk, git)
        #expect(try Self.columns(noFFID, registry) == MergeColumns(mergedAt: at, mergedBy: by, hash: mergeCommit))
        let (squashBy, squashAt) = try Self.committer(squashCommit, in: project.trunk, git)
        #expect(try Self.columns(squashID, registry) == MergeColumns(mergedAt: squashAt, mergedBy: squashBy, hash: squashCommit))
        #expect(try Self.inflight(noFFID, registry) == nil)
        #expect(try Self.inflight(squashID, registry) == nil)
        #expect(try Self.columns(freshID, registry) == MergeColumns(), "a fresh worktree has no commit of its own")
        #expect(try Self.inflight(freshID, registry) == "behind", "a fresh branch trunk moved past is behind, not merged")
        #expect(try Self.inflight(openID, registry) == "diverged")
        #expect(report.outcomes.first { $0.worktree.id == squashID }?.status == "merged")

        // Uncommitted changes after the merge: back in flight, as merged; the facts stay.
        try git.write("more\n", to: "later.txt", in: noFF)
        _ = try once(registry)
        #expect(try Self.inflight(noFFID, registry) == "merged")
        #expect(try Self.columns(noFFID, registry).hash == mergeCommit)
        // A commit after the merge: not merged any more, the columns cleared.
        try git.commitAll("after the merge", in: noFF)
        _ = try once(registry)
        #expect(try Self.columns(noFFID, registry) == MergeColumns())
        let afterCommit = try Self.inflight(noFFID, registry)
        #expect(afterCommit == "diverged" || afterCommit == "ahead", "\(afterCommit ?? "not listed")")
    }

    @Test("run: a worktree merged into trunk and pushed leaves the in-flight view; listeners hear of it")
    func runTakesMergedOut() async throws {
        let git = try GitFixture()
        let project = try git.makeProject("svc")
        let registry = try RegistrySeeder.freshRegistry(prefix: "mergedrun")
        let projectID = try registry.addProject("svc", trunk: project.trunk)
        try registry.addWorktree("trunk-main", path: project.trunk, project: projectID)
        let feature = try git.addWorktree("feat-x", branch: "feat/x", to: project)
        try git.write("x\n", to: "x.txt", in: feature)
        try git.commitAll("x", in: feature)
        let id = try registry.addWorktree("feat-x", path: feature, project: projectID, branch: "feat/x")
        try await withRunningAgent(RunningAgent(settings: registry.settings)) { running in
            #expect(try await eventually("ready and listed as ahead") {
                let status = try Self.inflight(id, registry)
                return running.statistics.ready && status == "ahead"
            })
            let listener = try PostgresConnection(settings: registry.settings)
            try listener.listen(Registry.stateChannel)
            try git.git(["merge", "--quiet", "--no-ff", "-m", "merge x", "feat/x"], in: project.trunk)
            try git.git(["push", "--quiet", "origin", "main"], in: project.trunk)
            let merge = try #require(try git.revParseHEAD(in: project.trunk))
            #expect(try await eventually("out of the in-flight view, merged by the pushed commit") {
                let listed = try Self.inflight(id, registry)
                return try listed == nil && Self.columns(id, registry).hash == merge
            })
            var named = false
            for _ in 0..<50 where !named {
                if case .notifications(let received) = try listener.waitForNotifications(timeoutMilliseconds: 100) {
                    named = received.contains { $0.payload.contains(id) }
                }
            }
            #expect(named, "NOTIFY imi_worktree_state names the merged worktree")
        }
    }
}
