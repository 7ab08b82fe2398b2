internal import CLibPQ

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
    /// Whether something stands between this client and the server: the port the client
    /// connected to against the port the server itself listens on (`current_setting('port')`),
    /// which differ when a pooler such as PgBouncer (6432) forwards to PostgreSQL (5432).
    /// A pooler found this way is taken to pool transactions, the one mode every part of
    /// imi-sync supports; a pooler on the server's own port number is not seen, so it is
    /// named in the configuration (`[database] pooling = "transaction"`).
    public func detectPooling() throws -> PoolingDetection {
        let serverPort: String = try execute("SELECT current_setting('port')").decode(0, 0)
        // With a list of hosts, PQport names the port of the one libpq connected to.
        let connected = PQport(connection).map { String(cString: $0) } ?? ""
        let port = connected.isEmpty ? "5432" : connected
        if port == serverPort {
            return PoolingDetection(mode: .direct, reason: "connected to port \(port), the port the server listens on")
        }
        return PoolingDetection(
            mode: .transaction,
            reason: "connected to port \(port) but the server listens on \(serverPort): a pooler is in between")
    }
}
