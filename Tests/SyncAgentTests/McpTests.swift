import Foundation
import PostgresClient
import RegistryClient
import TestSupport
import Testing

@testable import SyncAgent

/// `imi-sync mcp` driven by the official Python MCP client over stdio (Tests/mcp/client.py,
/// the PyPI `mcp` package in the project's .venv, installed by scripts/test.sh).
@Suite("imi-sync mcp with the official Python MCP client", .ownThreads)
struct McpTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The client's interpreter: IMI_MCP_PYTHON, else .venv/bin/python. Missing: a failure
    /// under CI=true, else the test says so and stops.
    static func python() -> String? {
        let environment = ProcessInfo.processInfo.environment
        let candidate = environment["IMI_MCP_PYTHON"] ?? repository.appendingPathComponent(".venv/bin/python").path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        if environment["CI"] == "true" {
            Issue.record("the Python MCP client is missing at \(candidate): run scripts/test.sh (it makes .venv)")
        } else {
            print("skipping: no Python MCP client at \(candidate) (scripts/test.sh installs it)")
        }
        return nil
    }

    @Test("tools listed and called, results equal the registry, claims race, bad input is a tool error")
    func realClient() throws {
        guard let python = Self.python() else { return }
        let setup = try OverlapTests.Setup()
        try setup.git.write("A\nb\nc\nd\ne\nf\n", to: "README.md", in: setup.paths["a"]!)
        try setup.git.write("int a;\n", to: "src/app.c", in: setup.paths["a"]!)
        try setup.git.write("B\nb\nc\nd\ne\nf\n", to: "README.md", in: setup.paths["b"]!)
        #expect(try setup.imiSync(["once"]).status == 0)

        // As the least-privileged role deploy/roles.sql makes for it.
        try setup.registry.connection.executeScript(StaticScript(DeployFiles.rolesSQL))
        let database = try setup.registry.connection.execute("SELECT current_database()").string(0, 0)!
        let conninfo = try PostgresCluster.shared().settings(database: database, user: "imi_sync_mcp").conninfo
        let scenario: [String: Any] = [
            "binary": try imiSyncBinary().path,
            "arguments": ["mcp", "--database-url", conninfo, "--config", "/dev/null", "--host", "here"],
            "environment": ["PATH": "/usr/bin:/bin", "HOME": setup.git.home.path],
            "path": setup.paths["a"]!.path, "id": setup.ids["a"]!, "other_path": setup.paths["d"]!.path,
            "project": "app",
            "down_arguments": [
                "mcp", "--database-url", "postgresql://imi:s3cret-pw@127.0.0.1:1/registry?connect_timeout=2",
                "--config", "/dev/null",
            ],
        ]
        let output = setup.git.root.appendingPathComponent("mcp-report.json").path
        let errors = setup.git.root.appendingPathComponent("mcp-client.err").path
        let arguments = [Self.repository.appendingPathComponent("Tests/mcp/client.py").path,
                         String(decoding: try JSONSerialization.data(withJSONObject: scenario), as: UTF8.self)]
        let client = try ChildProcess(
            URL(fileURLWithPath: python), arguments, environment: ["PATH": "/usr/bin:/bin", "HOME": setup.git.home.path],
            standardOutput: output, standardError: errors)
        let status = client.waitForExit(timeout: 120)
        let clientErrors = (try? String(contentsOfFile: errors, encoding: .utf8)) ?? ""
        try #require(status == 0, "client failed: \(clientErrors.suffix(2000))")
        let report = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: output))) as? [String: Any])
        let calls = try #require(report["calls"] as? [String: [String: Any]])
        func document(_ label: String) throws -> [String: Any] {
            let call = try #require(calls[label], "\(label)")
            #expect(call["is_error"] as? Bool == false, "\(label): \(call["text"] ?? "")")
            // The document once, as text: no structured content (no tool declares an output schema).
            #expect(call["structured"] == nil || call["structured"] is NSNull, "\(label): no structured content")
            return try #require(call["document"] as? [String: Any], "\(label)")
        }

        // Tools: names, object schemas, required fields.
        let tools = try #require(report["tools"] as? [[String: Any]])
        #expect(Set(tools.compactMap { $0["name"] as? String }) == [
            "list_inflight_work", "list_worktrees", "get_worktree_state", "find_overlaps", "claim_worktree",
            "release_worktree", "registry_stats",
        ])
        for tool in tools { #expect((tool["schema"] as? [String: Any])?["type"] as? String == "object") }
        let claimSchema = tools.first { $0["name"] as? String == "claim_worktree" }?["schema"] as? [String: Any]
        #expect(claimSchema?["required"] as? [String] == ["agent_id"])

        // list_inflight_work: exactly v_inflight_work.
        let registry = Registry(connection: setup.registry.connection)
        let inflight = try registry.inflightWork()
        let listed = try #require(try document("list_inflight_work")["worktrees"] as? [[String: Any]])
        #expect(Set(listed.compactMap { $0["id"] as? String }) == Set(inflight.map(\.worktreeID)))
        for row in listed {
            let stored = try #require(inflight.first { $0.worktreeID == row["id"] as? String })
            #expect(row["uncommitted_files_count"] as? Int == stored.uncommittedFilesCount)
            #expect(row["status"] as? String == stored.status)
            #expect(row["path"] as? String == stored.path)
            #expect(Set(row.keys) == [
                "id", "project", "worktree", "path", "host", "status", "uncommitted_files_count", "ahead_of_trunk",
                "behind_trunk", "agent_id", "last_sync_at", "stale", "merged_at", "merged_by", "merge_commit_hash",
            ])
        }
        let page = try document("list_inflight_work")
        #expect(page["total"] as? Int == inflight.count && page["next_cursor"] is NSNull)
        #expect(page["preferred_project"] is NSNull, "the server runs outside every worktree")
        #expect(Set(page.keys) == ["worktrees", "total", "next_cursor", "preferred_project"])
        #expect((try document("list_inflight_work_project")["worktrees"] as? [Any])?.count == inflight.count)
        let all = try #require(try document("list_worktrees")["worktrees"] as? [[String: Any]])
        #expect(all.count == 5)
        #expect(all.allSatisfy { $0["active"] as? Bool == true && $0["type"] is String && $0["branch"] is String && $0["id"] is String })

        // get_worktree_state, stored and refreshed.
        let state = try #require(try document("get_worktree_state")["worktree"] as? [String: Any])
        #expect(state["id"] as? String == setup.ids["a"])
        #expect(state["change_set_size"] as? Int == 2)
        #expect(Set(state.keys) == [
            "id", "project", "worktree", "path", "host", "status", "uncommitted_files_count", "ahead_of_trunk",
            "behind_trunk", "agent_id", "last_sync_at", "stale", "branch", "agent_lease_expires_at", "last_commit_hash",
            "last_commit_message", "change_set_size", "merged_at", "merged_by", "merge_commit_hash",
        ])
        #expect(state["uncommitted_files_count"] as? Int == 2)
        let refreshed = try document("get_worktree_state_refresh")
        #expect(refreshed["refreshed"] as? Bool == true)
        #expect(refreshed["written"] as? Bool == false, "the mcp role may not write git state")
        let writeError = refreshed["write_error"] as? String ?? ""
        #expect(writeError.contains("permission denied"), "\(writeError)")
        for detail in ["UPDATE", "SELECT", try PostgresCluster.shared().socketDirectory, "imi_sync_mcp@"] {
            #expect(!writeError.contains(detail), "no statement or connection target in a result: \(writeError)")
        }
        #expect((refreshed["worktree"] as? [String: Any])?["uncommitted_files_count"] as? Int == 2)

        // find_overlaps: b changes README.md too, and merging conflicts.
        let overlapPage = try document("find_overlaps")
        let overlaps = try #require(overlapPage["overlaps"] as? [[String: Any]])
        #expect(overlapPage["total"] as? Int == overlaps.count && overlapPage["next_cursor"] is NSNull)
        #expect(overlaps.contains { $0["worktree_id"] as? String == setup.ids["b"] && $0["path"] as? String == "README.md" && $0["conflict"] as? Bool == true })
        #expect((try document("find_overlaps_file")["overlaps"] as? [[String: Any]])?.allSatisfy { $0["path"] as? String == "README.md" } == true)

        // Claims: compare-and-set, holder reported, only the holder releases, all logged.
        let claimed = try document("claim_worktree")
        #expect(claimed["claimed"] as? Bool == true && claimed["agent_id"] as? String == "agent-a")
        #expect(claimed["expires_at"] is String)
        let refused = try document("claim_worktree_by_b")
        #expect(refused["claimed"] as? Bool == false && refused["agent_id"] as? String == "agent-a")
        #expect(try document("release_worktree_by_b")["released"] as? Bool == false)
        #expect(try document("release_worktree")["released"] as? Bool == true)
        let logged = try setup.registry.connection.execute(
            "SELECT description FROM agent_activities WHERE worktree_id = $1 AND agent_id = 'agent-a' ORDER BY created_at",
            [setup.ids["a"]!])
        #expect(try (0..<logged.count).map { try logged.decode($0, 0) as String } == ["claimed the worktree", "released the worktree"])

        #expect(try document("registry_stats")["active_worktrees"] as? Int == (try registry.stats().activeWorktrees))

        // Bad input: a tool error of one line each, and the server keeps serving.
        let bad = try #require(report["bad"] as? [String: [String: Any]])
        #expect(bad.count == 8)
        for (label, outcome) in bad {
            #expect(outcome["is_error"] as? Bool == true, "\(label)")
            let text = outcome["text"] as? String ?? ""
            #expect(!text.isEmpty && !text.contains("\n"), "\(label): \(text)")
        }
        #expect((bad["unregistered_path"]?["text"] as? String)?.contains("/nowhere/registered") == true)
        for label in ["nul_in_agent_id", "nul_in_path"] {
            #expect((bad[label]?["text"] as? String)?.contains("NUL") == true, "\(label): \(bad[label] ?? [:])")
        }
        #expect((report["after_bad"] as? [String: Any])?["is_error"] as? Bool == false)

        // The race: exactly one of two concurrent claims wins; the other is told who.
        let race = try #require(report["race"] as? [[String: Any]])
        let verdicts = race.compactMap { $0["document"] as? [String: Any] }
        #expect(verdicts.count == 2)
        let winners = verdicts.filter { $0["claimed"] as? Bool == true }
        #expect(winners.count == 1)
        let winner = winners.first?["agent_id"] as? String
        #expect(verdicts.allSatisfy { $0["agent_id"] as? String == winner })
        let holder = try setup.registry.connection.execute("SELECT agent_id FROM worktrees WHERE id = $1", [setup.ids["d"]!])
        #expect(try holder.decode(0, 0, as: String?.self) == winner)

        // A database that is down: one line, no password, and the server still answers.
        let down = try #require(report["down"] as? [String: Any])
        #expect(down["tools"] as? Int == 7)
        for key in ["first", "second"] {
            let outcome = try #require(down[key] as? [String: Any])
            let text = outcome["text"] as? String ?? ""
            #expect(outcome["is_error"] as? Bool == true)
            #expect(text.contains("unreachable") && !text.contains("\n"), "\(text)")
            #expect(!text.contains("s3cret-pw"), "no password in a result: \(text)")
        }
        #expect(!clientErrors.contains("s3cret-pw"), "no password in the server's log")
    }
}
