import Foundation
import PostgresClient
import RegistryClient
import TestSupport
import Testing

/// Prune: the registry offers a host's worktrees merged long enough ago, the caller checks their
/// directories, and the registry deactivates those still merged, still active and still that
/// host's: never a delete, never another host's row.
@Suite("prune of merged worktrees: candidates and the guarded deactivation", .ownThreads)
struct MergedPruneTests {
    static let day: TimeInterval = 86_400

    /// Two hosts with roles of their own (roles.sql, imi_grant_host); `a` is logged in as A's.
    struct Fixture {
        var owner: RegistrySeeder
        var a: PostgresConnection
        var hostA: String
        var hostB: String
        var ids: [String: String]

        func row(_ name: String) throws -> [String?] {
            try owner.connection.execute(
                "SELECT active::text, (gone_at IS NOT NULL)::text FROM worktrees WHERE id = $1", [ids[name]!]).rows.first ?? []
        }
    }

    /// A: `old` (merged 40 days ago), `recent` (2 days), `open` (not merged), `retired` (old,
    /// already inactive); B: `theirs` (old). `unadopted` (old) has no host.
    static func fixture() throws -> Fixture {
        let owner = try RegistrySeeder.freshRegistry()
        try owner.connection.executeScript(StaticScript(DeployFiles.rolesSQL))
        try owner.connection.execute("CALL imi_grant_host($1, $2)", ["host-a", "imi_host_a"])
        try owner.connection.execute("CALL imi_grant_host($1, $2)", ["host-b", "imi_host_b"])
        let hostA: String = try owner.connection.execute("SELECT id FROM hosts WHERE name = 'host-a'").decode(0, 0)
        let hostB: String = try owner.connection.execute("SELECT id FROM hosts WHERE name = 'host-b'").decode(0, 0)
        let project = try owner.addProject("p")
        let rows: [(String, String?, Double?)] = [
            ("old", hostA, 40), ("recent", hostA, 2), ("open", hostA, nil), ("retired", hostA, 40),
            ("theirs", hostB, 40), ("unadopted", nil, 40),
        ]
        var ids: [String: String] = [:]
        for (name, host, daysAgo) in rows {
            let id = try owner.addWorktree(project: project, name: name, path: "/srv/\(host ?? "none")/\(name)")
            ids[name] = id
            try owner.connection.execute(
                "UPDATE worktrees SET host_id = $1::uuid, merged_at = $2, merged_by = 'ann', merge_commit_hash = 'm' WHERE id = $3",
                [host, daysAgo.map { Date().addingTimeInterval(-$0 * Self.day) }, id])
        }
        try owner.connection.execute("UPDATE worktrees SET active = false WHERE id = $1", [ids["retired"]!])
        let a = try PostgresConnection(
            settings: try PostgresCluster.shared().settings(database: try owner.databaseName(), user: "imi_host_a"))
        return Fixture(owner: owner, a: a, hostA: hostA, hostB: hostB, ids: ids)
    }

    @Test("candidates are the host's own active rows merged more than N days ago, oldest first")
    func candidates() throws {
        let fixture = try Self.fixture()
        let registry = Registry(connection: fixture.a)
        let old = try registry.pruneCandidates(host: fixture.hostA, mergedMoreThanDays: 30)
        #expect(old.map(\.id) == [fixture.ids["old"]!])
        #expect(old.first?.path == "/srv/\(fixture.hostA)/old" && old.first?.host == "host-a" && old.first?.hostID == fixture.hostA)
        #expect(old.first?.projectName == "p" && old.first?.worktreeName == "old")
        let all = try registry.pruneCandidates(host: fixture.hostA, mergedMoreThanDays: 0)
        #expect(all.map(\.worktreeName) == ["old", "recent"])
        #expect(try registry.pruneCandidates(host: fixture.hostB, mergedMoreThanDays: 30).map(\.worktreeName) == ["theirs"],
                "reading another host's candidates is allowed; deactivating them is not")
        let negative = #expect(throws: RegistryError.self) { try registry.pruneCandidates(host: fixture.hostA, mergedMoreThanDays: -1) }
        #expect(negative?.code == .invalid)
    }

    @Test("deactivation keeps the rows (active false, gone_at set) and takes only the host's own, still merged and old enough")
    func deactivatesOnlyWhatStillQualifies() throws {
        let fixture = try Self.fixture()
        let registry = Registry(connection: fixture.a)
        let asked = ["old", "recent", "open", "retired", "theirs", "unadopted"].map { fixture.ids[$0]! }
        let done = try registry.deactivateMerged(asked, host: fixture.hostA, mergedMoreThanDays: 30)
        #expect(done == [fixture.ids["old"]!])
        #expect(try fixture.row("old") == ["false", "true"], "deactivated, not deleted, marked gone")
        for name in ["recent", "open", "theirs", "unadopted"] {
            #expect(try fixture.row(name) == ["true", "false"], "\(name) untouched")
        }
        #expect(try fixture.row("retired") == ["false", "false"])
        // A's role naming B's host changes nothing: row-level security hides B's rows from A's writes.
        #expect(try registry.deactivateMerged([fixture.ids["theirs"]!], host: fixture.hostB, mergedMoreThanDays: 30) == [])
        #expect(try fixture.row("theirs") == ["true", "false"])
        // The owner (or the single agent) acting for B may.
        #expect(try Registry(connection: fixture.owner.connection)
            .deactivateMerged([fixture.ids["theirs"]!], host: fixture.hostB, mergedMoreThanDays: 30) == [fixture.ids["theirs"]!])
    }

    @Test("a row whose branch moved on, or that was deactivated, between candidates and deactivation is left alone")
    func raceGuard() throws {
        let fixture = try Self.fixture()
        let registry = Registry(connection: fixture.a)
        let candidates = try registry.pruneCandidates(host: fixture.hostA, mergedMoreThanDays: 30)
        #expect(candidates.map(\.worktreeName) == ["old"])
        // Meanwhile the agent sees a commit after the merge: the verdict is "not merged".
        #expect(try registry.writeChanged([GitStateUpdate(
            worktreeID: fixture.ids["old"]!, uncommittedFilesCount: 0, aheadOfTrunk: 1, behindTrunk: 0,
            lastCommitHash: "after", lastCommitMessage: "more work", readAt: Date())]).changed == [fixture.ids["old"]!])
        #expect(try registry.deactivateMerged(candidates.map(\.id), host: fixture.hostA, mergedMoreThanDays: 30) == [])
        #expect(try fixture.row("old") == ["true", "false"])
        // Merged again, today: not old enough any more.
        try fixture.owner.connection.execute("UPDATE worktrees SET merged_at = now() WHERE id = $1", [fixture.ids["old"]!])
        #expect(try registry.deactivateMerged(candidates.map(\.id), host: fixture.hostA, mergedMoreThanDays: 30) == [])
        // Already deactivated by someone else: nothing to do, nothing reported.
        try fixture.owner.connection.execute(
            "UPDATE worktrees SET merged_at = now() - interval '40 days', active = false WHERE id = $1", [fixture.ids["old"]!])
        #expect(try registry.deactivateMerged(candidates.map(\.id), host: fixture.hostA, mergedMoreThanDays: 30) == [])
        #expect(try fixture.row("old") == ["false", "false"], "gone_at stays as the other writer left it")
    }
}
