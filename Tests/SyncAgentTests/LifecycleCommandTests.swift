import Foundation
import PostgresClient
import RegistryClient
import TestSupport
import Testing

/// `imi-sync types`, `status --merged` and `maintain --prune-merged-days`, run as the binary.
@Suite("imi-sync types, status --merged, maintain --prune-merged-days", .ownThreads)
struct LifecycleCommandTests {
    /// Runs the binary; its exit status, standard output and standard error.
    private func run(_ arguments: [String], _ registry: RegistrySeeder, host: String = "here") throws
        -> (status: Int32?, output: String, errors: String)
    {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("imi-life-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let (out, err) = (scratch.appendingPathComponent("out").path, scratch.appendingPathComponent("err").path)
        let process = try ChildProcess(
            try imiSyncBinary(),
            arguments + ["--database-url", registry.settings.conninfo, "--config", "/dev/null", "--host", host],
            environment: ProcessInfo.processInfo.environment, standardOutput: out, standardError: err)
        let status = process.waitForExit(timeout: 120)
        return (status, (try? String(contentsOfFile: out, encoding: .utf8)) ?? "",
                (try? String(contentsOfFile: err, encoding: .utf8)) ?? "")
    }

    private func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test("a type added with `types add` classifies the next scan; remove is refused while used, for built-ins and unknown names")
    func customTypeClassifiesScan() throws {
        let registry = try RegistrySeeder.freshRegistry(prefix: "types")
        let tree = try ScanTests.Tree()
        let before = try json(run(["types", "list", "--json"], registry).output)
        let builtIn = try #require(before["types"] as? [[String: Any]])
        #expect(builtIn.allSatisfy { $0["built_in"] as? Bool == true } && builtIn.contains { $0["name"] as? String == "feat" })
        #expect(!builtIn.contains { $0["name"] as? String == "spike" })

        let added = try run(
            ["types", "add", "spike", "--worktree-prefix", "spike-", "--branch-prefix", "spike/", "--description", "try-outs"],
            registry)
        #expect(added.status == 0, "\(added.errors)")
        let spike = try tree.worktree("spike-cache", branch: "spike/cache")
        _ = try tree.scan(registry)
        let rows = try ScanTests.rows(registry).values
        #expect(rows.first { $0.path == spike.path }?.type == "spike", "\(rows)")

        let listed = try #require(try json(run(["types", "--json"], registry).output)["types"] as? [[String: Any]])
        let row = try #require(listed.first { $0["name"] as? String == "spike" })
        #expect(row["worktree_prefix"] as? String == "spike-" && row["branch_prefix"] as? String == "spike/")
        #expect(row["built_in"] as? Bool == false && row["active_worktrees"] as? Int == 1)
        #expect(row["description"] as? String == "try-outs")

        let again = try run(["types", "add", "spike", "--worktree-prefix", "spk-", "--branch-prefix", "spk/"], registry)
        #expect(again.status == 65 && again.errors.contains("already exists"), "\(again)")
        let inUse = try run(["types", "remove", "spike"], registry)
        #expect(inUse.status == 65 && inUse.errors.contains("spike"), "\(inUse)")
        let builtInRemove = try run(["types", "remove", "feat"], registry)
        #expect(builtInRemove.status == 65, "\(builtInRemove)")
        let unknown = try run(["types", "remove", "nope"], registry)
        #expect(unknown.status == 66, "\(unknown)")

        let unused = try run(["types", "add", "chore", "--worktree-prefix", "chore-", "--branch-prefix", "chore/"], registry)
        #expect(unused.status == 0)
        #expect(try run(["types", "remove", "chore"], registry).status == 0)
        let after = try #require(try json(run(["types", "--json"], registry).output)["types"] as? [[String: Any]])
        #expect(!after.contains { $0["name"] as? String == "chore" } && after.contains { $0["name"] as? String == "spike" })
    }

    @Test("status --merged lists merged worktrees; maintain --prune-merged-days deactivates only old ones whose directory is gone")
    func mergedListedAndPruned() throws {
        let registry = try RegistrySeeder.freshRegistry(prefix: "merged")
        let hostID = try Registry(connection: registry.connection).registerHost(named: "here", agentVersion: "test")
        let projectID = try registry.addProject("app")
        let present = FileManager.default.temporaryDirectory.appendingPathComponent("imi-present-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: present, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: present) }
        let gone = "/nonexistent/imi-gone-\(UUID().uuidString)"
        let oldGone = try registry.addWorktree(project: projectID, name: "feat-old-gone", path: gone + "-1")
        let oldPresent = try registry.addWorktree(project: projectID, name: "feat-old-here", path: present.path)
        let recentGone = try registry.addWorktree(project: projectID, name: "feat-recent", path: gone + "-2")
        let notMerged = try registry.addWorktree(project: projectID, name: "feat-open", path: gone + "-3")
        for (id, days) in [(oldGone, 10), (oldPresent, 10), (recentGone, 1)] {
            try registry.connection.execute(
                """
                UPDATE worktrees SET merged_at = now() - make_interval(days => $2::int), merged_by = 'Ann <ann@example.com>',
                       merge_commit_hash = repeat('a', 40), uncommitted_files_count = 0, ahead_of_trunk = 0, behind_trunk = 0
                WHERE id = $1
                """, [id, String(days)])
        }
        try registry.connection.execute("UPDATE worktrees SET host_id = $1", [hostID])

        let listed = try #require(try json(run(["status", "--merged", "--json"], registry).output)["merged"] as? [[String: Any]])
        #expect(Set(listed.compactMap { $0["worktree_id"] as? String }) == [oldGone, oldPresent, recentGone])
        #expect(listed.allSatisfy { $0["merge_commit_hash"] as? String == String(repeating: "a", count: 40) && $0["merged_at"] is String })
        let inflight = try #require(try json(run(["status", "--json"], registry).output)["inflight"] as? [[String: Any]])
        #expect(!inflight.contains { [oldGone, oldPresent, recentGone].contains($0["worktree_id"] as? String ?? "") })
        let table = try run(["status", "--merged"], registry).output
        #expect(table.contains("feat-old-gone") && table.contains("aaaaaaaaaaaa"), "\(table)")

        let pruned = try run(["maintain", "--prune-merged-days", "7", "--json"], registry)
        #expect(pruned.status == 0, "\(pruned.errors)")
        let document = try json(pruned.output)
        #expect(document["merged_pruned"] as? Int == 1 && document["merged_kept"] as? Int == 1, "\(document)")
        let active = try registry.connection.execute(
            "SELECT id FROM worktrees WHERE active ORDER BY name").column(0, as: String.self)
        #expect(Set(active) == [oldPresent, recentGone, notMerged], "only the old merged row whose directory is gone")
        let rows = try registry.connection.execute("SELECT count(*) FROM worktrees").int(0, 0)
        #expect(rows == 4, "deactivated, never deleted")
    }
}
