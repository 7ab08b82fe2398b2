import Foundation
import TestSupport

/// Every kind of merge, and the branches that are not merged. Each builds its project with
/// the git CLI and names the verdict it must get; the test checks that against the CLI too.
extension BranchIntegrationTests {
    static let cases: [Case] = merges + notMerged + withoutReflogs

    static let merges: [Case] = [
        Case(name: "no-ff merge, trunk moving before and after") { w in
            let tree = try w.worktree("a", commits: 2)
            try w.trunkCommit("t1")
            let merge = try w.keeper(["merge", "--quiet", "--no-ff", "--no-edit", "feat/a"])
            try w.trunkCommit("t2")
            try w.trunkCommit("t3")
            try w.publish()
            return Built(worktree: tree, expected: .merged(commit: merge, method: .ancestor, evidence: .reflog))
        },
        Case(name: "fast-forward: the branch head is the merge commit") { w in
            let tree = try w.worktree("b", commits: 2)
            try w.keeper(["merge", "--quiet", "--ff-only", "feat/b"])
            try w.trunkCommit("t1")
            try w.publish()
            return Built(worktree: tree, expected: .merged(commit: try w.head(of: tree), method: .ancestor, evidence: .reflog))
        },
        Case(name: "squash merge, trunk moving after") { w in
            let tree = try w.worktree("c", commits: 2)
            try w.trunkCommit("t1")
            let squash = try w.squash("feat/c")
            for number in 2...12 { try w.trunkCommit("t\(number)") }
            try w.publish()
            return Built(worktree: tree, expected: .merged(commit: squash, method: .integrated, evidence: .commitsTrunkLacks))
        },
        Case(name: "rebased onto trunk in the worktree, then fast-forwarded") { w in
            let tree = try w.worktree("d", commits: 2)
            try w.trunkCommit("t1")
            try w.publish()
            try w.fixture.git(["rebase", "--quiet", "origin/main"], in: tree)
            try w.keeper(["merge", "--quiet", "--ff-only", "feat/d"])
            try w.trunkCommit("t2")
            try w.publish()
            return Built(worktree: tree, expected: .merged(commit: try w.head(of: tree), method: .ancestor, evidence: .reflog))
        },
        Case(name: "trunk got rebased copies, the worktree keeps its commits") { w in
            let tree = try w.worktree("e", commits: 2)
            try w.trunkCommit("t1")
            try w.keeper(["branch", "copy", "feat/e"])
            try w.keeper(["rebase", "--quiet", "main", "copy"])
            try w.keeper(["checkout", "--quiet", "main"])
            let last = try w.keeper(["merge", "--quiet", "--ff-only", "copy"])
            try w.keeper(["branch", "--quiet", "-D", "copy"])
            try w.trunkCommit("t2")
            try w.publish()
            return Built(worktree: tree, expected: .merged(commit: last, method: .integrated, evidence: .commitsTrunkLacks))
        },
        Case(name: "every commit cherry-picked, trunk commits between") { w in
            let tree = try w.worktree("f", commits: 2)
            try w.keeper(["cherry-pick", try w.commit("feat/f~1")])
            try w.trunkCommit("t1")
            let last = try w.keeper(["cherry-pick", try w.commit("feat/f")])
            try w.trunkCommit("t2")
            try w.publish()
            return Built(worktree: tree, expected: .merged(commit: last, method: .integrated, evidence: .commitsTrunkLacks))
        },
        Case(name: "octopus merge, the branch as third parent") { w in
            _ = try w.worktree("g1", commits: 1)
            let tree = try w.worktree("g2", commits: 2)
            let octopus = try w.keeper(["merge", "--quiet", "--no-ff", "--no-edit", "feat/g1", "feat/g2"])
            try w.trunkCommit("t1")
            try w.publish()
            return Built(worktree: tree, expected: .merged(commit: octopus, method: .ancestor, evidence: .reflog))
        },
        Case(name: "reused worktree: merged, then an uncommitted edit stays merged") { w in
            let tree = try w.worktree("h", commits: 2)
            let squash = try w.squash("feat/h")
            try w.publish()
            try w.fixture.write("edited\n", to: "README.md", in: tree)
            try w.fixture.write("new\n", to: "untracked.txt", in: tree)
            return Built(worktree: tree, expected: .merged(commit: squash, method: .integrated, evidence: .commitsTrunkLacks))
        },
        Case(name: "main worktree on a branch, fast-forwarded into trunk") { w in
            try w.fixture.git(["checkout", "--quiet", "-b", "feat/m"], in: w.trunk)
            let head = try w.commit(in: w.trunk, file: "m.txt")
            try w.fixture.git(["push", "--quiet", "origin", "feat/m:main"], in: w.trunk)
            return Built(worktree: w.trunk, expected: .merged(commit: head, method: .ancestor, evidence: .reflog))
        },
    ]

    static let notMerged: [Case] = [
        Case(name: "one of two commits cherry-picked: not merged") { w in
            let tree = try w.worktree("p", commits: 2)
            try w.keeper(["cherry-pick", try w.commit("feat/p~1")])
            try w.publish()
            return Built(worktree: tree, expected: .notMerged(.unmergedWork))
        },
        Case(name: "reused worktree: fast-forwarded, then a new commit") { w in
            let tree = try w.worktree("q", commits: 1)
            try w.keeper(["merge", "--quiet", "--ff-only", "feat/q"])
            try w.publish()
            try w.commit(in: tree, file: "after.txt")
            return Built(worktree: tree, expected: .notMerged(.unmergedWork))
        },
        Case(name: "reused worktree: squashed, then a new commit") { w in
            let tree = try w.worktree("r", commits: 2)
            try w.squash("feat/r")
            try w.publish()
            try w.commit(in: tree, file: "after.txt")
            return Built(worktree: tree, expected: .notMerged(.unmergedWork))
        },
        Case(name: "squashed, then trunk rewrote the same line: git merge-tree conflicts, not merged") { w in
            let tree = try w.worktree("s", commits: 0)
            try w.commit(in: tree, file: "README.md", "A\nb\nc\n")
            try w.squash("feat/s")
            try w.commit(in: w.trunk, file: "README.md", "Z\nb\nc\n")
            try w.publish()
            return Built(worktree: tree, expected: .notMerged(.unmergedWork))
        },
        Case(name: "fresh worktree, trunk moved on") { w in
            let tree = try w.worktree("n", commits: 0)
            try w.trunkCommit("t1")
            try w.trunkCommit("t2")
            try w.publish()
            return Built(worktree: tree, expected: .notMerged(.noOwnCommits))
        },
        // Trunk's commit is newer than the worktree: only the reflog tells it is not the branch's.
        Case(name: "fresh worktree fast-forwarded to a newer trunk (git merge origin/main)") { w in
            let tree = try w.worktree("o", commits: 0, laterSecond: true)
            try w.trunkCommit("t1")
            try w.publish()
            try w.fixture.git(["merge", "--quiet", "--ff-only", "origin/main"], in: tree)
            try w.trunkCommit("t2")
            try w.publish()
            return Built(worktree: tree, expected: .notMerged(.noOwnCommits))
        },
        Case(name: "fresh worktree rebased onto trunk") { w in
            let tree = try w.worktree("rb", commits: 0)
            try w.trunkCommit("t1")
            try w.publish()
            try w.fixture.git(["rebase", "--quiet", "origin/main"], in: tree)
            return Built(worktree: tree, expected: .notMerged(.noOwnCommits))
        },
        Case(name: "fresh worktree, trunk rewritten under it (force-pushed): its reflog says no commits of its own") { w in
            try w.trunkCommit("t0")
            try w.publish()
            let tree = try w.worktree("fr", commits: 0)
            try w.keeper(["commit", "--quiet", "--amend", "-m", "t0, reworded"])
            try w.trunkCommit("t1")
            try w.fixture.git(["push", "--quiet", "--force", "origin", "main"], in: w.trunk)
            return Built(worktree: tree, expected: .notMerged(.noOwnCommits))
        },
        Case(name: "no trunk") { w in
            let solo = try w.fixture.initRepository("solo", branch: "dev")
            try w.commit(in: solo, file: "a.txt")
            let tree = w.fixture.root.appendingPathComponent("solo-feat")
            try w.fixture.git(["worktree", "add", "--quiet", "-b", "feat/solo", tree.path], in: solo)
            try w.commit(in: tree, file: "b.txt")
            return Built(worktree: tree, expected: .notMerged(.noTrunk))
        },
        Case(name: "unborn branch") { w in
            let tree = w.project.directory.appendingPathComponent("unborn")
            try w.fixture.git(["worktree", "add", "--quiet", "--detach", tree.path], in: w.trunk)
            try w.fixture.git(["checkout", "--quiet", "--orphan", "feat/unborn"], in: tree)
            return Built(worktree: tree, expected: .notMerged(.unbornBranch))
        },
        Case(name: "detached HEAD, though its commit was merged") { w in
            let tree = w.project.directory.appendingPathComponent("detached")
            try w.fixture.git(["worktree", "add", "--quiet", "--detach", tree.path], in: w.trunk)
            let commit = try w.commit(in: tree, file: "d.txt")
            try w.keeper(["merge", "--quiet", "--no-ff", "--no-edit", commit])
            try w.publish()
            return Built(worktree: tree, expected: .notMerged(.detachedHead))
        },
        Case(name: "the trunk worktree itself") { w in
            try w.trunkCommit("t1")
            return Built(worktree: w.trunk, expected: .notMerged(.isTrunk))
        },
    ]

    /// Without the branch's reflog, own commits are told by the graph and the worktree's
    /// creation time (docs/lifecycle.md).
    static let withoutReflogs: [Case] = [
        Case(name: "core.logAllRefUpdates=false: fast-forward", logAllRefUpdates: false) { w in
            let tree = try w.worktree("x", commits: 2, laterSecond: true)
            try w.keeper(["merge", "--quiet", "--ff-only", "feat/x"])
            try w.trunkCommit("t1")
            try w.publish()
            let head = try w.head(of: tree)
            return Built(worktree: tree, expected: .merged(commit: head, method: .ancestor, evidence: .committedAfterWorktreeCreated))
        },
        Case(name: "core.logAllRefUpdates=false: fresh worktree, trunk moved on", logAllRefUpdates: false) { w in
            let tree = try w.worktree("y", commits: 0)
            try w.trunkCommit("t1")
            try w.publish()
            return Built(worktree: tree, expected: .notMerged(.noOwnCommits))
        },
        Case(name: "reflog deleted: fast-forward") { w in
            let tree = try w.worktree("x", commits: 1, laterSecond: true)
            try w.keeper(["merge", "--quiet", "--ff-only", "feat/x"])
            try w.publish()
            try w.deleteReflog(of: "feat/x")
            let head = try w.head(of: tree)
            return Built(worktree: tree, expected: .merged(commit: head, method: .ancestor, evidence: .committedAfterWorktreeCreated))
        },
        Case(name: "reflog deleted: fresh worktree, trunk moved on") { w in
            let tree = try w.worktree("y", commits: 0)
            try w.trunkCommit("t1")
            try w.publish()
            try w.deleteReflog(of: "feat/y")
            return Built(worktree: tree, expected: .notMerged(.noOwnCommits))
        },
        Case(name: "reflog deleted: no-ff merge (HEAD off trunk's first-parent line)") { w in
            let tree = try w.worktree("z", commits: 1)
            try w.trunkCommit("t1")
            let merge = try w.keeper(["merge", "--quiet", "--no-ff", "--no-edit", "feat/z"])
            try w.publish()
            try w.deleteReflog(of: "feat/z")
            return Built(worktree: tree, expected: .merged(commit: merge, method: .ancestor, evidence: .offTrunkFirstParentLine))
        },
        Case(name: "reflog deleted: squash merge") { w in
            let tree = try w.worktree("w", commits: 2)
            let squash = try w.squash("feat/w")
            try w.publish()
            try w.deleteReflog(of: "feat/w")
            return Built(worktree: tree, expected: .merged(commit: squash, method: .integrated, evidence: .commitsTrunkLacks))
        },
        // Limitations (docs/lifecycle.md). Without a reflog, a fresh branch fast-forwarded to
        // trunk commits newer than its worktree reads as merged.
        Case(name: "reflog deleted: fresh worktree fast-forwarded to a newer trunk reads as merged (limitation)") { w in
            let tree = try w.worktree("o", commits: 0, laterSecond: true)
            try w.trunkCommit("t1")
            try w.publish()
            try w.fixture.git(["merge", "--quiet", "--ff-only", "origin/main"], in: tree)
            try w.deleteReflog(of: "feat/o")
            let head = try w.head(of: tree)
            return Built(worktree: tree, expected: .merged(commit: head, method: .ancestor, evidence: .committedAfterWorktreeCreated))
        },
        // A main worktree keeps no creation time, so without a reflog a fast-forwarded branch
        // there cannot be told from a fresh one.
        Case(name: "reflog deleted: main worktree fast-forwarded reads as fresh (limitation)") { w in
            try w.fixture.git(["checkout", "--quiet", "-b", "feat/m"], in: w.trunk)
            try w.commit(in: w.trunk, file: "m.txt")
            try w.fixture.git(["push", "--quiet", "origin", "feat/m:main"], in: w.trunk)
            try w.deleteReflog(of: "feat/m")
            return Built(worktree: w.trunk, expected: .notMerged(.noOwnCommits))
        },
    ]
}
