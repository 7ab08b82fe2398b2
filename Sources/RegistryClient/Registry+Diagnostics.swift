import struct Foundation.Date
import PostgresClient

/// Registry-wide counts, from `get_registry_stats()`.
public struct RegistryStats: Sendable, Equatable, Codable {
    public var totalProjects: Int
    public var activeProjects: Int
    public var totalWorktrees: Int
    public var activeWorktrees: Int
    public var worktreeTypes: Int
    public var totalActivities: Int
    public var uncommittedWorktrees: Int
    public var aheadWorktrees: Int
    public var behindWorktrees: Int
    public var divergedWorktrees: Int
    public var neverSyncedWorktrees: Int
    /// Seconds since the epoch of the newest `last_sync_at`, `nil` when nothing was synced.
    public var lastSyncAt: Double?
}

/// One row of `v_inflight_work`.
public struct InflightWorktree: Sendable, Equatable {
    public var worktreeID: String
    public var projectName: String
    public var worktreeName: String
    public var branchName: String
    public var path: String
    public var agentID: String?
    public var status: String
    public var uncommittedFilesCount: Int?
    public var aheadOfTrunk: Int?
    public var behindTrunk: Int?
    public var lastCommitHash: String?
    public var lastCommitMessage: String?
    public var lastSyncAt: Double?
    /// The host it lives on; `nil` for a row no host has adopted yet.
    public var host: String?
    /// Its host missed three heartbeats: the row may be out of date.
    public var stale: Bool?
    /// Set when its branch is merged (status `merged`: listed for its uncommitted changes).
    public var mergedAt: Date?
    public var mergedBy: String?
    public var mergeCommitHash: String?
}

/// A registry integrity finding: what is wrong and how many rows show it.
public struct IntegrityProblem: Sendable, Equatable {
    public var check: String
    public var rows: Int
}

extension Registry {
    public func stats() throws -> RegistryStats {
        let result = try connection.execute("""
            SELECT total_projects, active_projects, total_worktrees, active_worktrees,
                   worktree_types, total_activities, uncommitted_worktrees, ahead_worktrees,
                   behind_worktrees, diverged_worktrees, never_synced_worktrees,
                   extract(epoch FROM last_sync_at)::float8
            FROM get_registry_stats()
            """)
        let count = { (column: Int) throws -> Int in try result.decode(0, column) }
        return RegistryStats(
            totalProjects: try count(0), activeProjects: try count(1), totalWorktrees: try count(2),
            activeWorktrees: try count(3), worktreeTypes: try count(4), totalActivities: try count(5),
            uncommittedWorktrees: try count(6), aheadWorktrees: try count(7), behindWorktrees: try count(8),
            divergedWorktrees: try count(9), neverSyncedWorktrees: try count(10),
            lastSyncAt: try result.decode(0, 11, as: Double?.self))
    }

    /// In-flight work (anything not clean; a merged worktree only while it has uncommitted
    /// changes), optionally for one project by name.
    public func inflightWork(projectName: String? = nil) throws -> [InflightWorktree] {
        let result = try connection.execute("""
            SELECT \(Self.inflightColumns)
            FROM v_inflight_work
            WHERE $1::text IS NULL OR project_name = $1::text
            ORDER BY project_name, worktree_name
            """, [projectName])
        return try (0..<result.count).map { try Self.inflightRow(result, row: $0) }
    }

    /// The columns of `v_inflight_work` ``inflightRow(_:row:first:)`` reads.
    static let inflightColumns = """
        worktree_id, project_name, worktree_name, branch_name, path, agent_id, status,
        uncommitted_files_count, ahead_of_trunk, behind_trunk, last_commit_hash,
        last_commit_message, extract(epoch FROM last_sync_at)::float8, host, stale,
        merged_at, merged_by, merge_commit_hash
        """

    /// One ``InflightWorktree`` from the ``inflightColumns`` starting at column `first`.
    static func inflightRow(_ result: PostgresRows, row: Int, first: Int = 0) throws -> InflightWorktree {
        let c = first
        return InflightWorktree(
            worktreeID: try result.decode(row, c), projectName: try result.decode(row, c + 1),
            worktreeName: try result.decode(row, c + 2), branchName: try result.decode(row, c + 3),
            path: try result.decode(row, c + 4), agentID: try result.decode(row, c + 5, as: String?.self),
            status: try result.decode(row, c + 6), uncommittedFilesCount: try result.decode(row, c + 7, as: Int?.self),
            aheadOfTrunk: try result.decode(row, c + 8, as: Int?.self), behindTrunk: try result.decode(row, c + 9, as: Int?.self),
            lastCommitHash: try result.decode(row, c + 10, as: String?.self),
            lastCommitMessage: try result.decode(row, c + 11, as: String?.self),
            lastSyncAt: try result.decode(row, c + 12, as: Double?.self),
            host: try result.decode(row, c + 13, as: String?.self), stale: try result.decode(row, c + 14, as: Bool?.self),
            mergedAt: try result.decode(row, c + 15, as: Date?.self), mergedBy: try result.decode(row, c + 16, as: String?.self),
            mergeCommitHash: try result.decode(row, c + 17, as: String?.self))
    }

    /// Orphans, duplicates and unvalidated constraints; empty when the registry is sound.
    public func integrityProblems() throws -> [IntegrityProblem] {
        let result = try connection.execute("""
            SELECT 'worktrees without a project', count(*) FROM worktrees w
                WHERE NOT EXISTS (SELECT 1 FROM projects p WHERE p.id = w.project_id)
            UNION ALL
            SELECT 'worktrees with an unknown type', count(*) FROM worktrees w
                WHERE NOT EXISTS (SELECT 1 FROM worktree_types t WHERE t.id = w.type_id)
            UNION ALL
            SELECT 'activities without a worktree', count(*) FROM agent_activities a
                WHERE NOT EXISTS (SELECT 1 FROM worktrees w WHERE w.id = a.worktree_id)
            UNION ALL
            SELECT 'active projects sharing a remote', count(*) FROM (
                SELECT remote_origin FROM projects WHERE active AND remote_origin <> ''
                GROUP BY remote_origin HAVING count(*) > 1) d
            UNION ALL
            SELECT 'active worktrees of one host sharing a path', count(*) FROM (
                SELECT path FROM worktrees WHERE active GROUP BY host_id, path HAVING count(*) > 1) d
            UNION ALL
            SELECT 'constraints not validated', count(*) FROM pg_constraint c
                JOIN pg_class r ON r.oid = c.conrelid
                WHERE NOT c.convalidated
                  AND r.relname IN ('projects', 'worktrees', 'worktree_types', 'agent_activities')
            """)
        return try (0..<result.count).compactMap { row in
            let rows: Int = try result.decode(row, 1)
            return rows > 0 ? IntegrityProblem(check: try result.decode(row, 0), rows: rows) : nil
        }
    }

    /// What `maintain` removed.
    public struct MaintenanceReport: Sendable, Equatable {
        public var activitiesRemoved: Int
        public var worktreesPruned: Int
    }

    /// The plan's retention and pruning, then `VACUUM ANALYZE` outside any transaction.
    public func maintain(activityRetentionDays: Int, inactiveWorktreeDays: Int) throws -> MaintenanceReport {
        let activities: Int = try connection.execute(
            "SELECT cleanup_old_activities($1::integer)", [activityRetentionDays]).decode(0, 0)
        let worktrees: Int = try connection.execute(
            "SELECT prune_inactive_worktrees($1::integer)", [inactiveWorktreeDays]).decode(0, 0)
        // VACUUM refuses to run in a transaction block or function; a simple-protocol
        // statement on its own is neither.
        try connection.executeScript(
            StaticScript("VACUUM (ANALYZE) projects, worktree_types, worktrees, agent_activities"))
        return MaintenanceReport(activitiesRemoved: activities, worktreesPruned: worktrees)
    }
}
