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
            case (.worktree(let id), .state): event.ids.isEmpty || event.ids.contains(id)
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

/// A session's subscriptions: the URIs it asked for, and the feed that says when they change
/// (started with the first subscription). Each change sends `notifications/resources/updated`
/// for every subscribed URI it may touch.
package final class McpSubscriptions: Sendable {
    private let state = Mutex<(uris: Set<String>, feed: RegistryFeed?)>(([], nil))
    private let makeFeed: @Sendable () throws -> RegistryFeed
    private let notify: @Sendable (String) async -> Void
    private let logger: Logger

    package init(makeFeed: @escaping @Sendable () throws -> RegistryFeed, logger: Logger, notify: @escaping @Sendable (String) async -> Void) {
        self.makeFeed = makeFeed
        self.logger = logger
        self.notify = notify
    }

    package func subscribe(_ uri: String) throws {
        guard McpResources.Target(uri) != nil else {
            throw McpToolError("resources/subscribe: \(McpArguments.echoed(uri)) is not a resource of this server")
        }
        let started = try state.withLock { state -> RegistryFeed? in
            state.uris.insert(uri)
            guard state.feed == nil else { return nil }
            let feed = try makeFeed()
            state.feed = feed
            return feed
        }
        guard let started, let events = started.subscribe() else { return }
        started.start()
        Task { [self] in
            for await event in events {
                let uris = state.withLock { $0.uris }.filter { McpResources.Target($0)?.isTouched(by: event) == true }
                for uri in uris.sorted() { await notify(uri) }
            }
        }
    }

    package func unsubscribe(_ uri: String) {
        state.withLock { _ = $0.uris.remove(uri) }
    }

    package var subscribed: Set<String> { state.withLock { $0.uris } }

    package func stop() {
        state.withLock { $0.feed }?.stop()
    }
}
