import Foundation
import Logging
import TestSupport
import Testing

@testable import SyncAgent

@Suite("Watching worktrees with real inotify", .serialized, .ownThreads)
struct WatchTests {
    let fixture: GitFixture
    let signals = Recorded<WatchSignal>()

    init() throws {
        fixture = try GitFixture()
    }

    /// The watcher's events are handled here, one batch after another, as the agent loop
    /// would; suspending this queue stalls the consumer.
    let consumer = DispatchQueue(label: "watch-tests consumer")

    private func makeWatcher(watchLimit: Int? = nil) throws -> WorktreeWatcher {
        let signals = self.signals
        let consumer = self.consumer
        let handler = Handler()
        let watcher = try WorktreeWatcher(logger: Logger(label: "test"), watchLimit: watchLimit) { events in
            consumer.async { handler.watcher?.handle(events).forEach(signals.append) }
        }
        handler.watcher = watcher
        watcher.start()
        return watcher
    }

    private final class Handler: @unchecked Sendable {
        weak var watcher: WorktreeWatcher?
    }

    private func changed(_ id: String) -> Bool {
        signals.all.contains { if case .changed(let changes) = $0 { changes[id] != nil } else { false } }
    }

    private func makeRepository() throws -> URL {
        let project = try fixture.makeProject(
            "app", files: [".gitignore": "node_modules/\n.build/\n*.log\n", "src/main.swift": "print(1)\n"])
        for directory in ["node_modules/left-pad/lib", ".build/debug/objs", "src/views", "docs"] {
            try fixture.directory("app/trunk-main/" + directory)
        }
        return project.trunk
    }

    @Test("ignored directories cost no watch; tree, git directory and refs are watched")
    func skipsIgnoredDirectories() throws {
        let trunk = try makeRepository()
        let watcher = try makeWatcher()
        defer { watcher.stop() }
        let outcome = watcher.watch(WatchedWorktree(id: "w", path: trunk.path))
        // tree: ., src, src/views, docs (not node_modules/**, .build/**, .git/**);
        // git: .git (also the common dir); refs, refs/heads, refs/tags, refs/remotes,
        // refs/remotes/origin; .git/info (exclude)
        #expect(outcome == .watching(watches: 4 + 1 + 5 + 1))
        // Besides: the directories of the global git config files, shared by all worktrees.
        #expect(watcher.watchCount == 11 + watcher.externalWatchCount)
        #expect(watcher.externalWatchCount >= 1)
        watcher.unwatch(id: "w")
        #expect(watcher.watchCount == 0)
    }

    @Test("an edit, a new directory's file and a commit are each reported for the worktree")
    func reportsChanges() async throws {
        let trunk = try makeRepository()
        let watcher = try makeWatcher()
        defer { watcher.stop() }
        #expect(watcher.watch(WatchedWorktree(id: "w", path: trunk.path)) != .unavailable)

        try "print(2)\n".write(to: trunk.appendingPathComponent("src/main.swift"), atomically: false, encoding: .utf8)
        #expect(try await eventually("edit reported") { changed("w") })

        // A directory created after watching starts gets its own watch.
        let before = watcher.watchCount
        try fixture.directory("app/trunk-main/feature/deep")
        #expect(try await eventually("new directories watched") { watcher.watchCount == before + 2 })
        let quietCount = signals.all.count
        try "x\n".write(to: trunk.appendingPathComponent("feature/deep/new.txt"), atomically: false, encoding: .utf8)
        #expect(try await eventually("file in new directory reported") { signals.all.count > quietCount })

        // Ignored directories stay unwatched when they appear.
        let watchesNow = watcher.watchCount
        try fixture.directory("app/trunk-main/node_modules/fresh/dist")
        try fixture.directory("app/trunk-main/.build/release")
        try "y\n".write(to: trunk.appendingPathComponent("docs/marker.txt"), atomically: false, encoding: .utf8)
        #expect(try await eventually("marker seen") { signals.all.count > quietCount + 1 })
        #expect(watcher.watchCount == watchesNow)

        // A commit changes only .git: the git directory watch reports it.
        let commitSignals = signals.all.count
        try fixture.commitAll("second", in: trunk)
        #expect(try await eventually("commit reported") { signals.all.count > commitSignals && changed("w") })
    }

    @Test("a linked worktree's HEAD, index and the shared refs are watched")
    func linkedWorktree() async throws {
        let project = try fixture.makeProject("lib")
        let linked = try fixture.addWorktree("feat-x", branch: "feat/x", to: project)
        let watcher = try makeWatcher()
        defer { watcher.stop() }
        guard case .watching = watcher.watch(WatchedWorktree(id: "linked", path: linked.path)) else {
            Issue.record("not watching")
            return
        }
        guard case .watching = watcher.watch(WatchedWorktree(id: "trunk", path: project.trunk.path)) else {
            Issue.record("not watching")
            return
        }
        // A fetch in trunk moves refs/remotes/origin/main, shared by both worktrees.
        try fixture.advanceOrigin(of: project, message: "upstream")
        try fixture.git(["fetch", "--quiet"], in: project.trunk)
        #expect(try await eventually("fetch reported to both") { changed("linked") && changed("trunk") })
        // Removing one worktree keeps the shared watches of the other.
        let shared = watcher.watchCount(of: "trunk")
        watcher.unwatch(id: "linked")
        #expect(watcher.watchCount(of: "trunk") == shared)
        #expect(watcher.watchCount == shared + watcher.externalWatchCount)
    }

    @Test("deleting the worktree directory is reported and its watches dropped")
    func rootGone() async throws {
        let trunk = try makeRepository()
        let watcher = try makeWatcher()
        defer { watcher.stop() }
        _ = watcher.watch(WatchedWorktree(id: "w", path: trunk.path))
        try FileManager.default.removeItem(at: trunk)
        #expect(try await eventually("root gone") { signals.all.contains(.rootGone("w")) })
        #expect(try await eventually("watches dropped") { watcher.watchCount(of: "w") == 0 })
    }

    @Test("a burst larger than the kernel queue is reported as an overflow")
    func overflow() async throws {
        let trunk = try makeRepository()
        let watcher = try makeWatcher()
        defer { watcher.stop() }
        _ = watcher.watch(WatchedWorktree(id: "w", path: trunk.path))
        let queueLimit = Int(
            (try String(contentsOfFile: "/proc/sys/fs/inotify/max_queued_events", encoding: .utf8))
                .trimmingCharacters(in: .whitespacesAndNewlines))!
        // The consumer stalls: the reader holds back, and the kernel queue fills.
        consumer.suspend()
        let docs = trunk.appendingPathComponent("docs")
        for index in 0..<(queueLimit / 2 + 100) {
            // Create + modify: two events per file.
            _ = FileManager.default.createFile(
                atPath: docs.appendingPathComponent("f\(index)").path, contents: Data("x".utf8))
        }
        consumer.resume()
        #expect(try await eventually("overflow reported") { signals.all.contains(.overflow) })
    }

    @Test("reaching the watch limit reports how many more watches were needed")
    func watchLimit() throws {
        let trunk = try makeRepository()
        let watcher = try makeWatcher(watchLimit: 3)
        defer { watcher.stop() }
        #expect(watcher.watch(WatchedWorktree(id: "w", path: trunk.path)) == .limitReached(needed: 8))
        #expect(watcher.watchCount == 3)
    }

    @Test("a path that does not exist is missing; a plain directory is not a worktree; neither is watched")
    func missingWorktree() throws {
        let watcher = try makeWatcher()
        defer { watcher.stop() }
        let outcome = watcher.watch(WatchedWorktree(id: "w", path: fixture.root.appendingPathComponent("nope").path))
        guard case .missing = outcome else {
            Issue.record("expected missing, got \(outcome)")
            return
        }
        let plain = try fixture.directory("plain")
        let second = watcher.watch(WatchedWorktree(id: "p", path: plain.path))
        guard case .notAWorktree = second else {
            Issue.record("expected notAWorktree, got \(second)")
            return
        }
        #expect(watcher.watchCount == 0)
    }
}
