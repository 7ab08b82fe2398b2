import Foundation
internal import CSQLite
internal import CZlib

/// The plan's Phase 7: a dated directory holding a consistent copy of the legacy file (SQLite's
/// backup API, safe while the old CLI has it open), one CSV per legacy table, and a README with
/// date, versions and counts; then `<directory>.tar.gz`, read back and checked after writing.
///
/// The archive is compressed with zlib (gzip, level 6) and read back through zlib. Everything
/// is streamed: memory does not grow with the file.
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
            throw RegistryError(.invalidInput, "archive directory \(directory) exists and is not empty")
        }
        let archivePath = directory + ".tar.gz"
        guard !manager.fileExists(atPath: archivePath) else {
            throw RegistryError(.invalidInput, "\(archivePath) already exists")
        }
        do {
            try manager.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw RegistryError(.invalidInput, "cannot create \(directory): \(error.localizedDescription)")
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
                    uniqueKeysWithValues: tables.enumerated().map { ($1, result.int(0, $0) ?? 0) })
            }
        }
        let readme = Self.readme(
            now: now, legacyPath: legacyPath, serverVersion: serverVersion, legacyRows: legacyRows,
            registryRows: registryRows, files: files)
        try Data(readme.utf8).write(to: URL(fileURLWithPath: directory + "/README.md"))
        files.append("README.md")

        let base = (directory as NSString).lastPathComponent
        let members = files.map { (name: "\(base)/\($0)", path: "\(directory)/\($0)") }
        let written = try TarGzWriter.write(members, to: archivePath)
        let verified = try TarGzWriter.verify(archivePath, expected: written)
        guard verified else {
            throw RegistryError(.invalidInput, "\(archivePath) did not read back as written; keep \(directory)")
        }
        return Report(
            directory: directory, archive: archivePath, files: files, legacyRows: legacyRows,
            registryRows: registryRows, verified: verified)
    }

    /// SQLite's online backup: a consistent copy even while another process writes.
    private func backup(from legacy: LegacyRegistry, to path: String) throws {
        let destination = try LegacySQLiteConnection(path: path, mode: .create)
        guard let backup = sqlite3_backup_init(destination.handle, "main", legacy.connection.handle, "main") else {
            throw RegistryError(.legacySource, "cannot back up \(legacyPath): \(destination.lastMessage)")
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
        else { throw RegistryError(.invalidInput, "cannot write \(path)") }
        defer { try? handle.close() }
        let statement = try legacy.connection.prepare("SELECT * FROM \"\(table)\" ORDER BY _rowid_")
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

/// A ustar archive inside a zlib-compressed gzip stream, written and read back sequentially.
enum TarGzWriter {
    struct Member: Equatable {
        var name: String
        var size: Int
        var crc: UInt32
    }

    static func write(_ members: [(name: String, path: String)], to path: String) throws -> [Member] {
        let gzip = try GzipStream(compressingTo: path)
        var written: [Member] = []
        for member in members {
            guard let input = FileHandle(forReadingAtPath: member.path) else {
                throw RegistryError(.invalidInput, "cannot read \(member.path)")
            }
            defer { try? input.close() }
            let size = Int((try? FileManager.default.attributesOfItem(atPath: member.path)[.size] as? Int) ?? 0)
            try gzip.write(header(name: member.name, size: size))
            var crc = CRC32()
            var total = 0
            while let chunk = try input.read(upToCount: 1 << 16), !chunk.isEmpty {
                crc.update(chunk)
                total += chunk.count
                try gzip.write(chunk)
            }
            guard total == size else { throw RegistryError(.invalidInput, "\(member.path) changed while archiving") }
            let padding = (512 - size % 512) % 512
            try gzip.write([UInt8](repeating: 0, count: padding))
            written.append(Member(name: member.name, size: size, crc: crc.value))
        }
        try gzip.write([UInt8](repeating: 0, count: 1024))
        try gzip.finish()
        return written
    }

    static func header(name: String, size: Int) throws -> [UInt8] {
        var block = [UInt8](repeating: 0, count: 512)
        let nameBytes = Array(name.utf8)
        var prefix: [UInt8] = []
        var short = nameBytes
        if nameBytes.count > 100, let slash = nameBytes.lastIndex(of: 0x2F), slash <= 155, nameBytes.count - slash - 1 <= 100 {
            prefix = Array(nameBytes[..<slash])
            short = Array(nameBytes[(slash + 1)...])
        }
        guard short.count <= 100 else { throw RegistryError(.invalidInput, "archive member name too long: \(name)") }
        func put(_ bytes: [UInt8], at offset: Int) { for (i, b) in bytes.enumerated() { block[offset + i] = b } }
        func octal(_ value: Int, width: Int) -> [UInt8] {
            let digits = String(value, radix: 8)
            return Array((String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits).utf8) + [0]
        }
        put(short, at: 0)
        put(octal(0o644, width: 8), at: 100)
        put(octal(0, width: 8), at: 108)
        put(octal(0, width: 8), at: 116)
        put(octal(size, width: 12), at: 124)
        put(octal(Int(Date().timeIntervalSince1970), width: 12), at: 136)
        put(Array("        ".utf8), at: 148)
        block[156] = 0x30
        put(Array("ustar".utf8) + [0], at: 257)
        put(Array("00".utf8), at: 263)
        put(prefix, at: 345)
        let checksum = block.reduce(0) { $0 + Int($1) }
        put(octal(checksum, width: 7) + [0x20], at: 148)
        return block
    }

    /// Reads the archive back: every member's size and CRC, then (zlib) the gzip trailer's CRC
    /// and size. A damaged gzip stream throws; a tar stream that differs returns false.
    static func verify(_ path: String, expected: [Member]) throws -> Bool {
        let reader = try GzipStream(decompressing: path)
        var found: [Member] = []
        while true {
            let header = try reader.read(512)
            guard header.count == 512 else { return false }
            if header.allSatisfy({ $0 == 0 }) { break }
            let nameField = header[0..<100].prefix { $0 != 0 }
            let prefixField = header[345..<500].prefix { $0 != 0 }
            let name = (prefixField.isEmpty ? "" : String(decoding: prefixField, as: UTF8.self) + "/")
                + String(decoding: nameField, as: UTF8.self)
            let sizeText = String(decoding: header[124..<136].prefix { $0 != 0 && $0 != 0x20 }, as: UTF8.self)
            guard let size = Int(sizeText, radix: 8) else { return false }
            var crc = CRC32()
            var remaining = size
            while remaining > 0 {
                let chunk = try reader.read(min(remaining, 1 << 16))
                guard !chunk.isEmpty else { return false }
                crc.update(chunk)
                remaining -= chunk.count
            }
            _ = try reader.read((512 - size % 512) % 512)
            found.append(Member(name: name, size: size, crc: crc.value))
        }
        _ = try reader.read(512)
        try reader.finish()
        return found == expected
    }
}

/// CRC-32 (IEEE 802.3) of each archive member, computed by zlib's `crc32`.
struct CRC32 {
    private var state: uLong = crc32(0, nil, 0)

    var value: UInt32 { UInt32(truncatingIfNeeded: state) }

    mutating func update(_ bytes: some ContiguousBytes) {
        bytes.withUnsafeBytes { raw in
            guard var next = raw.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
            var remaining = raw.count
            // crc32 takes a 32-bit length; a larger buffer goes in pieces.
            while remaining > 0 {
                let piece = min(remaining, Int(UInt32.max))
                state = crc32(state, next, uInt(piece))
                next += piece
                remaining -= piece
            }
        }
    }
}
