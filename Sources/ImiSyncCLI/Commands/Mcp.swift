import ArgumentParser
import Foundation
import Logging
import MCP
import McpServer

/// `imi-sync mcp`: in-flight work as tools for AI agents, over stdio.
struct Mcp: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mcp",
        abstract: "Serve the registry to AI agents as MCP tools (stdio).",
        discussion: """
            An MCP server on standard input and output (logs go to standard error only). Tools: \
            list_inflight_work, list_worktrees, get_worktree_state, find_overlaps, claim_worktree, \
            release_worktree, registry_stats. The database is found as for every command; a database \
            that is down makes calls fail with one line until it is back. Add it to an agent with \
            `claude mcp add imi -- imi-sync mcp`.
            """)

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let logger = global.makeLogger()
        let config = try global.resolvedConfig()
        let tools = McpTools(
            worker: RegistryWorker(settings: config.backgroundConnectionSettings), hostName: config.hostName.value, logger: logger)
        let initialization = McpInitialization()
        let server = Server(
            name: "imi-sync", version: ImiSync.version,
            instructions: """
                The iMi registry of git worktrees: who works where, what is uncommitted or ahead, and \
                which worktrees change the same files. Claim a worktree before working in it.
                """,
            capabilities: .init(tools: .init(listChanged: false)))
        _ = await server.withMethodHandler(ListTools.self) { _ in
            try initialization.requireInitialized(ListTools.name)
            return .init(tools: McpTools.definitions)
        }
        _ = await server.withMethodHandler(CallTool.self) { params in
            try initialization.requireInitialized(CallTool.name)
            return await tools.call(params.name, arguments: params.arguments)
        }
        try await server.start(transport: StdioLineTransport(logger: logger)) { _, _ in
            initialization.markInitialized()
        }
        logger.info("serving MCP on stdio")
        await server.waitUntilCompleted()
    }
}
