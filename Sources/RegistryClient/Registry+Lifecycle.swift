import struct Foundation.Date
import PostgresClient

/// An active worktree whose branch is merged into trunk, as `status --merged` lists it.
public struct MergedWorktree: Sendable, Equatable {
    public var id: String
    public var projectName: String
    public var worktreeName: String
    public var branchName: String
    public var path: String
    /// The host it lives on; `nil` for a row no host has adopted yet.
    public var host: String?
    public var hostID: String?
    public var mergedAt: Date
    public var mergedBy: String?
    public var mergeCommitHash: String?
    /// Files changed since (work that is not in the merge); `nil` when never read.
    public var uncommittedFilesCount: Int?
    /// Its host missed three heartbeats: the row may be out of date.
    public var stale: Bool?
}

/// A merged worktree of one host, merged longer ago than prune's age: the caller checks
/// whether its directory is gone before deactivating it.
public struct PruneCandidate: Sendable, Equatable {
    public var id: String
    public var projectName: String
    public var worktreeName: String
    public var path: String
    public var hostID: String
    public var host: String
    public var mergedAt: Date
}

extension Registry {
    /// Active merged worktrees, oldest merge first, by project and host names (`nil`: any).
    public func mergedWorktrees(project: String? = nil, host: String? = nil) throws -> [MergedWorktree] {
        let result = try connection.execute(
            """
            SELECT d.id, d.project_name, d.name, d.branch_name, d.path, d.host_name, d.host_id,
                   d.merged_at, d.merged_by, d.merge_commit_hash, d.uncommitted_files_count, d.stale
            FROM v_worktrees_detail d
            WHERE d.active AND d.merged_at IS NOT NULL
              AND ($1::text IS NULL OR d.project_name = $1)
              AND ($2::text IS NULL OR d.host_name = $2)
            ORDER BY d.merged_at, d.project_name, d.name, d.id
            """, [project, host])
        return try (0..<result.count).map { row in
            MergedWorktree(
                id: try result.decode(row, 0), projectName: try result.decode(row, 1),
                worktreeName: try result.decode(row, 2), branchName: try result.decode(row, 3),
                path: try result.decode(row, 4), host: try result.decode(row, 5, as: String?.self),
                hostID: try result.decode(row, 6, as: String?.self), mergedAt: try result.decode(row, 7),
                mergedBy: try result.decode(row, 8, as: String?.self),
                mergeCommitHash: try result.decode(row, 9, as: String?.self),
                uncommittedFilesCount: try result.decode(row, 10, as: Int?.self),
                stale: try result.decode(row, 11, as: Bool?.self))
        }
    }

    /// The active worktrees of host `hostID` merged more than `days` days ago (by the server's
    /// clock), oldest merge first. Rows no host has adopted are not offered: a host's role may
    /// deactivate only its own.
    public func pruneCandidates(host hostID: String, mergedMoreThanDays days: Int) throws -> [PruneCandidate] {
        try Self.checkPruneAge(days)
        let result = try connection.execute(
            """
            SELECT w.id, p.name, w.name, w.path, h.id, h.name, w.merged_at
            FROM worktrees w
            JOIN projects p ON p.id = w.project_id
            JOIN hosts h ON h.id = w.host_id
            WHERE w.active AND w.merged_at IS NOT NULL AND w.host_id = $1::uuid
              AND w.merged_at < now() - make_interval(days => $2::integer)
            ORDER BY w.merged_at, p.name, w.name, w.id
            """, [hostID, days])
        return try (0..<result.count).map { row in
            PruneCandidate(
                id: try result.decode(row, 0), projectName: try result.decode(row, 1),
                worktreeName: try result.decode(row, 2), path: try result.decode(row, 3),
                hostID: try result.decode(row, 4), host: try result.decode(row, 5), mergedAt: try result.decode(row, 6))
        }
    }

    /// Deactivates (never deletes) those of `ids` that are still active, still merged more than
    /// `days` days ago and still host `hostID`'s: a row whose branch moved on, that came back or
    /// was deactivated meanwhile stays as it is. `gone_at` is set, as for any worktree gone from
    /// disk, so one that comes back at its path is active again. Runs under the membership lock
    /// (call it outside ``withMembershipLock(_:)``). Returns the ids it deactivated.
    public func deactivateMerged(_ ids: [String], host hostID: String, mergedMoreThanDays days: Int) throws -> [String] {
        try Self.checkPruneAge(days)
        guard !ids.isEmpty else { return [] }
        return try withMembershipLock {
            let result = try connection.execute(
                """
                UPDATE worktrees SET active = false, gone_at = now()
                WHERE id = ANY($1::uuid[]) AND host_id = $2::uuid AND active AND merged_at IS NOT NULL
                  AND merged_at < now() - make_interval(days => $3::integer)
                RETURNING id
                """, [ids, hostID, days])
            return try (0..<result.count).map { try result.decode($0, 0) }
        }
    }

    private static func checkPruneAge(_ days: Int) throws {
        guard (0...36_500).contains(days) else {
            throw RegistryError(.invalid, "prune: merged more than \(days) days ago is not an age (0 to 36500 days)")
        }
    }
}
