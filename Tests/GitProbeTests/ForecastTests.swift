import Foundation
import TestSupport
import Testing

@testable import GitProbe

/// Change sets and conflict forecasts built in memory must equal what the git CLI says:
/// `git diff --no-renames --name-only merge-base <tree of git add -A>` and
/// `git merge-tree --write-tree --name-only` of the two working states as commits. And
/// building them must leave the repository exactly as it was.
@Suite("Overlap and conflict forecast agrees with git merge-tree", .ownThreads)
struct ForecastTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var files: [String: String] = ["README.md": "a\nb\nc\nd\ne\nf\ng\nh\n", "src/app.c": "int main;\n", "docs/x y.md": "x\n"]
        /// Changes made in worktree A and in B (after both branched from trunk).
        var a: @Sendable (GitFixture, URL) throws -> Void
        var b: @Sendable (GitFixture, URL) throws -> Void
        /// Run on trunk's origin after the worktrees branched.
        var trunkMoves: Bool = false
        var expectConflict: Bool? = nil
        var testDescription: String { name }
    }

    /// Writes a file and moves its mtime a second on: libgit2 1.5's status can take a
    /// same-size rewrite made within one kernel timestamp tick of the checkout for unchanged
    /// (racy git; git itself compares the content). What is tested here is the forecast.
    static func write(_ fixture: GitFixture, _ tree: URL, _ path: String, _ text: String) throws {
        try fixture.write(text, to: path, in: tree)
        let url = tree.appendingPathComponent(path)
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(1)], ofItemAtPath: url.path)
    }

    static let cases: [Case] = [
        Case(name: "both edit the same line (unstaged)", a: { f, t in try write(f, t, "README.md", "A\nb\nc\nd\ne\nf\ng\nh\n") },
             b: { f, t in try write(f, t, "README.md", "B\nb\nc\nd\ne\nf\ng\nh\n") }, expectConflict: true),
        Case(name: "same file, separate hunks: clean", a: { f, t in try write(f, t, "README.md", "A\nb\nc\nd\ne\nf\ng\nh\n") },
             b: { f, t in try write(f, t, "README.md", "a\nb\nc\nd\ne\nf\ng\nH\n") }, expectConflict: false),
        Case(name: "committed on one side, staged on the other",
             a: { f, t in try write(f, t, "src/app.c", "int a;\n"); try f.commitAll("a", in: t) },
             b: { f, t in try write(f, t, "src/app.c", "int b;\n"); try f.git(["add", "src/app.c"], in: t) }, expectConflict: true),
        Case(name: "modify/delete", a: { f, t in try write(f, t, "src/app.c", "int a;\n") },
             b: { f, t in try FileManager.default.removeItem(at: t.appendingPathComponent("src/app.c")) }, expectConflict: true),
        Case(name: "add/add, untracked on both sides", a: { f, t in try write(f, t, "new.txt", "from a\n") },
             b: { f, t in try write(f, t, "new.txt", "from b\n") }, expectConflict: true),
        Case(name: "add/add with the same content: clean", a: { f, t in try write(f, t, "same.txt", "one\n") },
             b: { f, t in try write(f, t, "same.txt", "one\n") }, expectConflict: false),
        Case(name: "trunk moved after both branched", a: { f, t in try write(f, t, "README.md", "A\nb\nc\nd\ne\nf\ng\nh\n") },
             b: { f, t in try write(f, t, "docs/x y.md", "b\n") }, trunkMoves: true, expectConflict: false),
        Case(name: "ignored files are not changes", a: { f, t in try write(f, t, "build/out.o", "bin\n"); try write(f, t, "a.txt", "a\n") },
             b: { f, t in try write(f, t, "build/out.o", "other\n"); try write(f, t, "a.txt", "b\n") }, expectConflict: true),
        Case(name: "rename on one side, edit on the other: clean",
             a: { f, t in try f.git(["mv", "README.md", "READ.md"], in: t) },
             b: { f, t in try write(f, t, "README.md", "a\nb\nc\nd\ne\nf\ng\nH\n") }, expectConflict: false),
        Case(name: "binary files on both sides", a: { f, t in try Data([0, 1, 2, 255, 0]).write(to: t.appendingPathComponent("blob.bin")) },
             b: { f, t in try Data([0, 9, 9, 255, 0]).write(to: t.appendingPathComponent("blob.bin")) }, expectConflict: true),
        Case(name: "paths with spaces and quotes", a: { f, t in try write(f, t, "docs/x y.md", "a\n"); try write(f, t, "it's \"q\".txt", "a\n") },
             b: { f, t in try write(f, t, "docs/x y.md", "b\n"); try write(f, t, "it's \"q\".txt", "a\n") }, expectConflict: true),
        Case(name: "no overlap", a: { f, t in try write(f, t, "only-a.txt", "a\n") },
             b: { f, t in try write(f, t, "only-b.txt", "b\n") }, expectConflict: false),
    ]

    @Test("change sets and conflicts match git", arguments: cases)
    func matchesGit(_ scenario: Case) throws {
        let fixture = try GitFixture()
        let project = try fixture.makeProject("p", files: scenario.files)
        try fixture.write("build/\n", to: ".gitignore", in: project.trunk)
        try fixture.commitAll("ignore build", in: project.trunk)
        try fixture.git(["push", "--quiet", "origin", "main"], in: project.trunk)
        try fixture.git(["fetch", "--quiet"], in: project.trunk)
        let a = try fixture.addWorktree("feat-a", branch: "feat/a", to: project)
        let b = try fixture.addWorktree("feat-b", branch: "feat/b", to: project)
        if scenario.trunkMoves {
            try fixture.advanceOrigin(of: project, message: "upstream", file: "README.md")
            try fixture.git(["fetch", "--quiet"], in: project.trunk)
        }
        try scenario.a(fixture, a)
        try scenario.b(fixture, b)

        let common = project.trunk.appendingPathComponent(".git").path
        let before = try RepositorySnapshot(common: common, worktrees: [project.trunk, a, b], fixture: fixture)
        let sandbox = try MergeSandbox(commonDirectory: common)
        let stateA = try sandbox.workingState(ofWorktreeAt: a.path, defaultBranch: "main")
        let stateB = try sandbox.workingState(ofWorktreeAt: b.path, defaultBranch: "main")
        let conflicts = try sandbox.conflictingPaths(stateA, stateB)
        // One pass: the probe's own status gives the same states.
        for (worktree, state) in [(a, stateA), (b, stateB)] {
            let probed = try GitProbe().probe(path: worktree.path, defaultBranch: "main", remembering: true, scanning: true)
            #expect(try sandbox.workingState(from: try #require(probed.scan)) == state)
        }
        #expect(try RepositorySnapshot(common: common, worktrees: [project.trunk, a, b], fixture: fixture) == before,
                "nothing in the repository changed")

        // The oracle writes objects (into this test repository only), so it runs afterwards.
        let treeA = try Self.gitAddAllTree(fixture, a)
        let treeB = try Self.gitAddAllTree(fixture, b)
        #expect(stateA.tree == treeA)
        #expect(stateB.tree == treeB)
        #expect(stateA.changes.map(\.text) == (try Self.changeSet(fixture, a, tree: treeA)))
        #expect(stateB.changes.map(\.text) == (try Self.changeSet(fixture, b, tree: treeB)))
        let expected = try Self.mergeTreeConflicts(fixture, a: (a, treeA), b: (b, treeB))
        #expect(conflicts.map { PathChange.text(of: $0) } == expected)
        if let expectConflict = scenario.expectConflict { #expect(!conflicts.isEmpty == expectConflict) }
    }

    @Test("a working state updated from the changed files equals one built afresh")
    func pathLevelUpdates() throws {
        let run = PropertyRun(defaultCases: 40)
        var updated = 0
        for number in 0..<run.cases {
            let seed = run.seed(ofCase: number)
            var generator = SeededGenerator(seed: seed)
            let fixture = try GitFixture()
            let project = try fixture.makeProject("p", files: WorktreeOperation.seedFiles)
            try fixture.git(["fetch", "--quiet"], in: project.trunk)
            let tree = try fixture.addWorktree("feat-x", branch: "feat/x", to: project)
            let common = project.trunk.appendingPathComponent(".git").path
            let before = try RepositorySnapshot(common: common, worktrees: [project.trunk, tree], fixture: fixture)
            let sandbox = try MergeSandbox(commonDirectory: common)
            // A clean worktree's state is HEAD's tree, read without a scan; it must equal a scan's.
            let clean = try #require(try sandbox.cleanWorkingState(ofWorktreeAt: tree.path, defaultBranch: "main"))
            #expect(clean == (try sandbox.workingState(ofWorktreeAt: tree.path, defaultBranch: "main")))
            var state = clean
            var history: [String] = []
            for _ in 0..<6 {
                let operation = WorktreeOperation.random(in: tree, using: &generator)
                guard case .write = operation else {
                    if case .delete = operation {} else if case .rename = operation {} else { continue }
                    history.append(operation.description)
                    let touched = try operation.apply(in: tree, fixture: fixture)
                    try check(touched)
                    continue
                }
                history.append(operation.description)
                try check(try operation.apply(in: tree, fixture: fixture))
            }
            func check(_ touched: WorktreeOperation.Touched) throws {
                let fresh = try sandbox.workingState(ofWorktreeAt: tree.path, defaultBranch: "main")
                if case .paths(let paths) = touched, !paths.isEmpty,
                    let answer = try sandbox.updatedWorkingState(state, changedPaths: Set(paths.map { Array($0.utf8) }))
                {
                    updated += 1
                    #expect(answer == fresh, "IMI_PROPERTY_SEED=\(run.seed) case \(number): \(history.joined(separator: "; "))")
                }
                state = fresh
            }
            #expect(try RepositorySnapshot(common: common, worktrees: [project.trunk, tree], fixture: fixture) == before,
                    "building and updating working states wrote nothing into the repository")
        }
        #expect(updated > run.cases)
        print("working states: \(updated) updated path by path, \(run.cases) cases, seed \(run.seed)")
    }

    /// `git add -A` into a copy of the worktree's index, then `git write-tree`.
    static func gitAddAllTree(_ fixture: GitFixture, _ worktree: URL) throws -> String {
        let gitDirectory = try fixture.git(["rev-parse", "--absolute-git-dir"], in: worktree).trimmingCharacters(in: .whitespacesAndNewlines)
        let copy = fixture.root.appendingPathComponent("index-\(UUID().uuidString)")
        try FileManager.default.copyItem(atPath: gitDirectory + "/index", toPath: copy.path)
        let environment = ["GIT_INDEX_FILE": copy.path]
        _ = try fixture.gitResult(["add", "-A"], in: worktree, extraEnvironment: environment)
        return try fixture.gitResult(["write-tree"], in: worktree, extraEnvironment: environment)
            .standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `git diff --no-renames --name-only merge-base(HEAD, origin/HEAD) TREE`, unquoted.
    static func changeSet(_ fixture: GitFixture, _ worktree: URL, tree: String) throws -> [String] {
        let base = try fixture.git(["merge-base", "HEAD", "origin/HEAD"], in: worktree).trimmingCharacters(in: .whitespacesAndNewlines)
        return try fixture.git(["-c", "core.quotePath=false", "diff", "--no-renames", "--name-only", base, tree], in: worktree)
            .split(separator: "\n").map { unquote(String($0)) }.sorted()
    }

    /// The conflicted paths of `git merge-tree --write-tree --name-only` of the two working
    /// states as commits on top of their HEADs.
    static func mergeTreeConflicts(_ fixture: GitFixture, a: (URL, String), b: (URL, String)) throws -> [String] {
        func commit(_ worktree: URL, _ tree: String) throws -> String {
            try fixture.git(["commit-tree", tree, "-p", "HEAD", "-m", "working state"], in: worktree)
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let first = try commit(a.0, a.1)
        let second = try commit(b.0, b.1)
        let result = try fixture.gitResult(
            ["-c", "core.quotePath=false", "merge-tree", "--write-tree", "--name-only", first, second], in: a.0)
        let lines = result.standardOutput.split(separator: "\n", omittingEmptySubsequences: false).dropFirst()
        return lines.prefix { !$0.isEmpty }.map { unquote(String($0)) }.sorted()
    }

    /// git quotes names with `"` or control characters even with core.quotePath=false.
    static func unquote(_ name: String) -> String {
        guard name.hasPrefix("\""), name.hasSuffix("\""), name.count >= 2 else { return name }
        return String(name.dropFirst().dropLast()).replacingOccurrences(of: "\\\"", with: "\"")
            .replacingOccurrences(of: "\\\\", with: "\\")
    }
}

/// Everything in a repository a forecast must not change: object files (names, sizes,
/// mtimes), index files (and their bytes) and lock files of every worktree, and the object
/// counts `git count-objects -v` reports.
struct RepositorySnapshot: Equatable {
    var files: [String: String]
    var objectCounts: String
    var indexes: [Data]

    init(common: String, worktrees: [URL], fixture: GitFixture) throws {
        files = [:]
        objectCounts = try fixture.git(["count-objects", "-v"], in: worktrees[0])
        indexes = []
        let manager = FileManager.default
        var roots = [common]
        for worktree in worktrees {
            let gitDirectory = try fixture.git(["rev-parse", "--absolute-git-dir"], in: worktree)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            roots.append(gitDirectory)
            indexes.append((try? Data(contentsOf: URL(fileURLWithPath: gitDirectory + "/index"))) ?? Data())
        }
        for root in roots {
            guard let walker = manager.enumerator(atPath: root) else { continue }
            for case let relative as String in walker {
                let path = root + "/" + relative
                let attributes = try manager.attributesOfItem(atPath: path)
                guard (attributes[.type] as? FileAttributeType) == .typeRegular else { continue }
                let size = attributes[.size] as? Int ?? -1
                let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
                files[path] = "\(size) \(modified)"
            }
        }
    }
}
