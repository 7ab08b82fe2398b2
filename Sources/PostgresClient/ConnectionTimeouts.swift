/// How long a connection waits for the server, and how the kernel watches an idle socket.
///
/// Three layers, because each catches what the others cannot:
/// - **reply** (client side): every statement is sent without blocking and its answer awaited
///   in `poll` until this deadline. When it passes, the connection is shut down at once and the
///   statement throws ``PostgresError/Code/connection`` ("no answer from PostgreSQL at …"):
///   the owner reconnects. This is the only layer that notices a proxy that keeps the TCP
///   connection open (its kernel answers keepalives) but stops forwarding. No cancel request
///   is sent: `PQcancel` opens a new connection and waits for the server to close it, which
///   on the same silent path would block again; the server-side bounds end the orphaned
///   statement instead.
/// - **lock** and **statement** (server side, per transaction): ``PostgresConnection/transaction(_:_:)``
///   sets them with `set_config(…, true)` (`SET LOCAL`) right after `BEGIN`, never for the
///   session, so they are safe behind a transaction-pooling PgBouncer. A lock held by
///   `VACUUM FULL` or `ALTER TABLE` then fails the statement with SQLSTATE 55P03 (57014 for
///   the statement bound) while the connection stays usable: ``PostgresError/isServerTimeout``.
///   Statements outside a transaction have only the reply deadline.
/// - **keepalives** and **tcp_user_timeout** (kernel): sent as libpq connection keywords
///   unless the connection string sets them itself (the user's values win). They end a
///   connection whose peer host vanished, also while nothing is being asked.
///
/// ``PostgresConnection`` defaults (one-shot commands): keepalives on, no reply deadline and no
/// server bounds, so a long migration or `VACUUM` is not cut short. The agent, its listener
/// and the mcp server use ``background`` (reply 10 s, lock 5 s, statement 8 s: the server
/// bounds fire before the reply deadline, so a merely busy server keeps the connection).
public struct ConnectionTimeouts: Sendable, Equatable {
    /// How long one statement may go without its complete answer; `nil` waits for ever.
    public var reply: Duration?
    /// `lock_timeout` for every transaction; `nil` leaves the server's setting.
    public var lock: Duration?
    /// `statement_timeout` for every transaction; `nil` leaves the server's setting.
    public var statement: Duration?
    /// How long a listening connection may stay silent before it is asked `SELECT 1` (under
    /// the reply deadline) to prove the server is still there.
    public var listenerCheck: Duration
    /// Seconds of idleness before the first keepalive probe (libpq `keepalives_idle`).
    public var keepalivesIdle: Int
    /// Seconds between unanswered probes (`keepalives_interval`).
    public var keepalivesInterval: Int
    /// Unanswered probes before the kernel drops the connection (`keepalives_count`).
    public var keepalivesCount: Int
    /// How long sent data may stay unacknowledged before the kernel drops the connection
    /// (`tcp_user_timeout`, libpq 12 and later).
    public var tcpUserTimeout: Duration

    public init(
        reply: Duration? = nil, lock: Duration? = nil, statement: Duration? = nil,
        listenerCheck: Duration = .seconds(30), keepalivesIdle: Int = 30, keepalivesInterval: Int = 10,
        keepalivesCount: Int = 3, tcpUserTimeout: Duration = .seconds(30)
    ) {
        self.reply = reply
        self.lock = lock
        self.statement = statement
        self.listenerCheck = listenerCheck
        self.keepalivesIdle = keepalivesIdle
        self.keepalivesInterval = keepalivesInterval
        self.keepalivesCount = keepalivesCount
        self.tcpUserTimeout = tcpUserTimeout
    }

    /// For connections that must never block for long: the agent (whose loop also feeds the
    /// systemd watchdog), its listener and the mcp server.
    public static let background = ConnectionTimeouts(
        reply: .seconds(10), lock: .seconds(5), statement: .seconds(8))

    /// These timeouts with every bound not set taken from ``background``.
    public var boundedForBackground: ConnectionTimeouts {
        var bounded = self
        bounded.reply = reply ?? Self.background.reply
        bounded.lock = lock ?? Self.background.lock
        bounded.statement = statement ?? Self.background.statement
        return bounded
    }

    /// The keepalive keywords for `PQconnectdbParams`, placed before the connection string
    /// so that values it sets itself override them.
    var connectionKeywords: [(String, String)] {
        [
            ("keepalives", "1"), ("keepalives_idle", String(keepalivesIdle)),
            ("keepalives_interval", String(keepalivesInterval)), ("keepalives_count", String(keepalivesCount)),
            ("tcp_user_timeout", String(tcpUserTimeout.milliseconds)),
        ]
    }
}

extension Duration {
    /// Whole milliseconds, rounded up (a bound of 1.5 ms is 2 ms, never 0).
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
    }

    /// "10 s", "1.5 s", "250 ms": for messages.
    var spoken: String {
        let milliseconds = self.milliseconds
        if milliseconds < 1000 { return "\(milliseconds) ms" }
        if milliseconds % 1000 == 0 { return "\(milliseconds / 1000) s" }
        return "\(Double(milliseconds) / 1000) s"
    }
}
