import Foundation
import PostgresClient
import Testing
import TestSupport

@testable import SyncAgent
@testable import SyncConfiguration

@Suite("config: the bounds of the agent's and mcp's connections", .ownThreads)
struct ConfigTimeoutTests {
    private func resolve(_ text: String) throws -> ResolvedConfig {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("imi-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent("config.toml").path
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        return try ResolvedConfig.resolve(databaseURLFlag: nil, environment: ["HOME": "/home/tester"], configPathOverride: path)
    }

    @Test("[database] bounds reach run and mcp's settings; one-shot commands keep none")
    func configured() throws {
        let config = try resolve("""
            [database]
            reply_timeout_seconds = 20
            lock_timeout_ms = 1500
            statement_timeout_ms = 9000
            """)
        let bounds = config.backgroundConnectionSettings.timeouts
        #expect(bounds.reply == .seconds(20))
        #expect(bounds.lock == .milliseconds(1500))
        #expect(bounds.statement == .seconds(9))
        #expect(config.connectionSettings.timeouts == ConnectionTimeouts())
    }

    @Test("without them the background defaults apply")
    func defaults() throws {
        let bounds = try resolve("").backgroundConnectionSettings.timeouts
        #expect(bounds == ConnectionTimeouts.background)
    }

    @Test("a bound that is not positive is refused naming the key", arguments: ["reply_timeout_seconds", "lock_timeout_ms"])
    func refused(key: String) throws {
        let error = #expect(throws: ConfigError.self) { try resolve("[database]\n\(key) = 0\n") }
        #expect(error?.description.hasSuffix("database.\(key) must be a positive integer, got 0") == true)
    }
}
