import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import PostgresClient
import RegistryClient
import TestSupport
import Testing

/// `imi-sync serve`'s patch stream, read by curl as a page would: `/api/snapshot`, then every
/// `event: patch` applied to it gives exactly the next snapshot.
@Suite("imi-sync serve patches its documents", .serialized, .ownThreads)
struct ServePatchTests {
    /// An event stream written to a file by curl as it arrives.
    struct Stream {
        let process: ChildProcess
        let file: String

        init(_ url: String, in directory: URL) throws {
            file = directory.appendingPathComponent("events-\(UUID().uuidString)").path
            process = try ChildProcess(
                URL(fileURLWithPath: "/usr/bin/curl"), ["-sN", "-o", file, url],
                environment: ["PATH": "/usr/bin:/bin"], standardOutput: "/dev/null", standardError: "/dev/null")
        }

        var text: String { (try? String(contentsOfFile: file, encoding: .utf8)) ?? "" }

        /// (event, data lines) of each complete event, split at line feeds only as SSE does.
        var events: [(kind: String, data: [String])] {
            text.components(separatedBy: "\n\n").dropLast().compactMap { block in
                let lines = block.components(separatedBy: "\n")
                guard let kind = lines.first(where: { $0.hasPrefix("event: ") }) else { return nil }
                return (String(kind.dropFirst(7)), lines.filter { $0.hasPrefix("data: ") }.map { String($0.dropFirst(6)) })
            }
        }

        var patches: [NSDictionary] {
            events.filter { $0.kind == "patch" }.compactMap { ServePatchTests.object($0.data.first ?? "") }
        }

        func stop() {
            process.signal(SIGTERM)
            _ = process.waitForExit(timeout: 10)
        }
    }

    static func object(_ text: String) -> NSDictionary? {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? NSDictionary
    }

    /// `/api/snapshot`'s body and its `X-Imi-Generation`.
    static func snapshot(_ base: String) async throws -> (NSDictionary, String?) {
        let (data, response) = try await URLSession.shared.data(from: URL(string: base + "/api/snapshot")!)
        let document = try #require(object(String(decoding: data, as: UTF8.self)))
        return (document, (response as? HTTPURLResponse)?.value(forHTTPHeaderField: "X-Imi-Generation"))
    }

    /// The page's rule (ServePage.swift `patched`): remove, replace in place or append, reorder.
    static func patched(_ rows: [NSDictionary], _ changes: NSDictionary, key: (NSDictionary) -> String) -> [NSDictionary] {
        let removed = Set(changes["remove"] as? [String] ?? [])
        var upserts = (changes["upsert"] as? [NSDictionary] ?? []).map { (key($0), $0) }
        var next = rows.filter { !removed.contains(key($0)) }.map { row in
            guard let index = upserts.firstIndex(where: { $0.0 == key(row) }) else { return row }
            return upserts.remove(at: index).1
        }
        next += upserts.map(\.1)
        if let order = changes["order"] as? [String] {
            let byKey = Dictionary(next.map { (key($0), $0) }, uniquingKeysWith: { a, _ in a })
            next = order.compactMap { byKey[$0] }
        }
        return next
    }

    static func workKey(_ row: NSDictionary) -> String { row["worktree_id"] as? String ?? "" }
    static func pairKey(_ pair: NSDictionary) -> String {
        ((pair["worktree_a"] as? NSDictionary)?["id"] as? String ?? "") + ":" + ((pair["worktree_b"] as? NSDictionary)?["id"] as? String ?? "")
    }

    /// Applies the chain of patches from `snapshot`'s generation up to `generation`; nil on a gap.
    static func apply(_ patches: [NSDictionary], to snapshot: NSDictionary, upTo generation: Int) -> (inflight: [NSDictionary], pairs: [NSDictionary])? {
        var current = snapshot["generation"] as? Int ?? -1
        var inflight = snapshot["inflight"] as? [NSDictionary] ?? []
        var pairs = snapshot["pairs"] as? [NSDictionary] ?? []
        for patch in patches {
            guard let from = patch["from"] as? Int, let to = patch["to"] as? Int else { return nil }
            if to <= current || from >= generation { continue }
            guard from == current else { return nil }
            inflight = patched(inflight, patch["inflight"] as? NSDictionary ?? [:], key: workKey)
            pairs = patched(pairs, patch["pairs"] as? NSDictionary ?? [:], key: pairKey)
            current = to
        }
        return current == generation ? (inflight, pairs) : nil
    }

    /// Waits (10 s at most) until the stream has carried the patch that made `snapshot`.
    static func reached(_ stream: Stream, _ snapshot: NSDictionary) async throws -> [NSDictionary] {
        let generation = snapshot["generation"] as? Int ?? 0
        for _ in 0..<200 {
            let patches = stream.patches
            if patches.contains(where: { ($0["to"] as? Int ?? 0) >= generation }) { return patches }
            try await Task.sleep(for: .milliseconds(50))
        }
        return stream.patches
    }

    @Test("an edit's row, a pair and a worktree leaving come as patches that chain and rebuild the next snapshot")
    func patches() async throws {
        let setup = try OverlapTests.Setup()
        let (a, b, c) = (setup.paths["a"]!, setup.paths["b"]!, setup.paths["c"]!)
        try setup.git.write("notes\n", to: "notes.txt", in: c)
        #expect(try setup.imiSync(["once"]).status == 0)
        let server = try ServeBrowserTests.Server(["--database-url", setup.registry.settings.conninfo], home: setup.git.home)
        defer { server.stop() }
        let base = String(server.url.dropLast())
        func counter(_ name: String) async throws -> Int {
            let text = try await ServeBrowserTests.get(base + "/metrics").1
            return text.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Int($0.split(separator: " ")[1]) } ?? -1
        }

        // Only a client of hints: a change is noted, not read; the next snapshot reads it.
        let hinted = try Stream(base + "/events", in: setup.git.root)
        defer { hinted.stop() }
        for _ in 0..<100 where !hinted.text.contains(": connected") { try await Task.sleep(for: .milliseconds(50)) }
        let readsBefore = try await counter("imi_sync_serve_snapshot_reads_total")
        _ = try setup.registry.connection.execute("UPDATE worktrees SET name = 'feat-c-renamed' WHERE id = $1::uuid", [setup.ids["c"]!])
        for _ in 0..<100 where !hinted.events.contains(where: { $0.kind == "registry" }) { try await Task.sleep(for: .milliseconds(50)) }
        try await Task.sleep(for: .milliseconds(300))
        #expect(try await counter("imi_sync_serve_snapshot_reads_total") == readsBefore, "no stream of patches: nothing read")

        let stream = try Stream(base + "/events?patches=1", in: setup.git.root)
        defer { stream.stop() }
        for _ in 0..<100 where !stream.text.contains(": connected") { try await Task.sleep(for: .milliseconds(50)) }

        let (first, header) = try await Self.snapshot(base)
        #expect(try await counter("imi_sync_serve_snapshot_reads_total") == readsBefore + 1, "the snapshot read the change first")
        #expect((first["inflight"] as? [NSDictionary] ?? []).contains { $0["worktree"] as? String == "feat-c-renamed" },
                "the snapshot shows the change made while nobody wanted patches: \(first)")
        #expect(header == (first["generation"] as? Int).map(String.init), "X-Imi-Generation is the body's generation")
        let (_, inflightText) = try await ServeBrowserTests.get(base + "/api/inflight")
        #expect((first["inflight"] as? NSArray) == (Self.object(inflightText)?["inflight"] as? NSArray),
                "the snapshot's rows are /api/inflight's")

        // An edit in a, a conflicting one in b, and a commit whose subject could break out of markup or a line.
        let message = "</script><script>alert(\"x\")</script> 'q'\u{2028}sep\n\nbody line\r\nlast"
        try setup.git.write("A\nb\nc\nd\ne\nf\n", to: "README.md", in: a)
        try setup.git.write("new\n", to: "new.txt", in: a)
        try setup.git.write("B\nb\nc\nd\ne\nf\n", to: "README.md", in: b)
        _ = try setup.git.commitAll(message, in: c)
        try setup.git.write("more\n", to: "more.txt", in: c)
        #expect(try setup.imiSync(["once"]).status == 0)
        var upserted: NSDictionary?
        for _ in 0..<200 where upserted == nil {
            upserted = stream.patches.flatMap { ($0["inflight"] as? NSDictionary)?["upsert"] as? [NSDictionary] ?? [] }
                .last { Self.workKey($0) == setup.ids["a"]! && $0["uncommitted_files_count"] as? Int == 2 }
            if upserted == nil { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(upserted != nil, "a patch carries a's row with its two uncommitted files: \(stream.text)")
        try await Task.sleep(for: .milliseconds(500))
        let (second, _) = try await Self.snapshot(base)
        var patches = try await Self.reached(stream, second)
        let rebuilt = Self.apply(patches, to: first, upTo: second["generation"] as? Int ?? 0)
        #expect(rebuilt != nil, "the patches chain from the first snapshot to the second: \(patches)")
        #expect(rebuilt.map { NSArray(array: $0.inflight) } == second["inflight"] as? NSArray, "in-flight rows patched = read")
        #expect(rebuilt.map { NSArray(array: $0.pairs) } == second["pairs"] as? NSArray, "pairs patched = read")
        let pair = [setup.ids["a"]!, setup.ids["b"]!].joined(separator: ":")
        let pairIDs = Set((second["pairs"] as? [NSDictionary] ?? []).map(Self.pairKey))
        #expect(pairIDs.contains(pair) || pairIDs.contains([setup.ids["b"]!, setup.ids["a"]!].joined(separator: ":")), "a and b overlap")
        let committed = patches.flatMap { ($0["inflight"] as? NSDictionary)?["upsert"] as? [NSDictionary] ?? [] }
            .last { Self.workKey($0) == setup.ids["c"]! }
        let subject = committed?["last_commit_message"] as? String ?? ""
        #expect(subject.contains("</script><script>alert(\"x\")</script> 'q'\u{2028}sep"), "the subject arrives as its text: \(subject)")

        // Every event is one event line and one data line of JSON, however the registry's text reads.
        let events = stream.events
        #expect(!events.isEmpty && events.allSatisfy { $0.kind == "patch" && $0.data.count == 1 }, "\(events)")
        var previous: Int?
        for patch in patches {
            if let previous { #expect(patch["from"] as? Int == previous, "from is the last patch's to") }
            #expect((patch["to"] as? Int ?? 0) > (patch["from"] as? Int ?? 0))
            previous = patch["to"] as? Int
        }
        #expect(hinted.events.contains { $0.kind == "state" } && !hinted.events.contains { $0.kind == "patch" },
                "/events without patches=1 sends the hints as before, and no patches")

        // c leaves the in-flight view (deactivated): its id is removed.
        _ = try setup.registry.connection.execute("UPDATE worktrees SET active = false WHERE id = $1::uuid", [setup.ids["c"]!])
        var removed = false
        for _ in 0..<200 where !removed {
            removed = stream.patches.contains { (($0["inflight"] as? NSDictionary)?["remove"] as? [String] ?? []).contains(setup.ids["c"]!) }
            if !removed { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(removed, "a patch removes c: \(stream.patches.suffix(2))")
        try await Task.sleep(for: .milliseconds(300))
        let (third, _) = try await Self.snapshot(base)
        patches = try await Self.reached(stream, third)
        let again = Self.apply(patches, to: second, upTo: third["generation"] as? Int ?? 0)
        #expect(again.map { NSArray(array: $0.inflight) } == third["inflight"] as? NSArray, "in-flight rows patched = read")
        #expect(again.map { NSArray(array: $0.pairs) } == third["pairs"] as? NSArray, "pairs patched = read")
        #expect(!((third["inflight"] as? [NSDictionary]) ?? []).contains { Self.workKey($0) == setup.ids["c"]! })

        let metrics = try await ServeBrowserTests.get(base + "/metrics").1
        #expect(metrics.contains("imi_sync_serve_patches_total"), "\(metrics)")
    }
}
