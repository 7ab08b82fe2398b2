import GitProbe
import RegistryClient
import Testing

@testable import SyncAgent
@testable import WorktreeMembership

/// The plan's rules for worktrees git lists that are not what they claim, on values alone.
extension MembershipPlanTests {
    static let trunk = "/code/api/trunk-main"
    static let worktrees = trunk + "/.git/worktrees/"
    static let project = MembershipSnapshot.Project(
        id: "p1", name: "api", remoteOrigin: "git@github.com:team/api.git", defaultBranch: "main", trunkPath: trunk)

    static func row(_ id: String, path: String, gitDirectory: String?, typeID: Int = 1) -> MembershipSnapshot.Worktree {
        .init(
            id: id, projectID: "p1", name: String(path.split(separator: "/").last!), path: path, gitDirectory: gitDirectory,
            branchName: "main", typeID: typeID, active: true, hostID: "host")
    }

    static func linked(_ name: String, path: String, condition: RepositoryInspection.Condition = .valid) -> RepositoryInspection.Worktree {
        .init(administrativeName: name, path: path, gitDirectory: worktrees + name, head: .branch("main", commit: "c"), condition: condition)
    }

    static func make(_ linked: [RepositoryInspection.Worktree], rows: [MembershipSnapshot.Worktree]) -> (MembershipChanges, ScanReport) {
        var repository = Self.repository(trunk, origin: project.remoteOrigin)
        repository.linked = linked
        let trunkRow = row("t", path: trunk, gitDirectory: trunk + "/.git", typeID: 6)
        return MembershipPlan(
            discovery: Discovery(roots: ["/code"], repositories: [repository]),
            snapshot: MembershipSnapshot(projects: [project], worktrees: [trunkRow] + rows, types: types), hostID: "host",
            exists: { _ in true }
        ).make()
    }

    @Test("a worktree whose link is broken deactivates the row of its administrative directory, never the row at the path it names")
    func notLinkedDeactivatesByGitDirectory() {
        let feature = Self.row("f", path: "/code/api/feat-a", gitDirectory: Self.worktrees + "feat-a")
        let forged = Self.row("e", path: "/etc", gitDirectory: Self.worktrees + "evil")
        let (changes, report) = Self.make(
            [
                Self.linked("evil", path: "/code/api/feat-a", condition: .notLinked(detail: "names another")),
                Self.linked("feat-a", path: "/code/api/feat-a"),
            ], rows: [feature, forged])
        #expect(changes.deactivations == ["e"])
        #expect(changes.newWorktrees.isEmpty && changes.worktreeUpdates.isEmpty)
        #expect(report.found.first { $0.id == "f" }?.outcome == .unchanged)
        #expect(report.skipped.map(\.reason) == [.notLinked])
    }

    @Test("a row whose administrative directory git no longer lists is deactivated though its directory is still there")
    func goneAdministrativeDirectory() {
        let feature = Self.row("f", path: "/code/api/feat-a", gitDirectory: Self.worktrees + "feat-a")
        let stale = Self.row("s", path: "/srv/anything", gitDirectory: Self.worktrees + "stale")
        let elsewhere = Self.row("x", path: "/code/other/feat-x", gitDirectory: "/code/other/trunk/.git/worktrees/feat-x")
        let (changes, report) = Self.make([Self.linked("feat-a", path: "/code/api/feat-a")], rows: [feature, stale, elsewhere])
        #expect(changes.deactivations == ["s"], "a repository not read now judges nothing")
        #expect(report.deactivated.map(\.path) == ["/srv/anything"])
    }

    @Test("a new linked worktree outside the roots is skipped; one with a row there stays matched")
    func linkedOutsideRoots() {
        let kept = Self.row("k", path: "/elsewhere/feat-kept", gitDirectory: Self.worktrees + "feat-kept")
        let (changes, report) = Self.make(
            [Self.linked("feat-kept", path: "/elsewhere/feat-kept"), Self.linked("feat-new", path: "/elsewhere/feat-new")],
            rows: [kept])
        #expect(changes.newWorktrees.isEmpty)
        #expect(changes.deactivations.isEmpty)
        #expect(report.found.first { $0.id == "k" }?.outcome == .unchanged)
        #expect(report.skipped.map { [$0.path, $0.reason.rawValue] } == [["/elsewhere/feat-new", "outside the roots"]])
    }
}
