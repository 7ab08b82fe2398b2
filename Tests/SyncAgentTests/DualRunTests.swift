import Foundation
import GitProbe
import LegacyMigration
import PostgresClient
import RegistryClient
import TestSupport
import Testing

@testable import SyncAgent

/// The dual-run period: the old iMi CLI still writes the legacy SQLite file while `run`
/// watches it and imports what it adds.
@Suite("Dual-run: run follows the legacy SQLite registry", .ownThreads)
struct DualRunTests {
    init() { GitLibrary.initialize() }

    @Test(
        "rows the old CLI adds are imported, imported rows are never overwritten, bad rows are quarantined",
        arguments: ["delete", "wal"])
    func followsLegacyFile(journalMode: String) async throws {
        let git = try GitFixture()
        let project = try git.makeProject("api")
        let legacy = try LegacyFixture(journalMode: journalMode)
        let l = LegacyFixture.literal
        let trunkID = "aaaaaaaa-1111-4000-8000-000000000001"
        try legacy.run("""
            INSERT INTO repositories VALUES ('r-api', 'api', \(l(project.trunk.path)), \(l(project.origin.path)), 'main',
                '2025-10-27T22:20:01Z', '2025-10-27T22:20:01Z', 1);
            INSERT INTO worktrees VALUES ('\(trunkID)', 'api', 'trunk-main', 'main', 'trunk', \(l(project.trunk.path)),
                '2025-10-27T22:20:01Z', '2025-10-27T22:20:01Z', 1, NULL);
            """)
        let registry = try RegistrySeeder.freshRegistry(prefix: "dual")
        var configuration = AgentConfiguration.fastForTests
        configuration.followedLegacyRegistry = legacy.path
        let written = try await withRunningAgent(RunningAgent(settings: registry.settings, configuration: configuration)) { running in
            #expect(try await eventually("caught up at start and synced") { try registry.row(trunkID).synced })

            // The old CLI makes a worktree and records it, with an activity; another on a disk
            // not mounted here; one for a repository it never recorded; and it edits a row
            // imported before.
            let feature = project.directory.appendingPathComponent("feat-cli")
            try git.git(["worktree", "add", "--quiet", "-b", "feat/cli", feature.path], in: project.trunk)
            let featureLegacyID = "aaaaaaaa-1111-4000-8000-000000000002"
            let awayID = "aaaaaaaa-1111-4000-8000-000000000003"
            let orphanID = "aaaaaaaa-1111-4000-8000-000000000004"
            try legacy.run("""
                INSERT INTO worktrees VALUES ('\(featureLegacyID)', 'api', 'feat-cli', 'feat/cli', 'feat', \(l(feature.path)),
                    '2025-11-01T10:00:00Z', '2025-11-01T10:00:00Z', 1, 'claude-9');
                INSERT INTO agent_activities VALUES ('aaaaaaaa-2222-4000-8000-000000000001', 'claude-9', '\(featureLegacyID)',
                    'created', 'a.txt', 'made by the old CLI', '2025-11-01T10:00:01Z');
                INSERT INTO worktrees VALUES ('\(awayID)', 'api', 'feat-away', 'feat/away', 'feat', '/mnt/usb/api/feat-away',
                    '2025-11-01T10:00:00Z', '2025-11-01T10:00:00Z', 1, NULL);
                INSERT INTO worktrees VALUES ('\(orphanID)', 'ghost', 'feat-x', 'feat/x', 'feat', '/code/ghost/feat-x',
                    '2025-11-01T10:00:00Z', '2025-11-01T10:00:00Z', 1, NULL);
                UPDATE worktrees SET agent_id = 'someone-else' WHERE id = '\(trunkID)';
                """)
            let written = try legacy.checksum()

            #expect(try await eventually("the new rows imported") {
                try registry.connection.execute("SELECT count(*) FROM worktrees WHERE id = $1", [awayID]).int(0, 0) == 1
            })
            #expect(try await eventually("the bad row quarantined") {
                try registry.connection.execute(
                    "SELECT reason FROM legacy_quarantine WHERE source_table = 'worktrees' AND source_id = $1", [orphanID]
                ).string(0, 0) == "orphan: no repository with this repo_name"
            })
            // One row for the worktree, however the agent saw it first (on disk or in the file),
            // and the activity went to that row.
            #expect(try await eventually("one row for the CLI's worktree, with its activity") {
                let rows = try registry.connection.execute(
                    "SELECT id FROM worktrees WHERE active AND path = $1", [feature.path])
                let activity = try registry.connection.execute(
                    "SELECT worktree_id FROM agent_activities WHERE id = 'aaaaaaaa-2222-4000-8000-000000000001'")
                return rows.count == 1 && activity.count == 1 && activity.string(0, 0) == rows.string(0, 0)
            })
            #expect(try registry.connection.execute(
                "SELECT count(*) FROM legacy_quarantine WHERE source_id = $1", [featureLegacyID]).int(0, 0) == 0)
            let agent = try registry.connection.execute("SELECT agent_id FROM worktrees WHERE id = $1", [trunkID])
            #expect(agent.string(0, 0) == nil, "a row imported before is never overwritten")
            #expect(try await eventually("imported at start and after the write") { running.statistics.legacyImports >= 2 })
            return written
        }
        #expect(try legacy.checksum() == written, "the agent never writes the legacy file")
    }
}
