import Foundation
import RegistryClient

/// The JSON documents `imi-sync mcp` tools return (snake_case keys, every key present).
enum McpDocuments {
    /// One row of `v_inflight_work`, the shape `list_inflight_work` and `list_worktrees` share.
    struct Worktree: Encodable, Sendable {
        var id: String
        var project: String
        var worktree: String
        var path: String
        @NullWhenAbsent var host: String?
        @NullWhenAbsent var status: String?
        @NullWhenAbsent var uncommittedFilesCount: Int?
        @NullWhenAbsent var aheadOfTrunk: Int?
        @NullWhenAbsent var behindTrunk: Int?
        @NullWhenAbsent var agentId: String?
        @NullWhenAbsent var lastSyncAt: Date?
        @NullWhenAbsent var stale: Bool?

        init(_ row: InflightWorktree) {
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
        }

        init(_ record: WorktreeRecord) {
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
        }
    }

    /// `list_worktrees`: the common fields and what else a worktree row says.
    struct ListedWorktree: Encodable, Sendable {
        var common: Worktree
        var type: String
        var branch: String
        var active: Bool

        init(_ record: WorktreeRecord) {
            common = Worktree(record)
            type = record.type
            branch = record.branch
            active = record.active
        }

        private enum CodingKeys: String, CodingKey { case type, branch, active }

        /// The common fields and these in one object (JSONEncoder merges keyed containers).
        func encode(to encoder: any Encoder) throws {
            try common.encode(to: encoder)
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(type, forKey: .type)
            try container.encode(branch, forKey: .branch)
            try container.encode(active, forKey: .active)
        }
    }

    /// `get_worktree_state`: the common fields, the last commit, the lease, the change set.
    struct State: Encodable, Sendable {
        var common: Worktree
        var branch: String
        @NullWhenAbsent var agentLeaseExpiresAt: Date?
        @NullWhenAbsent var lastCommitHash: String?
        @NullWhenAbsent var lastCommitMessage: String?
        /// Paths in its change set (`v_worktree_overlaps`); null when none was computed.
        @NullWhenAbsent var changeSetSize: Int?

        init(_ record: WorktreeRecord) {
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

        func encode(to encoder: any Encoder) throws {
            try common.encode(to: encoder)
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(branch, forKey: .branch)
            try container.encode(_agentLeaseExpiresAt, forKey: .agentLeaseExpiresAt)
            try container.encode(_lastCommitHash, forKey: .lastCommitHash)
            try container.encode(_lastCommitMessage, forKey: .lastCommitMessage)
            try container.encode(_changeSetSize, forKey: .changeSetSize)
        }
    }

    struct StateResult: Encodable, Sendable {
        var worktree: State
        /// True when the state was read just now with libgit2 (`refresh: true`).
        var refreshed: Bool
        /// With a refresh: whether the fresh state was written to the registry.
        @NullWhenAbsent var written: Bool?
        /// Why it was not written (this role may not update git state, say).
        @NullWhenAbsent var writeError: String?
    }

    /// `find_overlaps`: another worktree changing the same path.
    struct Overlap: Encodable, Sendable {
        var worktreeId: String
        var worktree: String
        var project: String
        @NullWhenAbsent var host: String?
        var path: String
        /// true / false from the merge of the two working states; null when not merged here.
        @NullWhenAbsent var conflict: Bool?
    }

    struct Claim: Encodable, Sendable {
        var claimed: Bool
        @NullWhenAbsent var agentId: String?
        @NullWhenAbsent var expiresAt: Date?
    }

    struct Stats: Encodable, Sendable {
        var projects: Int
        var activeProjects: Int
        var worktrees: Int
        var activeWorktrees: Int
        var worktreeTypes: Int
        var agentActivities: Int
        var uncommittedWorktrees: Int
        var aheadWorktrees: Int
        var behindWorktrees: Int
        var divergedWorktrees: Int
        var neverSyncedWorktrees: Int
        @NullWhenAbsent var lastSyncAt: Date?

        init(_ stats: RegistryStats) {
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
