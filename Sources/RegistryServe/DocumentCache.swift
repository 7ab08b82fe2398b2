import Foundation
import RegistryEvents

/// The documents `serve` answers, read once per registry change however many clients ask
/// (pages patch theirs from events, ``PatchFeed``; scripts and old pages may still read
/// `/api/inflight` and `/api/overlaps` after every event, and a hundred of them must cost one
/// read each, not a hundred). A document is kept with the feed's
/// generation it was read at (``RegistryFeed/generation``); a request in the same generation
/// gets it, one in a newer generation reads it again, and requests that arrive while that
/// read runs wait for it instead of starting their own.
actor DocumentCache {
    private struct Entry {
        var generation: Int
        var task: Task<String, any Error>
    }

    private let feed: RegistryFeed
    private var entries: [String: Entry] = [:]
    /// Reads made and requests answered from a read (for `/metrics` and the benchmark).
    private(set) var reads = 0
    private(set) var requests = 0

    init(feed: RegistryFeed) {
        self.feed = feed
    }

    /// The document under `key`, read with `load` when none is current.
    func document(_ key: String, load: @escaping @Sendable () async throws -> String) async throws -> String {
        requests += 1
        // Read the generation before the document: a change during the read leaves it older
        // than the feed, and the next request reads again.
        let generation = feed.generation
        if let entry = entries[key], entry.generation >= generation {
            return try await entry.task.value
        }
        reads += 1
        let task = Task { try await load() }
        entries[key] = Entry(generation: generation, task: task)
        do {
            return try await task.value
        } catch {
            // A failed read is not kept: the next request tries again.
            if entries[key]?.generation == generation { entries[key] = nil }
            throw error
        }
    }
}
