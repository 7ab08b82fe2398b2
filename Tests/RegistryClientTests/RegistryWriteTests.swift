import Foundation
import PostgresClient
import RegistryClient
import TestSupport
import Testing

@Suite("Batched git-state writes", .ownThreads)
struct RegistryWriteTests {
    /// Strings that break naive quoting, array literals or SQL splicing.
    static let awkwardMessages: [String?] = [
        "plain", "O'Brien's \"quote\"", #"back\slash \" and \\"#, "{braces},comma", "NULL", "",
        "'; DROP TABLE worktrees; --", "tab\there", "ünïcødé ✓ 日本語", nil,
        String(repeating: "long ", count: 2000),
    ]

    @Test("one write spanning several batches stores every value exactly")
    func multiBatchRoundTrip() throws {
        let registry = try RegistrySeeder.freshRegistry()
        let projectID = try registry.addProject("bulk")
        let rowCount = Registry.batchSize * 2 + 37
        let ids = try registry.connection.execute(
            """
            INSERT INTO worktrees (project_id, type_id, name, branch_name, path)
            SELECT $1, (SELECT id FROM worktree_types WHERE name = 'feat'),
                   'wt-' || n, 'b-' || n, '/tmp/bulk/wt-' || n
            FROM generate_series(1, $2::int) AS n
            RETURNING id
            """,
            [projectID, String(rowCount)]
        ).rows.map { $0[0]! }
        let readAt = Date(timeIntervalSince1970: 1_800_000_000.25)
        let updates = ids.enumerated().map { index, id in
            GitStateUpdate(
                worktreeID: id,
                uncommittedFilesCount: index % 7,
                aheadOfTrunk: index % 3 == 0 ? nil : index,
                behindTrunk: index % 5 == 0 ? nil : index + 1,
                lastCommitHash: index % 11 == 0 ? nil : String(format: "%040x", index),
                lastCommitMessage: Self.awkwardMessages[index % Self.awkwardMessages.count],
                readAt: readAt)
        }

        let written = try Registry(connection: registry.connection).write(updates)

        #expect(written == rowCount)
        for (index, update) in updates.enumerated() where index % 97 == 0 || index < Self.awkwardMessages.count {
            let stored = try registry.gitColumns(of: update.worktreeID)
            #expect(stored.uncommittedFilesCount == update.uncommittedFilesCount)
            #expect(stored.hasUncommittedChanges == (update.uncommittedFilesCount > 0))
            #expect(stored.aheadOfTrunk == update.aheadOfTrunk)
            #expect(stored.behindTrunk == update.behindTrunk)
            #expect(stored.lastCommitHash == update.lastCommitHash)
            #expect(stored.lastCommitMessage == update.lastCommitMessage)
            #expect(stored.lastSyncAt == 1_800_000_000.25)
        }
        let count = try registry.connection.execute("SELECT count(*) FROM worktrees")
        #expect(count.int(0, 0) == rowCount)
    }

    @Test("git-state writes do not bump updated_at; registry edits do")
    func updatedAtFollowsRegistryEdits() throws {
        let registry = try RegistrySeeder.freshRegistry()
        let projectID = try registry.addProject("p")
        let id = try registry.addWorktree(project: projectID, name: "w", path: "/tmp/p/w")
        try registry.connection.execute(
            "UPDATE worktrees SET updated_at = '2020-01-01T00:00:00Z' WHERE id = $1", [id])
        try Registry(connection: registry.connection).write([
            GitStateUpdate(
                worktreeID: id, uncommittedFilesCount: 1, aheadOfTrunk: 0, behindTrunk: 0,
                lastCommitHash: "a", lastCommitMessage: "m", readAt: Date())
        ])
        let afterSync = try registry.connection.execute(
            "SELECT updated_at = '2020-01-01T00:00:00Z' FROM worktrees WHERE id = $1", [id])
        #expect(afterSync.bool(0, 0) == true)
        try registry.connection.execute("UPDATE worktrees SET branch_name = 'renamed' WHERE id = $1", [id])
        let afterEdit = try registry.connection.execute(
            "SELECT updated_at > now() - interval '1 minute' FROM worktrees WHERE id = $1", [id])
        #expect(afterEdit.bool(0, 0) == true)
    }

    @Test("status precedence: uncommitted, diverged, ahead, behind, clean; unknown is NULL")
    func statusFunction() throws {
        let registry = try RegistrySeeder.freshRegistry()
        let cases: [(Bool?, Int?, Int?, String?)] = [
            (true, 2, 3, "uncommitted"), (false, 2, 3, "diverged"), (false, 2, 0, "ahead"),
            (false, 0, 4, "behind"), (false, 0, 0, "clean"), (false, nil, nil, "clean"),
            (nil, nil, nil, nil),
        ]
        for (uncommitted, ahead, behind, expected) in cases {
            let result = try registry.connection.execute(
                "SELECT imi_worktree_status($1::boolean, $2::integer, $3::integer)",
                [uncommitted.map { $0 ? "t" : "f" }, ahead.map(String.init), behind.map(String.init)])
            #expect(result.string(0, 0) == expected)
        }
    }
}
