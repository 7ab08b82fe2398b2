import GitProbe
import RegistryClient
import Testing
import TestSupport

@testable import SyncAgent
@testable import WorktreeMembership

/// The rules of `scan` on values alone: no disk, no database.
@Suite("Membership plan: projects, names and types", .ownThreads)
struct MembershipPlanTests {
    static let types: [MembershipSnapshot.WorktreeType] = [
        .init(id: 1, name: "feat", worktreePrefix: "feat-"), .init(id: 2, name: "fix", worktreePrefix: "fix-"),
        .init(id: 5, name: "review", worktreePrefix: "pr-"), .init(id: 6, name: "trunk", worktreePrefix: "trunk-"),
        .init(id: 7, name: "feature-x", worktreePrefix: "feat-x-"),
    ]

    static func repository(
        _ main: String, origin: String?, linked: [String] = [], originHead: String? = "main"
    ) -> RepositoryInspection {
        RepositoryInspection(
            commonDirectory: main + "/.git", isBare: false, originURL: origin, originDefaultBranch: originHead,
            main: .init(administrativeName: nil, path: main, gitDirectory: main + "/.git", head: .branch("main", commit: "c"), condition: .valid),
            linked: linked.map { path in
                let name = String(path.split(separator: "/").last!)
                return .init(
                    administrativeName: name, path: path, gitDirectory: main + "/.git/worktrees/" + name,
                    head: .branch(name, commit: "c"), condition: .valid)
            })
    }

    static func plan(_ repositories: [RepositoryInspection], projects: [MembershipSnapshot.Project] = []) -> MembershipPlan {
        MembershipPlan(
            discovery: Discovery(roots: ["/code"], repositories: repositories),
            snapshot: MembershipSnapshot(projects: projects, worktrees: [], types: types), hostID: "host",
            exists: { _ in true })
    }

    @Test("two clones of one new remote in one pass make one project; the second trunk gets its parent's name")
    func secondCloneOfNewRemote() {
        let (changes, report) = Self.plan([
            Self.repository("/code/api/trunk-main", origin: "git@github.com:team/api.git"),
            Self.repository("/code/api-copy/trunk-main", origin: "https://github.com/team/api"),
        ]).make()
        #expect(changes.newProjects.map(\.name) == ["api"])
        #expect(changes.newWorktrees.map(\.name) == ["trunk-main", "api-copy-trunk-main"])
        #expect(changes.newWorktrees.allSatisfy { $0.project == .new(index: 0) })
        #expect(report.skipped.isEmpty)
    }

    @Test("types by the longest worktree_prefix, the main clone is trunk, no prefix is feat")
    func types() {
        let (changes, _) = Self.plan([
            Self.repository("/code/api/main", origin: nil, linked: [
                "/code/api/feat-x-1", "/code/api/feat-login", "/code/api/fix-1", "/code/api/pr-7", "/code/api/scratch",
                "/code/api/trunk-old",
            ])
        ]).make()
        let typeOf = Dictionary(uniqueKeysWithValues: changes.newWorktrees.map { ($0.name, $0.typeID) })
        #expect(typeOf == ["main": 6, "feat-x-1": 7, "feat-login": 1, "fix-1": 2, "pr-7": 5, "scratch": 1, "trunk-old": 6])
        #expect(changes.newProjects.map(\.name) == ["main"])
    }

    @Test("a project is found by its remote written another way, else by its trunk path")
    func projectMatching() {
        let existing: [MembershipSnapshot.Project] = [
            .init(id: "p1", name: "api", remoteOrigin: "ssh://git@GitHub.com:22/team/api.git/", defaultBranch: "master", trunkPath: "/gone"),
            .init(id: "p2", name: "tools", remoteOrigin: "", defaultBranch: "main", trunkPath: "/code/tools/trunk-main"),
        ]
        let exists: (String) -> Bool = { $0 != "/gone" }
        let plan = MembershipPlan(
            discovery: Discovery(roots: ["/code"], repositories: [
                Self.repository("/code/api/trunk-main", origin: "git@github.com:team/api.git", originHead: "main"),
                Self.repository("/code/tools/trunk-main", origin: "git@example.com:me/tools.git", originHead: nil),
            ]),
            snapshot: MembershipSnapshot(projects: existing, worktrees: [], types: Self.types), hostID: "host", exists: exists)
        let (changes, _) = plan.make()
        #expect(changes.newProjects.isEmpty)
        #expect(changes.projectUpdates == [
            .init(id: "p1", remoteOrigin: "ssh://git@GitHub.com:22/team/api.git/", defaultBranch: "main", trunkPath: "/code/api/trunk-main"),
            .init(id: "p2", remoteOrigin: "git@example.com:me/tools.git", defaultBranch: "main", trunkPath: "/code/tools/trunk-main"),
        ])
    }

    @Test(
        "remote URLs written differently have one key",
        arguments: [
            ("git@github.com:team/api.git", "github.com/team/api"),
            ("https://github.com/team/api", "github.com/team/api"),
            ("ssh://git@GitHub.com:22/team/api.git/", "github.com/team/api"),
            ("https://user@gitlab.example.com/group/sub/api.git", "gitlab.example.com/group/sub/api"),
            ("/srv/git/api.git", "/srv/git/api"),
            ("file:///srv/git/api.git", "/srv/git/api"),
        ])
    func remoteKeys(url: String, key: String) {
        #expect(RemoteURL.key(url) == key)
    }
}
