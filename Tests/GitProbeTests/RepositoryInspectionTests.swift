import Foundation
import GitProbe
import TestSupport
import Testing

/// `inspectRepository` against `git worktree list --porcelain -z`, `git remote get-url` and
/// `git symbolic-ref`, on real repositories.
@Suite("Repository inspection agrees with git worktree list", .ownThreads)
struct RepositoryInspectionTests {
    init() { GitLibrary.initialize() }

    /// One block of `git worktree list --porcelain -z`.
    struct Listed: Equatable {
        var path: String
        var head: String?
        var branch: String?
        var detached = false
        var bare = false
        var prunable = false
        var locked: String?
    }

    static func oracle(_ git: GitFixture, in directory: URL) throws -> [Listed] {
        let output = try git.git(["worktree", "list", "--porcelain", "-z"], in: directory)
        var blocks: [Listed] = []
        for field in output.split(separator: "\0", omittingEmptySubsequences: false).map(String.init) {
            if field.hasPrefix("worktree ") {
                blocks.append(Listed(path: String(field.dropFirst("worktree ".count))))
            } else if field.hasPrefix("HEAD ") {
                blocks[blocks.count - 1].head = String(field.dropFirst(5))
            } else if field.hasPrefix("branch refs/heads/") {
                blocks[blocks.count - 1].branch = String(field.dropFirst("branch refs/heads/".count))
            } else if field == "detached" {
                blocks[blocks.count - 1].detached = true
            } else if field == "bare" {
                blocks[blocks.count - 1].bare = true
            } else if field.hasPrefix("prunable") {
                blocks[blocks.count - 1].prunable = true
            } else if field == "locked" || field.hasPrefix("locked ") {
                blocks[blocks.count - 1].locked = String(field.dropFirst("locked".count)).trimmingCharacters(in: .whitespaces)
            }
        }
        return blocks
    }

    static func listed(_ inspection: RepositoryInspection) -> [Listed] {
        inspection.worktrees.map { worktree in
            var listed = Listed(path: worktree.path)
            switch worktree.head {
            case .branch(let name, let commit)?:
                listed.branch = name
                listed.head = commit ?? String(repeating: "0", count: 40)
            case .detached(let commit)?:
                listed.detached = true
                listed.head = commit
            case nil: break
            }
            switch worktree.condition {
            case .prunable: listed.prunable = true
            case .locked(let reason): listed.locked = reason
            case .valid, .unreadable, .notLinked: break
            }
            return listed
        }
    }

    @Test("main clone, branches, a detached head, awkward names, prunable and locked worktrees")
    func matchesWorktreeList() throws {
        let git = try GitFixture()
        let project = try git.makeProject("api")
        let feature = try git.addWorktree("feat-a", branch: "feat/a", to: project)
        let awkward = try git.addWorktree("fix-it's \"x\" | y z", branch: "fix/awkward", to: project)
        let detached = project.directory.appendingPathComponent("pr-detached")
        try git.git(["worktree", "add", "--quiet", "--detach", detached.path, "HEAD"], in: project.trunk)
        let gone = try git.addWorktree("feat-gone", branch: "feat/gone", to: project)
        try FileManager.default.removeItem(at: gone)
        let away = try git.addWorktree("feat-away", branch: "feat/away", to: project)
        try git.git(["worktree", "lock", "--reason", "on the usb disk", away.path], in: project.trunk)
        try FileManager.default.removeItem(at: away)

        let fromTrunk = try GitProbe().inspectRepository(at: project.trunk.path)
        let oracle = try Self.oracle(git, in: project.trunk)
        #expect(Self.listed(fromTrunk).sorted { $0.path < $1.path } == oracle.sorted { $0.path < $1.path })
        #expect(fromTrunk.main?.path == project.trunk.path)
        #expect(fromTrunk.main?.gitDirectory == project.trunk.path + "/.git")
        #expect(fromTrunk.commonDirectory == project.trunk.path + "/.git")
        #expect(!fromTrunk.isBare)
        let byPath = Dictionary(uniqueKeysWithValues: fromTrunk.linked.map { ($0.path, $0) })
        #expect(byPath[feature.path]?.condition == .valid)
        #expect(byPath[feature.path]?.gitDirectory == project.trunk.path + "/.git/worktrees/feat-a")
        #expect(byPath[awkward.path]?.head?.branch == "fix/awkward")
        #expect(byPath[detached.path]?.head == .detached(commit: try git.revParseHEAD(in: project.trunk)!))
        #expect(byPath[gone.path]?.condition == .prunable)
        #expect(byPath[away.path]?.condition == .locked(reason: "on the usb disk"))

        // From a linked worktree the same repository, the same list.
        #expect(try GitProbe().inspectRepository(at: feature.path) == fromTrunk)
        #expect(fromTrunk.originURL == (try git.git(["remote", "get-url", "origin"], in: project.trunk))
            .trimmingCharacters(in: .newlines))
        let symbolic = try git.git(["symbolic-ref", "--short", "refs/remotes/origin/HEAD"], in: project.trunk)
        #expect(fromTrunk.originDefaultBranch.map { "origin/" + $0 } == symbolic.trimmingCharacters(in: .newlines))
    }

    @Test("no origin, an unset origin/HEAD, url.insteadOf, a bare repository and an unborn branch")
    func remotesAndBare() throws {
        let git = try GitFixture()
        let plain = try git.initRepository("plain", branch: "trunk")
        let unborn = try GitProbe().inspectRepository(at: plain.path)
        #expect(unborn.originURL == nil)
        #expect(unborn.originDefaultBranch == nil)
        #expect(unborn.main?.head == .branch("trunk", commit: nil))
        try git.git(["config", "url.https://example.com/.insteadOf", "ex:"], in: plain)
        try git.git(["remote", "add", "origin", "ex:team/plain.git"], in: plain)
        let rewritten = try GitProbe().inspectRepository(at: plain.path)
        #expect(rewritten.originURL == "https://example.com/team/plain.git")
        #expect(rewritten.originURL == (try git.git(["remote", "get-url", "origin"], in: plain)).trimmingCharacters(in: .newlines))
        #expect(rewritten.originDefaultBranch == nil)

        let project = try git.makeProject("svc")
        let bare = try GitProbe().inspectRepository(at: project.origin.path)
        #expect(bare.isBare)
        #expect(bare.main == nil)
        #expect(bare.linked.isEmpty)
        let listedBare = try Self.oracle(git, in: project.origin)
        #expect(Self.listed(bare).isEmpty && listedBare.first?.bare == true)
    }

    @Test("inspecting changes nothing in the repository")
    func readOnly() throws {
        let git = try GitFixture()
        let project = try git.makeProject("api")
        _ = try git.addWorktree("feat-a", branch: "feat/a", to: project)
        let gone = try git.addWorktree("feat-gone", branch: "feat/gone", to: project)
        try FileManager.default.removeItem(at: gone)
        let gitDirectory = project.trunk.appendingPathComponent(".git")
        let before = try GitProbeReadOnlyTests.Snapshot(of: gitDirectory, keepingBytesOf: ["/index"])
        _ = try GitProbe().inspectRepository(at: project.trunk.path)
        #expect(try GitProbeReadOnlyTests.Snapshot(of: gitDirectory, keepingBytesOf: ["/index"]) == before)
    }

    @Test("a directory that is no repository is told apart")
    func notARepository() throws {
        let git = try GitFixture()
        let plain = try git.directory("just-files")
        let error = #expect(throws: GitProbeError.self) { try GitProbe().inspectRepository(at: plain.path) }
        #expect(error?.code == .notARepository)
    }
}
