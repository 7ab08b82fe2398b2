import ArgumentParser
import Foundation
import Logging
import MCP
import AgentHub
import LinuxPlatform
import McpServer
import RegistryEvents

/// `imi-sync mcp`: in-flight work as tools for AI agents, over stdio.
struct Mcp: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mcp",
        abstract: "Serve the registry to AI agents as MCP tools (stdio).",
        discussion: """
            An MCP server on standard input and output (logs go to standard error only). Tools: \
            list_inflight_work, list_worktrees, get_worktree_state, find_overlaps, claim_worktree, \
            release_worktree, registry_stats. While this host's agent (`imi-sync run`) runs, calls go \
            through it (a Unix socket in $XDG_RUNTIME_DIR/imi-sync, mode 600) and share its one \
            database connection; without it the session opens its own, found as for every command. \
            A database that is down makes calls fail with one line until it is back. Add it to an agent with \
            `claude mcp add imi -- imi-sync mcp`.
            """)

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let logger = global.makeLogger()
        let config = try global.resolvedConfig()
        let ownWorker = RegistryWorker(settings: config.backgroundConnectionSettings)
        let tools = McpRouter(
            local: McpTools(worker: ownWorker, hostName: config.hostName.value, logger: logger), ownWorker: ownWorker,
            hubPath: HubSocket.path(
                directory: RuntimeDirectory.path(environment: ProcessInfo.processInfo.environment), host: config.hostName.value),
            host: config.hostName.value, database: config.backgroundConnectionSettings.redactedDescription)
        let initialization = McpInitialization()
        let server = Server(
            name: "imi-sync", version: ImiSync.version,
            instructions: """
                The iMi registry of git worktrees: who works where, what is uncommitted or ahead, and \
                which worktrees change the same files. Claim a worktree before working in it.
                """,
            capabilities: .init(resources: .init(subscribe: true, listChanged: false), tools: .init(listChanged: false)))
        let subscriptions = McpSubscriptions(
            hub: tools.watch,
            makeFeed: {
                let settings = config.backgroundConnectionSettings
                return try RegistryFeed(
                    settings: try Serve.feedSettings(config, settings: settings), poll: try Serve.poll(config, settings: settings),
                    maximumStreams: 1, logger: logger)
            },
            logger: logger,
            notify: { [weak server] uri in
                try? await server?.notify(ResourceUpdatedNotification.message(.init(uri: uri)))
            })
        defer { subscriptions.stop() }
        _ = await server.withMethodHandler(ListResources.self) { _ in
            try initialization.requireInitialized(ListResources.name)
            return .init(resources: McpResources.listed)
        }
        _ = await server.withMethodHandler(ListResourceTemplates.self) { _ in
            try initialization.requireInitialized(ListResourceTemplates.name)
            return .init(templates: McpResources.templates)
        }
        _ = await server.withMethodHandler(ReadResource.self) { params in
            try initialization.requireInitialized(ReadResource.name)
            let text = try await tools.read(params.uri)
            return .init(contents: [.text(text, uri: params.uri, mimeType: "application/json")])
        }
        _ = await server.withMethodHandler(ResourceSubscribe.self) { params in
            try initialization.requireInitialized(ResourceSubscribe.name)
            do {
                try subscriptions.subscribe(params.uri)
            } catch let refusal as McpToolError {
                throw MCPError.invalidParams(refusal.description)
            }
            return Empty()
        }
        _ = await server.withMethodHandler(ResourceUnsubscribe.self) { params in
            subscriptions.unsubscribe(params.uri)
            return Empty()
        }
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
