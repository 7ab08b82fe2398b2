import AgentHub
import Dispatch
import Foundation
import Logging
import MCP
import RegistryEvents

/// One tool call as it travels from an `imi-sync mcp` session to its host's agent, and back.
package struct HubToolCall: Codable, Sendable {
    /// Bumped when the message changes; an agent that speaks another answers `refused`.
    package static let currentVersion = 1
    package var version = Self.currentVersion
    package var tool: String
    package var arguments: [String: Value]?
    /// The session's working directory (it names the project the list tools show first).
    package var workingDirectory: String?
    /// The host and database the session is configured for; the agent serves only its own.
    package var host: String
    package var database: String
}

/// A change the agent pushes to watching sessions.
package struct HubEvent: Codable, Sendable {
    package var event: String
    package var ids: [String]
}

package struct HubToolAnswer: Codable, Sendable {
    package var text: String = ""
    package var isError = false
    /// Set when the agent will not serve this session (another host or database, another
    /// version); the session answers with a connection of its own instead.
    package var refused: String?
}

/// The agent's side: answers hub calls with the MCP tools on the agent's connection.
package struct McpHubService: Sendable {
    package let runner: any RegistryRunner
    package let hostName: String
    package let database: String
    package let logger: Logger

    package init(runner: any RegistryRunner, hostName: String, database: String, logger: Logger) {
        self.runner = runner
        self.hostName = hostName
        self.database = database
        self.logger = logger
    }

    /// The name of the call that makes a session a watcher of the registry's changes.
    package static let watch = "watch"

    package func answer(_ line: Data) async -> HubServer.HubAnswer {
        let answer: HubToolAnswer
        var watching = false
        if let call = try? JSONDecoder().decode(HubToolCall.self, from: line) {
            answer = await self.answer(call)
            watching = call.tool == Self.watch && answer.refused == nil
        } else {
            answer = HubToolAnswer(refused: "not a tool call this agent understands")
        }
        let encoded = (try? JSONEncoder().encode(answer)) ?? Data(#"{"refused":"cannot encode the answer"}"#.utf8)
        return HubServer.HubAnswer(line: encoded, watch: watching)
    }

    /// One pushed line: a change of the registry, as the watchers read it.
    package static func eventLine(_ event: RegistryEvent) -> Data {
        (try? JSONEncoder().encode(HubEvent(event: event.kind.rawValue, ids: event.ids))) ?? Data()
    }

    private func answer(_ call: HubToolCall) async -> HubToolAnswer {
        guard call.version == HubToolCall.currentVersion else {
            return HubToolAnswer(refused: "the agent speaks hub version \(HubToolCall.currentVersion), the session \(call.version)")
        }
        guard call.host == hostName, call.database == database else {
            return HubToolAnswer(refused: "the agent serves host \(hostName) on \(database)")
        }
        if call.tool == Self.watch { return HubToolAnswer(text: "watching") }
        if call.tool == McpRouter.readResource {
            // A resource read travels as a call of this name with the URI as its argument.
            let uri = call.arguments?["uri"]?.stringValue ?? ""
            do {
                return HubToolAnswer(text: try await McpResources(runner: runner).read(uri), isError: false)
            } catch {
                return HubToolAnswer(text: McpFailure.text(for: error, tool: "resources/read", logger: logger), isError: true)
            }
        }
        let tools = McpTools(worker: runner, hostName: hostName, logger: logger, workingDirectory: call.workingDirectory)
        let result = await tools.call(call.tool, arguments: call.arguments)
        let text = result.content.compactMap { if case .text(let text, _, _) = $0 { text } else { nil } }.joined()
        return HubToolAnswer(text: text, isError: result.isError ?? false)
    }
}

/// The session's side: each call goes to the host's agent when one serves the hub socket, and
/// is answered with a connection of the session's own when none does. The session's own
/// connection is opened only then, and closed again once the agent answers.
package final class McpRouter: Sendable {
    private let local: McpTools
    private let ownWorker: RegistryWorker
    private let hub: HubClient?
    private let queue = DispatchQueue(label: "imi-sync.mcp.hub")
    private let host: String
    private let database: String
    /// A call through the hub may take as long as a refresh's probe and two statements.
    private static let patience: Duration = McpTools.refreshPatience + .seconds(25)
    /// Calls that are safe to make again on the session's own connection when the agent went
    /// away mid-call (everything but a release: a second release would say "not released").
    private static let retriable: Set<String> = [
        readResource, "list_inflight_work", "list_worktrees", "get_worktree_state", "find_overlaps", "claim_worktree", "registry_stats",
    ]

    /// The agent's socket and the request that makes this session a watcher there.
    package var watch: (path: String, request: Data)? {
        guard let hub else { return nil }
        let call = HubToolCall(tool: McpHubService.watch, arguments: nil, workingDirectory: nil, host: host, database: database)
        return (try? JSONEncoder().encode(call)).map { (hub.path, $0) }
    }

    package init(local: McpTools, ownWorker: RegistryWorker, hubPath: String?, host: String, database: String) {
        self.local = local
        self.ownWorker = ownWorker
        self.hub = hubPath.map(HubClient.init(path:))
        self.host = host
        self.database = database
    }

    /// The name a resource read travels under through the hub.
    package static let readResource = "resources/read"

    /// The document `uri` names: through the agent when it serves, else on the session's own
    /// connection. Throws a one-line error the client sees as the request's error.
    package func read(_ uri: String) async throws -> String {
        let answer = await call(Self.readResource, arguments: ["uri": .string(uri)])
        let text = answer.content.compactMap { if case .text(let text, _, _) = $0 { text } else { nil } }.joined()
        if answer.isError == true { throw MCPError.invalidParams(text) }
        return text
    }

    package func call(_ name: String, arguments: [String: Value]?) async -> CallTool.Result {
        if let hub {
            let call = HubToolCall(
                tool: name, arguments: arguments, workingDirectory: local.workingDirectory, host: host, database: database)
            switch await send(call, through: hub) {
            case .answered(let answer):
                if ownWorker.isOpen { ownWorker.close() }
                return CallTool.Result(content: [.text(text: answer.text, annotations: nil, _meta: nil)], isError: answer.isError)
            case .elsewhere(let why):
                local.logger.debug("answering without the agent", metadata: ["reason": "\(why)"])
            case .interrupted(let why) where !Self.retriable.contains(name):
                local.logger.warning("the agent stopped during a call", metadata: ["mcp.tool": "\(name)", "reason": "\(why)"])
                return CallTool.Result(
                    content: [.text(
                        text: "\(name): the agent stopped during the call; it may or may not have been carried out, check and call again",
                        annotations: nil, _meta: nil)],
                    isError: true)
            case .interrupted(let why):
                local.logger.notice("the agent stopped during a call; answering it here", metadata: ["mcp.tool": "\(name)", "reason": "\(why)"])
            }
        }
        if name == Self.readResource {
            do {
                let text = try await McpResources(runner: ownWorker).read(arguments?["uri"]?.stringValue ?? "")
                return CallTool.Result(content: [.text(text: text, annotations: nil, _meta: nil)], isError: false)
            } catch {
                let text = McpFailure.text(for: error, tool: "resources/read", logger: local.logger)
                return CallTool.Result(content: [.text(text: text, annotations: nil, _meta: nil)], isError: true)
            }
        }
        return await local.call(name, arguments: arguments)
    }

    private enum Routed {
        case answered(HubToolAnswer)
        /// Not carried out by the agent: answer here.
        case elsewhere(String)
        case interrupted(String)
    }

    private func send(_ call: HubToolCall, through hub: HubClient) async -> Routed {
        guard let request = try? JSONEncoder().encode(call) else { return .elsewhere("cannot encode the call") }
        return await withCheckedContinuation { continuation in
            queue.async {
                do throws(HubClient.Failure) {
                    let line = try hub.call(request, patience: Self.patience)
                    guard let answer = try? JSONDecoder().decode(HubToolAnswer.self, from: line) else {
                        return continuation.resume(returning: .interrupted("the agent's answer was not understood"))
                    }
                    if let refused = answer.refused { return continuation.resume(returning: .elsewhere(refused)) }
                    continuation.resume(returning: .answered(answer))
                } catch {
                    switch error {
                    case .unavailable(let why): continuation.resume(returning: .elsewhere(why))
                    case .interrupted(let why): continuation.resume(returning: .interrupted(why))
                    }
                }
            }
        }
    }
}
