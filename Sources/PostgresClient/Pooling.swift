/// How a connection reaches PostgreSQL: straight to the server, or through a pooler that
/// hands each transaction to whichever server connection is free (PgBouncer's
/// `pool_mode = transaction`). Behind such a pooler nothing may live in the session: a `SET`,
/// a session advisory lock or a named prepared statement lands on one server connection and
/// the next transaction runs on another, and a `LISTEN` receives nothing.
public enum PoolingMode: String, Sendable, Equatable, CaseIterable {
    /// Look at the connection (``PostgresConnection/detectPooling()``).
    case auto
    /// Straight to the server (or a session-pooling proxy): LISTEN works.
    case direct
    /// Through a transaction pooler: no LISTEN, nothing kept in the session.
    case transaction
}

/// What ``PostgresConnection/detectPooling()`` found, and why, for `doctor`.
public struct PoolingDetection: Sendable, Equatable {
    /// ``PoolingMode/direct`` or ``PoolingMode/transaction``.
    public var mode: PoolingMode
    /// One line: what was compared.
    public var reason: String

    public init(mode: PoolingMode, reason: String) {
        self.mode = mode
        self.reason = reason
    }
}

extension PostgresConnection {
    /// Whether a pooler stands between this client and the server. The server process the
    /// connection announced at start-up (BackendKeyData, `PQbackendPID`) is compared with the
    /// one that answers (`pg_backend_pid()`): the same process when connected straight or
    /// through a plain TCP proxy (a tunnel, a container's port mapping), and not when a pooler
    /// such as PgBouncer stands in between, because it hands the client a process id of its
    /// own (it has no single server process to name). A pooler found this way is taken to pool
    /// transactions, the one mode every part of imi-sync supports; a session-pooling one loses
    /// nothing by it but LISTEN, which `listen_url` or polling replaces.
    public func detectPooling() throws -> PoolingDetection {
        let answering: Int = try execute("SELECT pg_backend_pid()").decode(0, 0)
        let announced = Int(backendProcessID)
        if answering == announced {
            return PoolingDetection(mode: .direct, reason: "the server process that answers (\(answering)) is the one the connection announced")
        }
        return PoolingDetection(
            mode: .transaction,
            reason: "the connection announced server process \(announced) but \(answering) answers: a pooler is in between")
    }
}
