import PostgresClient

/// Why the registry did not store a row's state: the server refused the statement, or the
/// statement ran and left the row out because row-level security does not let this role
/// change it (such a row is filtered out without an error, so it is looked for by id).
public enum WriteRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    case statement(PostgresError)
    /// The row exists and is active, but `role` may not update it; `host` is the host it belongs to.
    case notWritable(role: String, host: String?)

    /// The SQLSTATE of a refused statement (`25006` read-only, `42501` privilege); `nil` otherwise.
    public var sqlState: String? {
        if case .statement(let error) = self { return error.sqlState }
        return nil
    }

    public var description: String {
        switch self {
        case .statement(let error):
            "\(error)"
        case .notWritable(let role, let host):
            "row-level security lets role \(role) change no such row: it belongs to "
                + (host.map { "host '\($0)'" } ?? "no host") + ", not to the host whose agent this role is"
        }
    }

    public static func == (lhs: WriteRefusal, rhs: WriteRefusal) -> Bool {
        lhs.description == rhs.description
    }
}
