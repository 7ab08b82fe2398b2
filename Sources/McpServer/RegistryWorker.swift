import Dispatch
import PostgresClient
import RegistryClient

/// Where the MCP tools run their registry work: a connection of the session's own
/// (``RegistryWorker``), or the agent's one connection when the call came through the hub.
/// Both run blocking work (libpq, libgit2) off Swift's cooperative pool.
package protocol RegistryRunner: Sendable {
    /// Runs `body` with the registry, alone on the connection.
    func run<Result: Sendable>(_ body: @escaping @Sendable (Registry) throws -> Result) async throws -> Result
    /// Runs blocking work that needs no connection (a probe), without holding it.
    func perform<Result: Sendable>(_ body: @escaping @Sendable () throws -> Result) async throws -> Result
}

/// The registry on a thread of its own: libpq and libgit2 block, MCP handlers are async, and
/// nothing may block Swift's cooperative pool. One connection, opened on first use and opened
/// again after it broke, so a database that was down is used again once it is back.
package final class RegistryWorker: RegistryRunner, @unchecked Sendable {
    private let queue = DispatchQueue(label: "imi-sync.mcp.registry")
    private let settings: ConnectionSettings
    /// Touched only on `queue`.
    private var registry: Registry?

    package init(settings: ConnectionSettings) {
        self.settings = settings
    }

    /// Runs `body` on the worker's thread with the registry.
    package func run<Result: Sendable>(_ body: @escaping @Sendable (Registry) throws -> Result) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                do {
                    if self.registry == nil {
                        // Background bounds: a silent registry fails the tool call after the
                        // reply deadline (and is reopened next time) instead of hanging it.
                        self.registry = try Registry.open(self.settings.boundedForBackground)
                    }
                    continuation.resume(returning: try body(self.registry!))
                } catch {
                    if let failure = error as? PostgresError, failure.code == .connection { self.registry = nil }
                    continuation.resume(throwing: error)
                }
            }
        }
    }

    package func perform<Result: Sendable>(_ body: @escaping @Sendable () throws -> Result) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Swift.Result { try body() }) }
        }
    }

    /// Whether the worker holds a connection now.
    package var isOpen: Bool { queue.sync { registry != nil } }

    /// Closes the connection (the calls go through the agent again); the next call opens one.
    package func close() {
        queue.async { self.registry = nil }
    }
}
