import Foundation
import PostgresClient
@testable import LegacyMigration
import RegistryClient
import TestSupport
import Testing

/// A fresh database with the schema applied.
func migratedDatabase() throws -> PostgresConnection {
    let connection = try PostgresConnection(settings: try PostgresCluster.shared().createDatabase())
    _ = try SchemaMigrator(connection: connection).migrate()
    return connection
}

func runImport(
    _ fixture: LegacyFixture, into connection: PostgresConnection,
    _ options: LegacyImporter.Options = .init()
) throws -> LegacyImportReport {
    let legacy = try LegacyRegistry(path: fixture.path)
    return try LegacyImporter(connection: connection, legacy: legacy).run(options)
}

func count(_ connection: PostgresConnection, _ table: String) throws -> Int {
    try connection.execute("SELECT count(*) FROM \(table)").int(0, 0) ?? -1
}

/// One row's columns as text, found by id.
func row(_ connection: PostgresConnection, _ sql: String, _ id: String) throws -> [String?] {
    let result = try connection.execute(sql, [id])
    #expect(result.rowCount == 1, "no row for \(id)")
    return result.rowCount == 1 ? result.rows[0] : []
}

@Suite("Legacy import", .ownThreads)
struct LegacyImporterTests {
    typealias M = LegacyFixture.Messy

    @Test("a project and worktree registered already from disk (another id) are matched, not quarantined")
    func mergesRowsRegisteredFromDisk() throws {
        let connection = try migratedDatabase()
        let seeder = RegistrySeeder(connection: connection)
        let host = try Registry(connection: connection).registerHost(named: "desk", agentVersion: nil)
        // As `scan` registered them: the origin's name, its own ids.
        let project = try seeder.addProject("api", trunkPath: "/code/api/trunk-main", remote: "git@github.com:me/api.git")
        let scanned = try seeder.addWorktree(project: project, name: "feat-x", path: "/code/api/feat-x", branch: "feat/x")
        try connection.execute("UPDATE worktrees SET host_id = $1", [host])
        let fixture = try LegacyFixture()
        try fixture.run("""
            INSERT INTO repositories VALUES ('r1', 'my-api', '/code/api', 'git@github.com:me/api.git', 'main',
                '2025-01-01T00:00:00Z', '2025-01-01T00:00:00Z', 1);
            INSERT INTO worktrees VALUES ('w1', 'my-api', 'feat-x', 'feat/x', 'feat', '/code/api/feat-x',
                '2025-01-01T00:00:00Z', '2025-01-01T00:00:00Z', 1, 'claude-1'),
              ('w2', 'my-api', 'fix-y', 'fix/y', 'fix', '/code/api/fix-y',
                '2025-01-01T00:00:00Z', '2025-01-01T00:00:00Z', 1, NULL);
            INSERT INTO agent_activities VALUES ('a1', 'claude-1', 'w1', 'created', NULL, 'x', '2025-01-01T00:00:01Z');
            """)
        let report = try runImport(fixture, into: connection, .init(hostID: host))
        #expect(report.quarantined == 0)
        #expect(report.table("repositories").map { [$0.imported, $0.alreadyPresent] } == [0, 1])
        #expect(report.table("worktrees").map { [$0.imported, $0.alreadyPresent] } == [1, 1])
        #expect(try count(connection, "projects") == 1)
        let activity = try connection.execute("SELECT worktree_id FROM agent_activities")
        #expect(activity.rows == [[scanned]], "the activity went to the row registered from disk")
        let added = try connection.execute("SELECT project_id, host_id FROM worktrees WHERE path = '/code/api/fix-y'")
        #expect(added.rows == [[project, host]], "a new worktree of the merged project joins it")
        let verified = try LegacyVerifier(connection: connection, legacy: try LegacyRegistry(path: fixture.path), hostID: host).run()
        #expect(verified.differences == [])
        // A second import changes nothing.
        let again = try runImport(fixture, into: connection, .init(hostID: host))
        #expect(again.tables.map(\.imported).reduce(0, +) == 0 && again.quarantined == 0)
    }

    @Test("messy rows: counts per table, repairs and quarantine reasons")
    func messyCounts() throws {
        let fixture = try LegacyFixture()
        try fixture.insertMessyRows()
        let connection = try migratedDatabase()
        let report = try runImport(fixture, into: connection)
        #expect(report.committed)

        let repositories = try #require(report.table("repositories"))
        let repositoryCounts = [repositories.read, repositories.imported, repositories.repaired, repositories.quarantined]
        #expect(repositoryCounts == [6, 4, 1, 2])
        let repositoryRepairs: [String] = [
            "created_at unparseable; set to updated_at", "default_branch missing; set to main",
        ]
        #expect(repositories.repairs.map(\.reason).sorted() == repositoryRepairs)
        let repositoryReasons: [String] = [
            "duplicate remote (another active project has it)",
            "no usable timestamp (created_at and updated_at missing or unparseable)",
        ]
        #expect(repositories.quarantineReasons.map(\.reason).sorted() == repositoryReasons)

        let types = try #require(report.table("worktree_types"))
        let typeCounts = [types.read, types.imported, types.alreadyPresent, types.derived, types.quarantined]
        #expect(typeCounts == [8, 3, 6, 1, 0])
        let typeRepairs: [String] = [
            "created_at unparseable; set to the import time",
            "no worktree_types row; created from worktrees.worktree_type",
        ]
        #expect(types.repairs.map(\.reason).sorted() == typeRepairs)

        let worktrees = try #require(report.table("worktrees"))
        let worktreeCounts = [worktrees.read, worktrees.imported, worktrees.quarantined]
        #expect(worktreeCounts == [8, 5, 3])
        let worktreeReasons: [String] = [
            "duplicate path (another active worktree has it)",
            "orphan: no repository with this repo_name",
            "repository quarantined: duplicate remote (another active project has it)",
        ]
        #expect(worktrees.quarantineReasons.map(\.reason).sorted() == worktreeReasons)

        let activities = try #require(report.table("agent_activities"))
        let activityCounts = [activities.read, activities.imported, activities.repaired, activities.quarantined]
        #expect(activityCounts == [9, 6, 2, 3])
        let activityRepairs: [String] = [
            "activity_type 'claimed' mapped to other",
            "activity_type 'released' mapped to other",
            "invalid UTF-8 or NUL bytes replaced in description",
        ]
        #expect(activities.repairs.map(\.reason).sorted() == activityRepairs)
        let activityReasons: [String] = [
            "orphan: no worktree with this worktree_id",
            "unparseable created_at",
            "worktree quarantined: orphan: no repository with this repo_name",
        ]
        #expect(activities.quarantineReasons.map(\.reason).sorted() == activityReasons)

        // Nothing dropped: every row read is imported, already there, or quarantined.
        for table in report.tables {
            #expect(table.read + table.derived == table.imported + table.alreadyPresent + table.quarantined, "\(table.source)")
        }
        #expect(try count(connection, "legacy_quarantine") == 8)
        #expect(try count(connection, "projects") == 4)
        #expect(try count(connection, "worktrees") == 5)
        #expect(try count(connection, "agent_activities") == 6)
    }

    @Test("messy rows: values, derived trunk paths, ids, timestamps and text arrive intact")
    func messyValues() throws {
        let fixture = try LegacyFixture()
        try fixture.insertMessyRows()
        let connection = try migratedDatabase()
        _ = try runImport(fixture, into: connection)
        let projectSQL = """
            SELECT id::text, name, remote_origin, default_branch, trunk_path,
                   to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'),
                   to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), active::text,
                   metadata::text
            FROM projects WHERE name = $1
            """
        #expect(try row(connection, projectSQL, "alpha") == [
            M.alpha, "alpha", "git@github.com:me/alpha.git", "main", "/code/alpha/trunk-main",
            "2025-10-27 22:20:01.123457", "2025-10-28 06:00:00.000000", "true", "{}",
        ])
        let betaID = try connection.execute("SELECT md5('imi-legacy:repositories:beta-legacy-id')::uuid::text").string(0, 0)
        #expect(try row(connection, projectSQL, "beta") == [
            betaID, "beta", "https://gitlab.example.com/me/beta.git", "develop", "/code/beta/trunk-develop",
            "2024-01-02 03:04:05.000000", "2023-11-14 22:13:20.000000", "true",
            #"{"legacy_id": "beta-legacy-id"}"#,
        ])
        #expect(try row(connection, projectSQL, "gamma") == [
            M.gammaUpper.lowercased(), "gamma", "", "main", "/code/gamma/trunk-main",
            "2025-01-01 00:00:00.000000", "2025-01-01 00:00:00.000000", "false",
            #"{"legacy_id": "AAAAAAAA-0000-4000-8000-000000000003", "legacy_created_at": "garbage"}"#,
        ])
        #expect(try row(connection, projectSQL, "épsilon ☃")[1...4] == [
            "épsilon ☃", "/srv/git/eps.git", "trunk", "/srv/code/eps/trunk-trunk",
        ])

        let worktreeSQL = """
            SELECT p.name, t.name, w.name, w.branch_name, w.path, w.agent_id, w.active::text,
                   to_char(w.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'),
                   w.has_uncommitted_changes::text, w.ahead_of_trunk::text, w.metadata::text
            FROM worktrees w JOIN projects p ON p.id = w.project_id JOIN worktree_types t ON t.id = w.type_id
            WHERE w.name = $1
            """
        #expect(try row(connection, worktreeSQL, "spike-x") == [
            "beta", "spike", "spike-x", "spike/x", "/code/beta/spike-x", nil, "true",
            "2023-11-14 22:13:21.000000", nil, nil, #"{"legacy_id": "wt-3"}"#,
        ])
        #expect(try row(connection, worktreeSQL, "fix-awkward") == [
            "gamma", "fix", "fix-awkward", M.awkwardText, "/code/gamma/fix-awkward", "agent|with|pipes",
            "false", "2025-10-27 22:23:00.250000", nil, nil, "{}",
        ])
        #expect(try row(connection, worktreeSQL, "feat-login")[5] == "claude-1")
        #expect(try row(connection, worktreeSQL, "experiment-a")[1] == "experiment")

        let activitySQL = """
            SELECT a.activity_type, a.description, a.file_path,
                   to_char(a.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), a.metadata::text, w.name
            FROM agent_activities a JOIN worktrees w ON w.id = a.worktree_id WHERE a.id = $1::uuid
            """
        #expect(try row(connection, activitySQL, M.activity(1)) == [
            "created", M.awkwardText, "src/a.swift", "2025-10-27 22:30:00.123457", "{}", "feat-login",
        ])
        #expect(try row(connection, activitySQL, M.activity(2))[0] == "other")
        #expect(try row(connection, activitySQL, M.activity(2))[4] == #"{"legacy_activity_type": "claimed"}"#)
        let act6 = try connection.execute("SELECT md5('imi-legacy:agent_activities:act-6')::uuid::text").string(0, 0) ?? ""
        #expect(try row(connection, activitySQL, act6) == [
            "committed", "non-uuid ids", "x.txt", "2025-10-27 22:35:00.000000",
            #"{"legacy_id": "act-6", "legacy_worktree_id": "wt-3"}"#, "spike-x",
        ])
        #expect(try row(connection, activitySQL, M.activity(7))[1] == M.longDescription)
        #expect(try row(connection, activitySQL, M.activity(8))[3] == "2023-11-14 22:13:20.123000")
        #expect(try row(connection, activitySQL, M.activity(9))[1] == "a\u{FFFD}b")

        let quarantined = try connection.execute("""
            SELECT source_table, source_id, reason, source_row->>'created_at'
            FROM legacy_quarantine ORDER BY source_table, source_id
            """)
        let bySource = Dictionary(uniqueKeysWithValues: quarantined.rows.map { ("\($0[0]!)/\($0[1]!)", $0) })
        #expect(bySource["agent_activities/\(M.activity(5))"]?[3] == "yesterday")
        #expect(bySource["repositories/\(M.zeta)"]?[2]
            == "no usable timestamp (created_at and updated_at missing or unparseable)")
        #expect(bySource["worktrees/\(M.worktree(7))"] != nil)
    }

    @Test("a second run duplicates nothing; rows added since are caught up; imported rows are not overwritten")
    func idempotentCatchUp() throws {
        let fixture = try LegacyFixture()
        try fixture.insertMessyRows()
        let connection = try migratedDatabase()
        let first = try runImport(fixture, into: connection)
        let second = try runImport(fixture, into: connection)
        #expect(second.imported == 0)
        for (a, b) in zip(first.tables, second.tables) {
            #expect(b.alreadyPresent == a.imported - a.derived + a.alreadyPresent, "\(a.source)")
            #expect(b.quarantined == a.quarantined, "\(a.source)")
        }
        #expect(try count(connection, "projects") == 4)
        #expect(try count(connection, "agent_activities") == 6)
        #expect(try count(connection, "legacy_quarantine") == 8)

        // Dual-run: the old CLI keeps writing; one row changes, two are added, an orphan is healed.
        try fixture.run("""
            UPDATE repositories SET remote_url = 'changed' WHERE name = 'alpha';
            INSERT INTO repositories VALUES ('aaaaaaaa-0000-4000-8000-000000000007', 'ghost', '/code/ghost',
                'git@github.com:me/ghost.git', 'main', '2025-11-01T00:00:00Z', '2025-11-01T00:00:00Z', 1);
            INSERT INTO agent_activities VALUES ('cccccccc-0000-4000-8000-000000000099', 'claude-2',
                'bbbbbbbb-0000-4000-8000-000000000001', 'merged', NULL, 'later', '2025-11-02T00:00:00Z');
            """)
        let third = try runImport(fixture, into: connection)
        #expect(third.table("repositories")?.imported == 1)
        #expect(third.table("worktrees")?.imported == 1)  // the orphan found its repository
        #expect(third.table("agent_activities")?.imported == 2)  // the new one and the healed one
        #expect(try connection.execute("SELECT remote_origin FROM projects WHERE name = 'alpha'").string(0, 0)
            == "git@github.com:me/alpha.git")
        #expect(try count(connection, "legacy_quarantine") == 6)
        #expect(try connection.execute(
            "SELECT count(*) FROM legacy_quarantine WHERE source_id = $1", [M.worktree(4)]).int(0, 0) == 0)
    }

    @Test("--dry-run reports the same as a real run and writes nothing")
    func dryRun() throws {
        let fixture = try LegacyFixture()
        try fixture.insertMessyRows()
        let connection = try migratedDatabase()
        let dry = try runImport(fixture, into: connection, .init(dryRun: true))
        #expect(!dry.committed)
        for table in ["projects", "worktrees", "agent_activities", "legacy_quarantine"] {
            #expect(try count(connection, table) == 0, "\(table)")
        }
        #expect(try count(connection, "worktree_types") == 6)
        let real = try runImport(fixture, into: connection)
        #expect(dry.tables == real.tables)
    }

    @Test("--strict refuses when rows would be quarantined and writes nothing")
    func strict() throws {
        let fixture = try LegacyFixture()
        try fixture.insertMessyRows()
        let connection = try migratedDatabase()
        let error = #expect(throws: LegacyError.self) {
            try runImport(fixture, into: connection, .init(strict: true))
        }
        #expect(error?.code == .strict)
        #expect(error?.message.contains("--strict: 8 rows") == true)
        #expect(try count(connection, "projects") == 0)
        #expect(try count(connection, "legacy_quarantine") == 0)

        let clean = try LegacyFixture()
        try clean.run("""
            INSERT INTO repositories VALUES ('aaaaaaaa-0000-4000-8000-000000000001', 'alpha', '/code/alpha',
                '', 'main', '2025-10-27T22:20:01Z', '2025-10-27T22:20:01Z', 1);
            """)
        let report = try runImport(clean, into: connection, .init(strict: true))
        #expect(report.committed && report.quarantined == 0 && report.imported == 1)
    }

    @Test("a registry from before worktree_types and agent_id: types come from worktrees.worktree_type")
    func olderLayout() throws {
        let fixture = try LegacyFixture(layout: .beforeWorktreeTypes)
        try fixture.run("""
            INSERT INTO repositories VALUES ('r1', 'old', '/code/old/trunk-master', 'git@host:old.git', 'master',
                '2023-01-01 00:00:00', '2023-01-01 00:00:00', 1);
            INSERT INTO worktrees VALUES ('w1', 'old', 'trunk-master', 'master', 'trunk', '/code/old/trunk-master',
                '2023-01-01 00:00:00', '2023-01-01 00:00:00', 1),
              ('w2', 'old', 'research-x', 'research/x', 'research', '/code/old/research-x',
                '2023-01-02 00:00:00', '2023-01-02 00:00:00', 0);
            """)
        let connection = try migratedDatabase()
        let report = try runImport(fixture, into: connection)
        #expect(report.table("worktree_types")?.read == 0)
        #expect(report.table("worktree_types")?.derived == 1)
        #expect(report.table("worktrees")?.imported == 2)
        #expect(report.table("agent_activities")?.read == 0)
        #expect(try connection.execute("SELECT trunk_path FROM projects").string(0, 0) == "/code/old/trunk-master")
        let types = try connection.execute(
            "SELECT t.name FROM worktrees w JOIN worktree_types t ON t.id = w.type_id ORDER BY w.name")
        #expect(types.rows.map { $0[0] } == ["research", "trunk"])
    }
}
