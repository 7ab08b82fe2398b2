import Foundation
import GitProbe
import Logging
import MCP
import PostgresClient
import RegistryClient
import RegistryDocuments
import WorktreeProbing

/// The tools `imi-sync mcp` serves: what each takes (a JSON Schema) and what it answers.
package struct McpTools: Sendable {
    package let worker: any RegistryRunner
    /// This machine's name in the registry: `refresh` probes only its worktrees.
    package let hostName: String
    /// Where the details of a failed call go (standard error); the agent gets one line.
    package let logger: Logger
    /// The server's working directory: the registered worktree it lies in names the project
    /// the list tools show first (agents start their MCP servers in the directory they work in).
    package let workingDirectory: String?

    package static let definitions: [Tool] = [
        Tool(
            name: "list_inflight_work",
            description: """
                In-flight worktrees (uncommitted changes, ahead, behind or diverged; merged with \
                uncommitted changes), a page at a time: the preferred project's first (by default the \
                project of the worktree this server runs in), then the most recently changed. The answer \
                has `total` and `next_cursor` (pass it as `cursor` for the next page; null on the last).
                """,
            inputSchema: schema(pageProperties(statuses: inflightStatuses)),
            annotations: .init(readOnlyHint: true)),
        Tool(
            name: "list_worktrees",
            description: """
                Registered worktrees with their git state, active ones unless include_inactive, a page \
                at a time in the order and shape of list_inflight_work.
                """,
            inputSchema: schema(pageProperties(statuses: inflightStatuses + ["clean", "unknown"]).merging([
                "include_inactive": .object(["type": "boolean", "description": "Also deactivated worktrees."])
            ]) { first, _ in first }),
            annotations: .init(readOnlyHint: true)),
        Tool(
            name: "get_worktree_state",
            description: """
                One worktree's state: git state, last commit, holder, change set size. With refresh, a \
                worktree of this host is read now with libgit2 and the row written.
                """,
            inputSchema: schema(worktreeReference.merging([
                "refresh": .object(["type": "boolean", "description": "Probe now (worktrees of this host only)."])
            ]) { first, _ in first })),
        Tool(
            name: "find_overlaps",
            description: """
                Other in-flight worktrees that change the same files as this one (or this one file), \
                with the conflict verdict of merging the two (null: on another host, not merged here).
                """,
            inputSchema: schema(worktreeReference.merging([
                "file": .object(["type": "string", "description": "Only this path (relative to the worktree top)."]),
                "limit": limitProperty, "cursor": cursorProperty,
            ]) { first, _ in first }),
            annotations: .init(readOnlyHint: true)),
        Tool(
            name: "claim_worktree",
            description: """
                Claim a worktree for an agent: an atomic compare-and-set on its agent_id. Free, already \
                yours, or an expired lease: claimed; else you are told who holds it.
                """,
            inputSchema: schema(worktreeReference.merging([
                "agent_id": .object(["type": "string", "description": "Who claims it."]),
                "lease_seconds": .object([
                    "type": "integer", "minimum": 1, "maximum": 604_800,
                    "description": "The claim lapses after this long (default: until released).",
                ]),
            ]) { first, _ in first }, required: ["agent_id"])),
        Tool(
            name: "release_worktree",
            description: "Release a worktree; only its holder can.",
            inputSchema: schema(worktreeReference.merging([
                "agent_id": .object(["type": "string", "description": "The holder."])
            ]) { first, _ in first }, required: ["agent_id"])),
        Tool(
            name: "registry_stats",
            description: "Counts: projects, worktrees, types, activities, in-flight states, last sync.",
            inputSchema: schema([:]),
            annotations: .init(readOnlyHint: true)),
    ]

    /// The statuses of `v_inflight_work`.
    static let inflightStatuses = ["uncommitted", "diverged", "ahead", "behind", "merged"]
    /// Rows a page holds unless `limit` says otherwise, and at most.
    package static let defaultLimit = 50
    package static let maximumLimit = 1000

    private static let limitProperty: Value = .object([
        "type": "integer", "minimum": 1, "maximum": .int(maximumLimit),
        "description": .string("Rows in this page (default \(defaultLimit))."),
    ])
    private static let cursorProperty: Value = .object([
        "type": "string", "description": "The next_cursor of the previous page; omit for the first page.",
    ])

    private static func pageProperties(statuses: [String]) -> [String: Value] {
        [
            "project": .object(["type": "string", "description": "Only this project (by name)."]),
            "host": .object(["type": "string", "description": "Only worktrees on this host."]),
            "status": .object([
                "type": "string", "enum": .array(statuses.map { .string($0) }), "description": "Only this status.",
            ]),
            "prefer_project": .object([
                "type": "string",
                "description": "List this project's worktrees first (default: the project of the worktree the server runs in).",
            ]),
            "limit": limitProperty, "cursor": cursorProperty,
        ]
    }

    private static let worktreeReference: [String: Value] = [
        "path": .object(["type": "string", "description": "The worktree's directory (give this or worktree_id)."]),
        "worktree_id": .object(["type": "string", "format": "uuid", "description": "The worktree's id."]),
    ]

    private static func schema(_ properties: [String: Value], required: [String] = []) -> Value {
        var schema: [String: Value] = ["type": "object", "properties": .object(properties), "additionalProperties": false]
        if !required.isEmpty { schema["required"] = .array(required.map { .string($0) }) }
        return .object(schema)
    }

    /// Answers one call: its JSON document once, as text content, or a tool error with one
    /// line (``McpFailure``: no SQL, no connection target). No structured content: the tools
    /// declare no output schema, so MCP does not ask for it, and sending both would put the
    /// document on the wire twice (docs/mcp.md).
    package func call(_ name: String, arguments: [String: Value]?) async -> CallTool.Result {
        let arguments = McpArguments(tool: name, values: arguments ?? [:])
        do {
            let json = try await answer(name, arguments)
            return CallTool.Result(content: [.text(text: json, annotations: nil, _meta: nil)], isError: false)
        } catch {
            let text = McpFailure.text(for: error, tool: name, logger: logger)
            return CallTool.Result(content: [.text(text: text, annotations: nil, _meta: nil)], isError: true)
        }
    }

    private func answer(_ name: String, _ arguments: McpArguments) async throws -> String {
        let known = Set(Self.definitions.map(\.name))
        guard known.contains(name) else {
            throw McpToolError("unknown tool \(McpArguments.echoed(name)); the tools are \(known.sorted().joined(separator: ", "))")
        }
        let allowed = Set(Self.properties(of: name))
        if let unexpected = arguments.values.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw McpToolError("\(name): unknown argument \(McpArguments.echoed(unexpected))")
        }
        switch name {
        case "list_inflight_work", "list_worktrees":
            return try await listPage(name, arguments)
        case "get_worktree_state":
            let reference = try arguments.worktreeReference()
            let refresh = try arguments.bool("refresh") ?? false
            return McpDocuments.render(try await state(reference, refresh: refresh))
        case "find_overlaps":
            return try await overlapPage(arguments)
        case "claim_worktree":
            let reference = try arguments.worktreeReference()
            let agent = try arguments.requiredString("agent_id")
            let lease = try arguments.integer("lease_seconds", in: 1...604_800)
            let outcome = try await worker.run { registry in
                let record = try Self.resolve(reference, tool: name, registry: registry)
                guard let outcome = try registry.claim(record.id, agent: agent, leaseSeconds: lease) else {
                    throw McpToolError("\(name): the worktree was deactivated meanwhile")
                }
                return outcome
            }
            return McpDocuments.render(McpDocuments.Claim(claimed: outcome.claimed, agentId: outcome.holder, expiresAt: outcome.expiresAt))
        case "release_worktree":
            let reference = try arguments.worktreeReference()
            let agent = try arguments.requiredString("agent_id")
            let released = try await worker.run { registry in
                let record = try Self.resolve(reference, tool: name, registry: registry)
                return try registry.release(record.id, agent: agent) ?? false
            }
            return McpDocuments.render(["released": released])
        default:  // registry_stats
            let stats = try await worker.run { registry in try registry.stats() }
            return McpDocuments.render(McpDocuments.Stats(stats))
        }
    }

    private static func properties(of tool: String) -> [String] {
        guard let definition = definitions.first(where: { $0.name == tool }),
            case .object(let schema) = definition.inputSchema, case .object(let properties)? = schema["properties"]
        else { return [] }
        return Array(properties.keys)
    }

    /// The worktree a reference names, or one line saying it is not registered.
    package static func resolve(
        _ reference: (id: String?, path: String?), tool: String, registry: Registry
    ) throws -> WorktreeRecord {
        let records = try registry.worktreeRecords(id: reference.id, path: reference.path)
        guard let record = records.first else {
            if let path = reference.path { throw McpToolError("\(tool): no active worktree is registered at \(path)") }
            throw McpToolError("\(tool): no worktree has the id \(reference.id ?? "")")
        }
        return record
    }

    /// How long a refresh's probe may run before the tool gives up on it.
    package static let refreshPatience: Duration = .seconds(30)

    /// The stored state, or with `refresh` a fresh probe written to the row. The probe runs
    /// between two turns on the connection, never inside one: a connection the agent shares
    /// is not held while a worktree is read.
    func state(_ reference: (id: String?, path: String?), refresh: Bool) async throws -> McpDocuments.StateResult {
        let record = try await worker.run { registry in try Self.resolve(reference, tool: "get_worktree_state", registry: registry) }
        guard refresh else { return McpDocuments.StateResult(worktree: .init(record), refreshed: false) }
        let hostName = self.hostName
        guard record.host == nil || record.host == hostName else {
            throw McpToolError(
                "get_worktree_state: \(record.path) is on host \(record.host!); only that host can read it (this is \(hostName))")
        }
        // On the prober's guarded workers: a FIFO or a hung file system in this worktree
        // gives a tool error, never a server whose one registry thread is stuck.
        let probed = try await worker.perform {
            WorktreeProber(patience: Self.refreshPatience).probeAll([
                RegisteredWorktree(id: record.id, projectName: "", name: record.path, path: record.path, defaultBranch: record.defaultBranch)
            ])
        }
        guard let outcome = probed.first, let state = outcome.state, var update = outcome.update else {
            throw McpToolError("get_worktree_state: cannot read \(record.path): \(probed.first?.failure.map(String.init(describing:)) ?? "no answer")")
        }
        update.worktreeID = record.id
        let written = update
        // The one write path for git state: only a changed row, refusals reported, and
        // listeners (agents, dashboards) told through NOTIFY.
        let (refusal, fresh) = try await worker.run { registry -> (WriteRefusal?, WorktreeRecord?) in
            let refusal = try registry.writeChanged([written]).refused[record.id]
            return (refusal, refusal == nil ? try registry.worktreeRecords(id: record.id).first : nil)
        }
        var writeError: String?
        if let refusal {
            logger.notice("get_worktree_state: the fresh state was not written", metadata: ["error": "\(refusal)"])
            writeError = McpFailure.summary(of: refusal)
        }
        var shown = fresh ?? record
        if fresh == nil {
            shown.uncommittedFilesCount = state.uncommittedFilesCount
            shown.aheadOfTrunk = state.aheadOfTrunk
            shown.behindTrunk = state.behindTrunk
            shown.lastCommitHash = state.lastCommitHash
            shown.lastCommitMessage = state.lastCommitMessage
            shown.mergedAt = update.mergedAt
            shown.mergedBy = update.mergedBy
            shown.mergeCommitHash = update.mergeCommitHash
            shown.status = outcome.status
        }
        return McpDocuments.StateResult(worktree: .init(shown), refreshed: true, written: refusal == nil, writeError: writeError)
    }

    package init(
        worker: any RegistryRunner, hostName: String, logger: Logger,
        workingDirectory: String? = FileManager.default.currentDirectoryPath
    ) {
        self.worker = worker
        self.hostName = hostName
        self.logger = logger
        self.workingDirectory = workingDirectory
    }
}
