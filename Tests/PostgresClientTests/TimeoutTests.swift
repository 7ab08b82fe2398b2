import Foundation
import PostgresClient
import TestSupport
import Testing

/// The bounds of ``ConnectionTimeouts``: a busy table fails a transaction's statement fast and
/// keeps the connection; a silent peer fails the statement at the reply deadline and drops it.
/// Every call that could hang runs under ``finishing(within:_:)``, so a regression fails.
@Suite("Timeouts on registry connections", .ownThreads)
struct TimeoutTests {
    static let watchdog: Duration = .seconds(60)

    @Test("a write to a table another session holds ACCESS EXCLUSIVE fails with lock_timeout; the connection stays usable")
    func lockTimeout() throws {
        let settings = try PostgresCluster.shared().createDatabase()
        let holder = try PostgresConnection(settings: settings)
        try holder.execute("CREATE TABLE held (id int)")
        var bounded = settings
        bounded.timeouts = ConnectionTimeouts(reply: .seconds(30), lock: .seconds(1), statement: .seconds(20))
        let connection = try PostgresConnection(settings: bounded)
        try holder.execute("BEGIN")
        try holder.execute("LOCK TABLE held IN ACCESS EXCLUSIVE MODE")
        let outcome = finishing(within: Self.watchdog) {
            try connection.transaction { try connection.execute("INSERT INTO held VALUES ($1)", [1]) }
        }
        try holder.execute("ROLLBACK")
        guard case .failure(let failure)? = outcome else {
            Issue.record("the write did not fail while the lock was held: \(String(describing: outcome))")
            return
        }
        let error = try #require(failure as? PostgresError)
        #expect(error.sqlState == "55P03")
        #expect(error.code == .query)
        #expect(error.isServerTimeout)
        #expect(error.isTransient)
        #expect(connection.isHealthy)
        _ = try connection.transaction { try connection.execute("INSERT INTO held VALUES ($1)", [2]) }
        #expect(try connection.execute("SELECT count(*) FROM held").int(0, 0) == 1)
    }

    @Test("the transaction's bounds are SET LOCAL: they hold inside the transaction and are gone after it")
    func boundsAreTransactionLocal() throws {
        var settings = try PostgresCluster.shared().createDatabase()
        settings.timeouts = ConnectionTimeouts(lock: .milliseconds(1500), statement: .seconds(7))
        let connection = try PostgresConnection(settings: settings)
        let inside = try connection.transaction {
            try connection.execute("SELECT current_setting('lock_timeout'), current_setting('statement_timeout')")
        }
        #expect(inside.string(0, 0) == "1500ms")
        #expect(inside.string(0, 1) == "7s")
        let after = try connection.execute("SELECT current_setting('lock_timeout'), current_setting('statement_timeout')")
        #expect(after.string(0, 0) == "0")
        #expect(after.string(0, 1) == "0")
    }

    @Test("a peer that stops answering without closing fails the next statement at the reply deadline; a new connection works once it answers again")
    func silentPeer() throws {
        let cluster = try PostgresCluster.shared()
        let (relay, conninfo) = try cluster.databaseBehindRelay(extra: "password=not-shown")
        defer { relay.stop() }
        let databaseName = try #require(ConnectionSettings.parse(conninfo)?.first { $0.key == "dbname" }?.value)
        let settings = ConnectionSettings(
            conninfo: conninfo, origin: "test", timeouts: ConnectionTimeouts(reply: .seconds(1)))
        let connection = try PostgresConnection(settings: settings)
        #expect(try connection.execute("SELECT $1::int", [7]).int(0, 0) == 7)

        relay.pause()
        let outcome = finishing(within: Self.watchdog) { try connection.execute("SELECT $1::int", [8]) }
        relay.resume()
        guard case .failure(let failure)? = outcome else {
            Issue.record("the statement did not fail while the peer was silent: \(String(describing: outcome))")
            return
        }
        let error = try #require(failure as? PostgresError)
        #expect(error.code == .connection)
        #expect(error.isTransient)
        #expect(error.message.hasPrefix("no answer from PostgreSQL at \(cluster.superuser)@127.0.0.1:\(relay.port)/\(databaseName) for 1 s"))
        #expect(!error.description.contains("not-shown"))
        #expect(!connection.isHealthy)
        // The abandoned connection is never used again, even now that the peer answers.
        let again = #expect(throws: PostgresError.self) { try connection.execute("SELECT 1") }
        #expect(again?.message == error.message)

        let reopened = try #require(finishing(within: Self.watchdog) { try PostgresConnection(settings: settings) }).get()
        #expect(try reopened.execute("SELECT $1::int", [9]).int(0, 0) == 9)
    }

    @Test("keepalive and tcp_user_timeout are set, unless the connection string sets them itself")
    func keepalives() throws {
        let cluster = try PostgresCluster.shared()
        var settings = cluster.settings()
        settings.timeouts = ConnectionTimeouts(keepalivesIdle: 41, tcpUserTimeout: .seconds(12))
        let defaults = try PostgresConnection(settings: settings)
        #expect(defaults.option("keepalives") == "1")
        #expect(defaults.option("keepalives_idle") == "41")
        #expect(defaults.option("tcp_user_timeout") == "12000")
        settings.conninfo += " keepalives_idle=7 tcp_user_timeout=5000"
        let overridden = try PostgresConnection(settings: settings)
        #expect(overridden.option("keepalives_idle") == "7")
        #expect(overridden.option("tcp_user_timeout") == "5000")
    }
}
