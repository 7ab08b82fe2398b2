import Foundation
import GitProbe
import Hummingbird
import Logging
import McpServer
import Prometheus
import PostgresClient
import RegistryClient
import RegistryDocuments
import RegistryEvents
import Synchronization

/// How `imi-sync serve` listens and whom it answers.
package struct ServeSettings: Sendable {
    package var host: String
    package var port: Int
    /// When set, every request for data carries `Authorization: Bearer TOKEN`.
    package var token: String?
    /// Event streams open at once; one more is answered 503.
    package var maximumStreams = 64
    /// This machine's name in the registry: a conflict's hunks are read only for pairs on it.
    package var hostName: String

    package init(host: String, port: Int, token: String?, maximumStreams: Int = 64, hostName: String) {
        self.host = host
        self.port = port
        self.token = token
        self.maximumStreams = maximumStreams
        self.hostName = hostName
    }

    /// Loopback addresses, where `serve` may listen without a token.
    package static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }
}

/// The dashboard's routes: the page and its two assets, the JSON documents the commands
/// print, and `/events`. Registry reads go through one connection (``RegistryWorker``);
/// changes come from ``RegistryFeed``.
package struct ServeApplication: Sendable {
    package let settings: ServeSettings
    package let worker: RegistryWorker
    package let feed: RegistryFeed
    package let logger: Logger

    package init(settings: ServeSettings, worker: RegistryWorker, feed: RegistryFeed, logger: Logger) {
        self.settings = settings
        self.worker = worker
        self.feed = feed
        self.logger = logger
    }

    /// The application; `onRunning` gets the port it listens on (useful with port 0).
    package func application(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        let router = Router()
        router.add(middleware: ServeGuard(token: settings.token))
        router.get("/") { _, _ in Self.asset(ServePage.html, type: "text/html; charset=utf-8") }
        router.get("/app.js") { _, _ in Self.asset(ServePage.script, type: "text/javascript; charset=utf-8") }
        router.get("/app.css") { _, _ in Self.asset(ServePage.style, type: "text/css; charset=utf-8") }
        router.get("/favicon.svg") { _, _ in Self.asset(ServePage.icon, type: "image/svg+xml") }
        router.get("/favicon.ico") { _, _ in Self.asset(ServePage.icon, type: "image/svg+xml") }
        let health = settings.token == nil ? #"{"ok":true,"token_required":false}"# : #"{"ok":true,"token_required":true}"#
        router.get("/healthz") { _, _ in Self.json(health) }
        let worker = self.worker
        let feed = self.feed
        let cache = DocumentCache(feed: feed)
        let patches = PatchFeed(feed: feed, worker: worker, logger: logger)
        Task { await patches.run() }
        router.get("/api/snapshot") { _, _ in
            guard let snapshot = await patches.snapshot() else {
                return Self.problem(.serviceUnavailable, "the registry has not been read yet; try again later")
            }
            var response = Self.json(snapshot.text)
            // The generation, also in the body.
            response.headers[.init("X-Imi-Generation")!] = String(snapshot.generation)
            return response
        }
        router.get("/api/inflight") { request, _ in
            let project = request.uri.queryParameters.get("project")
            return Self.json(try await cache.document("inflight\u{0}" + (project ?? "")) {
                let work = try await worker.run { try $0.inflightWork(projectName: project) }
                return JSONOutput.render(["inflight": work.map(InflightDocument.Row.init)], keysAreSnakeCase: true)
            })
        }
        router.get("/api/overlaps") { request, _ in
            let project = request.uri.queryParameters.get("project")
            return Self.json(try await cache.document("overlaps\u{0}" + (project ?? "")) {
                let rows = try await worker.run { try $0.overlaps(project: project) }
                return JSONOutput.render(["pairs": OverlapDocument.pairs(rows)])
            })
        }
        router.get("/api/worktrees/:id") { _, context in
            let id = try context.parameters.require("id")
            guard UUID(uuidString: id) != nil else { return Self.problem(.badRequest, "not a worktree id") }
            let records = try await worker.run { try $0.worktreeRecords(id: id) }
            guard let record = records.first else { return Self.problem(.notFound, "no worktree has this id") }
            return Self.json(McpDocuments.render(McpDocuments.StateResult(worktree: .init(record), refreshed: false)))
        }
        router.get("/api/worktrees/:id/activities") { _, context in
            let id = try context.parameters.require("id")
            guard UUID(uuidString: id) != nil else { return Self.problem(.badRequest, "not a worktree id") }
            let activities = try await worker.run { try $0.recentActivities(of: id) }
            return Self.json(JSONOutput.render(["activities": activities.map(ActivityRow.init)]))
        }
        let hostName = settings.hostName
        router.get("/api/hunks") { request, _ in
            let query = request.uri.queryParameters
            guard let a = query.get("a"), let b = query.get("b"), UUID(uuidString: a) != nil, UUID(uuidString: b) != nil,
                let path = query.get("path"), !path.isEmpty
            else { return Self.problem(.badRequest, "give a, b (worktree ids) and path") }
            let sides = try await worker.run { try $0.pairSides([a, b]) }
            guard sides.count == 2 else { return Self.problem(.notFound, "no such pair of active worktrees") }
            if let elsewhere = sides.first(where: { $0.host != nil && $0.host != hostName }) {
                return Self.problem(
                    .conflict, "\(elsewhere.name) is on host \(elsewhere.host ?? ""); its files can be read only there (this is \(hostName))")
            }
            let diffs = try await worker.perform {
                try sides.map { side -> HunkSide in
                    guard let base = side.baseCommit else {
                        return HunkSide(worktreeId: side.id, worktree: side.name, diff: nil, problem: "no change set yet")
                    }
                    do {
                        return HunkSide(worktreeId: side.id, worktree: side.name, diff: try WorkingDiff.of(path, in: side.path, since: base))
                    } catch {
                        return HunkSide(worktreeId: side.id, worktree: side.name, diff: nil, problem: "\(error)")
                    }
                }
            }
            return Self.json(JSONOutput.render(HunkDocument(path: path, sides: diffs)))
        }
        let metrics = ServeMetrics(feed: feed, cache: cache, patches: patches)
        router.get("/metrics") { _, _ in
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: await metrics.scrape())))
        }
        router.get("/events") { request, _ in
            // `?patches=1`: patches instead of the changed-row hints (the page).
            let patches = request.uri.queryParameters.get("patches") == "1"
            guard let stream = feed.subscribe(patches: patches) else {
                return Self.problem(.serviceUnavailable, "too many event streams are open; try again later")
            }
            var headers = HTTPFields()
            headers[.contentType] = "text/event-stream"
            headers[.cacheControl] = "no-store"
            return Response(status: .ok, headers: headers, body: ResponseBody { writer in
                try await writer.write(ByteBuffer(string: "retry: 2000\n: connected\n\n"))
                for await event in stream {
                    try await writer.write(ByteBuffer(string: Self.frame(event)))
                }
                try await writer.finish(nil)
            })
        }
        let logger = self.logger
        return Application(
            router: router,
            configuration: ApplicationConfiguration(address: .hostname(settings.host, port: settings.port), serverName: nil),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? 0) },
            logger: logger)
    }

    /// One server-sent event: `event: state` with the changed ids, a patch as its publisher
    /// formatted it, or a keep-alive comment.
    static func frame(_ event: RegistryEvent) -> String {
        if let frame = event.frame { return frame }
        guard event.kind != .keepAlive else { return ": keep-alive\n\n" }
        let ids = event.ids.filter { UUID(uuidString: $0) != nil }.map { "\"\($0)\"" }.joined(separator: ",")
        return "event: \(event.kind.rawValue)\ndata: {\"ids\":[\(ids)]}\n\n"
    }

    static func asset(_ text: String, type: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = type
        headers[.cacheControl] = "no-cache"
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    static func json(_ text: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        headers[.cacheControl] = "no-store"
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    static func problem(_ status: HTTPResponse.Status, _ message: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        let body = JSONOutput.render(["error": message])
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }
}

/// What every request passes first: only GET and HEAD, no body, the token where one is set
/// (the page and its assets hold no data and load without it), and headers that keep the
/// page to its own origin.
struct ServeGuard<Context: RequestContext>: RouterMiddleware {
    let token: String?
    private static var open: Set<String> { ["/", "/app.js", "/app.css", "/favicon.svg", "/favicon.ico", "/healthz"] }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method == .get || request.method == .head else {
            return ServeApplication.problem(.methodNotAllowed, "only GET")
        }
        if let length = request.headers[.contentLength].flatMap(Int.init), length > 0 {
            return ServeApplication.problem(.contentTooLarge, "requests carry no body")
        }
        if request.headers[.transferEncoding] != nil {
            return ServeApplication.problem(.contentTooLarge, "requests carry no body")
        }
        if let token, !Self.open.contains(request.uri.path) {
            guard Self.matches(request.headers[.authorization], token: token) else {
                var response = ServeApplication.problem(.unauthorized, "this dashboard needs its token")
                response.headers[.wwwAuthenticate] = "Bearer"
                return response
            }
        }
        var response = try await next(request, context)
        response.headers[.contentSecurityPolicy] =
            "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[.init("Referrer-Policy")!] = "no-referrer"
        return response
    }

    /// `Bearer TOKEN`, compared in time independent of where it differs.
    static func matches(_ header: String?, token: String) -> Bool {
        guard let header, header.hasPrefix("Bearer ") else { return false }
        let given = Array(header.dropFirst("Bearer ".count).utf8)
        let expected = Array(token.utf8)
        var difference = given.count == expected.count ? 0 : 1
        for index in 0..<max(given.count, expected.count) {
            let a = index < given.count ? given[index] : 0
            let b = index < expected.count ? expected[index] : 0
            difference |= Int(a ^ b)
        }
        return difference == 0
    }
}

/// `serve`'s `/metrics`: the event streams open, whether the feed listens, the events sent.
final class ServeMetrics: Sendable {
    private let registry = PrometheusCollectorRegistry()
    private let feed: RegistryFeed
    private let cache: DocumentCache
    private let reads: Counter
    private let requests: Counter
    private let exportedCache = Mutex((reads: 0, requests: 0))
    private let streams: Gauge
    private let listening: Gauge
    private let delivered: Counter
    private let exported = Mutex(0)
    private let patches: PatchFeed
    private let snapshotReads: Counter
    private let patchesSent: Counter
    private let snapshotRequests: Counter
    private let exportedPatches = Mutex((reads: 0, patches: 0, snapshots: 0))

    init(feed: RegistryFeed, cache: DocumentCache, patches: PatchFeed) {
        self.feed = feed
        self.cache = cache
        self.patches = patches
        snapshotReads = registry.makeCounter(
            name: "imi_sync_serve_snapshot_reads_total", help: "Reads of both documents for the event streams' patches")
        patchesSent = registry.makeCounter(name: "imi_sync_serve_patches_total", help: "Patches sent to every event stream")
        snapshotRequests = registry.makeCounter(name: "imi_sync_serve_snapshot_requests_total", help: "Snapshot requests answered")
        reads = registry.makeCounter(name: "imi_sync_serve_document_reads_total", help: "Documents read from the registry")
        requests = registry.makeCounter(name: "imi_sync_serve_document_requests_total", help: "Document requests answered")
        streams = registry.makeGauge(name: "imi_sync_serve_event_streams", help: "Event streams open")
        listening = registry.makeGauge(name: "imi_sync_serve_feed_up", help: "1 while the registry feed is connected")
        delivered = registry.makeCounter(name: "imi_sync_serve_events_total", help: "Events handed to event streams")
    }

    func scrape() async -> String {
        let (readCount, requestCount) = (await cache.reads, await cache.requests)
        exportedCache.withLock { last in
            if readCount > last.reads { reads.increment(by: Int64(readCount - last.reads)) }
            if requestCount > last.requests { requests.increment(by: Int64(requestCount - last.requests)) }
            last = (max(last.reads, readCount), max(last.requests, requestCount))
        }
        let (snapshotReadCount, patchCount, snapshotCount) = (await patches.reads, await patches.patches, await patches.snapshots)
        exportedPatches.withLock { last in
            if snapshotReadCount > last.reads { snapshotReads.increment(by: Int64(snapshotReadCount - last.reads)) }
            if patchCount > last.patches { patchesSent.increment(by: Int64(patchCount - last.patches)) }
            if snapshotCount > last.snapshots { snapshotRequests.increment(by: Int64(snapshotCount - last.snapshots)) }
            last = (max(last.reads, snapshotReadCount), max(last.patches, patchCount), max(last.snapshots, snapshotCount))
        }
        let counts = feed.counts
        streams.set(to: Double(counts.streams))
        listening.set(to: counts.listening ? 1 : 0)
        exported.withLock { last in
            if counts.delivered > last { delivered.increment(by: Int64(counts.delivered - last)) }
            last = max(last, counts.delivered)
        }
        return registry.emitToString()
    }
}

/// One activity as `/api/worktrees/{id}/activities` answers it.
struct ActivityRow: Encodable {
    var agentId: String
    var type: String
    @NullWhenAbsent var filePath: String?
    var description: String
    var createdAt: Date

    init(_ activity: AgentActivity) {
        agentId = activity.agentID
        type = activity.type
        filePath = activity.filePath
        description = activity.description
        createdAt = activity.createdAt
    }
}

/// `/api/hunks`: what each side of a pair changed in one path since its merge base.
struct HunkDocument: Encodable {
    var path: String
    var sides: [HunkSide]
}

struct HunkSide: Encodable, Sendable {
    var worktreeId: String
    var worktree: String
    @NullWhenAbsent var diff: String?
    @NullWhenAbsent var problem: String?

    init(worktreeId: String, worktree: String, diff: String?, problem: String? = nil) {
        self.worktreeId = worktreeId
        self.worktree = worktree
        self.diff = diff
        self.problem = problem
    }
}
