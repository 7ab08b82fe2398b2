import Foundation
import TestSupport
import Testing

@testable import GitProbe

/// The merged verdict must be the git CLI's: `git merge-base --is-ancestor HEAD <trunk>`, else
/// `git merge-tree --write-tree <trunk> HEAD` printing `<trunk>^{tree}`; a branch without commits
/// of its own is never merged. The merge commit must be the one a plain walk of trunk's
/// first-parent line with those two commands finds, oldest first. And deciding must leave the
/// repository exactly as it was.
@Suite("Merged verdicts agree with git merge-base and git merge-tree", .ownThreads)
struct BranchIntegrationTests {
    enum Expected: Sendable {
        case merged(commit: String, method: BranchIntegration.Method, evidence: BranchIntegration.OwnCommitsEvidence)
        case notMerged(BranchIntegration.NotMergedReason)
    }

    struct Built: Sendable {
        var worktree: URL
        var expected: Expected
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var logAllRefUpdates = true
        var build: @Sendable (MergeWorld) throws -> Built
        var testDescription: String { name }
    }

    @Test("verdict, merge commit, committer and time are git's; nothing is written", arguments: cases)
    func matchesGit(_ scenario: Case) throws {
        let world = try MergeWorld(logAllRefUpdates: scenario.logAllRefUpdates)
        let built = try scenario.build(world)
        let fixture = world.fixture
        let common = try world.text(["rev-parse", "--path-format=absolute", "--git-common-dir"], in: built.worktree)
        let before = try RepositorySnapshot(common: common, worktrees: [built.worktree], fixture: fixture)
        let result = try GitProbe().integration(worktreePath: built.worktree.path, defaultBranch: "main")
        #expect(try RepositorySnapshot(common: common, worktrees: [built.worktree], fixture: fixture) == before,
                "deciding wrote nothing into the repository")

        // The oracle writes objects (git merge-tree), so it runs afterwards.
        let oracle = try Oracle(world, built.worktree)
        #expect(result.inputs == oracle.inputs)
        switch built.expected {
        case .merged(let commit, let method, let evidence):
            let merge = try #require(result.merge, "expected merged, got \(result.verdict)")
            #expect(merge.commit == commit)
            #expect(merge.method == method)
            #expect(merge.evidence == evidence)
            #expect(oracle.isAncestor == (method == .ancestor), "git merge-base --is-ancestor")
            #expect(try oracle.mergeChangesNothing(into: try #require(oracle.trunk)), "git merge-tree: nothing changes")
            #expect(merge.commit == (try oracle.mergeCommit(method)), "the oldest commit on the line holding the work")
            let facts = try world.text(["log", "-1", "--format=%ct%n%cn%n%ce", commit], in: built.worktree)
                .split(separator: "\n").map(String.init)
            #expect(merge.committedAt == Date(timeIntervalSince1970: TimeInterval(facts[0])!))
            #expect([merge.committerName, merge.committerEmail] == Array(facts[1...]))
            #expect(merge.committer == "\(facts[1]) <\(facts[2])>")
        case .notMerged(let reason):
            #expect(result.verdict == .notMerged(reason))
            if reason == .unmergedWork {
                #expect(!oracle.isAncestor)
                #expect(try !oracle.mergeChangesNothing(into: try #require(oracle.trunk)))
            }
            // A fresh branch is one the CLI alone would call merged.
            if reason == .noOwnCommits {
                #expect(try oracle.isAncestor || oracle.mergeChangesNothing(into: try #require(oracle.trunk)))
            }
        }
    }

    @Test("an open handle and a sandbox are reused; an ancestor verdict merges nothing")
    func reusesHandleAndSandbox() throws {
        let world = try MergeWorld()
        let forwarded = try world.worktree("ff", commits: 1)
        try world.keeper(["merge", "--quiet", "--ff-only", "feat/ff"])
        let squashed = try world.worktree("sq", commits: 2)
        // Trunk commits before the squash: finding it merges the branch into an older one
        // (t2), which makes a tree the repository lacks (git made only t3's for the squash).
        for name in ["t1", "t2", "t3"] { try world.trunkCommit(name) }
        try world.squash("feat/sq")
        try world.publish()
        let probe = GitProbe()
        let open = OpenRepositories(capacity: 4)
        open.put(try GitRepository(openingWorktreeAt: squashed.path), for: squashed.path)
        let sandbox = try MergeSandbox(commonDirectory: world.trunk.appendingPathComponent(".git").path)

        let ancestor = try probe.integration(
            worktreePath: forwarded.path, defaultBranch: "main", openRepositories: open, sandbox: sandbox)
        #expect(ancestor.merge?.method == .ancestor)
        #expect(sandbox.storedBytes == 0, "no merge ran for a HEAD trunk reaches")
        #expect(open.count == 1, "a handle opened for the call is not cached")

        let integrated = try probe.integration(
            worktreePath: squashed.path, defaultBranch: "main", openRepositories: open, sandbox: sandbox)
        #expect(integrated == (try probe.integration(worktreePath: squashed.path, defaultBranch: "main")))
        #expect(integrated.merge?.method == .integrated)
        #expect(sandbox.storedBytes > 0, "the merges ran in the sandbox given")
        #expect(open.count == 1, "the cached handle was put back")
        #expect(try probe.integrationInputs(worktreePath: squashed.path, defaultBranch: "main", openRepositories: open)
                == integrated.inputs)
    }

    @Test("reflog messages: which moves made a commit on the branch")
    func reflogMoves() {
        let new = String(repeating: "ab", count: 20)
        let other = String(repeating: "cd", count: 20)
        let table: [(String, GitRepository.ReflogMove)] = [
            ("commit: add x", .madeCommit), ("commit (initial): root", .madeCommit),
            ("commit (amend): x", .madeCommit), ("commit (merge): Merge", .madeCommit),
            ("cherry-pick: two", .madeCommit), ("revert: Revert \"two\"", .madeCommit), ("am: patch", .madeCommit),
            ("rebase (finish): refs/heads/x onto \(other)", .madeCommit),
            ("rebase (finish): refs/heads/x onto \(new)", .movedOnly),
            ("rebase -i (finish): refs/heads/x onto \(new)", .movedOnly),
            ("merge origin/main: Fast-forward", .movedOnly), ("pull: Fast-forward", .movedOnly),
            ("merge origin/main: Merge made by the 'ort' strategy.", .madeCommit),
            ("branch: Created from HEAD", .movedOnly), ("branch: Reset to main", .movedOnly),
            ("Branch: renamed refs/heads/a to refs/heads/b", .movedOnly), ("reset: moving to origin/main", .movedOnly),
            ("update by push", .unknown), ("", .unknown), ("some tool: saved", .unknown),
        ]
        for (message, move) in table {
            #expect(GitRepository.reflogMove(message, newCommit: { new }) == move, "\(message)")
        }
    }
}

/// The git CLI's answers for one worktree.
struct Oracle {
    let world: MergeWorld
    let worktree: URL
    let inputs: BranchIntegration.Inputs
    var trunk: String? { inputs.trunkCommit }
    var isAncestor = false

    init(_ world: MergeWorld, _ worktree: URL) throws {
        self.world = world
        self.worktree = worktree
        let fixture = world.fixture
        var trunkRef: String?
        var trunkCommit: String?
        for candidate in ["refs/remotes/origin/HEAD", "refs/remotes/origin/main", "refs/heads/main"] {
            if let commit = try fixture.resolve(candidate, in: worktree) {
                (trunkRef, trunkCommit) = (candidate, commit)
                break
            }
        }
        inputs = BranchIntegration.Inputs(
            branch: try fixture.currentBranch(in: worktree), headCommit: try fixture.revParseHEAD(in: worktree),
            trunkRef: trunkRef, trunkCommit: trunkCommit)
        if let head = inputs.headCommit, let trunkCommit {
            isAncestor = try isAncestor(head, of: trunkCommit)
        }
    }

    /// `git merge-base --is-ancestor`.
    func isAncestor(_ ancestor: String, of commit: String) throws -> Bool {
        try world.fixture.gitResult(["merge-base", "--is-ancestor", ancestor, commit], in: worktree).status == 0
    }

    /// `git merge-tree --write-tree <target> HEAD` prints `<target>^{tree}`.
    func mergeChangesNothing(into target: String) throws -> Bool {
        let result = try world.fixture.gitResult(["merge-tree", "--write-tree", target, "HEAD"], in: worktree)
        let tree = try world.text(["rev-parse", "\(target)^{tree}"], in: worktree)
        return result.status == 0 && result.standardOutput.split(separator: "\n").first.map(String.init) == tree
    }

    /// Trunk's first-parent line down to the first commit HEAD reaches (kept when it is HEAD),
    /// scanned oldest first for the first commit holding the branch's work: linear, with
    /// nothing assumed about where it holds.
    func mergeCommit(_ method: BranchIntegration.Method) throws -> String? {
        guard let head = inputs.headCommit, let trunk else { return nil }
        var segment: [String] = []
        for commit in try world.text(["rev-list", "--first-parent", trunk], in: worktree).split(separator: "\n") {
            let commit = String(commit)
            if try isAncestor(commit, of: head) {
                if commit == head { segment.append(commit) }
                break
            }
            segment.append(commit)
        }
        for commit in segment.reversed() {
            let holds = method == .ancestor ? try isAncestor(head, of: commit) : try mergeChangesNothing(into: commit)
            if holds { return commit }
        }
        return nil
    }
}
