import Foundation
import PostgresClient
@testable import LegacyMigration
import RegistryClient
import TestSupport
import Testing

@Suite("Legacy verify and fast path", .ownThreads)
struct LegacyVerifierTests {
    /// Every value of the activities and the quarantine, in a stable order.
    func snapshot(_ connection: PostgresConnection) throws -> [[String?]] {
        try connection.execute("""
            SELECT id::text, agent_id, worktree_id::text, activity_type, file_path, description, metadata::text,
                   created_at::text FROM agent_activities ORDER BY id
            """).rows
            + connection.execute("""
                SELECT source_table, source_id, reason, source_row::text FROM legacy_quarantine
                ORDER BY source_table, source_id
                """).rows
    }

    @Test("the binary-COPY fast path gives exactly what the SQL plan gives")
    func fastPathMatchesPlan() throws {
        let fixture = try LegacyFixture()
        try fixture.insertMessyRows()
        let fast = try migratedDatabase()
        let planned = try migratedDatabase()
        let fastReport = try LegacyImporter(connection: fast, legacy: try LegacyRegistry(path: fixture.path)).run()
        var importer = LegacyImporter(connection: planned, legacy: try LegacyRegistry(path: fixture.path))
        importer.allowsDirectActivityLoad = false
        let plannedReport = try importer.run()
        #expect(fastReport.tables == plannedReport.tables)
        #expect(try snapshot(fast) == snapshot(planned))
    }

    /// The seeded built-in rows are defaults: the legacy file's values for a built-in type
    /// replace them, a type someone edited in PostgreSQL is kept, and verify agrees.
    @Test("a built-in type's legacy values replace the seeded defaults, and verify agrees right after")
    func builtInTypesFromTheLegacyFile() throws {
        let fixture = try LegacyFixture()
        try fixture.run("""
            UPDATE worktree_types SET worktree_prefix = 'pr-review-', description = 'Review a PR'
                WHERE name = 'review';
            UPDATE worktree_types SET branch_prefix = 'feature/' WHERE name = 'feat';
            """)
        let connection = try migratedDatabase()
        // Someone already edited the seeded fix type in PostgreSQL: that is user data.
        try connection.execute("UPDATE worktree_types SET worktree_prefix = 'bugfix-' WHERE name = 'fix'")
        let report = try runImport(fixture, into: connection)
        #expect(report.tables.first { $0.source == "worktree_types" }?.imported == 2, "review and feat replaced; the rest equal their seeds")
        func prefixes(_ name: String) throws -> [String?] {
            try connection.execute(
                "SELECT branch_prefix, worktree_prefix, description, is_builtin::text FROM worktree_types WHERE name = $1",
                [name]).rows.first ?? []
        }
        #expect(try prefixes("review") == ["pr-review/", "pr-review-", "Review a PR", "true"])
        #expect(try prefixes("feat") == ["feature/", "feat-", "Feature development", "true"])
        #expect(try prefixes("fix") == ["fix/", "bugfix-", "Bug fixes", "true"])

        let verified = try LegacyVerifier(connection: connection, legacy: try LegacyRegistry(path: fixture.path)).run()
        #expect(verified.differences == ["worktree_types: 1 imported rows differ from the legacy file"],
                "only the type edited in PostgreSQL differs")
        try connection.execute("UPDATE worktree_types SET worktree_prefix = 'fix-' WHERE name = 'fix'")
        #expect(try LegacyVerifier(connection: connection, legacy: try LegacyRegistry(path: fixture.path)).run().differences == [])
        // A second run never overwrites what the first imported.
        try fixture.run("UPDATE worktree_types SET worktree_prefix = 'changed-later-' WHERE name = 'review'")
        _ = try runImport(fixture, into: connection)
        #expect(try prefixes("review")[1] == "pr-review-")
    }

    @Test("verify passes after an import and names each kind of difference after tampering")
    func verify() throws {
        let fixture = try LegacyFixture()
        try fixture.insertMessyRows()
        let connection = try migratedDatabase()
        _ = try runImport(fixture, into: connection)
        let clean = try LegacyVerifier(connection: connection, legacy: try LegacyRegistry(path: fixture.path)).run()
        #expect(clean.differences == [])
        #expect(clean.tables.map(\.sourceRows) == [6, 8, 8, 9])
        #expect(clean.tables.map(\.quarantined) == [2, 0, 3, 3])
        for table in clean.tables { #expect(table.sourceChecksum == table.destinationChecksum) }

        try connection.execute("UPDATE agent_activities SET description = 'edited' WHERE id = $1::uuid",
                               [LegacyFixture.Messy.activity(1)])
        try connection.execute("DELETE FROM legacy_quarantine WHERE source_table = 'repositories'")
        try fixture.run("""
            INSERT INTO agent_activities VALUES ('cccccccc-0000-4000-8000-000000000077', 'x',
                'bbbbbbbb-0000-4000-8000-000000000001', 'created', NULL, 'new', '2025-11-01T00:00:00Z');
            """)
        let tampered = try LegacyVerifier(connection: connection, legacy: try LegacyRegistry(path: fixture.path)).run()
        #expect(tampered.differences == [
            "repositories: 2 rows neither imported nor quarantined",
            "agent_activities: 1 rows neither imported nor quarantined",
            "agent_activities: 1 imported rows differ from the legacy file",
        ])
        #expect(!tampered.isConsistent)
    }

    @Test("a large load rebuilds the activity indexes and constraints it dropped")
    func bulkRebuild() throws {
        let fixture = try LegacyFixture()
        try fixture.insertMessyRows()
        try fixture.insertBulkActivities(60000)
        let connection = try migratedDatabase()
        let definitions = """
            SELECT string_agg(pg_get_indexdef(indexrelid), '; ' ORDER BY indexrelid::regclass::text) FROM pg_index
            WHERE indrelid = 'agent_activities'::regclass
            UNION ALL
            SELECT string_agg(conname || ' ' || pg_get_constraintdef(oid), '; ' ORDER BY conname) FROM pg_constraint
            WHERE conrelid = 'agent_activities'::regclass
            """
        let before = try connection.execute(definitions).rows
        let report = try runImport(fixture, into: connection)
        #expect(report.table("agent_activities")?.imported == 60_006)
        #expect(try connection.execute(definitions).rows == before)
        let verification = try LegacyVerifier(connection: connection, legacy: try LegacyRegistry(path: fixture.path)).run()
        #expect(verification.differences == [])
    }
}

@Suite("Legacy duplicate ids", .ownThreads)
struct LegacyDuplicateIDTests {
    @Test("two legacy activity ids naming one UUID: the first is imported, the later quarantined")
    func caseVariantDuplicates() throws {
        let fixture = try LegacyFixture(layout: .empty)
        try fixture.run(LegacyFixture.currentSchema.replacingOccurrences(
            of: "CREATE TABLE agent_activities (id TEXT PRIMARY KEY,", with: "CREATE TABLE agent_activities (id TEXT,"))
        try fixture.run("""
            INSERT INTO repositories VALUES ('aaaaaaaa-0000-4000-8000-000000000001', 'alpha', '/code/alpha',
                '', 'main', '2025-10-27T22:20:01Z', '2025-10-27T22:20:01Z', 1);
            INSERT INTO worktrees VALUES ('bbbbbbbb-0000-4000-8000-000000000001', 'alpha', 'trunk-main', 'main',
                'trunk', '/code/alpha/trunk-main', '2025-10-27T22:20:01Z', '2025-10-27T22:20:01Z', 1, NULL);
            INSERT INTO agent_activities VALUES
              ('cccccccc-0000-4000-8000-00000000000a', 'a', 'bbbbbbbb-0000-4000-8000-000000000001', 'created', NULL, 'first', '2025-10-27T22:20:01Z'),
              ('CCCCCCCC-0000-4000-8000-00000000000A', 'a', 'bbbbbbbb-0000-4000-8000-000000000001', 'created', NULL, 'second', '2025-10-27T22:20:02Z'),
              ('same', 'a', 'bbbbbbbb-0000-4000-8000-000000000001', 'created', NULL, 'third', '2025-10-27T22:20:03Z'),
              ('same', 'a', 'bbbbbbbb-0000-4000-8000-000000000001', 'created', NULL, 'fourth', '2025-10-27T22:20:04Z');
            """)
        let connection = try migratedDatabase()
        let report = try runImport(fixture, into: connection)
        let activities = try #require(report.table("agent_activities"))
        #expect(activities.imported == 2)
        #expect(activities.quarantineReasons == [.init(reason: "duplicate id", count: 2)])
        let descriptions = try connection.execute("SELECT description FROM agent_activities ORDER BY description")
        #expect(descriptions.rows.map { $0[0] } == ["first", "third"])
        let quarantined = try connection.execute("SELECT source_id FROM legacy_quarantine ORDER BY source_id")
        #expect(quarantined.rows.map { $0[0] } == ["CCCCCCCC-0000-4000-8000-00000000000A #rowid:2", "same #rowid:4"])
        let verification = try LegacyVerifier(connection: connection, legacy: try LegacyRegistry(path: fixture.path)).run()
        #expect(verification.differences == [])
    }
}

@Suite("Legacy export", .ownThreads)
struct LegacyExportTests {
    /// The values a round trip must keep, per table, in a stable order.
    func contents(_ connection: PostgresConnection) throws -> [[String?]] {
        try connection.execute("""
            SELECT id::text, name, remote_origin, default_branch, trunk_path, created_at::text, updated_at::text,
                   active::text, metadata->>'legacy_id' FROM projects ORDER BY id
            """).rows
            + connection.execute("""
                SELECT name, branch_prefix, worktree_prefix, description, is_builtin::text FROM worktree_types ORDER BY name
                """).rows
            + connection.execute("""
                SELECT w.id::text, w.project_id::text, t.name, w.name, w.branch_name, w.path, w.agent_id,
                       w.created_at::text, w.updated_at::text, w.active::text, w.metadata->>'legacy_id'
                FROM worktrees w JOIN worktree_types t ON t.id = w.type_id ORDER BY w.id
                """).rows
            + connection.execute("""
                SELECT id::text, agent_id, worktree_id::text, activity_type, file_path, description, metadata::text,
                       created_at::text FROM agent_activities ORDER BY id
                """).rows
    }

    @Test("legacy → PostgreSQL → legacy → PostgreSQL keeps every row and value, later rows included")
    func roundTrip() throws {
        let fixture = try LegacyFixture()
        try fixture.insertMessyRows()
        let first = try migratedDatabase()
        _ = try runImport(fixture, into: first)
        // A row created in PostgreSQL after the migration.
        try first.execute("""
            INSERT INTO agent_activities (agent_id, worktree_id, activity_type, description, created_at)
            VALUES ('late', $1::uuid, 'merged', 'after cutover', '2026-01-02T03:04:05.678901Z')
            """, [LegacyFixture.Messy.worktree(1)])

        let exported = fixture.directory.appendingPathComponent("exported.db").path
        let report = try LegacyExporter(connection: first).export(to: exported)
        #expect(report.written == ["repositories": 4, "worktree_types": 9, "worktrees": 5, "agent_activities": 7])
        #expect(report.skipped.isEmpty)

        let second = try migratedDatabase()
        let again = try LegacyImporter(connection: second, legacy: try LegacyRegistry(path: exported)).run()
        #expect(again.quarantined == 0)
        #expect(try contents(second) == contents(first))

        let error = #expect(throws: LegacyError.self) { try LegacyExporter(connection: first).export(to: exported) }
        #expect(error?.message == "\(exported) already exists (a file); export-sqlite writes a new file only")
    }

    /// The target is checked before anything is exported, and nothing is left behind.
    @Test("export-sqlite to an empty path, a dangling link or a missing directory fails first and leaves no partial file")
    func exportTargets() throws {
        let connection = try migratedDatabase()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("export-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let dangling = directory.appendingPathComponent("dangling.db").path
        try FileManager.default.createSymbolicLink(atPath: dangling, withDestinationPath: directory.appendingPathComponent("gone").path)
        let cases: [(String, LegacyError.Code, String)] = [
            ("", .invalidInput, "export-sqlite needs a file to create; --to is empty"),
            (dangling, .invalidInput, "\(dangling) already exists (a symbolic link); export-sqlite writes a new file only"),
            (directory.path + "/no/such/dir/out.db", .io, "cannot create \(directory.path)/no/such/dir/out.db: its directory \(directory.path)/no/such/dir does not exist"),
        ]
        let cwd = FileManager.default.currentDirectoryPath
        let before = Set(try FileManager.default.contentsOfDirectory(atPath: cwd))
        for (target, code, message) in cases {
            let error = #expect(throws: LegacyError.self) { try LegacyExporter(connection: connection).export(to: target) }
            #expect(error?.code == code)
            #expect(error?.message == message)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["dangling.db"])
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: cwd)) == before, "no .partial file in the working directory")
    }
}

@Suite("Legacy archive", .ownThreads)
struct LegacyArchiveTests {
    @Test("archive: backup copy, CSVs, README with counts, a tar.gz that gzip and tar read back")
    func archive() throws {
        let fixture = try LegacyFixture()
        try fixture.insertMessyRows()
        let holder = try SQLiteHolder(path: fixture.path, setup: "BEGIN; SELECT count(*) FROM worktrees;")
        defer { holder.stop() }
        let before = try fixture.checksum()
        let connection = try migratedDatabase()
        let directory = fixture.directory.appendingPathComponent("imi-migration-20260101").path
        let report = try LegacyArchiver(legacyPath: fixture.path, connection: connection).archive(to: directory)
        #expect(report.verified)
        #expect(report.files == [
            "database.db", "repositories.csv", "worktree_types.csv", "worktrees.csv", "agent_activities.csv",
            "README.md",
        ])
        #expect(report.legacyRows == ["repositories": 6, "worktree_types": 8, "worktrees": 8, "agent_activities": 9])
        #expect(try fixture.checksum() == before)

        #expect(try capture("/bin/gzip", ["-t", report.archive]) == "")
        let listing = try capture("/bin/tar", ["-tzf", report.archive]).split(separator: "\n").map(String.init)
        #expect(listing == report.files.map { "imi-migration-20260101/\($0)" })
        let extracted = fixture.directory.appendingPathComponent("extracted").path
        try FileManager.default.createDirectory(atPath: extracted, withIntermediateDirectories: true)
        try capture("/bin/tar", ["-xzf", report.archive, "-C", extracted])
        let copy = "\(extracted)/imi-migration-20260101/database.db"
        #expect(try capture(LegacyFixture.sqlite3, [copy, "SELECT count(*) FROM agent_activities"]) == "9\n")
        // Byte-faithful: the legacy file's invalid UTF-8 is kept, so decode leniently here.
        let csv = String(decoding: try Data(contentsOf: URL(fileURLWithPath:
            "\(extracted)/imi-migration-20260101/agent_activities.csv")), as: UTF8.self)
        #expect(csv.hasPrefix("id,agent_id,worktree_id,activity_type,file_path,description,created_at\r\n"))
        #expect(csv.contains(#""it's ""quoted""\ back"#))
        let readme = try String(contentsOfFile: "\(directory)/README.md", encoding: .utf8)
        #expect(readme.contains("- agent_activities: 9"))
        #expect(readme.contains("**SQLite library:** "))

        let again = #expect(throws: LegacyError.self) {
            try LegacyArchiver(legacyPath: fixture.path, connection: nil).archive(to: directory)
        }
        #expect(again?.message == "archive directory \(directory) exists and is not empty")
    }

    @Test("archive is really compressed: repetitive rows shrink many times, gzip and tar accept it")
    func archiveIsCompressed() throws {
        let fixture = try LegacyFixture()
        try fixture.run("""
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200000)
            INSERT INTO agent_activities
            SELECT printf('act-%d', i), 'claude-1', 'wt-1', 'modified', 'Sources/App/main.swift',
                   'edited the same file again', '2025-10-27T22:30:00Z' FROM n;
            """)
        let directory = fixture.directory.appendingPathComponent("imi-migration-20260102").path
        let report = try LegacyArchiver(legacyPath: fixture.path, connection: nil).archive(to: directory)
        #expect(report.verified)
        #expect(report.legacyRows["agent_activities"] == 200_000)

        let manager = FileManager.default
        func size(_ path: String) throws -> Int { try manager.attributesOfItem(atPath: path)[.size] as? Int ?? 0 }
        let raw = try report.files.reduce(0) { try $0 + size("\(directory)/\($1)") }
        let compressed = try size(report.archive)
        #expect(raw > 20_000_000)
        #expect(compressed * 10 < raw, "archive \(compressed) bytes for \(raw) bytes of files")

        #expect(try capture("/bin/gzip", ["-t", report.archive]) == "")
        let listing = try capture("/bin/tar", ["-tzf", report.archive]).split(separator: "\n").map(String.init)
        #expect(listing == report.files.map { "imi-migration-20260102/\($0)" })
        let extracted = fixture.directory.appendingPathComponent("extracted").path
        try manager.createDirectory(atPath: extracted, withIntermediateDirectories: true)
        try capture("/bin/tar", ["-xzf", report.archive, "-C", extracted])
        for file in report.files {
            try capture("/usr/bin/cmp", ["\(directory)/\(file)", "\(extracted)/imi-migration-20260102/\(file)"])
        }
    }

    /// Ways a written archive can be damaged after it was written.
    enum Damage: String, CaseIterable, Sendable {
        case headerMagic, compressedByte, trailerCRC, trailerSize, truncated

        func apply(to data: inout Data) {
            switch self {
            case .headerMagic: data[0] ^= 0xFF
            case .compressedByte: data[data.count / 2] ^= 0xFF
            case .trailerCRC: data[data.count - 8] ^= 0xFF
            case .trailerSize: data[data.count - 1] ^= 0xFF
            case .truncated: data.removeLast(100)
            }
        }
    }

    /// libarchive reads it back: a broken gzip or tar stream is an I/O error naming the
    /// file (exit 74); contents that read but differ from the member's file fail the check.
    @Test("reading back a damaged archive fails, naming the file", arguments: Damage.allCases)
    func damagedArchive(_ damage: Damage) throws {
        let fixture = try LegacyFixture()
        let member = fixture.directory.appendingPathComponent("rows.csv").path
        try Data((0..<5000).map { "row \($0),same text again\r\n" }.joined().utf8)
            .write(to: URL(fileURLWithPath: member))
        let archive = fixture.directory.appendingPathComponent("damaged.tar.gz").path
        let written = try TarGz.write([(name: "d/rows.csv", path: member)], to: archive)
        #expect(try TarGz.verify(archive, expected: written))

        var bytes = try Data(contentsOf: URL(fileURLWithPath: archive))
        damage.apply(to: &bytes)
        try bytes.write(to: URL(fileURLWithPath: archive))
        do {
            #expect(try TarGz.verify(archive, expected: written) == false)
        } catch let error as LegacyError {
            #expect(error.code == .io)
            #expect(error.message.hasPrefix("cannot read \(archive): ") || error.message.hasPrefix("cannot open \(archive): "),
                    "\(error.message)")
        }
    }

    @Test("a member whose file changed after archiving fails the read-back comparison")
    func changedMember() throws {
        let fixture = try LegacyFixture()
        let member = fixture.directory.appendingPathComponent("rows.csv").path
        try Data("first\n".utf8).write(to: URL(fileURLWithPath: member))
        let archive = fixture.directory.appendingPathComponent("a.tar.gz").path
        let written = try TarGz.write([(name: "d/rows.csv", path: member)], to: archive)
        try Data("other\n".utf8).write(to: URL(fileURLWithPath: member))
        #expect(try TarGz.verify(archive, expected: written) == false)
    }
}
