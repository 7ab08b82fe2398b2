import Foundation
import TestSupport
import Testing

/// One worktree state built with the git CLI, probed by `GitProbe` and asked of the CLI.
struct Scenario: Sendable, CustomTestStringConvertible {
    /// Values this scenario must produce whatever git says, so a wrong oracle cannot pass.
    struct Pinned: Sendable {
        var count: Int?
        var ahead: Int?
        var behind: Int?
        var trunkRef: String?
        /// Expect ahead, behind and trunkRef all `nil`.
        var noTrunk = false
        /// Expect `branch == nil`.
        var detached = false
        /// Expect hash and message `nil`.
        var unborn = false
    }

    var name: String
    var defaultBranch = "main"
    var pinned = Pinned()
    /// Builds the worktree in the fixture and returns its path.
    var build: @Sendable (GitFixture) throws -> URL

    var testDescription: String { name }
}

extension Scenario {
    /// Files every standard project starts with: top-level and nested, several directories.
    static let standardFiles = [
        "README.md": "hello\n",
        "src/main.swift": "print(\"main\")\n",
        "src/lib/util.swift": "let util = 1\n",
        "docs/guide.md": "guide\n",
        "docs/api/index.md": "api\n",
    ]

    /// A trunk clone of a fresh project; `origin/HEAD` is set by the clone.
    static func trunk(
        _ fixture: GitFixture, defaultBranch: String = "main",
        files: [String: String] = standardFiles
    ) throws -> GitFixture.Project {
        try fixture.makeProject("proj", defaultBranch: defaultBranch, files: files)
    }

    /// Every scenario the differential test runs.
    static let all: [Scenario] =
        workingTreeScenarios + historyScenarios + trunkScenarios + pathScenarios
        + configScenarios + partitionScenarios + submoduleScenarios

    static let workingTreeScenarios: [Scenario] = [
        Scenario(name: "clean trunk", pinned: Pinned(count: 0, ahead: 0, behind: 0)) { fixture in
            try trunk(fixture).trunk
        },
        Scenario(name: "modified tracked file", pinned: Pinned(count: 1)) { fixture in
            let tree = try trunk(fixture).trunk
            try fixture.write("changed\n", to: "README.md", in: tree)
            return tree
        },
        Scenario(name: "staged modification and staged new file", pinned: Pinned(count: 2)) {
            fixture in
            let tree = try trunk(fixture).trunk
            try fixture.write("changed\n", to: "src/main.swift", in: tree)
            try fixture.write("new\n", to: "src/added.swift", in: tree)
            try fixture.git(["add", "src"], in: tree)
            return tree
        },
        Scenario(name: "staged then modified again is one line", pinned: Pinned(count: 1)) {
            fixture in
            let tree = try trunk(fixture).trunk
            try fixture.write("staged\n", to: "README.md", in: tree)
            try fixture.git(["add", "README.md"], in: tree)
            try fixture.write("modified after staging\n", to: "README.md", in: tree)
            return tree
        },
        Scenario(name: "untracked files", pinned: Pinned(count: 2)) { fixture in
            let tree = try trunk(fixture).trunk
            try fixture.write("a\n", to: "a.txt", in: tree)
            try fixture.write("b\n", to: "src/b.txt", in: tree)
            return tree
        },
        Scenario(
            name: "untracked nested directories collapse to one line each", pinned: Pinned(count: 2)
        ) {
            fixture in
            let tree = try trunk(fixture).trunk
            try fixture.write("x\n", to: "new/deep/er/file.txt", in: tree)
            try fixture.write("y\n", to: "new/other.txt", in: tree)
            try fixture.write("z\n", to: "src/fresh/x/y.txt", in: tree)
            return tree
        },
        Scenario(
            name: "ignored files, ignored-only and empty untracked directories are not shown",
            pinned: Pinned(count: 0)
        ) { fixture in
            let tree = try trunk(fixture).trunk
            try fixture.write("*.log\nbuild/\n", to: ".gitignore", in: tree)
            try fixture.commitAll("ignore logs and build", in: tree)
            try fixture.write("o\n", to: "build/out/obj.o", in: tree)
            try fixture.write("l\n", to: "logs/only.log", in: tree)
            try fixture.write("l\n", to: "src/debug.log", in: tree)
            try FileManager.default.createDirectory(
                at: tree.appendingPathComponent("empty/inner"), withIntermediateDirectories: true)
            return tree
        },
        Scenario(name: "staged rename is one line", pinned: Pinned(count: 1)) { fixture in
            let tree = try trunk(fixture).trunk
            try fixture.git(["mv", "src/main.swift", "src/app.swift"], in: tree)
            return tree
        },
        Scenario(name: "staged rename then edited is one line", pinned: Pinned(count: 1)) {
            fixture in
            let tree = try trunk(fixture).trunk
            try fixture.git(["mv", "docs/guide.md", "docs/handbook.md"], in: tree)
            try fixture.write("guide\nmore\n", to: "docs/handbook.md", in: tree)
            return tree
        },
        Scenario(name: "staged rename with a new file at the old path", pinned: Pinned(count: 2)) {
            fixture in
            let tree = try trunk(fixture).trunk
            try fixture.git(["mv", "README.md", "README.txt"], in: tree)
            try fixture.write("replacement\n", to: "README.md", in: tree)
            return tree
        },
        Scenario(name: "deleted in the worktree", pinned: Pinned(count: 3)) { fixture in
            let tree = try trunk(fixture).trunk
            try FileManager.default.removeItem(at: tree.appendingPathComponent("docs/guide.md"))
            try FileManager.default.removeItem(at: tree.appendingPathComponent("src"))
            return tree
        },
        Scenario(name: "staged deletion", pinned: Pinned(count: 2)) { fixture in
            let tree = try trunk(fixture).trunk
            try fixture.git(["rm", "--quiet", "README.md"], in: tree)
            try fixture.git(["rm", "--quiet", "-r", "docs/api"], in: tree)
            return tree
        },
        Scenario(name: "git rm --cached prints deleted and untracked", pinned: Pinned(count: 2)) {
            fixture in
            let tree = try trunk(fixture).trunk
            try fixture.git(["rm", "--quiet", "--cached", "README.md"], in: tree)
            return tree
        },
        Scenario(name: "tracked file replaced by a symlink", pinned: Pinned(count: 1)) { fixture in
            let tree = try trunk(fixture).trunk
            let file = tree.appendingPathComponent("README.md")
            try FileManager.default.removeItem(at: file)
            try FileManager.default.createSymbolicLink(
                atPath: file.path, withDestinationPath: "docs/guide.md")
            return tree
        },
        Scenario(
            name: "tracked file replaced by a directory shows only the deletion",
            pinned: Pinned(count: 1)
        ) {
            fixture in
            let tree = try trunk(fixture).trunk
            try FileManager.default.removeItem(at: tree.appendingPathComponent("README.md"))
            try fixture.write("inside\n", to: "README.md/inner.txt", in: tree)
            return tree
        },
        Scenario(
            name: "tracked file replaced by a directory with showUntrackedFiles=all",
            pinned: Pinned(count: 3)
        ) { fixture in
            let tree = try trunk(fixture).trunk
            try fixture.git(["config", "status.showUntrackedFiles", "all"], in: tree)
            try FileManager.default.removeItem(at: tree.appendingPathComponent("src/main.swift"))
            try fixture.write("inside\n", to: "src/main.swift/deeper/inner.txt", in: tree)
            try fixture.write("other\n", to: "src/other.swift", in: tree)
            return tree
        },
        Scenario(name: "intent to add", pinned: Pinned(count: 1)) { fixture in
            let tree = try trunk(fixture).trunk
            try fixture.write("later\n", to: "later.txt", in: tree)
            try fixture.git(["add", "--intent-to-add", "later.txt"], in: tree)
            return tree
        },
        Scenario(name: "untracked nested repository with files", pinned: Pinned(count: 1)) {
            fixture in
            let tree = try trunk(fixture).trunk
            let nested = tree.appendingPathComponent("vendor/thing")
            try FileManager.default.createDirectory(at: nested, withIntermediateDirectories: true)
            try fixture.git(["init", "--quiet"], in: nested)
            try fixture.write("n\n", to: "file.txt", in: nested)
            return tree
        },
        Scenario(name: "merge conflict", pinned: Pinned(count: 3)) { fixture in
            let tree = try trunk(fixture).trunk
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
            return tree
        },
        Scenario(name: "skip-worktree file deleted from disk", pinned: Pinned(count: 0)) {
            fixture in
            let tree = try trunk(fixture).trunk
            try fixture.git(["update-index", "--skip-worktree", "docs/guide.md"], in: tree)
            try FileManager.default.removeItem(at: tree.appendingPathComponent("docs/guide.md"))
            return tree
        },
    ]

    static let historyScenarios: [Scenario] = [
        Scenario(name: "ahead of trunk", pinned: Pinned(count: 0, ahead: 2, behind: 0)) { fixture in
            let tree = try trunk(fixture).trunk
            try fixture.write("one\n", to: "one.txt", in: tree)
            try fixture.commitAll("one", in: tree)
            try fixture.write("two\n", to: "two.txt", in: tree)
            try fixture.commitAll("two", in: tree)
            return tree
        },
        Scenario(name: "behind trunk", pinned: Pinned(count: 0, ahead: 0, behind: 2)) { fixture in
            let project = try trunk(fixture)
            try fixture.advanceOrigin(of: project, message: "upstream one", file: "u1.txt")
            try fixture.advanceOrigin(of: project, message: "upstream two", file: "u2.txt")
            try fixture.git(["fetch", "--quiet", "origin"], in: project.trunk)
            return project.trunk
        },
        Scenario(name: "diverged from trunk", pinned: Pinned(ahead: 1, behind: 2)) { fixture in
            let project = try trunk(fixture)
            try fixture.write("local\n", to: "local.txt", in: project.trunk)
            try fixture.commitAll("local work", in: project.trunk)
            try fixture.advanceOrigin(of: project, message: "upstream one", file: "u1.txt")
            try fixture.advanceOrigin(of: project, message: "upstream two", file: "u2.txt")
            try fixture.git(["fetch", "--quiet", "origin"], in: project.trunk)
            return project.trunk
        },
        Scenario(
            name: "feature branch that merged trunk back in", pinned: Pinned(ahead: 3, behind: 0)
        ) {
            fixture in
            let project = try trunk(fixture)
            let feature = try fixture.addWorktree("feat-merge", branch: "feat/merge", to: project)
            try fixture.write("f1\n", to: "f1.txt", in: feature)
            try fixture.commitAll("feature one", in: feature)
            try fixture.advanceOrigin(of: project, message: "upstream", file: "u.txt")
            try fixture.git(["fetch", "--quiet", "origin"], in: feature)
            try fixture.git(
                ["merge", "--quiet", "--no-ff", "--no-edit", "origin/main"], in: feature)
            try fixture.write("f2\n", to: "f2.txt", in: feature)
            try fixture.commitAll("feature two", in: feature)
            return feature
        },
        Scenario(name: "detached HEAD", pinned: Pinned(ahead: 1, behind: 0, detached: true)) {
            fixture in
            let tree = try trunk(fixture).trunk
            try fixture.write("d\n", to: "d.txt", in: tree)
            try fixture.commitAll("to detach at", in: tree)
            try fixture.git(["checkout", "--quiet", "--detach", "HEAD"], in: tree)
            return tree
        },
        Scenario(
            name: "unborn HEAD with an untracked file",
            pinned: Pinned(count: 1, noTrunk: true, unborn: true)
        ) {
            fixture in
            let tree = try fixture.initRepository("fresh")
            try fixture.write("first\n", to: "first.txt", in: tree)
            return tree
        },
        Scenario(
            name: "unborn HEAD with staged files",
            pinned: Pinned(count: 2, noTrunk: true, unborn: true)
        ) {
            fixture in
            let tree = try fixture.initRepository("fresh")
            try fixture.write("first\n", to: "first.txt", in: tree)
            try fixture.write("second\n", to: "dir/second.txt", in: tree)
            try fixture.git(["add", "-A"], in: tree)
            return tree
        },
        Scenario(
            name: "unborn branch in a clone that has an origin",
            pinned: Pinned(count: 0, noTrunk: true, unborn: true)
        ) {
            fixture in
            let tree = try trunk(fixture).trunk
            try fixture.git(["checkout", "--quiet", "--orphan", "orphaned"], in: tree)
            try fixture.git(["rm", "--quiet", "-r", "--cached", "."], in: tree)
            try fixture.git(["clean", "--quiet", "-f", "-d"], in: tree)
            return tree
        },
    ]

    static let trunkScenarios: [Scenario] = [
        Scenario(
            name: "no origin/HEAD falls back to origin/<default>",
            pinned: Pinned(ahead: 1, behind: 0, trunkRef: "refs/remotes/origin/main")
        ) { fixture in
            let tree = try trunk(fixture).trunk
            try fixture.git(["remote", "set-head", "origin", "--delete"], in: tree)
            try fixture.write("w\n", to: "w.txt", in: tree)
            try fixture.commitAll("work", in: tree)
            return tree
        },
        Scenario(
            name: "dangling origin/HEAD falls back to origin/<default>",
            pinned: Pinned(trunkRef: "refs/remotes/origin/main")
        ) { fixture in
            let tree = try trunk(fixture).trunk
            try fixture.git(
                ["symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/vanished"],
                in: tree)
            return tree
        },
        Scenario(
            name: "no origin falls back to the local default branch",
            pinned: Pinned(ahead: 1, behind: 0, trunkRef: "refs/heads/main")
        ) { fixture in
            let tree = try trunk(fixture).trunk
            try fixture.git(["remote", "remove", "origin"], in: tree)
            try fixture.git(["checkout", "--quiet", "-b", "topic"], in: tree)
            try fixture.write("t\n", to: "t.txt", in: tree)
            try fixture.commitAll("topic work", in: tree)
            return tree
        },
        Scenario(name: "no trunk at all", pinned: Pinned(count: 0, noTrunk: true)) { fixture in
            let tree = try fixture.initRepository("lonely", branch: "topic")
            try fixture.write("t\n", to: "t.txt", in: tree)
            try fixture.commitAll("only commit", in: tree)
            return tree
        },
        Scenario(
            name: "develop as default branch",
            defaultBranch: "develop",
            pinned: Pinned(ahead: 1, behind: 1, trunkRef: "refs/remotes/origin/HEAD")
        ) { fixture in
            let project = try trunk(fixture, defaultBranch: "develop")
            let feature = try fixture.addWorktree("feat-x", branch: "feat/x", to: project)
            try fixture.write("x\n", to: "x.txt", in: feature)
            try fixture.commitAll("feature x", in: feature)
            try fixture.advanceOrigin(of: project, message: "upstream", file: "u.txt")
            try fixture.git(["fetch", "--quiet", "origin"], in: feature)
            return feature
        },
        Scenario(
            name: "develop default without origin/HEAD",
            defaultBranch: "develop",
            pinned: Pinned(ahead: 0, behind: 1, trunkRef: "refs/remotes/origin/develop")
        ) { fixture in
            let project = try trunk(fixture, defaultBranch: "develop")
            try fixture.git(["remote", "set-head", "origin", "--delete"], in: project.trunk)
            try fixture.advanceOrigin(of: project, message: "upstream", file: "u.txt")
            try fixture.git(["fetch", "--quiet", "origin"], in: project.trunk)
            return project.trunk
        },
        Scenario(
            name: "linked worktree from git worktree add",
            pinned: Pinned(count: 2, ahead: 1, behind: 0)
        ) { fixture in
            let project = try trunk(fixture)
            let feature = try fixture.addWorktree("feat-login", branch: "feat/login", to: project)
            try fixture.write("login\n", to: "src/login.swift", in: feature)
            try fixture.commitAll("add login", in: feature)
            try fixture.write("edited\n", to: "README.md", in: feature)
            try fixture.write("scratch\n", to: "notes/scratch.txt", in: feature)
            // Trunk's own state must not leak into the linked worktree's answer.
            try fixture.write("trunk only\n", to: "trunk-only.txt", in: project.trunk)
            return feature
        },
        Scenario(name: "detached linked worktree", pinned: Pinned(count: 0, detached: true)) {
            fixture in
            let project = try trunk(fixture)
            let path = project.directory.appendingPathComponent("review-1")
            try fixture.git(
                ["worktree", "add", "--quiet", "--detach", path.path, "HEAD"], in: project.trunk)
            return path
        },
    ]

    static let pathScenarios: [Scenario] = [
        Scenario(
            name: "paths with spaces, quotes, pipes, unicode and newlines", pinned: Pinned(count: 6)
        ) {
            fixture in
            let odd = [
                "with space.txt", "quote\"d.txt", "it's.txt", "pipe|name.txt", "ünïcödé ✓.txt",
                "back\\slash.txt", "tab\tname.txt", "new\nline.txt",
            ]
            var files = standardFiles
            for name in odd { files["odd dir/\(name)"] = "\(name)\n" }
            let tree = try trunk(fixture, files: files)
            try fixture.write("changed\n", to: "odd dir/with space.txt", in: tree.trunk)
            try fixture.write("changed\n", to: "odd dir/pipe|name.txt", in: tree.trunk)
            try fixture.write("changed\n", to: "odd dir/new\nline.txt", in: tree.trunk)
            try FileManager.default.removeItem(
                at: tree.trunk.appendingPathComponent("odd dir/quote\"d.txt"))
            try fixture.write("u\n", to: "un|tracked 'dir'/f.txt", in: tree.trunk)
            try fixture.write("u\n", to: "ünïcödé new.txt", in: tree.trunk)
            return tree.trunk
        }
    ]

    static let configScenarios: [Scenario] = [
        Scenario(name: "status.showUntrackedFiles=all lists every file", pinned: Pinned(count: 3)) {
            fixture in
            let tree = try trunk(fixture).trunk
            try fixture.git(["config", "status.showUntrackedFiles", "all"], in: tree)
            try fixture.write("1\n", to: "new/a.txt", in: tree)
            try fixture.write("2\n", to: "new/deep/b.txt", in: tree)
            try fixture.write("3\n", to: "c.txt", in: tree)
            return tree
        },
        Scenario(name: "status.showUntrackedFiles=no hides untracked", pinned: Pinned(count: 1)) {
            fixture in
            let tree = try trunk(fixture).trunk
            try fixture.git(["config", "status.showUntrackedFiles", "no"], in: tree)
            try fixture.write("1\n", to: "new/a.txt", in: tree)
            try fixture.write("changed\n", to: "README.md", in: tree)
            return tree
        },
        Scenario(
            name: "status.renames=false prints a rename as two lines", pinned: Pinned(count: 2)
        ) {
            fixture in
            let tree = try trunk(fixture).trunk
            try fixture.git(["config", "status.renames", "false"], in: tree)
            try fixture.git(["mv", "README.md", "README.txt"], in: tree)
            return tree
        },
        Scenario(name: "diff.renames=false is honoured by status", pinned: Pinned(count: 2)) {
            fixture in
            let tree = try trunk(fixture).trunk
            try fixture.git(["config", "diff.renames", "false"], in: tree)
            try fixture.git(["mv", "README.md", "README.txt"], in: tree)
            return tree
        },
    ]

    /// Shapes that matter when the status is split by top-level name across threads.
    static let partitionScenarios: [Scenario] = [
        Scenario(name: "top-level names that prefix each other", pinned: Pinned(count: 5)) {
            fixture in
            let files = [
                "pkg/a.txt": "a\n", "pkg.txt": "p\n", "pkg-x/b.txt": "b\n", "pkg0": "0\n",
                "pkg/sub/c.txt": "c\n", "pk": "k\n",
            ]
            let tree = try trunk(fixture, files: files).trunk
            try fixture.write("changed\n", to: "pkg/a.txt", in: tree)
            try FileManager.default.removeItem(at: tree.appendingPathComponent("pkg.txt"))
            try fixture.write("changed\n", to: "pkg0", in: tree)
            try fixture.write("y\n", to: "pkg-y/new.txt", in: tree)
            try fixture.write("z\n", to: "pkg/sub/zz/new.txt", in: tree)
            return tree
        },
        Scenario(name: "staged rename across top-level directories", pinned: Pinned(count: 1)) {
            fixture in
            var files = standardFiles
            for letter in ["a", "b", "c", "d", "e", "f"] {
                files["\(letter)/file.txt"] = "\(letter)\n"
            }
            files["a/moved.txt"] = "a long enough body that rename detection pairs it\n"
            let tree = try trunk(fixture, files: files).trunk
            try fixture.git(["mv", "a/moved.txt", "f/moved.txt"], in: tree)
            return tree
        },
        Scenario(name: "staged new top-level directory deleted from disk", pinned: Pinned(count: 2))
        {
            fixture in
            let tree = try trunk(fixture).trunk
            try fixture.write("n\n", to: "newtop/file.txt", in: tree)
            try fixture.git(["add", "newtop"], in: tree)
            try FileManager.default.removeItem(at: tree.appendingPathComponent("newtop"))
            try fixture.directory("proj/trunk-main/gone")
            try fixture.git(["mv", "docs/guide.md", "gone/guide.md"], in: tree)
            try FileManager.default.removeItem(at: tree.appendingPathComponent("gone"))
            return tree
        },
        Scenario(name: "many directories with a mix of changes", pinned: Pinned(count: 8)) {
            fixture in
            var files: [String: String] = [:]
            for directory in 0..<30 {
                for file in 0..<10 {
                    files["d\(directory)/f\(file).txt"] = "\(directory) \(file)\n"
                }
            }
            let tree = try trunk(fixture, files: files).trunk
            try fixture.write("changed\n", to: "d3/f1.txt", in: tree)
            try fixture.write("changed\n", to: "d17/f9.txt", in: tree)
            try FileManager.default.removeItem(at: tree.appendingPathComponent("d29/f0.txt"))
            try FileManager.default.removeItem(at: tree.appendingPathComponent("d29/f1.txt"))
            try fixture.git(["rm", "--quiet", "--cached", "d5/f5.txt"], in: tree)
            try fixture.write("u\n", to: "d8/new/u.txt", in: tree)
            try fixture.write("u\n", to: "top-new.txt", in: tree)
            return tree
        },
    ]

    /// A trunk with a committed submodule at `modules/library` (checked out), plus the
    /// library's origin so tests can move it.
    static func trunkWithSubmodule(
        _ fixture: GitFixture
    ) throws -> (trunk: URL, submodule: URL, library: GitFixture.Project) {
        let library = try fixture.makeProject("library", files: ["lib.txt": "lib\n"])
        let tree = try trunk(fixture).trunk
        try fixture.git(
            ["submodule", "--quiet", "add", library.origin.path, "modules/library"], in: tree)
        try fixture.commitAll("add submodule", in: tree)
        return (tree, tree.appendingPathComponent("modules/library"), library)
    }

    /// A new commit inside the checked-out submodule, so its HEAD differs from the gitlink.
    static func commitInside(_ submodule: URL, _ fixture: GitFixture) throws {
        try fixture.write("moved\n", to: "moved.txt", in: submodule)
        try fixture.commitAll("move the submodule", in: submodule)
    }

    /// git prints one line per changed submodule whatever changed in it, and honours
    /// `ignore` from .git/config over .gitmodules over diff.ignoreSubmodules.
    static let submoduleScenarios: [Scenario] = [
        Scenario(name: "clean submodule", pinned: Pinned(count: 0)) { fixture in
            try trunkWithSubmodule(fixture).trunk
        },
        Scenario(name: "submodule with modified content", pinned: Pinned(count: 1)) { fixture in
            let setup = try trunkWithSubmodule(fixture)
            try fixture.write("edited\n", to: "lib.txt", in: setup.submodule)
            return setup.trunk
        },
        Scenario(name: "submodule with untracked content", pinned: Pinned(count: 1)) { fixture in
            let setup = try trunkWithSubmodule(fixture)
            try fixture.write("u\n", to: "untracked.txt", in: setup.submodule)
            return setup.trunk
        },
        Scenario(name: "submodule at a new commit", pinned: Pinned(count: 1)) { fixture in
            let setup = try trunkWithSubmodule(fixture)
            try commitInside(setup.submodule, fixture)
            return setup.trunk
        },
        Scenario(name: "submodule update staged, plus a modified file", pinned: Pinned(count: 2)) {
            fixture in
            let setup = try trunkWithSubmodule(fixture)
            try commitInside(setup.submodule, fixture)
            try fixture.git(["add", "modules/library"], in: setup.trunk)
            try fixture.write("changed\n", to: "README.md", in: setup.trunk)
            return setup.trunk
        },
        Scenario(name: "uninitialised submodule is not a change", pinned: Pinned(count: 0)) {
            fixture in
            let setup = try trunkWithSubmodule(fixture)
            try fixture.git(
                ["submodule", "--quiet", "deinit", "--force", "modules/library"], in: setup.trunk)
            return setup.trunk
        },
        Scenario(name: "submodule directory removed", pinned: Pinned(count: 1)) { fixture in
            let setup = try trunkWithSubmodule(fixture)
            try FileManager.default.removeItem(at: setup.submodule)
            return setup.trunk
        },
        Scenario(name: "submodule added but not committed", pinned: Pinned(count: 2)) { fixture in
            let library = try fixture.makeProject("library", files: ["lib.txt": "lib\n"])
            let tree = try trunk(fixture).trunk
            try fixture.git(
                ["submodule", "--quiet", "add", library.origin.path, "vendor/lib"], in: tree)
            return tree
        },
        Scenario(name: "git rm --cached of a submodule", pinned: Pinned(count: 2)) { fixture in
            let setup = try trunkWithSubmodule(fixture)
            try fixture.git(["rm", "--quiet", "--cached", "modules/library"], in: setup.trunk)
            return setup.trunk
        },
        Scenario(name: "git rm of a submodule", pinned: Pinned(count: 2)) { fixture in
            let setup = try trunkWithSubmodule(fixture)
            try fixture.git(["rm", "--quiet", "modules/library"], in: setup.trunk)
            return setup.trunk
        },
        Scenario(name: "git mv of a submodule is a rename", pinned: Pinned(count: 2)) { fixture in
            let setup = try trunkWithSubmodule(fixture)
            try fixture.git(["mv", "modules/library", "modules/renamed"], in: setup.trunk)
            return setup.trunk
        },
        Scenario(
            name: "ignore=all in .git/config hides a moved submodule", pinned: Pinned(count: 0)
        ) {
            fixture in
            let setup = try trunkWithSubmodule(fixture)
            try commitInside(setup.submodule, fixture)
            try fixture.git(["config", "submodule.modules/library.ignore", "all"], in: setup.trunk)
            return setup.trunk
        },
        Scenario(name: "ignore=all still shows a staged submodule update", pinned: Pinned(count: 1))
        {
            fixture in
            let setup = try trunkWithSubmodule(fixture)
            try commitInside(setup.submodule, fixture)
            try fixture.git(["add", "modules/library"], in: setup.trunk)
            try fixture.git(["config", "submodule.modules/library.ignore", "all"], in: setup.trunk)
            return setup.trunk
        },
        Scenario(
            name: "ignore=dirty in .gitmodules hides modified content", pinned: Pinned(count: 0)
        ) {
            fixture in
            let setup = try trunkWithSubmodule(fixture)
            try fixture.git(
                ["config", "--file", ".gitmodules", "submodule.modules/library.ignore", "dirty"],
                in: setup.trunk)
            try fixture.commitAll("ignore dirty", in: setup.trunk)
            try fixture.write("edited\n", to: "lib.txt", in: setup.submodule)
            return setup.trunk
        },
        Scenario(name: "ignore=untracked hides only untracked content", pinned: Pinned(count: 0)) {
            fixture in
            let setup = try trunkWithSubmodule(fixture)
            try fixture.git(
                ["config", "submodule.modules/library.ignore", "untracked"], in: setup.trunk)
            try fixture.write("u\n", to: "untracked.txt", in: setup.submodule)
            return setup.trunk
        },
        Scenario(
            name: ".gitmodules ignore=none beats diff.ignoreSubmodules=dirty",
            pinned: Pinned(count: 1)
        ) {
            fixture in
            let setup = try trunkWithSubmodule(fixture)
            try fixture.git(
                ["config", "--file", ".gitmodules", "submodule.modules/library.ignore", "none"],
                in: setup.trunk)
            try fixture.commitAll("ignore none", in: setup.trunk)
            try fixture.git(["config", "diff.ignoreSubmodules", "dirty"], in: setup.trunk)
            try fixture.write("edited\n", to: "lib.txt", in: setup.submodule)
            return setup.trunk
        },
        Scenario(
            name: "diff.ignoreSubmodules=dirty applies when nothing else is set",
            pinned: Pinned(count: 0)
        ) {
            fixture in
            let setup = try trunkWithSubmodule(fixture)
            try fixture.git(["config", "diff.ignoreSubmodules", "dirty"], in: setup.trunk)
            try fixture.write("edited\n", to: "lib.txt", in: setup.submodule)
            return setup.trunk
        },
        Scenario(
            name: "gitlink without .gitmodules with modified content", pinned: Pinned(count: 1)
        ) {
            fixture in
            let tree = try trunk(fixture).trunk
            let inner = try fixture.directory("proj/trunk-main/inner")
            try fixture.git(["init", "--quiet"], in: inner)
            try fixture.write("i\n", to: "i.txt", in: inner)
            try fixture.commitAll("inner", in: inner)
            try fixture.git(["add", "inner"], in: tree)
            try fixture.commit("add gitlink", in: tree)
            try fixture.write("changed\n", to: "i.txt", in: inner)
            return tree
        },
    ]
}
