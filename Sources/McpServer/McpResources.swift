import AgentHub
import Foundation
import Logging
import MCP
import RegistryClient
import RegistryDocuments
import RegistryEvents
import Synchronization

/// The registry as MCP resources an agent can read and subscribe to:
/// `imi://inflight` (the document of `status --json`), `imi://worktree/{id}` (the document of
/// `get_worktree_state`) and `imi://overlaps/{project}` (the document of `conflicts --json`
/// for one project). Reads run where the tools run (through the agent when it serves).
package struct McpResources: Sendable {
    package let runner: any RegistryRunner

    package init(runner: any RegistryRunner) {
        self.runner = runner
    }

    package static let inflight = "imi://inflight"
    package static let listed = [
        Resource(name: "inflight", uri: inflight, description: "Every host's in-flight worktrees (status --json)", mimeType: "application/json")
    ]
    package static let templates = [
        Resource.Template(
            uriTemplate: "imi://worktree/{id}", name: "worktree", description: "One worktree's state (get_worktree_state)",
            mimeType: "application/json"),
        Resource.Template(
            uriTemplate: "imi://overlaps/{project}", name: "overlaps",
            description: "A project's overlapping pairs and their conflict verdicts (conflicts --json)", mimeType: "application/json"),
    ]

    /// What a URI names.
    package enum Target: Equatable, Sendable {
        case inflight
        case worktree(String)
        case overlaps(String)

        package init?(_ uri: String) {
            if uri == McpResources.inflight {
                self = .inflight
            } else if uri.hasPrefix("imi://worktree/"), UUID(uuidString: String(uri.dropFirst("imi://worktree/".count))) != nil {
                self = .worktree(String(uri.dropFirst("imi://worktree/".count)).lowercased())
            } else if uri.hasPrefix("imi://overlaps/"), uri.count > "imi://overlaps/".count,
                let project = String(uri.dropFirst("imi://overlaps/".count)).removingPercentEncoding
            {
                self = .overlaps(project)
            } else {
                return nil
            }
        }

        /// Whether `event` may have changed what this URI shows.
        package func isTouched(by event: RegistryEvent) -> Bool {
            switch (self, event.kind) {
            case (_, .keepAlive): false
            case (.inflight, .overlaps): false
            case (.worktree(let id), .state), (.worktree(let id), .overlaps): event.ids.isEmpty || event.ids.contains(id)
            default: true
            }
        }
    }

    /// The document `uri` names, as JSON text; a tool error for a URI it does not serve.
    package func read(_ uri: String) async throws -> String {
        guard let target = Target(uri) else {
            throw McpToolError("resources/read: \(McpArguments.echoed(uri)) is not a resource of this server (imi://inflight, imi://worktree/{id}, imi://overlaps/{project})")
        }
        switch target {
        case .inflight:
            let work = try await runner.run { try $0.inflightWork(projectName: nil) }
            return JSONOutput.render(["inflight": work.map(InflightDocument.Row.init)], keysAreSnakeCase: true)
        case .worktree(let id):
            let records = try await runner.run { try $0.worktreeRecords(id: id) }
            guard let record = records.first else { throw McpToolError("resources/read: no worktree has the id \(id)") }
            return McpDocuments.render(McpDocuments.StateResult(worktree: .init(record), refreshed: false))
        case .overlaps(let project):
            let rows = try await runner.run { try $0.overlaps(project: project) }
            return JSONOutput.render(["pairs": OverlapDocument.pairs(rows)])
        }
    }
}

/// A session's subscriptions: the URIs it asked for, and where it hears of changes (started
/// with the first subscription): the host's agent, which pushes what it hears to watching
/// sessions over the hub, or, while no agent serves, a feed of the session's own (LISTEN, or
/// the version poll). Each change sends `notifications/resources/updated` for every subscribed
/// URI it may touch.
package final class McpSubscriptions: Sendable {
    private struct State {
        var uris: Set<String> = []
        var started = false
        var watcher: HubWatcher?
        var feed: RegistryFeed?
    }

    private let state = Mutex(State())
    private let hub: (path: String, request: Data)?
    private let makeFeed: @Sendable () throws -> RegistryFeed
    private let notify: @Sendable (String) async -> Void
    private let logger: Logger

    /// `hub`: the agent's socket and the watch request this session sends there.
    package init(
        hub: (path: String, request: Data)?, makeFeed: @escaping @Sendable () throws -> RegistryFeed, logger: Logger,
        notify: @escaping @Sendable (String) async -> Void
    ) {
        self.hub = hub
        self.makeFeed = makeFeed
        self.logger = logger
        self.notify = notify
    }

    package func subscribe(_ uri: String) throws {
        guard McpResources.Target(uri) != nil else {
            throw McpToolError("resources/subscribe: \(McpArguments.echoed(uri)) is not a resource of this server")
        }
        let start = state.withLock { state -> Bool in
            state.uris.insert(uri)
            defer { state.started = true }
            return !state.started
        }
        if start { try listen() }
    }

    package func unsubscribe(_ uri: String) {
        state.withLock { _ = $0.uris.remove(uri) }
    }

    package var subscribed: Set<String> { state.withLock { $0.uris } }

    /// Whether changes come from the agent now (false: from the session's own feed).
    package var throughAgent: Bool { state.withLock { $0.watcher != nil && $0.feed == nil } }

    package func stop() {
        let (watcher, feed) = state.withLock { ($0.watcher, $0.feed) }
        watcher?.stop()
        feed?.stop()
    }

    private func listen() throws {
        // The watch is answered before this returns: a change made once `subscribe` returned
        // is pushed.
        if let hub, let watcher = try? HubWatcher(path: hub.path, request: hub.request) {
            if let answer = try? JSONDecoder().decode(HubToolAnswer.self, from: watcher.answer), let refused = answer.refused {
                logger.debug("the agent does not serve this session's subscriptions", metadata: ["reason": "\(refused)"])
                return try listenAlone()
            }
            state.withLock { $0.watcher = watcher }
            watcher.start(
                onLine: { [self] line in
                    if let event = try? JSONDecoder().decode(HubEvent.self, from: line),
                        let kind = RegistryEvent.Kind(rawValue: event.event)
                    {
                        deliver(RegistryEvent(kind: kind, ids: event.ids))
                    }
                },
                onEnd: { [self] in
                    // The agent stopped: the session listens on its own from now on.
                    try? listenAlone()
                })
            return
        }
        try listenAlone()
    }

    private func listenAlone() throws {
        let feed = try state.withLock { state -> RegistryFeed? in
            guard state.feed == nil else { return nil }
            let feed = try makeFeed()
            state.feed = feed
            return feed
        }
        guard let feed, let events = feed.subscribe() else { return }
        feed.start()
        Task { [self] in
            for await event in events { deliver(event) }
        }
    }

    private func deliver(_ event: RegistryEvent) {
        let uris = state.withLock { $0.uris }.filter { McpResources.Target($0)?.isTouched(by: event) == true }
        guard !uris.isEmpty else { return }
        Task { [notify] in
            for uri in uris.sorted() { await notify(uri) }
        }
    }
}
