import Foundation
import TestSupport
import Testing

@testable import GitProbe

/// The narrow merge (only the paths both sides changed) must answer exactly what the full
/// merge and `git merge-tree` answer, and must leave to the full merge every pair where a
/// rename or a directory/file conflict could join paths it does not look at.
@Suite("The narrow merge agrees with the full merge and git merge-tree", .ownThreads)
struct NarrowMergeTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var a: @Sendable (GitFixture, URL) throws -> Void
        var b: @Sendable (GitFixture, URL) throws -> Void
        /// Whether the narrow merge answers (true) or falls back to the full merge.
        var narrowed: Bool
        var conflicts: [String]
        /// git merge-tree's answer where libgit2's full merge differs from it (the narrow
        /// merge never answers those).
        var mergeTree: [String]? = nil
        var testDescription: String { name }
    }

    static let readme = "a\nb\nc\nd\ne\nf\ng\nh\n"
    static func write(_ f: GitFixture, _ t: URL, _ path: String, _ text: String) throws {
        try ForecastTests.write(f, t, path, text)
    }
    static func remove(_ t: URL, _ path: String) throws {
        try FileManager.default.removeItem(at: t.appendingPathComponent(path))
    }

    static let cases: [Case] = [
        Case(name: "disjoint paths: no merge at all", a: { f, t in try write(f, t, "only-a.txt", "a\n") },
             b: { f, t in try write(f, t, "src/app.c", "int b;\n") }, narrowed: true, conflicts: []),
        Case(name: "same path, different lines", a: { f, t in try write(f, t, "README.md", "A\nb\nc\nd\ne\nf\ng\nh\n") },
             b: { f, t in try write(f, t, "README.md", "a\nb\nc\nd\ne\nf\ng\nH\n"); try write(f, t, "b.txt", "b\n") },
             narrowed: true, conflicts: []),
        Case(name: "same path, same line", a: { f, t in try write(f, t, "README.md", "A\nb\nc\nd\ne\nf\ng\nh\n") },
             b: { f, t in try write(f, t, "README.md", "B\nb\nc\nd\ne\nf\ng\nh\n"); try write(f, t, "src/app.c", "int b;\n") },
             narrowed: true, conflicts: ["README.md"]),
        Case(name: "add/add, different content", a: { f, t in try write(f, t, "new.txt", "from a\n") },
             b: { f, t in try write(f, t, "new.txt", "from b\n") }, narrowed: true, conflicts: ["new.txt"]),
        Case(name: "add/add, same content", a: { f, t in try write(f, t, "new.txt", "one\n") },
             b: { f, t in try write(f, t, "new.txt", "one\n") }, narrowed: true, conflicts: []),
        Case(name: "new files in one new directory", a: { f, t in try write(f, t, "d/x.txt", "x\n") },
             b: { f, t in try write(f, t, "d/y.txt", "y\n") }, narrowed: true, conflicts: []),
        Case(name: "binary on both sides", a: { f, t in try Data([0, 1, 2, 255, 0]).write(to: t.appendingPathComponent("blob.bin")) },
             b: { f, t in try Data([0, 9, 9, 255, 0]).write(to: t.appendingPathComponent("blob.bin")) },
             narrowed: true, conflicts: ["blob.bin"]),
        Case(name: "executable bit on one side, an edit on the other",
             a: { f, t in try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: t.appendingPathComponent("README.md").path) },
             b: { f, t in try write(f, t, "README.md", "a\nb\nc\nd\ne\nf\ng\nH\n") }, narrowed: true, conflicts: []),
        Case(name: "rename on one side, edit on the other: full merge",
             a: { f, t in try f.git(["mv", "README.md", "READ.md"], in: t) },
             b: { f, t in try write(f, t, "README.md", "a\nb\nc\nd\ne\nf\ng\nH\n") }, narrowed: false, conflicts: []),
        Case(name: "rename onto a name the other side adds: full merge",
             a: { f, t in try f.git(["mv", "README.md", "new.md"], in: t) },
             b: { f, t in try write(f, t, "new.md", "other\n") }, narrowed: false, conflicts: ["README.md", "new.md"],
             mergeTree: ["new.md"]),
        Case(name: "renamed apart, paths disjoint: full merge",
             a: { f, t in try f.git(["mv", "README.md", "one.md"], in: t) },
             b: { f, t in try f.git(["mv", "README.md", "two.md"], in: t) }, narrowed: false, conflicts: ["README.md", "one.md", "two.md"]),
        Case(name: "modify/delete: full merge", a: { f, t in try write(f, t, "src/app.c", "int a;\n") },
             b: { f, t in try remove(t, "src/app.c") }, narrowed: false, conflicts: ["src/app.c"]),
        Case(name: "a deletion elsewhere: full merge",
             a: { f, t in try write(f, t, "README.md", "A\nb\nc\nd\ne\nf\ng\nh\n"); try remove(t, "src/app.c") },
             b: { f, t in try write(f, t, "README.md", "B\nb\nc\nd\ne\nf\ng\nh\n") }, narrowed: false, conflicts: ["README.md"]),
        Case(name: "a file on one side, a directory on the other: full merge",
             a: { f, t in try write(f, t, "thing", "file\n") },
             b: { f, t in try write(f, t, "thing/inside.txt", "dir\n") }, narrowed: false, conflicts: ["thing"]),
        Case(name: "a type change: full merge",
             a: { f, t in try remove(t, "README.md"); try FileManager.default.createSymbolicLink(atPath: t.appendingPathComponent("README.md").path, withDestinationPath: "src/app.c") },
             b: { f, t in try write(f, t, "README.md", "a\nb\nc\nd\ne\nf\ng\nH\n") }, narrowed: false, conflicts: ["README.md"]),
    ]

    @Test("conflicts match the full merge and git merge-tree", arguments: cases)
    func matchesFullMerge(_ scenario: Case) throws {
        let fixture = try GitFixture()
        let project = try fixture.makeProject("p", files: ["README.md": Self.readme, "src/app.c": "int main;\n"])
        try fixture.git(["fetch", "--quiet"], in: project.trunk)
        let a = try fixture.addWorktree("feat-a", branch: "feat/a", to: project)
        let b = try fixture.addWorktree("feat-b", branch: "feat/b", to: project)
        try scenario.a(fixture, a)
        try scenario.b(fixture, b)

        let common = project.trunk.appendingPathComponent(".git").path
        let sandbox = try MergeSandbox(commonDirectory: common)
        let stateA = try sandbox.workingState(ofWorktreeAt: a.path, defaultBranch: "main")
        let stateB = try sandbox.workingState(ofWorktreeAt: b.path, defaultBranch: "main")
        let answer = try sandbox.conflictingPaths(stateA, stateB)
        #expect(sandbox.narrowedMerges == (scenario.narrowed ? 1 : 0), "the narrow merge answered or fell back as expected")
        // Twice: the second answer comes from the kept side changes and narrow trees.
        #expect(try sandbox.conflictingPaths(stateA, stateB) == answer)
        #expect(try sandbox.conflictingPaths(stateB, stateA) == answer)
        sandbox.narrowsMerges = false
        #expect(try sandbox.conflictingPaths(stateA, stateB) == answer, "the full merge agrees")

        let expected = Self.conflictedPaths(try ForecastTests.mergeTreeConflicts(
            fixture, a: (a, try ForecastTests.gitAddAllTree(fixture, a)), b: (b, try ForecastTests.gitAddAllTree(fixture, b))))
        #expect(answer.map { PathChange.text(of: $0) } == scenario.conflicts)
        #expect(expected == scenario.mergeTree ?? scenario.conflicts)
    }

    /// git's conflicted paths with the name it moves one side aside to (`thing~<commit>`)
    /// taken as the path itself: which paths conflict, not where git puts the loser.
    static func conflictedPaths(_ names: [String]) -> [String] {
        Array(Set(names.map { name in
            guard let tilde = name.lastIndex(of: "~"), name[name.index(after: tilde)...].allSatisfy(\.isHexDigit) else { return name }
            return String(name[..<tilde])
        })).sorted()
    }
}
