#if canImport(Glibc)
import Glibc
#endif
import Foundation
internal import CSQLite
import PostgresClient
import RegistryClient

/// The legacy iMi SQLite registry, opened read-only.
///
/// The file is opened with `mode=ro` (never `immutable`, which would skip locks and rows still
/// in the WAL), so it works while the old iMi CLI holds it open and the database file is left
/// byte-identical. Everything is read inside one read transaction: one consistent snapshot.
/// (For a WAL-mode file that nobody has open, SQLite itself may leave empty `-wal`/`-shm`
/// companions behind; the database file is untouched.)
public final class LegacyRegistry {
    public let path: String
    let connection: LegacySQLiteConnection
    /// Legacy table → the columns it actually has.
    public let schema: [String: [String]]

    /// Where a legacy registry may be, in the order looked at: the plan's
    /// `$XDG_DATA_HOME/imi/database.db` (else `~/.local/share/imi/database.db`), then the Rust
    /// iMi CLI's own default, `~/.config/iMi/iMi.db`.
    public static func defaultCandidates(environment: [String: String]) -> [String] {
        let home = environment["HOME"] ?? NSHomeDirectory()
        let data = environment["XDG_DATA_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? home + "/.local/share"
        return [data + "/imi/database.db", home + "/.config/iMi/iMi.db"]
    }

    /// Opens and introspects; throws a `.legacySource` error naming the file for a missing,
    /// unreadable, non-SQLite, corrupt or locked file and for an unknown schema.
    public init(path: String, busyTimeoutMilliseconds: Int32 = 5000) throws {
        self.path = path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw LegacyError(.source, "legacy registry not found at \(path)")
        }
        guard !isDirectory.boolValue else {
            throw LegacyError(.source, "legacy registry path \(path) is a directory, not a file")
        }
        // Anything but a regular file (a FIFO would block SQLite's open forever) is refused
        // before it is opened.
        var info = stat()
        guard stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            let kind = switch info.st_mode & S_IFMT {
            case S_IFIFO: "a FIFO (named pipe)"
            case S_IFCHR: "a character device"
            case S_IFBLK: "a block device"
            case S_IFSOCK: "a socket"
            default: "not a regular file"
            }
            throw LegacyError(.source, "legacy registry path \(path) is \(kind), not an SQLite file")
        }
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw LegacyError(.source, "cannot read the legacy registry \(path): permission denied")
        }
        var connection = try LegacySQLiteConnection(
            path: path, mode: .readOnly, busyTimeoutMilliseconds: busyTimeoutMilliseconds)
        let status = connection.probe()
        if status & 0xff == SQLITE_CANTOPEN || status & 0xff == SQLITE_READONLY {
            // A WAL-mode file in a directory we cannot write: SQLite cannot make its -shm.
            // Without a -wal file no writer is active, so reading the file itself is exact.
            let wal = (try? FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int) ?? 0
            guard wal == 0 else {
                throw connection.failure(status, connection.lastMessage, doing: "reading")
            }
            connection = try LegacySQLiteConnection(
                path: path, mode: .immutable, busyTimeoutMilliseconds: busyTimeoutMilliseconds)
        } else if status != SQLITE_OK {
            throw connection.failure(status, connection.lastMessage, doing: "reading")
        }
        self.connection = connection
        try connection.execute("PRAGMA query_only = 1")
        try connection.execute("BEGIN")
        var schema: [String: [String]] = [:]
        let tables = try connection.rows(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') ORDER BY name")
            .compactMap { $0[0] }
        for table in tables where LegacyTable.all.contains(where: { $0.name == table }) {
            schema[table] = try connection.rows("SELECT name FROM pragma_table_info(?1)", [table])
                .compactMap { $0[0] }
        }
        self.schema = schema
        try validate(allTables: tables)
    }

    deinit {
        try? connection.execute("COMMIT")
    }

    private func validate(allTables: [String]) throws {
        for table in LegacyTable.all {
            guard let columns = schema[table.name] else {
                if table.required {
                    let found = allTables.isEmpty ? "no tables" : "tables: " + allTables.joined(separator: ", ")
                    throw LegacyError(
                        .source,
                        "\(path) is not an iMi registry: it has no \(table.name) table (\(found))")
                }
                continue
            }
            for column in table.columns where column.required && !columns.contains(column.name) {
                throw LegacyError(
                    .source,
                    "\(path) has an unknown schema: table \(table.name) lacks column \(column.name) "
                        + "(has: \(columns.joined(separator: ", ")))")
            }
        }
    }

    /// Rows per legacy table (0 for a table the file does not have).
    public func rowCounts() throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for table in LegacyTable.all {
            guard schema[table.name] != nil else {
                counts[table.name] = 0
                continue
            }
            let rows = try connection.rows("SELECT count(*) FROM " + table.quotedName)
            counts[table.name] = Int(rows.first?.first.flatMap { $0 } ?? "0") ?? 0
        }
        return counts
    }

    /// Rows of `table`, counted up to `limit` only (0 for a table the file does not have):
    /// deciding on a bulk load need not read a million-row table twice.
    func rowCount(of table: LegacyTable, upTo limit: Int) throws -> Int {
        guard schema[table.name] != nil else { return 0 }
        let rows = try connection.rows(
            "SELECT count(*) FROM (SELECT 1 FROM " + table.quotedName + " LIMIT ?1)", [String(limit)])
        return Int(rows.first?.first.flatMap { $0 } ?? "0") ?? 0
    }

    /// The SELECT for `table`: rowid, then each known column (NULL when the file lacks it).
    /// Every identifier comes from ``LegacyTable``'s own constants; the file's schema only
    /// decides whether a known column is selected or replaced by NULL.
    func selectStatement(for table: LegacyTable) -> String? {
        guard let present = schema[table.name] else { return nil }
        let columns = table.columns.map { present.contains($0.name) ? LegacyTable.quoted($0.name) : "NULL" }
        return "SELECT _rowid_, " + columns.joined(separator: ", ") + " FROM " + table.quotedName + " ORDER BY _rowid_"
    }

    /// Streams every row of `table` into `writer` as staging rows; returns how many were read.
    /// `progress` is called every 50,000 rows with the running count.
    /// With `only`, just the rows with those rowids.
    func stream(
        _ table: LegacyTable, into writer: CopyInWriter, only: Set<Int64>? = nil,
        progress: ((Int) -> Void)? = nil
    ) throws -> Int {
        guard let sql = selectStatement(for: table) else { return 0 }
        let statement = try connection.prepare(sql)
        var rows = 0
        var badColumns: [String] = []
        while try statement.step() {
            badColumns.removeAll(keepingCapacity: true)
            let rowid = sqlite3_column_int64(statement.statement, 0)
            if let only, !only.contains(rowid) { continue }
            try writer.appendPlain(String(rowid))
            for (offset, column) in table.columns.enumerated() {
                let bytes = statement.bytes(offset + 1)
                switch column.kind {
                case .text:
                    if try !writer.appendText(bytes) { badColumns.append(column.name) }
                case .uuid, .timestamp:
                    guard let bytes else {
                        try writer.appendNull()
                        try writer.appendNull()
                        continue
                    }
                    let value = column.kind == .uuid
                        ? LegacyUUID.canonical(bytes) : LegacyTimestamp.classify(bytes)
                    switch value {
                    case .unchanged:
                        try writer.appendText(bytes)
                        try writer.appendNull()
                    case .converted(let text):
                        try writer.appendPlain(text)
                        if try !writer.appendText(bytes) { badColumns.append(column.name) }
                    case .invalid:
                        try writer.appendNull()
                        if try !writer.appendText(bytes) { badColumns.append(column.name) }
                    }
                }
            }
            if badColumns.isEmpty {
                try writer.appendNull()
            } else {
                try writer.appendText(badColumns.joined(separator: ","))
            }
            try writer.endRow()
            rows += 1
            if rows % 50_000 == 0 { progress?(rows) }
        }
        return rows
    }

    /// One legacy activity's columns as SQLite gives them (valid until the next row).
    struct ActivityRow {
        var rowid: Int64
        var id: UnsafeBufferPointer<UInt8>?
        var agentID: UnsafeBufferPointer<UInt8>?
        var worktreeID: UnsafeBufferPointer<UInt8>?
        var activityType: UnsafeBufferPointer<UInt8>?
        var filePath: UnsafeBufferPointer<UInt8>?
        var description: UnsafeBufferPointer<UInt8>?
        var createdAt: UnsafeBufferPointer<UInt8>?
    }

    /// Calls `body` for every legacy activity, in rowid order.
    func forEachActivity(_ body: (ActivityRow) throws -> Void) throws {
        guard let sql = selectStatement(for: .agentActivities) else { return }
        let statement = try connection.prepare(sql)
        while try statement.step() {
            // Columns: rowid, then LegacyTable.agentActivities' columns in order.
            try body(ActivityRow(
                rowid: sqlite3_column_int64(statement.statement, 0),
                id: statement.bytes(1), agentID: statement.bytes(2), worktreeID: statement.bytes(3),
                activityType: statement.bytes(4), filePath: statement.bytes(5),
                description: statement.bytes(6), createdAt: statement.bytes(7)))
        }
    }
}
