import Foundation
import PostgresClient
import RegistryClient
import TestSupport
import Testing

@testable import SyncAgent

/// The list tools' pages through `imi-sync mcp` and the official Python MCP client
/// (Tests/mcp/paging.py): cursors walk every row once, totals, filters, the preferred project
/// from the server's working directory, bad cursors and limits as tool errors.
@Suite("imi-sync mcp list pages with the official Python MCP client", .ownThreads)
struct McpPagingTests {
    @Test("cursors walk every row once; total, filters, preferred project; bad cursor and limit are tool errors")
    func pagesThroughTheClient() throws {
        guard let python = McpTests.python() else { return }
        let registry = try McpPagingRegistryTests()
        let git = try GitFixture()
        // The server runs inside a registered worktree of p3 on this host: p3 is listed first.
        let own = git.root.appendingPathComponent("own-worktree/src")
        try FileManager.default.createDirectory(at: own, withIntermediateDirectories: true)
        _ = try registry.seeder.connection.execute("""
            INSERT INTO worktrees (project_id, type_id, name, branch_name, path, host_id, has_uncommitted_changes,
                                   uncommitted_files_count, ahead_of_trunk, behind_trunk, updated_at)
            SELECT p.id, 1, 'own', 'feat/own', $1, h.id, true, 1, 0, 0, timestamptz '2000-01-01'
            FROM projects p, hosts h WHERE p.name = 'p3' AND h.name = 'here'
            """, [own.deletingLastPathComponent().path])
        // Every p1 worktree changes a.c and b.c: w3 overlaps each other p1 worktree on both.
        try registry.seeder.connection.executeScript(StaticScript("""
            INSERT INTO worktree_change_sets (worktree_id, working_tree, path_count)
            SELECT w.id, md5(w.name), 2 FROM worktrees w JOIN projects p ON p.id = w.project_id WHERE p.name = 'p1';
            INSERT INTO worktree_changes (worktree_id, path, kind)
            SELECT w.id, f, 'modified' FROM worktrees w JOIN projects p ON p.id = w.project_id, unnest(ARRAY['a.c', 'b.c']) f
            WHERE p.name = 'p1';
            """))
        let ids = try registry.seeder.connection.execute("SELECT id FROM worktrees WHERE name IN ('w3', 'w6') ORDER BY name")
        let p1Count = try registry.seeder.connection.execute(
            "SELECT count(*) FROM worktrees w JOIN projects p ON p.id = w.project_id WHERE p.name = 'p1'").decode(0, 0) as Int
        let scenario: [String: Any] = [
            "overlap_id": try ids.decode(0, 0) as String, "other_id": try ids.decode(1, 0) as String,
            "binary": try imiSyncBinary().path,
            "arguments": [
                "mcp", "--database-url", registry.seeder.connection.settings.conninfo, "--config", "/dev/null",
                "--host", "here",
            ],
            "environment": ["PATH": "/usr/bin:/bin", "HOME": git.home.path], "cwd": own.path,
        ]
        let output = git.root.appendingPathComponent("paging-report.json").path
        let errors = git.root.appendingPathComponent("paging-client.err").path
        let client = try ChildProcess(
            URL(fileURLWithPath: python),
            [McpTests.repository.appendingPathComponent("Tests/mcp/paging.py").path,
             String(decoding: try JSONSerialization.data(withJSONObject: scenario), as: UTF8.self)],
            environment: ["PATH": "/usr/bin:/bin", "HOME": git.home.path], standardOutput: output, standardError: errors)
        let status = client.waitForExit(timeout: 120)
        try #require(status == 0, "client failed: \(((try? String(contentsOfFile: errors, encoding: .utf8)) ?? "").suffix(2000))")
        let report = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: output))) as? [String: Any])

        let inflight = Set(try registry.registry.inflightWork().map(\.worktreeID))
        #expect(inflight.count == 49)
        // The default page: all 49 rows fit in 50; p3 (the server's own project) first.
        let first = try #require(report["default"] as? [String: Any])
        let rows = try #require(first["worktrees"] as? [[String: Any]])
        #expect(rows.count == 49 && first["total"] as? Int == 49 && first["next_cursor"] is NSNull)
        #expect(first["preferred_project"] as? String == "p3")
        let projects = rows.compactMap { $0["project"] as? String }
        #expect(projects.prefix(17).allSatisfy { $0 == "p3" } && !projects.dropFirst(17).contains("p3"), "\(projects)")
        #expect(rows.first?["worktree"] as? String != "own", "then newest first: own is the oldest p3 row")

        // Walks by cursor: every row exactly once, the same total on every page.
        func walk(_ label: String, _ walk: [String: Any]?) -> [String] {
            let ids = walk?["ids"] as? [String] ?? []
            #expect(ids.count == Set(ids).count, "\(label): no row twice")
            return ids
        }
        let byCursor = try #require(report["inflight_by_7"] as? [String: Any])
        #expect(Set(walk("inflight_by_7", byCursor)) == inflight && walk("inflight_by_7", byCursor).count == 49)
        let pages = byCursor["pages"] as? [[String: Any]] ?? []
        #expect(pages.count == 7 && pages.allSatisfy { $0["total"] as? Int == 49 && ($0["rows"] as? Int ?? 0) <= 7 })
        let all = try registry.seeder.connection.execute("SELECT count(*) FROM worktrees").decode(0, 0) as Int
        #expect(Set(walk("worktrees_by_13", report["worktrees_by_13"] as? [String: Any])).count == all)
        let worktreesPage = try #require(report["default_worktrees"] as? [String: Any])
        #expect((worktreesPage["worktrees"] as? [Any])?.count == 50 && worktreesPage["total"] as? Int == all)
        #expect(worktreesPage["next_cursor"] is String)

        // Filters: each walk holds only the matching rows and counts them.
        let filtered = try #require(report["filtered"] as? [String: [String: Any]])
        for (label, total) in ["project": 16, "host": 25, "status": 24, "prefer": 49] {
            let ids = walk(label, filtered[label])
            let pages = filtered[label]?["pages"] as? [[String: Any]] ?? []
            #expect(ids.count == total && pages.allSatisfy { $0["total"] as? Int == total }, "\(label): \(ids.count)")
        }
        let preferred = (filtered["prefer"]?["pages"] as? [[String: Any]] ?? []).flatMap { $0["projects"] as? [String] ?? [] }
        #expect(preferred.prefix(16).allSatisfy { $0 == "p1" } && preferred.first == "p1", "\(preferred)")

        let overlaps = try #require(report["overlaps_by_5"] as? [String: Any])
        let pairs = (overlaps["rows"] as? [[String]] ?? []).map { $0.joined(separator: " ") }
        #expect(pairs.count == (p1Count - 1) * 2 && Set(pairs).count == pairs.count, "\(pairs)")
        #expect((overlaps["totals"] as? [Int] ?? []).allSatisfy { $0 == (p1Count - 1) * 2 })
        let elsewhere = report["overlap_cursor_elsewhere"] as? [String: Any]
        #expect(elsewhere?["is_error"] as? Bool == true && (elsewhere?["text"] as? String)?.contains("another worktree") == true)
        #expect((report["cursor_same_filters"] as? [String: Any])?["is_error"] as? Bool == false)
        #expect(((report["limit_max"] as? [String: Any])?["worktrees"] as? [Any])?.count == 49)
        let bad = try #require(report["bad"] as? [String: [String: Any]])
        #expect(bad.count == 8)
        for (label, outcome) in bad {
            let text = outcome["text"] as? String ?? ""
            #expect(outcome["is_error"] as? Bool == true && !text.isEmpty && !text.contains("\n"), "\(label): \(text)")
        }
        for label in ["garbage_cursor", "foreign_cursor"] {
            #expect((bad[label]?["text"] as? String)?.contains("start over") == true, "\(label): \(bad[label] ?? [:])")
        }
        #expect((bad["other_tools_cursor"]?["text"] as? String)?.contains("belongs to list_worktrees") == true)
        #expect((bad["cursor_other_filter"]?["text"] as? String)?.contains("'project' differs") == true)
        #expect((bad["limit_too_big"]?["text"] as? String)?.contains("between 1 and 1000") == true)
    }
}
