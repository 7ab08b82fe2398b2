import Foundation
import TestSupport

/// A project to merge branches in: a bare origin, its trunk clone and worktrees beside it.
///
/// Trunk's merges, squashes and cherry-picks are made by a second identity ("Trunk Keeper"),
/// so a merge commit's committer is told apart from the branch's own commits. Every git
/// command goes through the fixture: the real git CLI, no shell.
final class MergeWorld: Sendable {
    let fixture: GitFixture
    let project: GitFixture.Project
    var trunk: URL { project.trunk }

    static let keeper = ["GIT_COMMITTER_NAME": "Trunk Keeper", "GIT_COMMITTER_EMAIL": "keeper@fixture.invalid"]

    /// `logAllRefUpdates: false` sets `core.logAllRefUpdates=false` before any worktree is
    /// made: branches created then have no reflog.
    init(logAllRefUpdates: Bool = true) throws {
        fixture = try GitFixture()
        project = try fixture.makeProject("p", files: ["README.md": "a\nb\nc\n", "src/app.c": "int main;\n"])
        if !logAllRefUpdates {
            try fixture.git(["config", "core.logAllRefUpdates", "false"], in: project.trunk)
        }
    }

    /// `git worktree add -b feat/<name>` from trunk, then `commits` commits each adding a file
    /// `<name>-<n>.txt`; with `laterSecond`, the first commit is made in a later second than
    /// the worktree was created (commit times have whole seconds).
    func worktree(_ name: String, commits: Int, laterSecond: Bool = false) throws -> URL {
        let tree = try fixture.addWorktree(name, branch: "feat/\(name)", to: project)
        if laterSecond { Thread.sleep(forTimeInterval: 1.1) }
        for number in 0..<commits {
            try commit(in: tree, file: "\(name)-\(number + 1).txt")
        }
        return tree
    }

    /// Writes `text` to `file` in `tree` and commits everything; returns the commit.
    @discardableResult
    func commit(in tree: URL, file: String, _ text: String? = nil) throws -> String {
        try fixture.write(text ?? "\(file)\n", to: file, in: tree)
        return try fixture.commitAll("add \(file)", in: tree)
    }

    /// A commit on trunk's local branch (not yet pushed).
    @discardableResult
    func trunkCommit(_ name: String) throws -> String {
        try commit(in: trunk, file: "trunk-\(name).txt")
    }

    /// `git <arguments>` in the trunk clone as Trunk Keeper; returns trunk's HEAD after it.
    @discardableResult
    func keeper(_ arguments: [String]) throws -> String {
        let result = try fixture.gitResult(arguments, in: trunk, extraEnvironment: Self.keeper)
        guard result.status == 0 else {
            throw TestSupportError("git \(arguments.joined(separator: " ")) as Trunk Keeper exited \(result.status): \(result.standardError)")
        }
        return try head(of: trunk)
    }

    /// `git merge --squash <branch>` and its commit, as Trunk Keeper.
    @discardableResult
    func squash(_ branch: String) throws -> String {
        try keeper(["merge", "--quiet", "--squash", branch])
        return try keeper(["commit", "--quiet", "-m", "squash \(branch)"])
    }

    /// Pushes trunk's branch: origin/main, and so origin/HEAD (trunk), move to it.
    func publish() throws {
        try fixture.git(["push", "--quiet", "origin", project.defaultBranch], in: trunk)
    }

    /// Deletes `refs/heads/<branch>`'s reflog file.
    func deleteReflog(of branch: String) throws {
        let common = try text(["rev-parse", "--path-format=absolute", "--git-common-dir"], in: trunk)
        try FileManager.default.removeItem(atPath: common + "/logs/refs/heads/" + branch)
    }

    func head(of tree: URL) throws -> String {
        try text(["rev-parse", "HEAD"], in: tree)
    }

    /// The commit `revision` names in the trunk clone.
    func commit(_ revision: String) throws -> String {
        try text(["rev-parse", "\(revision)^{commit}"], in: trunk)
    }

    func text(_ arguments: [String], in directory: URL) throws -> String {
        try fixture.git(arguments, in: directory).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
