#if canImport(Glibc)
import Glibc
#endif
internal import CLibPQ

/// One libpq connection. Owns the `PGconn` and frees it in one place.
///
/// Every statement that carries a value goes through ``execute(_:_:)`` with `$n` parameters;
/// ``executeScript(_:)`` exists for the fixed, embedded migration files only.
/// Not thread-safe: one connection belongs to one task at a time.
public final class PostgresConnection {
    /// The libpq handle; extensions in this module (COPY, LISTEN) use it, nothing outside does.
    let connection: OpaquePointer
    public let settings: ConnectionSettings

    /// Opens a connection; a failure names the target (without password) and libpq's reason.
    public init(settings: ConnectionSettings, applicationName: String = "imi-sync") throws {
        self.settings = settings
        if let problem = settings.urlCredentialProblem {
            throw RegistryError(.invalidInput, "invalid database connection URL (from \(settings.source.rawValue)): \(problem)")
        }
        if !settings.conninfo.isEmpty, ConnectionSettings.parse(settings.conninfo) == nil {
            throw RegistryError(
                .invalidInput,
                "invalid database connection string (from \(settings.source.rawValue)): "
                    + "expected postgresql://… or key=value pairs")
        }
        // dbname with expand_dbname=1 takes a whole URL or key=value string; empty values
        // fall through to the PG* variables, exactly as psql behaves.
        let keywords = ["dbname", "fallback_application_name", "connect_timeout"]
        let values = [settings.conninfo, applicationName, String(settings.connectTimeout)]
        let connection = withCStringArray(keywords) { keywordPointers in
            withCStringArray(values) { valuePointers in
                PQconnectdbParams(keywordPointers, valuePointers, 1)
            }
        }
        guard let connection else {
            throw RegistryError(.connection, "cannot allocate a libpq connection")
        }
        guard PQstatus(connection) == CONNECTION_OK else {
            let reason = String(cString: PQerrorMessage(connection)).singleLine
            PQfinish(connection)
            throw RegistryError(
                .connection,
                "cannot connect to PostgreSQL at \(settings.redactedDescription): \(reason)")
        }
        self.connection = connection
        // Notices ("relation already exists, skipping") are not errors; keep stderr clean.
        PQsetNoticeProcessor(connection, { _, _ in }, nil)
    }

    deinit {
        PQfinish(connection)
    }

    /// The server's version as an integer, e.g. 150018.
    public var serverVersion: Int { Int(PQserverVersion(connection)) }

    /// False once the server has gone away; the owner reconnects.
    public var isHealthy: Bool { PQstatus(connection) == CONNECTION_OK }

    /// Runs one statement with text-format parameters (`nil` is SQL NULL).
    @discardableResult
    public func execute(_ sql: String, _ parameters: [String?] = []) throws -> QueryResult {
        let result = withOptionalCStringArray(parameters) { parameterPointers in
            PQexecParams(
                connection, sql, Int32(parameters.count), nil, parameterPointers, nil, nil, 0)
        }
        return try check(result, sql: sql)
    }

    /// Runs a fixed multi-statement script (the embedded migrations). Never pass data here.
    public func executeScript(_ script: StaticScript) throws {
        let result = PQexec(connection, script.text)
        _ = try check(result, sql: script.text)
    }

    /// Runs `body` in a transaction: committed when it returns, rolled back when it throws.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN")
        do {
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

    private func check(_ result: OpaquePointer?, sql: String) throws -> QueryResult {
        guard let result else {
            throw RegistryError(
                .connection,
                "lost the connection to \(settings.redactedDescription): "
                    + String(cString: PQerrorMessage(connection)).singleLine)
        }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY, PGRES_COPY_IN:
            return QueryResult(result)
        default:
            let sqlState = PQresultErrorField(result, Int32(UInt8(ascii: "C")))
                .map { String(cString: $0) }
            let message = String(cString: PQresultErrorMessage(result)).singleLine
            PQclear(result)
            // The server ending the session (shutdown, pg_terminate_backend: 57P01-57P03) or
            // a connection-class error (08) is an outage, not a refused statement.
            let lost = PQstatus(connection) != CONNECTION_OK
                || sqlState.map { $0.hasPrefix("08") || $0.hasPrefix("57P0") } == true
            throw RegistryError(
                lost ? .connection : .query,
                "\(firstWords(of: sql)) failed on \(settings.redactedDescription): \(message)",
                sqlState: sqlState)
        }
    }

    /// The statement's opening words, enough to say which one failed without its data.
    private func firstWords(of sql: String) -> String {
        let words = sql.split(whereSeparator: { $0.isWhitespace }).prefix(3)
        return words.joined(separator: " ")
    }
}

/// SQL text fixed at compile time (the embedded migrations), as opposed to data.
public struct StaticScript: Sendable {
    let text: String
    public init(_ text: String) { self.text = text }
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
