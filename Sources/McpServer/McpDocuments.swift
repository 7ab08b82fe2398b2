import Foundation
import RegistryClient
import RegistryDocuments

/// The JSON documents `imi-sync mcp` tools return (snake_case keys, every key present).
package enum McpDocuments {
    /// One row of `v_inflight_work`, the shape `list_inflight_work` and `list_worktrees` share.
    package struct Worktree: Encodable, Sendable {
        package var id: String
        package var project: String
        package var worktree: String
        package var path: String
        @NullWhenAbsent package var host: String?
        @NullWhenAbsent package var status: String?
        @NullWhenAbsent package var uncommittedFilesCount: Int?
        @NullWhenAbsent package var aheadOfTrunk: Int?
        @NullWhenAbsent package var behindTrunk: Int?
        @NullWhenAbsent package var agentId: String?
        @NullWhenAbsent package var lastSyncAt: Date?
        @NullWhenAbsent package var stale: Bool?
        /// Set while the branch is merged into trunk (its status then reads `merged`).
        @NullWhenAbsent package var mergedAt: Date?
        @NullWhenAbsent package var mergedBy: String?
        @NullWhenAbsent package var mergeCommitHash: String?

        package init(_ row: InflightWorktree) {
            id = row.worktreeID
            project = row.projectName
            worktree = row.worktreeName
            path = row.path
            host = row.host
            status = row.status
            uncommittedFilesCount = row.uncommittedFilesCount
            aheadOfTrunk = row.aheadOfTrunk
            behindTrunk = row.behindTrunk
            agentId = row.agentID
            lastSyncAt = row.lastSyncAt.map { Date(timeIntervalSince1970: $0) }
            stale = row.stale
            mergedAt = row.mergedAt
            mergedBy = row.mergedBy
            mergeCommitHash = row.mergeCommitHash
        }

        package init(_ record: WorktreeRecord) {
            id = record.id
            project = record.project
            worktree = record.worktree
            path = record.path
            host = record.host
            status = record.status
            uncommittedFilesCount = record.uncommittedFilesCount
            aheadOfTrunk = record.aheadOfTrunk
            behindTrunk = record.behindTrunk
            agentId = record.agentID
            lastSyncAt = record.lastSyncAt
            stale = record.stale
            mergedAt = record.mergedAt
            mergedBy = record.mergedBy
            mergeCommitHash = record.mergeCommitHash
        }
    }

    /// `list_worktrees`: the common fields and what else a worktree row says.
    package struct ListedWorktree: Encodable, Sendable {
        package var common: Worktree
        package var type: String
        package var branch: String
        package var active: Bool

        package init(_ record: WorktreeRecord) {
            common = Worktree(record)
            type = record.type
            branch = record.branch
            active = record.active
        }

        private enum CodingKeys: String, CodingKey { case type, branch, active }

        /// The common fields and these in one object (JSONEncoder merges keyed containers).
        package func encode(to encoder: any Encoder) throws {
            try common.encode(to: encoder)
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(type, forKey: .type)
            try container.encode(branch, forKey: .branch)
            try container.encode(active, forKey: .active)
        }
    }

    /// `get_worktree_state`: the common fields, the last commit, the lease, the change set.
    package struct State: Encodable, Sendable {
        package var common: Worktree
        package var branch: String
        @NullWhenAbsent package var agentLeaseExpiresAt: Date?
        @NullWhenAbsent package var lastCommitHash: String?
        @NullWhenAbsent package var lastCommitMessage: String?
        /// Paths in its change set (`v_worktree_overlaps`); null when none was computed.
        @NullWhenAbsent package var changeSetSize: Int?

        package init(_ record: WorktreeRecord) {
            common = Worktree(record)
            branch = record.branch
            agentLeaseExpiresAt = record.agentLeaseExpiresAt
            lastCommitHash = record.lastCommitHash
            lastCommitMessage = record.lastCommitMessage
            changeSetSize = record.changeSetSize
        }

        private enum CodingKeys: String, CodingKey {
            case branch, agentLeaseExpiresAt, lastCommitHash, lastCommitMessage, changeSetSize
        }

        package func encode(to encoder: any Encoder) throws {
            try common.encode(to: encoder)
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(branch, forKey: .branch)
            try container.encode(_agentLeaseExpiresAt, forKey: .agentLeaseExpiresAt)
            try container.encode(_lastCommitHash, forKey: .lastCommitHash)
            try container.encode(_lastCommitMessage, forKey: .lastCommitMessage)
            try container.encode(_changeSetSize, forKey: .changeSetSize)
        }
    }

    package struct StateResult: Encodable, Sendable {
        package var worktree: State
        /// True when the state was read just now with libgit2 (`refresh: true`).
        package var refreshed: Bool
        /// With a refresh: whether the fresh state was written to the registry.
        @NullWhenAbsent package var written: Bool?
        /// Why it was not written (this role may not update git state, say).
        @NullWhenAbsent package var writeError: String?
    }

    /// `find_overlaps`: another worktree changing the same path.
    package struct Overlap: Encodable, Sendable {
        package var worktreeId: String
        package var worktree: String
        package var project: String
        @NullWhenAbsent package var host: String?
        package var path: String
        /// true / false from the merge of the two working states; null when not merged here.
        @NullWhenAbsent package var conflict: Bool?
    }

    package struct Claim: Encodable, Sendable {
        package var claimed: Bool
        @NullWhenAbsent package var agentId: String?
        @NullWhenAbsent package var expiresAt: Date?
    }

    package struct Stats: Encodable, Sendable {
        package var projects: Int
        package var activeProjects: Int
        package var worktrees: Int
        package var activeWorktrees: Int
        package var worktreeTypes: Int
        package var agentActivities: Int
        package var uncommittedWorktrees: Int
        package var aheadWorktrees: Int
        package var behindWorktrees: Int
        package var divergedWorktrees: Int
        package var neverSyncedWorktrees: Int
        @NullWhenAbsent package var lastSyncAt: Date?

        package init(_ stats: RegistryStats) {
            projects = stats.totalProjects
            activeProjects = stats.activeProjects
            worktrees = stats.totalWorktrees
            activeWorktrees = stats.activeWorktrees
            worktreeTypes = stats.worktreeTypes
            agentActivities = stats.totalActivities
            uncommittedWorktrees = stats.uncommittedWorktrees
            aheadWorktrees = stats.aheadWorktrees
            behindWorktrees = stats.behindWorktrees
            divergedWorktrees = stats.divergedWorktrees
            neverSyncedWorktrees = stats.neverSyncedWorktrees
            lastSyncAt = stats.lastSyncAt.map { Date(timeIntervalSince1970: $0) }
        }
    }
}
