import Foundation
import Logging
import McpServer
import RegistryClient
import RegistryDocuments
import RegistryEvents

/// What the pages show, kept once for all of them: both documents' rows (`/api/inflight`'s
/// and `/api/overlaps`' for every project) at one generation, and after each registry change
/// the rows that changed, pushed to every event stream as one `event: patch` formatted once.
/// A page reads the snapshot when it (re)connects and then applies patches instead of reading
/// both documents after every event: a hundred pages cost one read and one small encoding per
/// change, not two hundred requests.
actor PatchFeed {
    /// Both documents' rows at one generation.
    struct Snapshot: Sendable {
        var generation: Int
        var inflight: [InflightDocument.Row]
        var pairs: [OverlapDocument.Pair]
    }

    private let feed: RegistryFeed
    private let worker: RegistryWorker
    private let logger: Logger
    private var current: Snapshot?
    /// Changes came while no stream wanted patches, unread: the next snapshot reads first.
    private var stale = false
    /// The read under way: reads run one at a time, each diffed against the one before.
    private var updating: Task<Void, Never>?
    /// `/api/snapshot`'s text for ``current``, formatted on the first request after a change.
    private var text: (generation: Int, text: String)?
    /// Reads of both documents, patches sent, snapshots asked for (`/metrics`).
    private(set) var reads = 0
    private(set) var patches = 0
    private(set) var snapshots = 0

    init(feed: RegistryFeed, worker: RegistryWorker, logger: Logger) {
        self.feed = feed
        self.worker = worker
        self.logger = logger
    }

    /// Reads the first snapshot, then again after every change until the feed stops. Changes
    /// that arrive while a read runs make one more read (the feed keeps one for ``watch()``),
    /// so a burst costs two reads, not one per notification. With no stream of patches open
    /// (clients of hints only) a change is not read, only noted.
    func run() async {
        let changes = feed.watch()
        await refresh()
        for await _ in changes {
            // One edit notifies its state, then its overlaps a moment later: one patch for both.
            try? await Task.sleep(for: .milliseconds(20))
            if feed.patchStreams == 0 {
                stale = true
                continue
            }
            await refresh()
        }
    }

    /// One read at a time: each waits for the one before, so patches follow reads in order.
    private func refresh() async {
        let previous = updating
        let task = Task {
            await previous?.value
            await self.update()
        }
        updating = task
        await task.value
    }

    /// The generation's rows as `/api/snapshot` answers them (nil while none was read yet,
    /// after 10 s of trying).
    func snapshot() async -> (generation: Int, text: String)? {
        snapshots += 1
        // The client subscribed before asking: changes from now on are read by run(). Clients
        // that ask together wait for one read, not one each.
        if stale {
            stale = false
            await refresh()
        } else {
            await updating?.value
        }
        for _ in 0..<100 where current == nil { try? await Task.sleep(for: .milliseconds(100)) }
        guard let current else { return nil }
        if let text, text.generation == current.generation { return text }
        let rendered = JSONOutput.render(
            SnapshotDocument(generation: current.generation, inflight: current.inflight, pairs: current.pairs), compact: true)
        text = (current.generation, rendered)
        return text
    }

    private func update() async {
        stale = false
        let rows: ([InflightWorktree], [OverlapRecord])
        do {
            rows = try await worker.run { registry in (try registry.inflightWork(projectName: nil), try registry.overlaps(project: nil)) }
        } catch {
            // The feed publishes a change when it connects again: the next read follows.
            logger.warning("could not read the documents for the event streams", metadata: ["error": "\(error)"])
            stale = true
            return
        }
        reads += 1
        let next = Snapshot(
            generation: (current?.generation ?? 0) + 1, inflight: rows.0.map(InflightDocument.Row.init),
            pairs: OverlapDocument.pairs(rows.1))
        guard let previous = current else {
            current = next
            return
        }
        let patch = PatchDocument(from: previous, to: next)
        // Nothing a page shows changed: the generation stays, and so does every page's.
        guard !patch.isEmpty else { return }
        // The snapshot moves before the patch goes out: a page that reads it after seeing the
        // patch gets this generation or a later one, never the one before.
        current = next
        patches += 1
        feed.publish(RegistryEvent(kind: .patch, ids: [], frame: Self.frame(patch)))
    }

    /// One line of JSON after `data: ` (the compact encoding escapes every line break), encoded
    /// as the documents are.
    static func frame(_ patch: PatchDocument) -> String {
        "event: patch\ndata: " + JSONOutput.render(patch, compact: true) + "\n\n"
    }
}

/// `/api/snapshot`: both documents' rows and the generation they are.
struct SnapshotDocument: Encodable {
    var generation: Int
    var inflight: [InflightDocument.Row]
    var pairs: [OverlapDocument.Pair]
}

/// `event: patch`: what turns generation `from` into `to`. In each list, rows whose key is in
/// `remove` go, rows in `upsert` replace the row with their key where it is or else are
/// appended in their order; `order` (the keys of the whole list) comes only when the list's
/// order differs from that.
struct PatchDocument: Encodable {
    struct Changes<Row: Encodable & Equatable>: Encodable {
        var upsert: [Row] = []
        var remove: [String] = []
        var order: [String]?

        init(from old: [Row], to new: [Row], key: (Row) -> String) {
            let oldKeys = old.map(key)
            let newKeys = new.map(key)
            let before = Dictionary(zip(oldKeys, old), uniquingKeysWith: { first, _ in first })
            let kept = Set(newKeys)
            upsert = new.filter { before[key($0)] != $0 }
            remove = oldKeys.filter { !kept.contains($0) }
            let applied = oldKeys.filter(kept.contains) + newKeys.filter { before[$0] == nil }
            order = applied == newKeys ? nil : newKeys
        }

        var isEmpty: Bool { upsert.isEmpty && remove.isEmpty && order == nil }
    }

    var from: Int
    var to: Int
    var inflight: Changes<InflightDocument.Row>
    var pairs: Changes<OverlapDocument.Pair>

    init(from old: PatchFeed.Snapshot, to new: PatchFeed.Snapshot) {
        from = old.generation
        to = new.generation
        inflight = Changes(from: old.inflight, to: new.inflight, key: \.worktreeId)
        pairs = Changes(from: old.pairs, to: new.pairs, key: Self.key)
    }

    /// A pair's key: its two worktrees' ids as the document orders them.
    static func key(_ pair: OverlapDocument.Pair) -> String { pair.worktreeA.id + ":" + pair.worktreeB.id }

    var isEmpty: Bool { inflight.isEmpty && pairs.isEmpty }
}
