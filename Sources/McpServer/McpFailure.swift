import Logging
import PostgresClient
import RegistryClient

/// What a tool result says about a failure: one line for the agent, never a statement's text,
/// the connection target or the server's own words (the SQLSTATE names the kind); the full
/// error goes to the log on standard error.
package enum McpFailure {
    /// The tool result's text for `error`, logged with its details.
    package static func text(for error: any Error, tool: String, logger: Logger) -> String {
        if let refusal = error as? McpToolError { return refusal.description }
        logger.error("MCP tool call failed", metadata: ["mcp.tool": "\(tool)", "error": "\(error)"])
        return "\(tool): \(summary(of: error))"
    }

    /// A few words on what went wrong, safe to hand to the agent.
    package static func summary(of error: any Error) -> String {
        switch error {
        case let failure as PostgresError:
            switch failure.code {
            case .connection: return "the registry is unreachable"
            case .decode: return "the registry answered with an unexpected value"
            case .invalidInput: return "the registry connection is misconfigured (see the server's log)"
            case .query: return summary(sqlState: failure.sqlState)
            }
        case let refusal as WriteRefusal:
            switch refusal {
            case .statement(let failure): return summary(of: failure)
            case .notWritable: return "row-level security does not let this role change the row (see the server's log)"
            }
        case is RegistryError:
            return "the registry's schema is not ready (see the server's log)"
        default:
            return "internal error (see the server's log)"
        }
    }

    package static func summary(sqlState: String?) -> String {
        guard let sqlState else { return "the registry refused the request" }
        let words =
            switch sqlState {
            case "42501": "permission denied"
            case "40001", "40P01": "a concurrent change got in the way, try again"
            case _ where sqlState.hasPrefix("54"): "a value is too large for the registry"
            case _ where sqlState.hasPrefix("22"): "a value the registry cannot store"
            case _ where sqlState.hasPrefix("23"): "the registry's constraints refuse it"
            case _ where sqlState.hasPrefix("08") || sqlState.hasPrefix("57P"): "the registry is unreachable"
            default: "the registry refused the request"
            }
        return "\(words) (SQLSTATE \(sqlState))"
    }
}
