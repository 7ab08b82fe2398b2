import Foundation
import PostgresClient
import RegistryClient
import TestSupport
import Testing

@Suite("Schema migrations")
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
