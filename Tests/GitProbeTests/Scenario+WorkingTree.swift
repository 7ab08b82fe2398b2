import Foundation
import TestSupport
import Testing

/// The working tree and index: each kind of change git status prints, and what it leaves out.
extension Scenario {
    static let workingTreeScenarios: [Scenario] = [
        Scenario(name: "clean trunk", pinned: Pinned(count: 0, ahead: 0, behind: 0)) { fixture in
            try trunk(fixture).trunk
        },
        onTrunk("modified tracked file", pinned: Pinned(count: 1)) { fixture, tree in
            try fixture.write("changed\n", to: "README.md", in: tree)
        },
        onTrunk("staged modification and staged new file", pinned: Pinned(count: 2)) {
            fixture, tree in
            try fixture.write("changed\n", to: "src/main.swift", in: tree)
            try fixture.write("new\n", to: "src/added.swift", in: tree)
            try fixture.git(["add", "src"], in: tree)
        },
        onTrunk("staged then modified again is one line", pinned: Pinned(count: 1)) {
            fixture, tree in
            try fixture.write("staged\n", to: "README.md", in: tree)
            try fixture.git(["add", "README.md"], in: tree)
            try fixture.write("modified after staging\n", to: "README.md", in: tree)
        },
        onTrunk("untracked files", pinned: Pinned(count: 2)) { fixture, tree in
            try fixture.write("a\n", to: "a.txt", in: tree)
            try fixture.write("b\n", to: "src/b.txt", in: tree)
        },
        onTrunk(
            "untracked nested directories collapse to one line each",
            pinned: Pinned(count: 2)
        ) { fixture, tree in
            try fixture.write("x\n", to: "new/deep/er/file.txt", in: tree)
            try fixture.write("y\n", to: "new/other.txt", in: tree)
            try fixture.write("z\n", to: "src/fresh/x/y.txt", in: tree)
        },
        onTrunk(
            "ignored files, ignored-only and empty untracked directories are not shown",
            pinned: Pinned(count: 0)
        ) { fixture, tree in
            try fixture.write("*.log\nbuild/\n", to: ".gitignore", in: tree)
            try fixture.commitAll("ignore logs and build", in: tree)
            try fixture.write("o\n", to: "build/out/obj.o", in: tree)
            try fixture.write("l\n", to: "logs/only.log", in: tree)
            try fixture.write("l\n", to: "src/debug.log", in: tree)
            try FileManager.default.createDirectory(
                at: tree.appendingPathComponent("empty/inner"), withIntermediateDirectories: true)
        },
        onTrunk("staged rename is one line", pinned: Pinned(count: 1)) { fixture, tree in
            try fixture.git(["mv", "src/main.swift", "src/app.swift"], in: tree)
        },
        onTrunk("staged rename then edited is one line", pinned: Pinned(count: 1)) {
            fixture, tree in
            try fixture.git(["mv", "docs/guide.md", "docs/handbook.md"], in: tree)
            try fixture.write("guide\nmore\n", to: "docs/handbook.md", in: tree)
        },
        onTrunk("staged rename with a new file at the old path", pinned: Pinned(count: 2)) {
            fixture, tree in
            try fixture.git(["mv", "README.md", "README.txt"], in: tree)
            try fixture.write("replacement\n", to: "README.md", in: tree)
        },
        onTrunk("deleted in the worktree", pinned: Pinned(count: 3)) { fixture, tree in
            try FileManager.default.removeItem(at: tree.appendingPathComponent("docs/guide.md"))
            try FileManager.default.removeItem(at: tree.appendingPathComponent("src"))
        },
        onTrunk("staged deletion", pinned: Pinned(count: 2)) { fixture, tree in
            try fixture.git(["rm", "--quiet", "README.md"], in: tree)
            try fixture.git(["rm", "--quiet", "-r", "docs/api"], in: tree)
        },
        onTrunk("git rm --cached prints deleted and untracked", pinned: Pinned(count: 2)) {
            fixture, tree in
            try fixture.git(["rm", "--quiet", "--cached", "README.md"], in: tree)
        },
        onTrunk("tracked file replaced by a symlink", pinned: Pinned(count: 1)) { fixture, tree in
            let file = tree.appendingPathComponent("README.md")
            try FileManager.default.removeItem(at: file)
            try FileManager.default.createSymbolicLink(
                atPath: file.path, withDestinationPath: "docs/guide.md")
        },
        onTrunk(
            "tracked file replaced by a directory shows only the deletion",
            pinned: Pinned(count: 1)
        ) { fixture, tree in
            try FileManager.default.removeItem(at: tree.appendingPathComponent("README.md"))
            try fixture.write("inside\n", to: "README.md/inner.txt", in: tree)
        },
        onTrunk(
            "tracked file replaced by a directory with showUntrackedFiles=all",
            pinned: Pinned(count: 3)
        ) { fixture, tree in
            try fixture.git(["config", "status.showUntrackedFiles", "all"], in: tree)
            try FileManager.default.removeItem(at: tree.appendingPathComponent("src/main.swift"))
            try fixture.write("inside\n", to: "src/main.swift/deeper/inner.txt", in: tree)
            try fixture.write("other\n", to: "src/other.swift", in: tree)
        },
        onTrunk("intent to add", pinned: Pinned(count: 1)) { fixture, tree in
            try fixture.write("later\n", to: "later.txt", in: tree)
            try fixture.git(["add", "--intent-to-add", "later.txt"], in: tree)
        },
        onTrunk("untracked nested repository with files", pinned: Pinned(count: 1)) {
            fixture, tree in
            let nested = tree.appendingPathComponent("vendor/thing")
            try FileManager.default.createDirectory(at: nested, withIntermediateDirectories: true)
            try fixture.git(["init", "--quiet"], in: nested)
            try fixture.write("n\n", to: "file.txt", in: nested)
        },
        onTrunk("merge conflict", pinned: Pinned(count: 3)) { fixture, tree in
            try fixture.git(["checkout", "--quiet", "-b", "side"], in: tree)
            try fixture.write("side\n", to: "README.md", in: tree)
            try fixture.git(["rm", "--quiet", "docs/guide.md"], in: tree)
            try fixture.commitAll("side edits", in: tree)
            try fixture.git(["checkout", "--quiet", "main"], in: tree)
            try fixture.write("main\n", to: "README.md", in: tree)
            try fixture.write("guide changed\n", to: "docs/guide.md", in: tree)
            try fixture.commitAll("main edits", in: tree)
            let merge = try fixture.gitResult(["merge", "side"], in: tree)
            #expect(merge.status != 0, "the merge must stop on conflicts")
            try fixture.write("stray\n", to: "README.md.orig", in: tree)
        },
        onTrunk("skip-worktree file deleted from disk", pinned: Pinned(count: 0)) { fixture, tree in
            try fixture.git(["update-index", "--skip-worktree", "docs/guide.md"], in: tree)
            try FileManager.default.removeItem(at: tree.appendingPathComponent("docs/guide.md"))
        },
    ]
}
