import Foundation

/// Every failure of the PostgreSQL client: what was attempted, where, and the server's words.
///
/// Messages never contain a password: connection targets are always shown through
/// ``ConnectionSettings/redactedDescription``.
public struct PostgresError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// The server could not be reached, refused the login, or ended the session.
        case connection
        /// A statement failed on the server (the SQLSTATE says why).
        case query
        /// A value came back NULL where one is required, or not as the type asked for.
        case decode
        /// Input that cannot be used as given (a malformed connection string).
        case invalidInput
    }

    public var code: Code
    /// One line: what was attempted and what failed.
    public var message: String
    /// The five-character SQLSTATE when the server sent one.
    public var sqlState: String?

    public init(_ code: Code, _ message: String, sqlState: String? = nil) {
        self.code = code
        self.message = message
        self.sqlState = sqlState
    }

    public var description: String {
        if let sqlState { return "\(message) [SQLSTATE \(sqlState)]" }
        return message
    }

    /// SQLSTATE 40001/40P01, connection-class errors and the server's lock and statement
    /// bounds are worth retrying.
    public var isTransient: Bool {
        if code == .connection || isServerTimeout { return true }
        guard let sqlState else { return false }
        return sqlState == "40001" || sqlState == "40P01" || sqlState.hasPrefix("08")
            || sqlState == "57P01" || sqlState == "57P02" || sqlState == "57P03"
    }

    /// The server gave up on a lock (`lock_timeout`, 55P03) or the statement
    /// (`statement_timeout`, 57014): the registry is busy (a `VACUUM FULL`, an `ALTER TABLE`),
    /// the connection is fine, and the same write is worth trying again a little later.
    public var isServerTimeout: Bool {
        code == .query && (sqlState == "55P03" || sqlState == "57014")
    }
}

extension String {
    /// Folds a multi-line server message into one line for logs and errors.
    package var singleLine: String {
        split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
            .joined(separator: " ")
    }
}
