import Foundation
import PostgresClient
@testable import LegacyMigration
import RegistryClient
import TestSupport
import Testing

@Suite("Legacy source: read-only, bad input", .ownThreads)
struct LegacySourceTests {
    @Test("SQLite identifiers in statement text are quoted, a quote doubled; the SELECT names only known columns")
    func identifiersAreQuoted() {
        #expect(LegacyTable.quoted("worktrees") == "\"worktrees\"")
        #expect(LegacyTable.quoted("a\"b") == "\"a\"\"b\"")
        for table in LegacyTable.all {
            #expect(table.quotedName == LegacyTable.quoted(table.name))
        }
    }

    @Test(
        "the file is byte-identical after an import while another process holds it open",
        arguments: ["delete", "wal"])
    func readOnlyWhileHeld(journalMode: String) throws {
        let fixture = try LegacyFixture(journalMode: journalMode)
        try fixture.insertMessyRows()
        let holder = try SQLiteHolder(path: fixture.path, setup: "BEGIN; SELECT count(*) FROM repositories;")
        defer { holder.stop() }
        let before = try fixture.checksum()
        let connection = try migratedDatabase()
        let report = try runImport(fixture, into: connection)
        #expect(report.table("agent_activities")?.imported == 6)
        #expect(try fixture.checksum() == before)
        #expect(!FileManager.default.fileExists(atPath: fixture.path + "-journal"))
    }

    @Test("rows another process committed to the WAL but not yet checkpointed are imported")
    func readsWAL() throws {
        let fixture = try LegacyFixture(journalMode: "wal")
        let writer = try SQLiteHolder(path: fixture.path, setup: """
            PRAGMA wal_autocheckpoint = 0;
            INSERT INTO repositories VALUES ('aaaaaaaa-0000-4000-8000-000000000001', 'walrus', '/code/walrus',
                '', 'main', '2025-10-27T22:20:01Z', '2025-10-27T22:20:01Z', 1);
            """)
        defer { writer.stop() }
        let before = try fixture.checksum()
        let connection = try migratedDatabase()
        #expect(try runImport(fixture, into: connection).table("repositories")?.imported == 1)
        #expect(try connection.execute("SELECT name FROM projects").string(0, 0) == "walrus")
        #expect(try fixture.checksum() == before)
    }

    @Test("a file locked by a writer gives one clear error naming it")
    func locked() throws {
        let fixture = try LegacyFixture()
        let holder = try SQLiteHolder(path: fixture.path, setup: "BEGIN EXCLUSIVE;")
        defer { holder.stop() }
        let error = #expect(throws: LegacyError.self) {
            try LegacyRegistry(path: fixture.path, busyTimeoutMilliseconds: 200)
        }
        #expect(error?.code == .source)
        #expect(error?.message == "\(fixture.path) is locked by another process (gave up after waiting): database is locked")
    }

    @Test("missing, non-SQLite, directory, FIFO and unknown-schema files are refused with one line")
    func badInput() throws {
        let fixture = try LegacyFixture(layout: .empty)
        let directory = fixture.directory
        let missing = directory.appendingPathComponent("nope.db").path
        let text = directory.appendingPathComponent("notes.txt").path
        try Data(String(repeating: "this is not a database\n", count: 200).utf8).write(to: URL(fileURLWithPath: text))
        let fifo = directory.appendingPathComponent("pipe.db").path
        #expect(mkfifo(fifo, 0o600) == 0)
        let noName = try LegacyFixture(layout: .empty)
        try noName.run("CREATE TABLE repositories (id TEXT, path TEXT, created_at TEXT); CREATE TABLE worktrees (x);")

        let cases: [(String, String)] = [
            (missing, "legacy registry not found at \(missing)"),
            (text, "\(text) is not an SQLite database"),
            (directory.path, "legacy registry path \(directory.path) is a directory, not a file"),
            // Refused before SQLite opens it: opening a FIFO would wait for a writer forever.
            (fifo, "legacy registry path \(fifo) is a FIFO (named pipe), not an SQLite file"),
            (fixture.path, "\(fixture.path) is not an iMi registry: it has no repositories table (no tables)"),
            (noName.path, "\(noName.path) has an unknown schema: table repositories lacks column name (has: id, path, created_at)"),
        ]
        for (path, message) in cases {
            let error = #expect(throws: LegacyError.self) { try LegacyRegistry(path: path) }
            #expect(error?.code == .source)
            #expect(error?.message == message)
            #expect(error?.message.contains("\n") == false)
        }
    }

    @Test("a file corrupted mid-table fails the import with nothing written")
    func corruptMidway() throws {
        let fixture = try LegacyFixture()
        try fixture.insertMessyRows()
        try fixture.run("""
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
            INSERT INTO agent_activities SELECT 'bulk-' || i, 'a', 'bbbbbbbb-0000-4000-8000-000000000001',
                'modified', NULL, printf('%.200c', 'x'), '2025-01-01T00:00:00Z' FROM n;
            """)
        // Overwrite a stretch of pages near the end of the file (activity data) with garbage.
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: fixture.path))
        let size = try handle.seekToEnd()
        try handle.seek(toOffset: size - 200_000)
        try handle.write(contentsOf: Data(repeating: 0xA5, count: 100_000))
        try handle.close()
        let connection = try migratedDatabase()
        let error = #expect(throws: LegacyError.self) { try runImport(fixture, into: connection) }
        #expect(error?.code == .source)
        #expect(error?.message.hasPrefix("\(fixture.path) is corrupt") == true)
        #expect(try count(connection, "projects") == 0)
        #expect(try count(connection, "legacy_quarantine") == 0)
    }
}

@Suite("Legacy values", .ownThreads)
struct LegacyValueTests {
    @Test(
        "timestamps PostgreSQL reads as meant pass unchanged and cast to the right instant",
        arguments: [
            ("2025-10-27T22:20:01.123456789+00:00", "2025-10-27 22:20:01.123457"),
            ("2025-10-27 22:20:01", "2025-10-27 22:20:01.000000"),
            ("2025-10-27 22:20:01.5", "2025-10-27 22:20:01.500000"),
            ("2025-10-27t22:20:01z", "2025-10-27 22:20:01.000000"),
            ("2025-10-27T22:20:01+0530", "2025-10-27 16:50:01.000000"),
            ("2025-10-27T22:20:01-07", "2025-10-28 05:20:01.000000"),
            ("2025-10-27 22:20:01 +01:00", "2025-10-27 21:20:01.000000"),
            ("2025-10-27T22:20", "2025-10-27 22:20:00.000000"),
            ("2025-10-27", "2025-10-27 00:00:00.000000"),
            ("2024-02-29 12:00:00", "2024-02-29 12:00:00.000000"),
        ])
    func timestampUnchanged(text: String, utc: String) throws {
        #expect(LegacyTimestamp.classify(text) == .unchanged)
        let connection = try PostgresConnection(settings: try PostgresCluster.shared().settings())
        try connection.execute("SET TimeZone = 'UTC'")
        let value = try connection.execute(
            "SELECT to_char($1::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')", [text])
        #expect(value.string(0, 0) == utc)
    }

    @Test(
        "epoch numbers are converted (seconds, ms, µs, ns) and surrounding blanks trimmed",
        arguments: [
            ("1700000000", "2023-11-14 22:13:20.000000+00"),
            ("1700000000.25", "2023-11-14 22:13:20.250000+00"),
            ("1700000000123", "2023-11-14 22:13:20.123000+00"),
            ("1700000000123456", "2023-11-14 22:13:20.123456+00"),
            ("1700000000123456789", "2023-11-14 22:13:20.123456+00"),
            ("0", "1970-01-01 00:00:00.000000+00"),
            (" 2025-10-27 22:20:01 ", "2025-10-27 22:20:01"),
        ])
    func timestampConverted(text: String, expected: String) {
        #expect(LegacyTimestamp.classify(text) == .converted(expected))
    }

    @Test(
        "text that is no timestamp is invalid, never guessed",
        arguments: [
            "", "garbage", "yesterday", "2025-13-01", "2025-02-30 00:00:00", "2023-02-29", "2025-10-27 24:00:00",
            "2025-10-27 22:61", "2025-10-27T22:20:01+16:00", "27/10/2025", "2025-10-27 22:20:01 PST", "-5",
            "1e9", "12345678901234567890",
        ])
    func timestampInvalid(text: String) {
        #expect(LegacyTimestamp.classify(text) == .invalid)
    }

    @Test(
        "UUIDs in any form PostgreSQL reads become canonical; other ids are not UUIDs",
        arguments: [
            ("aaaaaaaa-0000-4000-8000-000000000001", LegacyValue.unchanged),
            ("AAAAAAAA-0000-4000-8000-00000000000F", .converted("aaaaaaaa-0000-4000-8000-00000000000f")),
            ("{aaaaaaaa-0000-4000-8000-000000000001}", .converted("aaaaaaaa-0000-4000-8000-000000000001")),
            ("aaaaaaaa000040008000000000000001", .converted("aaaaaaaa-0000-4000-8000-000000000001")),
            ("wt-3", .invalid),
            ("aaaaaaaa-0000-4000-8000-00000000000g", .invalid),
            ("aaaaaaaa-0000-4000-8000-0000000000011", .invalid),
            ("", .invalid),
        ])
    func uuid(text: String, expected: LegacyValue) {
        #expect(LegacyUUID.canonical(text) == expected)
    }

    /// The bulk-load decision reads at most the threshold's rows, and agrees with the full count.
    @Test("a bounded row count stops at its limit and equals the full count below it",
          arguments: [(0, 10, 0), (120, 50, 50), (120, 120, 120), (120, 1_000, 120)])
    func boundedRowCount(rows: Int, limit: Int, expected: Int) throws {
        let fixture = try LegacyFixture()
        if rows > 0 { try fixture.insertBulkActivities(rows) }
        let legacy = try LegacyRegistry(path: fixture.path)
        #expect(try legacy.rowCount(of: .agentActivities, upTo: limit) == expected)
        #expect(try legacy.rowCounts()["agent_activities"] == rows)
    }
}
