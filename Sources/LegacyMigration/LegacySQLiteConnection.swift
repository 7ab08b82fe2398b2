#if canImport(Glibc)
import Glibc
#endif
import Foundation
internal import CSQLite
import PostgresClient
import RegistryClient

/// One SQLite connection (the legacy registry file). Owns the `sqlite3` handle and closes it in
/// one place; every failure becomes a ``LegacyError`` with code `.source` naming the
/// file and what was tried.
final class LegacySQLiteConnection {
    let handle: OpaquePointer
    let path: String

    enum Mode {
        /// `mode=ro` URI: SQLite takes its normal shared locks and reads the WAL, writes nothing
        /// to the database file.
        case readOnly
        /// `immutable=1`: no locks, no WAL; only for a file nobody else can be writing.
        case immutable
        /// Creates a new file (export, archive).
        case create
    }

    init(path: String, mode: Mode, busyTimeoutMilliseconds: Int32 = 5000) throws {
        self.path = path
        var handle: OpaquePointer?
        let flags: Int32
        let filename: String
        switch mode {
        case .readOnly:
            flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX
            filename = Self.uri(path, query: "mode=ro")
        case .immutable:
            flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX
            filename = Self.uri(path, query: "mode=ro&immutable=1")
        case .create:
            flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
            filename = path
        }
        let status = sqlite3_open_v2(filename, &handle, flags, nil)
        guard let handle else {
            throw LegacyError(.source, "cannot open \(path): out of memory")
        }
        guard status == SQLITE_OK else {
            let message = String(cString: sqlite3_errmsg(handle))
            sqlite3_close_v2(handle)
            throw LegacyError(.source, "cannot open \(path): \(message)")
        }
        self.handle = handle
        sqlite3_extended_result_codes(handle, 1)
        sqlite3_busy_timeout(handle, busyTimeoutMilliseconds)
    }

    deinit {
        sqlite3_close_v2(handle)
    }

    /// `file:` URI with the path percent-encoded, so `?`, `#` and `%` in a path are literal.
    static func uri(_ path: String, query: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "/-._~")
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        let encoded = absolute.addingPercentEncoding(withAllowedCharacters: allowed) ?? absolute
        return "file:\(encoded)?\(query)"
    }

    /// Reads the schema once; returns SQLite's (extended) result code without throwing.
    func probe() -> Int32 {
        sqlite3_exec(handle, "SELECT count(*) FROM sqlite_master", nil, nil, nil)
    }

    /// Rows changed by the last INSERT/UPDATE/DELETE.
    var changes: Int { Int(sqlite3_changes(handle)) }

    var lastMessage: String { String(cString: sqlite3_errmsg(handle)) }

    /// Runs SQL with no parameters and no rows (schema statements, BEGIN/COMMIT).
    func execute(_ sql: String) throws {
        var error: UnsafeMutablePointer<CChar>?
        let status = sqlite3_exec(handle, sql, nil, nil, &error)
        if status != SQLITE_OK {
            let message = error.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(handle))
            sqlite3_free(error)
            throw failure(status, message, doing: String(sql.prefix(40)))
        }
    }

    func prepare(_ sql: String) throws -> LegacyStatement {
        var statement: OpaquePointer?
        let status = sqlite3_prepare_v2(handle, sql, -1, &statement, nil)
        guard status == SQLITE_OK, let statement else {
            throw failure(status, String(cString: sqlite3_errmsg(handle)), doing: "reading")
        }
        return LegacyStatement(statement, connection: self)
    }

    /// All rows of a small query as optional strings.
    func rows(_ sql: String, _ parameters: [String] = []) throws -> [[String?]] {
        let statement = try prepare(sql)
        for (index, value) in parameters.enumerated() { statement.bind(index + 1, value) }
        var rows: [[String?]] = []
        while try statement.step() {
            rows.append((0..<statement.columnCount).map { statement.string($0) })
        }
        return rows
    }

    /// Turns an SQLite result code into one clear line naming the file.
    func failure(_ status: Int32, _ message: String, doing: String) -> LegacyError {
        let primary = status & 0xff
        let text: String
        switch primary {
        case SQLITE_NOTADB:
            text = "\(path) is not an SQLite database"
        case SQLITE_CORRUPT:
            text = "\(path) is corrupt (\(message))"
        case SQLITE_BUSY, SQLITE_LOCKED:
            text = "\(path) is locked by another process (gave up after waiting): \(message)"
        case SQLITE_CANTOPEN:
            text = "cannot open \(path): \(message)"
        default:
            text = "\(doing) \(path) failed: \(message)"
        }
        return LegacyError(.source, text)
    }

    static var libraryVersion: String { String(cString: sqlite3_libversion()) }
}

/// One prepared statement; finalized when released.
final class LegacyStatement {
    let statement: OpaquePointer
    private let connection: LegacySQLiteConnection

    init(_ statement: OpaquePointer, connection: LegacySQLiteConnection) {
        self.statement = statement
        self.connection = connection
    }

    deinit {
        sqlite3_finalize(statement)
    }

    var columnCount: Int { Int(sqlite3_column_count(statement)) }

    /// Advances; `true` while there is a row.
    func step() throws -> Bool {
        let status = sqlite3_step(statement)
        switch status {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            throw connection.failure(
                status, String(cString: sqlite3_errmsg(connection.handle)), doing: "reading")
        }
    }

    func reset() {
        sqlite3_reset(statement)
        sqlite3_clear_bindings(statement)
    }

    func isNull(_ column: Int) -> Bool {
        sqlite3_column_type(statement, Int32(column)) == SQLITE_NULL
    }

    /// The column's bytes as SQLite's text conversion gives them; `nil` for NULL. Valid until
    /// the next step.
    func bytes(_ column: Int) -> UnsafeBufferPointer<UInt8>? {
        // Two library calls for a value instead of three (a million-row read makes seven
        // million of these): the type is asked only when there is no text pointer, and
        // reading a NULL as text leaves it NULL.
        guard let text = sqlite3_column_text(statement, Int32(column)) else {
            return isNull(column) ? nil : UnsafeBufferPointer(start: nil, count: 0)
        }
        let count = Int(sqlite3_column_bytes(statement, Int32(column)))
        return UnsafeBufferPointer(start: text, count: count)
    }

    func string(_ column: Int) -> String? {
        bytes(column).map { String(decoding: $0, as: UTF8.self) }
    }

    func bind(_ index: Int, _ value: String?) {
        guard let value else {
            sqlite3_bind_null(statement, Int32(index))
            return
        }
        // SQLITE_TRANSIENT: SQLite copies the bytes before this call returns.
        let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
        sqlite3_bind_text(statement, Int32(index), value, -1, transient)
    }

    func bind(_ index: Int, _ value: Int64?) {
        guard let value else {
            sqlite3_bind_null(statement, Int32(index))
            return
        }
        sqlite3_bind_int64(statement, Int32(index), value)
    }

    /// Runs an INSERT/UPDATE to completion and resets for the next bindings.
    func run() throws {
        defer { reset() }
        while try step() {}
    }
}
