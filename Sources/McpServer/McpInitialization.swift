import MCP
import Synchronization

/// Whether the client has sent `initialize`: until then tool calls and listings are refused
/// with a JSON-RPC error, as the MCP lifecycle requires (the SDK's own strict mode drops such
/// requests without any answer).
package final class McpInitialization: Sendable {
    private let initialized = Atomic<Bool>(false)

    package init() {}

    /// Called from the server's initialize hook.
    package func markInitialized() {
        initialized.store(true, ordering: .releasing)
    }

    /// Throws the JSON-RPC error for a request that came before `initialize`.
    package func requireInitialized(_ method: String) throws {
        guard initialized.load(ordering: .acquiring) else {
            throw MCPError.invalidRequest("\(method) before initialize: send initialize first")
        }
    }
}
