import struct Foundation.Date
import PostgresClient

/// One worktree row as agents ask for it (`imi-sync mcp`): identity, git state, holder.
public struct WorktreeRecord: Sendable, Equatable {
    public var id: String
    public var project: String
    public var defaultBranch: String
    public var worktree: String
    public var type: String
    public var branch: String
    public var path: String
    public var host: String?
    public var hostID: String?
    public var active: Bool
    public var status: String?
    public var uncommittedFilesCount: Int?
    public var aheadOfTrunk: Int?
    public var behindTrunk: Int?
    public var lastCommitHash: String?
    public var lastCommitMessage: String?
    public var lastSyncAt: Date?
    public var stale: Bool?
    public var agentID: String?
    public var agentLeaseExpiresAt: Date?
    /// Paths in its stored change set; `nil` when none was computed.
    public var changeSetSize: Int?
    /// The stored merge facts; `nil` when its branch is not merged.
    public var mergedAt: Date?
    public var mergedBy: String?
    public var mergeCommitHash: String?
}

extension Registry {
    /// Worktrees by project and host names (`nil`: any), active ones unless `includeInactive`;
    /// or the one with `id`, or the active one at `path`.
    public func worktreeRecords(
        project: String? = nil, host: String? = nil, includeInactive: Bool = false, id: String? = nil,
        path: String? = nil
    ) throws -> [WorktreeRecord] {
        let result = try connection.execute(
            """
            SELECT \(Self.recordColumns)
            FROM v_worktrees_detail d
            JOIN worktrees w ON w.id = d.id
            LEFT JOIN worktree_change_sets c ON c.worktree_id = d.id
            WHERE ($1::text IS NULL OR d.project_name = $1)
              AND ($2::text IS NULL OR d.host_name = $2)
              AND ($3 OR d.active OR $4::uuid IS NOT NULL)
              AND ($4::uuid IS NULL OR d.id = $4::uuid)
              AND ($5::text IS NULL OR (d.path = $5 AND d.active))
            ORDER BY d.project_name, d.name
            """, [project, host, includeInactive, id, path])
        return try (0..<result.count).map { try Self.record(result, row: $0) }
    }

    /// The columns ``record(_:row:first:)`` reads, from `v_worktrees_detail d`, `worktrees w`
    /// and `worktree_change_sets c`.
    static let recordColumns = """
        d.id, d.project_name, d.default_branch, d.name, d.type_name, d.branch_name, d.path, d.host_name,
        d.host_id, d.active, d.status, d.uncommitted_files_count, d.ahead_of_trunk, d.behind_trunk,
        d.last_commit_hash, d.last_commit_message, d.last_sync_at, d.stale, d.agent_id,
        w.agent_lease_expires_at, c.path_count, d.merged_at, d.merged_by, d.merge_commit_hash
        """

    /// One ``WorktreeRecord`` from the ``recordColumns`` starting at column `first`.
    static func record(_ result: PostgresRows, row: Int, first: Int = 0) throws -> WorktreeRecord {
        let c = first
        return WorktreeRecord(
            id: try result.decode(row, c), project: try result.decode(row, c + 1), defaultBranch: try result.decode(row, c + 2),
            worktree: try result.decode(row, c + 3), type: try result.decode(row, c + 4), branch: try result.decode(row, c + 5),
            path: try result.decode(row, c + 6), host: try result.decode(row, c + 7, as: String?.self),
            hostID: try result.decode(row, c + 8, as: String?.self), active: try result.decode(row, c + 9),
            status: try result.decode(row, c + 10, as: String?.self),
            uncommittedFilesCount: try result.decode(row, c + 11, as: Int?.self),
            aheadOfTrunk: try result.decode(row, c + 12, as: Int?.self), behindTrunk: try result.decode(row, c + 13, as: Int?.self),
            lastCommitHash: try result.decode(row, c + 14, as: String?.self),
            lastCommitMessage: try result.decode(row, c + 15, as: String?.self),
            lastSyncAt: try result.decode(row, c + 16, as: Date?.self), stale: try result.decode(row, c + 17, as: Bool?.self),
            agentID: try result.decode(row, c + 18, as: String?.self),
            agentLeaseExpiresAt: try result.decode(row, c + 19, as: Date?.self),
            changeSetSize: try result.decode(row, c + 20, as: Int?.self),
            mergedAt: try result.decode(row, c + 21, as: Date?.self), mergedBy: try result.decode(row, c + 22, as: String?.self),
            mergeCommitHash: try result.decode(row, c + 23, as: String?.self))
    }
}
