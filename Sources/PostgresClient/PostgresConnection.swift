#if canImport(Glibc)
import Glibc
#endif
internal import CLibPQ

/// One libpq connection. Owns the `PGconn` and frees it in one place.
///
/// Every statement that carries a value goes through ``execute(_:_:)`` with `$n` parameters
/// bound by type; ``executeScript(_:)`` exists for SQL fixed at compile time only.
/// Not thread-safe: one connection belongs to one thread at a time, and every call blocks
/// that thread, so callers keep it off Swift's cooperative thread pool.
///
/// The socket is non-blocking: statements are sent with `PQsend…` and their answers awaited
/// in `poll` under ``timeouts``' reply deadline (see ``ConnectionTimeouts``), so a server or
/// proxy that stops answering costs at most that long, and the connection is then shut down.
public final class PostgresConnection {
    /// The libpq handle; extensions in this module (COPY, LISTEN) use it, nothing outside does.
    let connection: OpaquePointer
    public let settings: ConnectionSettings
    /// The bounds in force; starts as the settings' and may be changed for one long task.
    public var timeouts: ConnectionTimeouts
    /// Why the connection was shut down on this side (a reply deadline passed), or `nil`.
    var abandoned: PostgresError?

    /// Opens a connection; a failure names the target (without password) and libpq's reason.
    public init(settings: ConnectionSettings, applicationName: String = "imi-sync") throws {
        self.settings = settings
        self.timeouts = settings.timeouts
        if let problem = settings.urlCredentialProblem {
            throw PostgresError(.invalidInput, "invalid database connection URL (from \(settings.origin)): \(problem)")
        }
        if !settings.conninfo.isEmpty, ConnectionSettings.parse(settings.conninfo) == nil {
            throw PostgresError(
                .invalidInput,
                "invalid database connection string (from \(settings.origin)): "
                    + "expected postgresql://… or key=value pairs")
        }
        // dbname with expand_dbname=1 takes a whole URL or key=value string; empty values
        // fall through to the PG* variables, exactly as psql behaves.
        // Keywords before dbname are overridden by the string's own (keepalives the user set);
        // those after it override the string.
        let keepalives = settings.timeouts.connectionKeywords
        let keywords = keepalives.map(\.0) + ["dbname", "fallback_application_name", "connect_timeout"]
        let values = keepalives.map(\.1) + [settings.conninfo, applicationName, String(settings.connectTimeout)]
        let connection = withCStringArray(keywords) { keywordPointers in
            withCStringArray(values) { valuePointers in
                PQconnectdbParams(keywordPointers, valuePointers, 1)
            }
        }
        guard let connection else {
            throw PostgresError(.connection, "cannot allocate a libpq connection")
        }
        guard PQstatus(connection) == CONNECTION_OK else {
            let reason = String(cString: PQerrorMessage(connection)).singleLine
            PQfinish(connection)
            throw PostgresError(
                .connection,
                "cannot connect to PostgreSQL at \(settings.redactedDescription): \(reason)")
        }
        self.connection = connection
        // Sends never block: a peer that stops reading is noticed by the reply deadline.
        guard PQsetnonblocking(connection, 1) == 0 else {
            throw PostgresError(.connection, "cannot make the connection to \(settings.redactedDescription) non-blocking")
        }
        // Notices ("relation already exists, skipping") are not errors; keep stderr clean.
        PQsetNoticeProcessor(connection, { _, _ in }, nil)
        // Timestamps come back in the one text form ``PostgresRows`` reads.
        try execute("SET DateStyle TO ISO")
    }

    deinit {
        PQfinish(connection)
    }

    /// The server's version as an integer, e.g. 150018.
    public var serverVersion: Int { Int(PQserverVersion(connection)) }

    /// The server process serving this connection (`pg_backend_pid()`).
    public var backendProcessID: Int32 { PQbackendPID(connection) }

    /// The value libpq uses for a connection keyword (`keepalives_idle`), for checks and tests.
    package func option(_ keyword: String) -> String? {
        guard let options = PQconninfo(connection) else { return nil }
        defer { PQconninfoFree(options) }
        var option = options
        while let name = option.pointee.keyword {
            if String(cString: name) == keyword { return option.pointee.val.map { String(cString: $0) } }
            option += 1
        }
        return nil
    }

    /// False once the server has gone away; the owner reconnects.
    public var isHealthy: Bool { abandoned == nil && PQstatus(connection) == CONNECTION_OK }

    /// Runs one statement; each parameter is sent with its type (`nil` optionals are NULL).
    @discardableResult
    public func execute(_ sql: String, _ parameters: [any PostgresBindable] = []) throws -> PostgresRows {
        let binds = parameters.map(\.postgresBind)
        let types = binds.map { Oid($0.oid) }
        let result = try awaitReply(to: sql) {
            withOptionalCStringArray(binds.map(\.text)) { values in
                types.withUnsafeBufferPointer { types in
                    PQsendQueryParams(connection, sql, Int32(binds.count), types.baseAddress, values, nil, nil, 0)
                }
            }
        }
        return try check(result, sql: sql)
    }

    /// Runs a fixed multi-statement script (the embedded migrations). Never pass data here.
    public func executeScript(_ script: StaticScript) throws {
        let result = try awaitReply(to: script.text) { PQsendQuery(connection, script.text) }
        _ = try check(result, sql: script.text)
    }

    /// Runs `body` under other bounds (a legacy import that may take minutes), then restores them.
    @discardableResult
    public func withTimeouts<T>(_ bounds: ConnectionTimeouts, _ body: () throws -> T) rethrows -> T {
        let saved = timeouts
        timeouts = bounds
        defer { timeouts = saved }
        return try body()
    }

    /// Runs `body` in a transaction: committed when it returns, rolled back when it throws.
    /// The one transaction API every caller uses. The ``timeouts``' lock and statement bounds
    /// hold for this transaction only (`SET LOCAL`, safe behind a transaction pooler).
    public func transaction<T>(_ begin: StaticScript = "BEGIN", _ body: () throws -> T) throws -> T {
        try executeScript(begin)
        do {
            if timeouts.lock != nil || timeouts.statement != nil {
                try execute(Self.boundTransaction, [
                    timeouts.lock.map { "\($0.milliseconds)ms" }, timeouts.statement.map { "\($0.milliseconds)ms" },
                ])
            }
            let value = try body()
            try execute("COMMIT")
            return value
        } catch {
            if isHealthy { _ = try? execute("ROLLBACK") }
            throw error
        }
    }

    /// Runs `body` inside a transaction under a savepoint: released when it returns, rolled
    /// back to (keeping the rest of the transaction) when it throws.
    public func savepoint<T>(_ body: () throws -> T) throws -> T {
        try execute("SAVEPOINT imi_savepoint")
        do {
            let value = try body()
            try execute("RELEASE SAVEPOINT imi_savepoint")
            return value
        } catch {
            if isHealthy { _ = try? execute("ROLLBACK TO SAVEPOINT imi_savepoint") }
            throw error
        }
    }

    func check(_ result: OpaquePointer?, sql: String) throws -> PostgresRows {
        guard let result else {
            throw PostgresError(
                .connection,
                "lost the connection to \(settings.redactedDescription): "
                    + String(cString: PQerrorMessage(connection)).singleLine)
        }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY, PGRES_COPY_IN:
            return PostgresRows(result, origin: firstWords(of: sql))
        default:
            throw failure(of: result, doing: "\(firstWords(of: sql)) failed on \(settings.redactedDescription)")
        }
    }

    /// The error of a failed result (which it frees), as a connection or query failure.
    func failure(of result: OpaquePointer, doing what: String) -> PostgresError {
        let sqlState = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
        let message = String(cString: PQresultErrorMessage(result)).singleLine
        PQclear(result)
        // The server ending the session (shutdown, pg_terminate_backend: 57P01-57P03) or a
        // connection-class error (08) is an outage, not a refused statement.
        let lost = PQstatus(connection) != CONNECTION_OK
            || sqlState.map { $0.hasPrefix("08") || $0.hasPrefix("57P0") } == true
        return PostgresError(lost ? .connection : .query, "\(what): \(message)", sqlState: sqlState)
    }

    /// Sets the transaction's bounds; a `NULL` keeps the server's value.
    private static let boundTransaction = """
        SELECT set_config('lock_timeout', coalesce($1, current_setting('lock_timeout')), true),
               set_config('statement_timeout', coalesce($2, current_setting('statement_timeout')), true)
        """

    /// The statement's opening words, enough to say which one failed without its data.
    func firstWords(of sql: String) -> String {
        let words = sql.split(maxSplits: 3, whereSeparator: { $0.isWhitespace }).prefix(3)
        return words.joined(separator: " ")
    }
}

/// SQL text fixed at compile time (migrations, statements without values), as opposed to data.
public struct StaticScript: Sendable, ExpressibleByStringLiteral {
    let text: String
    public init(_ text: String) { self.text = text }
    public init(stringLiteral text: StaticString) { self.text = "\(text)" }
}

/// Calls `body` with a NUL-terminated C string array that lives for the call.
private func withCStringArray<R>(
    _ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R
) -> R {
    withOptionalCStringArray(strings.map(Optional.some), body)
}

private func withOptionalCStringArray<R>(
    _ strings: [String?], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R
) -> R {
    let duplicated: [UnsafeMutablePointer<CChar>?] = strings.map { $0.map { strdup($0)! } }
    defer { duplicated.forEach { free($0) } }
    let pointers: [UnsafePointer<CChar>?] = duplicated.map { $0.map { UnsafePointer($0) } } + [nil]
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
