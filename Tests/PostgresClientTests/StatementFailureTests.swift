import Foundation
import PostgresClient
import TestSupport
import Testing

@Suite("What a failed statement means", .ownThreads)
struct StatementFailureTests {
    /// A server ending the session (shutdown, pg_terminate_backend) can reach the client as
    /// an error result before libpq has noticed the socket is gone: the SQLSTATE, not only the
    /// socket state, says it is an outage (exit 69, reconnect), not a refused statement.
    @Test(
        "session-ending and connection-class SQLSTATEs are connection failures; others are query failures",
        arguments: [("57P01", PostgresError.Code.connection), ("57P02", .connection), ("57P03", .connection),
                    ("08006", .connection), ("42501", .query), ("25006", .query), ("23505", .query)])
    func classification(sqlState: String, code: PostgresError.Code) throws {
        let connection = try PostgresConnection(settings: try PostgresCluster.shared().createDatabase())
        try connection.executeScript(StaticScript("""
            CREATE FUNCTION imi_raise(state text) RETURNS void LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'raised for a test' USING ERRCODE = state; END $$
            """))
        let error = #expect(throws: PostgresError.self) {
            try connection.execute("SELECT imi_raise($1)", [sqlState])
        }
        #expect(error?.sqlState == sqlState)
        #expect(error?.code == code)
    }
}
