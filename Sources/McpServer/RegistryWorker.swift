import Dispatch
import PostgresClient
import RegistryClient

/// The registry on a thread of its own: libpq and libgit2 block, MCP handlers are async, and
/// nothing may block Swift's cooperative pool. One connection, opened on first use and opened
/// again after it broke, so a database that was down is used again once it is back.
package final class RegistryWorker: @unchecked Sendable {
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
}
