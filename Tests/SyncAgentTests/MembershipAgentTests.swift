import Foundation
import GitProbe
import PostgresClient
import RegistryClient
import TestSupport
import Testing

@testable import SyncAgent

/// `run` keeps membership live: git worktree add/remove/move/prune and new clones under a
/// root, seen through real inotify, written to a real PostgreSQL.
@Suite("imi-sync run keeps membership: worktrees and clones come, move and go", .ownThreads)
struct MembershipAgentTests {
    init() { GitLibrary.initialize() }

    /// `code/api/trunk-main` cloned from a bare origin, an empty registry, and an agent
    /// whose root is `code/`.
    struct Setup {
        let git: GitFixture
        let code: URL
        let origin: URL
        let trunk: URL
        let registry: RegistrySeeder
        let configuration: AgentConfiguration

        init() throws {
            git = try GitFixture()
            origin = try git.makeProject("api").origin
            code = try git.directory("code")
            trunk = code.appendingPathComponent("api/trunk-main")
            try git.git(["clone", "--quiet", origin.path, trunk.path], in: code)
            registry = try RegistrySeeder.freshRegistry(prefix: "member")
            var configuration = AgentConfiguration.fastForTests
            configuration.membership.roots = [code.path]
            self.configuration = configuration
        }

        /// An agent over this registry, started; stopped by ``withRunningAgent``.
        func agent() -> RunningAgent {
            RunningAgent(settings: registry.settings, configuration: configuration)
        }

        /// The active row at `path`: id, name, type, branch, and whether it was synced.
        func row(at path: URL) throws -> (id: String, name: String, type: String, branch: String, synced: Bool)? {
            let result = try registry.connection.execute(
                """
                SELECT w.id, w.name, t.name, w.branch_name, w.uncommitted_files_count IS NOT NULL AND w.last_sync_at IS NOT NULL
                FROM worktrees w JOIN worktree_types t ON t.id = w.type_id WHERE w.active AND w.path = $1
                """, [path.path])
            guard result.count == 1 else { return nil }
            return (
                try result.decode(0, 0), try result.decode(0, 1), try result.decode(0, 2), try result.decode(0, 3),
                try result.decode(0, 4)
            )
        }

        func active(_ id: String) throws -> Bool {
            try registry.connection.execute("SELECT active FROM worktrees WHERE id = $1", [id]).decode(0, 0)
        }

        func path(of id: String) throws -> String {
            try registry.connection.execute("SELECT path FROM worktrees WHERE id = $1", [id]).decode(0, 0)
        }
    }

    @Test("git worktree add is registered and synced; remove deactivates; move keeps the row")
    func worktreeLifecycle() async throws {
        let setup = try Setup()
        try await withRunningAgent(setup.agent()) { running in
            #expect(try await eventually("ready") { running.statistics.ready })
            #expect(try await eventually("trunk registered at start") { try setup.row(at: setup.trunk)?.synced == true })

            let feature = setup.code.appendingPathComponent("api/feat-login")
            try setup.git.git(["worktree", "add", "--quiet", "-b", "feat/login", feature.path], in: setup.trunk)
            #expect(try await eventually("added worktree registered and synced") { try setup.row(at: feature)?.synced == true })
            let added = try #require(try setup.row(at: feature))
            #expect([added.name, added.type, added.branch] == ["feat-login", "feat", "feat/login"])
            try setup.git.write("edit\n", to: "README.md", in: feature)
            #expect(try await eventually("an edit in it is synced") {
                try setup.registry.row(added.id).files == 1
            })

            let moved = setup.code.appendingPathComponent("api/feat-login-2")
            try setup.git.git(["worktree", "move", feature.path, moved.path], in: setup.trunk)
            #expect(try await eventually("moved: same row, new path") { try setup.path(of: added.id) == moved.path })
            #expect(try setup.active(added.id))
            try setup.git.write("another\n", to: "new.txt", in: moved)
            #expect(try await eventually("edits at the new path are synced") { try setup.registry.row(added.id).files == 2 })

            try setup.git.git(["worktree", "remove", "--force", moved.path], in: setup.trunk)
            #expect(try await eventually("removed: deactivated") { try !setup.active(added.id) })
            #expect(try setup.registry.connection.execute("SELECT count(*) FROM worktrees WHERE id = $1", [added.id]).int(0, 0) == 1,
                    "never deleted")
        }
    }

    @Test("a deleted worktree stays active while git lists it, and is deactivated by git worktree prune")
    func pruneDeactivates() async throws {
        let setup = try Setup()
        try await withRunningAgent(setup.agent()) { running in
            let feature = setup.code.appendingPathComponent("api/fix-crash")
            try setup.git.git(["worktree", "add", "--quiet", "-b", "fix/crash", feature.path], in: setup.trunk)
            #expect(try await eventually("ready") { running.statistics.ready })
            let id = try #require(try await eventuallyValue { try setup.row(at: feature)?.id })

            try FileManager.default.removeItem(at: feature)
            #expect(try await eventually("reported missing") { running.statistics.missingWorktrees == 1 })
            let passes = running.statistics.membershipPasses
            try setup.git.git(["worktree", "prune"], in: setup.trunk)
            #expect(try await eventually("pruned: deactivated") { try !setup.active(id) })
            #expect(try await eventually("by a membership pass") { running.statistics.membershipPasses > passes })
        }
    }

    @Test("a new clone under a root is registered; a repository behind a symbolic link is not")
    func newClone() async throws {
        let setup = try Setup()
        try await withRunningAgent(setup.agent()) { running in
            #expect(try await eventually("ready") { running.statistics.ready })
            // Outside the roots, reachable only through a link inside one.
            let outside = try setup.git.directory("elsewhere")
            try FileManager.default.createSymbolicLink(
                at: setup.code.appendingPathComponent("linked"), withDestinationURL: outside)
            try setup.git.git(["clone", "--quiet", setup.origin.path, outside.appendingPathComponent("hidden-clone").path], in: outside)

            let svc = try setup.git.makeProject("svc").origin
            let clone = setup.code.appendingPathComponent("svc/trunk-main")
            try FileManager.default.createDirectory(at: clone.deletingLastPathComponent(), withIntermediateDirectories: true)
            try setup.git.git(["clone", "--quiet", svc.path, clone.path], in: setup.code)
            #expect(try await eventually("new clone registered and synced") { try setup.row(at: clone)?.synced == true })
            #expect(try setup.row(at: clone)?.type == "trunk")
            let project = try setup.registry.connection.execute(
                "SELECT p.name FROM worktrees w JOIN projects p ON p.id = w.project_id WHERE w.path = $1", [clone.path])
            #expect(project.string(0, 0) == "svc")
            // The walk that found the clone passed the link: nothing behind it was registered.
            let paths = try setup.registry.connection.execute("SELECT path FROM worktrees").rows.compactMap { $0[0] }
            #expect(paths.allSatisfy { !$0.hasPrefix(outside.path) && !$0.contains("/linked/") }, "\(paths)")
        }
    }
}

/// Waits until `value` is not `nil` and returns it (`nil` after `seconds`).
func eventuallyValue<T>(seconds: Double = 20, _ value: () throws -> T?) async throws -> T? {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if let found = try? value() { return found }
        try await Task.sleep(for: .milliseconds(20))
    }
    return try value()
}
