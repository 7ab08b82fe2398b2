#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LegacyMigration
import PostgresClient
import RegistryClient
import TestSupport
import Testing

@Suite("imi-sync migrate killed half-way", .serialized, .ownThreads)
struct MigrateKillTests {
    @Test("SIGKILL during the activity COPY leaves the database as it was; a rerun imports everything")
    func killedMidCopy() throws {
        let fixture = try LegacyFixture()
        try fixture.insertMessyRows()
        try fixture.insertBulkActivities(400000)
        let settings = try PostgresCluster.shared().createDatabase()
        let observer = try PostgresConnection(settings: settings)

        let process = try ChildProcess(
            try imiSyncBinary(), ["migrate", "--from", fixture.path, "--database-url", settings.conninfo],
            environment: ["HOME": fixture.directory.path, "PATH": "/usr/bin:/bin"])
        defer { process.signal(SIGKILL) }

        // Wait until the COPY into agent_activities has taken rows, then kill the client.
        var copying = false
        for _ in 0..<600 where !copying {
            let progress = try observer.execute("""
                SELECT coalesce(max(tuples_processed), 0) FROM pg_stat_progress_copy
                WHERE relid = to_regclass('agent_activities')
                """)
            copying = (progress.int(0, 0) ?? 0) > 1000
            if !copying { usleep(10_000) }
        }
        #expect(copying, "the import never reached the activity COPY")
        process.signal(SIGKILL)
        #expect(process.waitForExit(timeout: 10) == nil)
        #expect(process.terminatingSignal == SIGKILL)
        // The server aborts the transaction when it notices the client has gone.
        for _ in 0..<500 {
            let busy = try observer.execute("""
                SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()
                """)
            if busy.int(0, 0) == 0 { break }
            usleep(10_000)
        }
        for table in ["projects", "worktrees", "agent_activities", "legacy_quarantine"] {
            #expect(try observer.execute("SELECT count(*) FROM \(table)").int(0, 0) == 0, "\(table)")
        }
        let indexes = try observer.execute(
            "SELECT count(*) FROM pg_indexes WHERE tablename = 'agent_activities'")
        #expect(indexes.int(0, 0) == 4)

        let report = try LegacyImporter(connection: observer, legacy: try LegacyRegistry(path: fixture.path)).run()
        #expect(report.table("agent_activities")?.imported == 400_006)
    }
}
