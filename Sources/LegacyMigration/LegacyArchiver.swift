import Foundation
internal import CSQLite
internal import CArchive
internal import CZlib
import PostgresClient
import RegistryClient

/// The plan's Phase 7: a dated directory holding a consistent copy of the legacy file (SQLite's
/// backup API, safe while the old CLI has it open), one CSV per legacy table, and a README with
/// date, versions and counts; then `<directory>.tar.gz`, read back and checked after writing.
///
/// The archive is written and read back with libarchive (POSIX tar, gzip level 6), every member
/// compared byte for byte with its file. Everything is streamed: memory does not grow with the
/// file.
public struct LegacyArchiver {
    public struct Report: Sendable, Codable, Equatable {
        public var directory: String
        public var archive: String
        public var files: [String]
        public var legacyRows: [String: Int]
        public var registryRows: [String: Int]?
        /// The archive was read back: every member's bytes and the gzip checksum match.
        public var verified: Bool
    }

    public let legacyPath: String
    /// Counted into the README when given.
    public let connection: PostgresConnection?

    public init(legacyPath: String, connection: PostgresConnection?) {
        self.legacyPath = legacyPath
        self.connection = connection
    }

    /// `~/backups/imi-migration-YYYYMMDD`, as the plan names it.
    public static func defaultDirectory(environment: [String: String], now: Date = Date()) -> String {
        let home = environment["HOME"] ?? NSHomeDirectory()
        return "\(home)/backups/imi-migration-\(dayStamp(now))"
    }

    static func dayStamp(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd"
        return formatter.string(from: date)
    }

    public func archive(to directory: String, now: Date = Date()) throws -> Report {
        let manager = FileManager.default
        if manager.fileExists(atPath: directory),
            !((try? manager.contentsOfDirectory(atPath: directory)) ?? []).isEmpty
        {
            throw LegacyError(.invalidInput, "archive directory \(directory) exists and is not empty")
        }
        let archivePath = directory + ".tar.gz"
        guard !manager.fileExists(atPath: archivePath) else {
            throw LegacyError(.invalidInput, "\(archivePath) already exists")
        }
        do {
            try manager.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw LegacyError(.invalidInput, "cannot create \(directory): \(error.localizedDescription)")
        }

        let legacy = try LegacyRegistry(path: legacyPath)
        var files = ["database.db"]
        try backup(from: legacy, to: directory + "/database.db")
        for table in LegacyTable.all where legacy.schema[table.name] != nil {
            try writeCSV(table.name, from: legacy, to: "\(directory)/\(table.name).csv")
            files.append("\(table.name).csv")
        }
        let legacyRows = try legacy.rowCounts()
        var registryRows: [String: Int]?
        var serverVersion = "not connected"
        if let connection {
            serverVersion = String(connection.serverVersion)
            if (try? SchemaMigrator(connection: connection).requireSchema()) != nil {
                let tables = ["projects", "worktree_types", "worktrees", "agent_activities", "legacy_quarantine"]
                let result = try connection.execute("""
                    SELECT (SELECT count(*) FROM projects), (SELECT count(*) FROM worktree_types),
                           (SELECT count(*) FROM worktrees), (SELECT count(*) FROM agent_activities),
                           (SELECT count(*) FROM legacy_quarantine)
                    """)
                registryRows = Dictionary(
                    uniqueKeysWithValues: try tables.enumerated().map { ($1, try result.decode(0, $0, as: Int.self)) })
            }
        }
        let readme = Self.readme(
            now: now, legacyPath: legacyPath, serverVersion: serverVersion, legacyRows: legacyRows,
            registryRows: registryRows, files: files)
        try Data(readme.utf8).write(to: URL(fileURLWithPath: directory + "/README.md"))
        files.append("README.md")

        let base = (directory as NSString).lastPathComponent
        let members = files.map { (name: "\(base)/\($0)", path: "\(directory)/\($0)") }
        let written = try TarGz.write(members, to: archivePath)
        let verified = try TarGz.verify(archivePath, expected: written)
        guard verified else {
            throw LegacyError(.invalidInput, "\(archivePath) did not read back as written; keep \(directory)")
        }
        return Report(
            directory: directory, archive: archivePath, files: files, legacyRows: legacyRows,
            registryRows: registryRows, verified: verified)
    }

    /// SQLite's online backup: a consistent copy even while another process writes.
    private func backup(from legacy: LegacyRegistry, to path: String) throws {
        let destination = try LegacySQLiteConnection(path: path, mode: .create)
        guard let backup = sqlite3_backup_init(destination.handle, "main", legacy.connection.handle, "main") else {
            throw LegacyError(.source, "cannot back up \(legacyPath): \(destination.lastMessage)")
        }
        let status = sqlite3_backup_step(backup, -1)
        sqlite3_backup_finish(backup)
        guard status == SQLITE_DONE else {
            throw legacy.connection.failure(status, destination.lastMessage, doing: "backing up")
        }
    }

    /// RFC 4180 CSV with a header row; NULL is an empty field, text is always quoted.
    private func writeCSV(_ table: String, from legacy: LegacyRegistry, to path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil),
            let handle = FileHandle(forWritingAtPath: path)
        else { throw LegacyError(.invalidInput, "cannot write \(path)") }
        defer { try? handle.close() }
        let statement = try legacy.connection.prepare("SELECT * FROM " + LegacyTable.quoted(table) + " ORDER BY _rowid_")
        var buffer = [UInt8]()
        func field(_ bytes: UnsafeBufferPointer<UInt8>?) {
            guard let bytes else { return }
            buffer.append(0x22)
            for byte in bytes {
                if byte == 0x22 { buffer.append(0x22) }
                buffer.append(byte)
            }
            buffer.append(0x22)
        }
        let names = (0..<statement.columnCount).map { String(cString: sqlite3_column_name(statement.statement, Int32($0))) }
        buffer += Array(names.joined(separator: ",").utf8) + [0x0D, 0x0A]
        while try statement.step() {
            for column in 0..<statement.columnCount {
                if column > 0 { buffer.append(0x2C) }
                field(statement.bytes(column))
            }
            buffer += [0x0D, 0x0A]
            if buffer.count > 1 << 20 {
                try handle.write(contentsOf: buffer)
                buffer.removeAll(keepingCapacity: true)
            }
        }
        try handle.write(contentsOf: buffer)
    }

    static func readme(
        now: Date, legacyPath: String, serverVersion: String, legacyRows: [String: Int],
        registryRows: [String: Int]?, files: [String]
    ) -> String {
        let iso = ISO8601DateFormatter().string(from: now)
        var lines = [
            "# iMi SQLite to PostgreSQL Migration Archive", "",
            "**Archived:** \(iso)",
            "**Legacy registry:** \(legacyPath)",
            "**SQLite library:** \(LegacySQLiteConnection.libraryVersion)",
            "**PostgreSQL server:** \(serverVersion)", "",
            "## File Contents",
            "- database.db: consistent copy of the legacy registry (SQLite backup API)",
        ]
        lines += files.filter { $0.hasSuffix(".csv") }.map { "- \($0): the legacy table, CSV (RFC 4180) with a header" }
        lines += ["", "## Record Counts (legacy file)"]
        lines += legacyRows.sorted { $0.key < $1.key }.map { "- \($0.key): \($0.value)" }
        if let registryRows {
            lines += ["", "## Record Counts (PostgreSQL registry at archive time)"]
            lines += registryRows.sorted { $0.key < $1.key }.map { "- \($0.key): \($0.value)" }
        }
        lines += [
            "", "## Rollback Procedure",
            "Put database.db back at $XDG_DATA_HOME/imi/database.db and point the iMi CLI at SQLite again.",
            "To keep rows created in PostgreSQL since the migration, write a fresh legacy file with",
            "`imi-sync migrate export-sqlite --to PATH` and use that instead.", "",
        ]
        return lines.joined(separator: "\n")
    }
}

/// A gzip-compressed tar archive written and read back with libarchive.
enum TarGz {
    /// One archived file: its name inside the archive and where it was read from.
    struct Member: Equatable {
        var name: String
        var path: String
        var size: Int
    }

    /// Writes `members` (read from disk in 64 KiB pieces) as a POSIX tar, gzip level 6.
    static func write(_ members: [(name: String, path: String)], to path: String) throws -> [Member] {
        guard let archive = archive_write_new() else { throw LegacyError(.io, "cannot create \(path): out of memory") }
        defer { archive_write_free(archive) }
        try check(archive, archive_write_add_filter_gzip(archive), "compress", path)
        try check(archive, archive_write_set_format_pax_restricted(archive), "format", path)
        try check(archive, archive_write_open_filename(archive, path), "create", path)
        var written: [Member] = []
        for member in members {
            guard let input = FileHandle(forReadingAtPath: member.path) else {
                throw LegacyError(.io, "cannot read \(member.path)")
            }
            defer { try? input.close() }
            let size = (try? FileManager.default.attributesOfItem(atPath: member.path)[.size] as? Int) ?? 0
            guard let entry = archive_entry_new() else { throw LegacyError(.io, "cannot archive \(member.path): out of memory") }
            defer { archive_entry_free(entry) }
            archive_entry_set_pathname(entry, member.name)
            archive_entry_set_size(entry, Int64(size))
            archive_entry_set_filetype(entry, 0o100000)  // AE_IFREG
            archive_entry_set_perm(entry, 0o644)
            archive_entry_set_mtime(entry, time_t(Date().timeIntervalSince1970), 0)
            try check(archive, archive_write_header(archive, entry), "write", path)
            var total = 0
            while let chunk = try input.read(upToCount: 1 << 16), !chunk.isEmpty {
                let accepted = chunk.withUnsafeBytes { archive_write_data(archive, $0.baseAddress, $0.count) }
                guard accepted == chunk.count else { throw failure(archive, "write", path) }
                total += chunk.count
            }
            guard total == size else { throw LegacyError(.io, "\(member.path) changed while archiving") }
            written.append(Member(name: member.name, path: member.path, size: size))
        }
        try check(archive, archive_write_close(archive), "finish", path)
        return written
    }

    /// Reads the archive back and compares every member, byte for byte, with the file it was
    /// made from. A damaged gzip or tar stream throws; different contents return false.
    static func verify(_ path: String, expected: [Member]) throws -> Bool {
        guard let archive = archive_read_new() else { throw LegacyError(.io, "cannot read \(path): out of memory") }
        defer { archive_read_free(archive) }
        archive_read_support_filter_gzip(archive)
        archive_read_support_format_tar(archive)
        try check(archive, archive_read_open_filename(archive, path, 1 << 16), "open", path)
        var remaining = expected[...]
        var entry: OpaquePointer?
        while true {
            let status = archive_read_next_header(archive, &entry)
            if status == ARCHIVE_EOF { break }
            try check(archive, status, "read", path)
            guard let member = remaining.popFirst(), let entry,
                archive_entry_pathname(entry).map({ String(cString: $0) }) == member.name,
                archive_entry_size(entry) == Int64(member.size),
                let original = FileHandle(forReadingAtPath: member.path)
            else { return false }
            defer { try? original.close() }
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let count = buffer.withUnsafeMutableBytes { archive_read_data(archive, $0.baseAddress, $0.count) }
                guard count >= 0 else { throw failure(archive, "read", path) }
                if count == 0 { break }
                guard let source = try original.read(upToCount: count), source.elementsEqual(buffer[..<count]) else {
                    return false
                }
            }
            guard try original.read(upToCount: 1)?.isEmpty ?? true else { return false }
        }
        return remaining.isEmpty ? try trailerMatches(path) : false
    }

    /// libarchive's gzip reader skips the trailer unchecked (its source: "XXX TODO: Verify the
    /// length and CRC"), so a damaged one would pass the member comparison above while
    /// `gzip -t` and `tar -xzf` reject the file. The CRC-32 (zlib's) and length of the whole
    /// uncompressed stream are compared with the trailer here.
    static func trailerMatches(_ path: String) throws -> Bool {
        guard let archive = archive_read_new() else { throw LegacyError(.io, "cannot read \(path): out of memory") }
        defer { archive_read_free(archive) }
        archive_read_support_filter_gzip(archive)
        archive_read_support_format_raw(archive)
        try check(archive, archive_read_open_filename(archive, path, 1 << 16), "open", path)
        var entry: OpaquePointer?
        try check(archive, archive_read_next_header(archive, &entry), "read", path)
        var crc = crc32(0, nil, 0)
        var length: UInt64 = 0
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = buffer.withUnsafeMutableBytes { archive_read_data(archive, $0.baseAddress, $0.count) }
            guard count >= 0 else { throw failure(archive, "read", path) }
            if count == 0 { break }
            crc = buffer.withUnsafeBufferPointer { crc32(crc, $0.baseAddress, uInt(count)) }
            length += UInt64(count)
        }
        guard let file = FileHandle(forReadingAtPath: path) else { throw LegacyError(.io, "cannot read \(path)") }
        defer { try? file.close() }
        let end = try file.seekToEnd()
        guard end >= 8 else { return false }
        try file.seek(toOffset: end - 8)
        let trailer = Array(try file.read(upToCount: 8) ?? Data())
        guard trailer.count == 8 else { return false }
        let little = { (offset: Int) in (0..<4).reduce(UInt32(0)) { $0 | UInt32(trailer[offset + $1]) << (8 * $1) } }
        return little(0) == UInt32(truncatingIfNeeded: crc) && little(4) == UInt32(truncatingIfNeeded: length)
    }

    /// Throws an I/O error naming the file and libarchive's reason for a failed call.
    private static func check(_ archive: OpaquePointer, _ status: Int32, _ what: String, _ path: String) throws {
        guard status < ARCHIVE_OK else { return }
        throw failure(archive, what, path)
    }

    private static func failure(_ archive: OpaquePointer, _ what: String, _ path: String) -> LegacyError {
        let reason = archive_error_string(archive).map { String(cString: $0) } ?? "libarchive failed"
        return LegacyError(.io, "cannot \(what) \(path): \(reason)")
    }
}
