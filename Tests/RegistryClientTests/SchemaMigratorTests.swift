import Foundation
import PostgresClient
import RegistryClient
import TestSupport
import Testing

@Suite("Schema migrations", .ownThreads)
struct SchemaMigratorTests {
    /// Every migration, in order.
    let forwardNames = SchemaMigrator.embedded.map(\.name)

    @Test("applies every file once, records it, and a second run is a no-op")
    func appliesOnce() throws {
        let connection = try PostgresConnection(settings: try PostgresCluster.shared().createDatabase())
        let migrator = SchemaMigrator(connection: connection)
        let first = try migrator.migrate()
        #expect(first.applied == forwardNames)
        #expect(first.applied.prefix(2) == ["001_create_schema", "002_functions_and_helpers"])
        #expect(first.applied.last == SchemaMigrator.embedded.last?.name)
        #expect(first.alreadyApplied.isEmpty)
        let second = try migrator.migrate()
        #expect(second.applied.isEmpty)
        #expect(second.alreadyApplied == first.applied)
        #expect(try migrator.status() == .init(applied: SchemaMigrator.embedded.map(\.version), pending: [], unknown: []))
        let types = try connection.execute("SELECT name FROM worktree_types WHERE is_builtin ORDER BY name")
        #expect(types.rows.map { $0[0] } == ["aiops", "devops", "feat", "fix", "review", "trunk"])
    }

    @Test("a changed, already-applied file is refused with its name")
    func refusesChangedFile() throws {
        let connection = try PostgresConnection(settings: try PostgresCluster.shared().createDatabase())
        _ = try SchemaMigrator(connection: connection).migrate()
        var changed = SchemaMigrator.embedded
        changed[0].sql += "\n-- edited after release\n"
        let error = #expect(throws: RegistryError.self) {
            try SchemaMigrator(connection: connection, migrations: changed).migrate()
        }
        #expect(error?.code == .schema)
        #expect(error?.message.contains("001_create_schema was changed") == true)
    }

    @Test("rollback removes every registry object and migrate restores them")
    func rollbackAndReapply() throws {
        let connection = try PostgresConnection(settings: try PostgresCluster.shared().createDatabase())
        let migrator = SchemaMigrator(connection: connection)
        _ = try migrator.migrate()
        try migrator.rollback()
        let left = try connection.execute("""
            SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'public'
            """)
        #expect(left.int(0, 0) == 0)
        #expect(try migrator.status().applied == nil)
        #expect(throws: RegistryError.self) { try migrator.requireSchema() }
        #expect(try migrator.migrate().applied == forwardNames)
        try migrator.requireSchema()
    }

    @Test("files applied by hand with psql are accepted by migrate")
    func acceptsHandAppliedSchema() throws {
        let connection = try PostgresConnection(settings: try PostgresCluster.shared().createDatabase())
        for migration in SchemaMigrator.embedded {
            try connection.executeScript(StaticScript(migration.sql))
        }
        let report = try SchemaMigrator(connection: connection).migrate()
        #expect(report.alreadyApplied == forwardNames, "recognised, recorded, not run again")
        #expect(report.applied.isEmpty)
        #expect(try SchemaMigrator(connection: connection).status().isCurrent)
        // The plan's own order, 001 and 002 only: migrate adds what came after.
        let planOnly = try PostgresConnection(settings: try PostgresCluster.shared().createDatabase())
        for migration in SchemaMigrator.embedded.prefix(2) {
            try planOnly.executeScript(StaticScript(migration.sql))
        }
        let behind = #expect(throws: RegistryError.self) { try SchemaMigrator(connection: planOnly).requireSchema() }
        #expect(behind?.message.contains("lacks 004_") == true && behind?.message.contains("005_hosts") == true)
        #expect(behind?.message.contains("imi-sync migrate --schema-only") == true)
        #expect(try SchemaMigrator(connection: planOnly).migrate().applied == forwardNames.dropFirst(2).map { $0 })
        let projects = try connection.execute("SELECT count(*) FROM worktree_types")
        #expect(projects.int(0, 0) == 6)
    }

    @Test("the SQL embedded in the binary is byte-identical to migrations/")
    func embeddedMatchesFiles() throws {
        let root = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let directory = root.appendingPathComponent("migrations")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".sql") && $0 != "rollback.sql" }.sorted()
        #expect(files.map { String($0.dropLast(4)) } == SchemaMigrator.embedded.map(\.name))
        let rollback = try String(contentsOf: directory.appendingPathComponent("rollback.sql"), encoding: .utf8)
        #expect(rollback == SchemaMigrator.rollbackScript, "run scripts/embed-migrations.sh: rollback.sql drifted")
        for migration in SchemaMigrator.embedded {
            let text = try String(
                contentsOf: directory.appendingPathComponent(migration.name + ".sql"), encoding: .utf8)
            #expect(text == migration.sql, "run scripts/embed-migrations.sh: \(migration.name) drifted")
        }
    }

    /// 003 was never released; from 004 on every number is used, so a gap means a file is
    /// missing from the tree (or the binary).
    @Test("migrations are numbered without gaps after 004, each has a landmark, and the rollback script is not one of them")
    func numbering() {
        let versions = SchemaMigrator.embedded.map(\.version)
        #expect(Set(SchemaMigrator.landmarks.keys) == Set(versions), "a new migration needs a landmark for hand-applied schemas")
        #expect(versions.prefix(3) == [1, 2, 4])
        #expect(Array(versions.dropFirst(2)) == Array(4..<(4 + versions.count - 2)))
    }

    @Test("009 to 010 on a registry with rows and roles: a merged clean worktree leaves the in-flight list, grants hold")
    func upgradeTo010() throws {
        let settings = try PostgresCluster.shared().createDatabase()
        let owner = try RegistrySeeder(connection: PostgresConnection(settings: settings))
        let upTo009 = SchemaMigrator.embedded.filter { $0.version <= 9 }
        #expect(try SchemaMigrator(connection: owner.connection, migrations: upTo009).migrate().applied.last == "009_stale_change_sets")
        try owner.connection.executeScript(StaticScript(DeployFiles.rolesSQL))
        let project = try owner.addProject("p")
        let merged = try owner.addWorktree(project: project, name: "merged", path: "/srv/p/merged")
        try owner.addWorktree(project: project, name: "ahead", path: "/srv/p/ahead")
        try owner.connection.execute("""
            UPDATE worktrees SET has_uncommitted_changes = false, uncommitted_files_count = 0, ahead_of_trunk = 2,
                behind_trunk = 0, merged_at = CASE WHEN id = $1::uuid THEN now() END
            """, [merged])
        let before = try owner.connection.execute("SELECT worktree_name, status FROM v_inflight_work ORDER BY 1").rows
        #expect(before == [["ahead", "ahead"], ["merged", "ahead"]], "009 knows nothing of merges")

        #expect(try SchemaMigrator(connection: owner.connection).migrate().applied == ["010_merged_lifecycle", "011_inline_status", "012_registry_versions", "013_overlaps_function"])
        let after = try owner.connection.execute("SELECT worktree_name, status FROM v_inflight_work ORDER BY 1").rows
        #expect(after == [["ahead", "ahead"]])
        #expect(try owner.connection.execute("SELECT status FROM v_worktrees_detail WHERE id = $1", [merged]).string(0, 0) == "merged")
        #expect(try owner.connection.execute("SELECT count(*) FROM worktrees").int(0, 0) == 2)
        // What roles.sql granted before the upgrade still holds: the view's grant survives
        // CREATE OR REPLACE, and get_inflight_work, recreated, is PUBLIC's to run as before.
        let mcp = try PostgresConnection(settings: try PostgresCluster.shared().settings(database: try owner.databaseName(), user: "imi_sync_mcp"))
        #expect(try mcp.execute("SELECT worktree_name, merged_at FROM v_inflight_work").rows == [["ahead", nil]])
        #expect(try mcp.execute("SELECT merged_by FROM get_inflight_work()").rows == [[nil]])
        try SchemaMigrator(connection: owner.connection).requireSchema()
        #expect(try SchemaMigrator(connection: owner.connection).missingObjects() == [])
    }

    /// A database missing a migration in the middle is not current, whatever its newest is.
    @Test("a version missing from the applied set is reported pending, not hidden by max(version)")
    func missingVersionIsPending() throws {
        let connection = try PostgresConnection(settings: try PostgresCluster.shared().createDatabase())
        let migrator = SchemaMigrator(connection: connection)
        _ = try migrator.migrate()
        try connection.execute("DELETE FROM imi_schema_migrations WHERE version = 2")
        let status = try migrator.status()
        #expect(status.pending == ["002_functions_and_helpers"])
        #expect(!status.isCurrent)
        #expect(status.applied?.max() == SchemaMigrator.embedded.last?.version)
    }
}
