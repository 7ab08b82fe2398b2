import Foundation
import RegistryClient

/// The documents `imi-sync status --json` prints (and `serve` answers at `/api/inflight`):
/// snake_case keys, every key present, unknown values `null`.
package enum InflightDocument {
    /// One row of `v_inflight_work` (equatable: `serve` sends only the rows that changed).
    package struct Row: Encodable, Sendable, Equatable {
        package var worktreeId: String
        package var project: String
        package var worktree: String
        package var branch: String
        package var path: String
        @NullWhenAbsent package var agentId: String?
        package var status: String
        @NullWhenAbsent package var uncommittedFilesCount: Int?
        @NullWhenAbsent package var aheadOfTrunk: Int?
        @NullWhenAbsent package var behindTrunk: Int?
        @NullWhenAbsent package var lastCommitHash: String?
        @NullWhenAbsent package var lastCommitMessage: String?
        @NullWhenAbsent package var lastSyncAt: Date?
        @NullWhenAbsent package var host: String?
        @NullWhenAbsent package var stale: Bool?
        /// Set while the branch is merged into trunk (listed only with uncommitted changes).
        @NullWhenAbsent package var mergedAt: Date?
        @NullWhenAbsent package var mergedBy: String?
        @NullWhenAbsent package var mergeCommitHash: String?

        package init(_ work: InflightWorktree) {
            worktreeId = work.worktreeID
            project = work.projectName
            worktree = work.worktreeName
            branch = work.branchName
            path = work.path
            agentId = work.agentID
            status = work.status
            uncommittedFilesCount = work.uncommittedFilesCount
            aheadOfTrunk = work.aheadOfTrunk
            behindTrunk = work.behindTrunk
            lastCommitHash = work.lastCommitHash
            lastCommitMessage = work.lastCommitMessage
            lastSyncAt = work.lastSyncAt.map { Date(timeIntervalSince1970: $0) }
            host = work.host
            stale = work.stale
            mergedAt = work.mergedAt
            mergedBy = work.mergedBy
            mergeCommitHash = work.mergeCommitHash
        }

        // Spelled out: converting thousands of keys to snake_case at run time is slow.
        enum CodingKeys: String, CodingKey {
            case project, worktree, branch, path, status, host, stale
            case worktreeId = "worktree_id", agentId = "agent_id"
            case uncommittedFilesCount = "uncommitted_files_count", aheadOfTrunk = "ahead_of_trunk"
            case behindTrunk = "behind_trunk", lastCommitHash = "last_commit_hash"
            case lastCommitMessage = "last_commit_message", lastSyncAt = "last_sync_at"
            case mergedAt = "merged_at", mergedBy = "merged_by", mergeCommitHash = "merge_commit_hash"
        }
    }

    /// One merged worktree (`status --merged`): a candidate for removal.
    package struct Merged: Encodable, Sendable {
        package var worktreeId: String
        package var project: String
        package var worktree: String
        package var branch: String
        package var path: String
        @NullWhenAbsent package var host: String?
        @NullWhenAbsent package var stale: Bool?
        package var mergedAt: Date
        @NullWhenAbsent package var mergedBy: String?
        @NullWhenAbsent package var mergeCommitHash: String?
        @NullWhenAbsent package var uncommittedFilesCount: Int?

        package init(_ merged: MergedWorktree) {
            worktreeId = merged.id
            project = merged.projectName
            worktree = merged.worktreeName
            branch = merged.branchName
            path = merged.path
            host = merged.host
            stale = merged.stale
            mergedAt = merged.mergedAt
            mergedBy = merged.mergedBy
            mergeCommitHash = merged.mergeCommitHash
            uncommittedFilesCount = merged.uncommittedFilesCount
        }
    }
}
