import AgentHub
import Dispatch
import Foundation
import Logging
import McpServer
import PostgresClient
import RegistryClient
import RegistryEvents

/// The agent as its host's hub: the local `imi-sync mcp` sessions send their tool calls to
/// the agent's socket and they run on the agent's one connection (``SharedConnection``), so a
/// host holds one PostgreSQL connection however many agent sessions it runs.
package final class AgentHubService: @unchecked Sendable {
    private let server: HubServer

    /// Binds the socket at `path`. The calls run as ``McpHubService`` on `shared`; `wake` is
    /// called when one found the connection lost, so the agent loop reconnects at once.
    package init(
        path: String, shared: SharedConnection, hostName: String, database: String, logger: Logger,
        wake: @escaping @Sendable () -> Void
    ) throws {
        let service = McpHubService(
            runner: SharedRunner(shared: shared, wake: wake), hostName: hostName, database: database, logger: logger)
        server = try HubServer(path: path, logger: logger) { line in await service.answer(line) }
    }

    /// Pushes `event` to every watching session.
    package func push(_ event: RegistryEvent) {
        server.broadcast(McpHubService.eventLine(event))
    }

    package var watcherCount: Int { server.watcherCount }

    package func start() throws { try server.start() }
    package func stop() { server.stop() }
    package var path: String { server.path }
    package var sessionCount: Int { server.clientCount }
}

/// The MCP tools' registry work on the agent's shared connection, off the cooperative pool.
struct SharedRunner: RegistryRunner {
    let shared: SharedConnection
    let wake: @Sendable () -> Void
    private static let queue = DispatchQueue(label: "imi-sync.hub.calls", attributes: .concurrent)

    func run<Result: Sendable>(_ body: @escaping @Sendable (Registry) throws -> Result) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            Self.queue.async {
                do {
                    continuation.resume(returning: try shared.withRegistry(body))
                } catch {
                    if let lost = error as? PostgresError, lost.code == .connection { wake() }
                    continuation.resume(throwing: error)
                }
            }
        }
    }

    func perform<Result: Sendable>(_ body: @escaping @Sendable () throws -> Result) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            Self.queue.async { continuation.resume(with: Swift.Result { try body() }) }
        }
    }
}
