import Foundation
import RegistryClient
import TestSupport
import Testing

@testable import SyncAgent

/// Administrative directories (`.git/worktrees/<name>`) that do not hold a worktree: forged,
/// stale, or naming another worktree. A linked worktree counts only when the link holds both
/// ways and it lies below a root.
extension ScanTests {
    /// Where a forged administrative directory's `gitdir` points.
    enum Forgery: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case systemDirectory = "/etc/.git"
        case unrelatedRepository = "an unrelated repository outside the roots"
        case anotherWorktree = "a worktree under the roots whose .git names another administrative directory"
        var testDescription: String { rawValue }
    }

    /// `.git/worktrees/<name>` in `tree`'s trunk, as git would write it, naming `gitdir`.
    @discardableResult
    static func forge(_ name: String, in tree: Tree, gitdir: String) throws -> URL {
        let administrative = tree.trunk.appendingPathComponent(".git/worktrees/\(name)")
        try FileManager.default.createDirectory(at: administrative, withIntermediateDirectories: true)
        for (file, text) in [("HEAD", "ref: refs/heads/main\n"), ("commondir", "../..\n"), ("gitdir", gitdir + "\n")] {
            try Data(text.utf8).write(to: administrative.appendingPathComponent(file))
        }
        return administrative
    }

    /// The paths `git worktree list --porcelain` marks prunable.
    static func prunable(_ git: GitFixture, in directory: URL) throws -> Set<String> {
        var paths: Set<String> = []
        var current = ""
        for field in try git.git(["--no-optional-locks", "worktree", "list", "--porcelain", "-z"], in: directory)
            .split(separator: "\0")
        {
            if field.hasPrefix("worktree ") { current = String(field.dropFirst("worktree ".count)) }
            if field.hasPrefix("prunable") { paths.insert(current) }
        }
        return paths
    }

    @Test("a forged administrative directory registers nothing; the genuine worktree stays registered", arguments: Forgery.allCases)
    func forgedWorktree(_ forgery: Forgery) throws {
        let tree = try Tree()
        let feature = try tree.worktree("feat-a", branch: "feat/a")
        let other = try tree.git.initRepository("elsewhere/other")
        try tree.git.write("secret\n", to: "s.txt", in: other)
        try tree.git.commitAll("private subject", in: other)
        let target: String =
            switch forgery {
            case .systemDirectory: "/etc"
            case .unrelatedRepository: other.path
            case .anotherWorktree: feature.path
            }
        try Self.forge("evil", in: tree, gitdir: target + "/.git")
        let registry = try RegistrySeeder.freshRegistry(prefix: "scan")

        let report = try tree.scan(registry)
        #expect(Set(report.found.map(\.path)) == [tree.trunk.path, feature.path])
        #expect(report.found.filter { $0.path == feature.path }.count == 1, "one row for the genuine worktree")
        let rows = try Self.rows(registry)
        #expect(rows.values.map(\.path).sorted() == [tree.trunk.path, feature.path].sorted(), "\(rows.values)")
        #expect(try registry.connection.execute("SELECT count(*) FROM projects").int(0, 0) == 1)
        // What git makes of it: /etc/.git does not exist, so git calls it prunable; an
        // unrelated repository's .git directory or another worktree's .git git takes at its
        // word, where the scan wants the link both ways.
        let gitCallsPrunable = try Self.prunable(tree.git, in: tree.trunk).contains(target)
        let skip = report.skipped.first { $0.path == target && $0.reason != .nested }
        #expect(skip?.reason == (gitCallsPrunable ? .prunable : .notLinked), "\(report.skipped)")
        if forgery == .systemDirectory, !FileManager.default.fileExists(atPath: "/etc/.git") {
            #expect(gitCallsPrunable)
        }
    }

    @Test("rows of forged or stale worktrees are deactivated, while the link is broken and once the administrative directory is gone")
    func forgedRowsDeactivated() throws {
        let tree = try Tree()
        let genuine = try tree.worktree("feat-b", branch: "feat/b")
        let other = try tree.git.initRepository("elsewhere/other")
        let plain = try tree.git.directory("elsewhere/plain")
        let registry = try RegistrySeeder.freshRegistry(prefix: "scan")
        _ = try tree.scan(registry)
        let projectID = try #require(try registry.connection.execute("SELECT id FROM projects").string(0, 0))
        let hostID = try #require(try registry.connection.execute("SELECT id FROM hosts WHERE name = 'desk'").string(0, 0))
        // As an imi-sync without the two-way check registered them.
        let forged = try Self.forge("evil", in: tree, gitdir: other.path + "/.git")
        let stale = tree.trunk.appendingPathComponent(".git/worktrees/stale")
        var ids: [String: String] = [:]
        for (name, path, gitDirectory) in [("evil", other.path, forged.path), ("stale", plain.path, stale.path)] {
            ids[name] = try registry.addWorktree(project: projectID, name: name, path: path)
            try registry.connection.execute(
                "UPDATE worktrees SET host_id = $1, git_dir = $2 WHERE id = $3", [hostID, gitDirectory, ids[name]!])
        }
        // A genuine worktree whose administrative directory is deleted: git no longer lists it.
        try FileManager.default.removeItem(at: tree.trunk.appendingPathComponent(".git/worktrees/feat-b"))
        #expect(try !RepositoryInspectionOracle.worktrees(tree.git, in: tree.trunk).contains { $0.0 == genuine.path })
        let genuineID = try #require(try Self.rows(registry).first { $0.value.path == genuine.path }?.key)

        let report = try tree.scan(registry)
        #expect(Set(report.deactivated.map(\.id)) == [ids["evil"]!, ids["stale"]!, genuineID])
        let rows = try Self.rows(registry)
        #expect(rows.values.filter(\.active).map(\.path) == [tree.trunk.path])

        // The forged directory removed as well: nothing comes back.
        try FileManager.default.removeItem(at: forged)
        let again = try tree.scan(registry)
        #expect(again.deactivated.isEmpty && again.found.map(\.path) == [tree.trunk.path])
    }

    @Test("a linked worktree outside the roots is not registered; one registered before keeps its row")
    func linkedWorktreeOutsideRoots() throws {
        let tree = try Tree()
        let outside = tree.git.root.appendingPathComponent("elsewhere/feat-out")
        try tree.git.git(["worktree", "add", "--quiet", "-b", "feat/out", outside.path], in: tree.trunk)
        let registry = try RegistrySeeder.freshRegistry(prefix: "scan")
        let report = try tree.scan(registry)
        #expect(report.found.map(\.path) == [tree.trunk.path])
        #expect(report.skipped.first { $0.path == outside.path }?.reason == .outsideRoots, "\(report.skipped)")

        // Scanned once with its directory as a root, it stays matched from then on.
        _ = try tree.scan(registry, roots: [tree.code, outside.deletingLastPathComponent()])
        let later = try tree.scan(registry)
        #expect(later.found.first { $0.path == outside.path }?.outcome == .unchanged)
        #expect(later.deactivated.isEmpty)
    }
}
