import ArgumentParser
import Foundation
import LegacyMigration
import Logging
import PostgresClient
import RegistryClient
import TestSupport
import Testing

@testable import ImiSyncCLI
@testable import SyncAgent

@Suite("migrate command and first-run bootstrap", .ownThreads)
struct MigrateBootstrapTests {
    /// A copy of `fixture` at `<dir>/xdg/imi/database.db`, as the plan lays it out.
    func legacyFile(with fixture: LegacyFixture) throws -> String {
        let data = fixture.directory.appendingPathComponent("xdg")
        try FileManager.default.createDirectory(
            at: data.appendingPathComponent("imi"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            atPath: fixture.path, toPath: data.appendingPathComponent("imi/database.db").path)
        return data.appendingPathComponent("imi/database.db").path
    }

    @Test("an empty registry with a legacy file: schema applied and legacy rows imported, once")
    func bootstrapImportsOnce() throws {
        let fixture = try LegacyFixture()
        try fixture.insertMessyRows()
        let legacyPath = try legacyFile(with: fixture)
        let connection = try PostgresConnection(settings: try PostgresCluster.shared().createDatabase())
        let bootstrap = LegacyBootstrap(
            connection: connection, logger: Logger(label: "test"), legacyPath: legacyPath, host: .forTests)
        let report = try #require(try bootstrap.runIfNeeded())
        #expect(report.committed)
        #expect(report.table("agent_activities")?.imported == 6)
        #expect(try connection.execute("SELECT count(*) FROM projects").int(0, 0) == 4)
        #expect(try bootstrap.runIfNeeded() == nil)  // not empty any more
    }

    @Test("run on an empty registry imports the legacy file before its first sync")
    func runBootstraps() async throws {
        let fixture = try LegacyFixture()
        try fixture.insertMessyRows()
        let legacyPath = try legacyFile(with: fixture)
        let settings = try PostgresCluster.shared().createDatabase()
        try await withRunningAgent(RunningAgent(settings: settings, legacyPath: legacyPath)) { agent in
            let connection = try PostgresConnection(settings: settings)
            var projects = 0
            for _ in 0..<200 where projects == 0 {
                try await Task.sleep(for: .milliseconds(50))
                let exists = try connection.execute("SELECT to_regclass('projects') IS NOT NULL").bool(0, 0) == true
                projects = exists ? try connection.execute("SELECT count(*) FROM projects").int(0, 0) ?? 0 : 0
            }
            #expect(projects == 4)
            #expect(try connection.execute("SELECT count(*) FROM agent_activities").int(0, 0) == 6)
            #expect(agent.messages.all.contains { $0.contains("importing it first") })
        }
    }

    @Test("no legacy file, or a registry with projects: nothing happens")
    func bootstrapSkips() throws {
        let connection = try PostgresConnection(settings: try PostgresCluster.shared().createDatabase())
        let none = LegacyBootstrap(
            connection: connection, logger: Logger(label: "test"),
            legacyPath: "/nonexistent-\(UUID())/imi/database.db", host: .forTests)
        #expect(try none.runIfNeeded() == nil)
        #expect(try SchemaMigrator(connection: connection).status().applied == nil)
    }

    @Test("a legacy file that cannot be read is logged, not fatal, and nothing is written")
    func bootstrapBadFile() throws {
        let fixture = try LegacyFixture(layout: .empty)
        let legacyPath = try legacyFile(with: fixture)
        let connection = try PostgresConnection(settings: try PostgresCluster.shared().createDatabase())
        let bootstrap = LegacyBootstrap(
            connection: connection, logger: Logger(label: "test"), legacyPath: legacyPath, host: .forTests)
        #expect(try bootstrap.runIfNeeded() == nil)
        #expect(try connection.execute("SELECT count(*) FROM projects").int(0, 0) == 0)
    }

    @Test("migrate keeps --schema-only, checks its options and routes its subcommands")
    func commandLine() throws {
        #expect(try ImiSync.parseAsRoot(["migrate", "--schema-only"]) is Migrate)
        #expect(try ImiSync.parseAsRoot(["migrate", "--from", "/x.db", "--dry-run", "--strict", "--json"]) is Migrate)
        let verify = try #require(
            try ImiSync.parseAsRoot(["migrate", "verify", "--from", "/x.db", "--database-url", "host=/s", "--json"])
                as? MigrateVerify)
        #expect(verify.migrate.legacyPath == "/x.db")
        #expect(verify.migrate.global.databaseURL == "host=/s")
        #expect(verify.migrate.json)
        #expect(try ImiSync.parseAsRoot(["migrate", "rollback", "--yes"]) is MigrateRollback)
        #expect(try ImiSync.parseAsRoot(["migrate", "export-sqlite", "--to", "/tmp/x.db"]) is MigrateExportSQLite)
        #expect(try ImiSync.parseAsRoot(["migrate", "archive"]) is MigrateArchive)
        #expect(try ImiSync.parseAsRoot(["migrate", "archive", "--from", "/x.db", "--to", "/tmp/a"]) is MigrateArchive)
        #expect(throws: (any Error).self) { try ImiSync.parseAsRoot(["migrate", "export-sqlite"]) }
        #expect(throws: (any Error).self) { try ImiSync.parseAsRoot(["migrate", "rollback"]) }
        #expect(throws: (any Error).self) { try ImiSync.parseAsRoot(["migrate", "--schema-only", "--dry-run"]) }
    }

    @Test("migrate with a missing legacy file fails with exit 65 and writes nothing, not even the schema")
    func missingFileWritesNothing() throws {
        let settings = try PostgresCluster.shared().createDatabase()
        let command = try #require(
            try ImiSync.parseAsRoot(["migrate", "--from", "/nonexistent/database.db", "--database-url", settings.conninfo])
                as? Migrate)
        let error = #expect(throws: LegacyError.self) { try command.run() }
        #expect(error.map(ExitStatus.code(for:)) == ExitCode(65))
        let connection = try PostgresConnection(settings: settings)
        #expect(try connection.execute("SELECT to_regclass('projects') IS NULL").bool(0, 0) == true)
    }

    @Test("the report table lists every table, repairs and quarantine reasons")
    func reportText() throws {
        let fixture = try LegacyFixture()
        try fixture.insertMessyRows()
        let connection = try PostgresConnection(settings: try PostgresCluster.shared().createDatabase())
        _ = try SchemaMigrator(connection: connection).migrate()
        let report = try LegacyImporter(connection: connection, legacy: try LegacyRegistry(path: fixture.path))
            .run(.init(dryRun: true))
        let text = MigrateOutput.table(report)
        #expect(text.contains("dry run, rolled back: nothing was written"))
        #expect(text.contains("repositories → projects"))
        #expect(text.contains("  agent_activities: activity_type 'claimed' mapped to other (1)"))
        #expect(text.contains("  worktrees: orphan: no repository with this repo_name (1)"))
        let schema = try SchemaMigrator(connection: connection).migrate()
        let json = MigrateOutput.json(schema: schema, report: report)
        let document = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let legacy = try #require(document["legacy_import"] as? [String: Any])
        #expect(legacy["dry_run"] as? Bool == true)
        let tables = try #require(legacy["tables"] as? [[String: Any]])
        #expect(tables.first { $0["source"] as? String == "worktree_types" }?["already_present"] as? Int == 6)
    }
}
