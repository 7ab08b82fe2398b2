import Foundation
import RegistryClient
import RegistryDocuments

/// The JSON documents `imi-sync mcp` tools return (snake_case keys, every key present).
package enum McpDocuments {
    /// One document as compact JSON: keys spelled in snake_case by each type (no conversion at
    /// run time), sorted, dates in ISO 8601. One pass, linear in the document's size.
    package static func render<Document: Encodable>(_ document: Document) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        // Plain structs of strings, numbers and dates: encoding cannot fail.
        return String(decoding: try! encoder.encode(document), as: UTF8.self)
    }

    /// A page of a list tool: its rows, how many the query matches in all, the cursor of the
    /// next page (`null` on the last), and the project listed first.
    package struct Page<Row: Encodable & Sendable>: Encodable, Sendable {
        package var rows: [Row]
        package var rowsKey: String
        package var total: Int
        package var nextCursor: String?
        package var preferredProject: String?

        private struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(_ name: String) { stringValue = name }
            init?(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        package func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Key.self)
            try container.encode(rows, forKey: Key(rowsKey))
            try container.encode(total, forKey: Key("total"))
            try container.encode(nextCursor, forKey: Key("next_cursor"))
            if rowsKey == "worktrees" { try container.encode(preferredProject, forKey: Key("preferred_project")) }
        }
    }

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

        // Spelled out in snake_case: converting keys at run time is slow for long lists.
        private enum CodingKeys: String, CodingKey {
            case id, project, worktree, path, host, status, stale
            case uncommittedFilesCount = "uncommitted_files_count", aheadOfTrunk = "ahead_of_trunk"
            case behindTrunk = "behind_trunk", agentId = "agent_id", lastSyncAt = "last_sync_at"
            case mergedAt = "merged_at", mergedBy = "merged_by", mergeCommitHash = "merge_commit_hash"
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
            case branch, agentLeaseExpiresAt = "agent_lease_expires_at", lastCommitHash = "last_commit_hash"
            case lastCommitMessage = "last_commit_message", changeSetSize = "change_set_size"
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

        package init(worktree: State, refreshed: Bool, written: Bool? = nil, writeError: String? = nil) {
            self.worktree = worktree
            self.refreshed = refreshed
            self.written = written
            self.writeError = writeError
        }

        private enum CodingKeys: String, CodingKey { case worktree, refreshed, written, writeError = "write_error" }
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

        private enum CodingKeys: String, CodingKey { case worktreeId = "worktree_id", worktree, project, host, path, conflict }
    }

    package struct Claim: Encodable, Sendable {
        package var claimed: Bool
        @NullWhenAbsent package var agentId: String?
        @NullWhenAbsent package var expiresAt: Date?

        private enum CodingKeys: String, CodingKey { case claimed, agentId = "agent_id", expiresAt = "expires_at" }
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

        private enum CodingKeys: String, CodingKey {
            case projects, activeProjects = "active_projects", worktrees, activeWorktrees = "active_worktrees"
            case worktreeTypes = "worktree_types", agentActivities = "agent_activities"
            case uncommittedWorktrees = "uncommitted_worktrees", aheadWorktrees = "ahead_worktrees"
            case behindWorktrees = "behind_worktrees", divergedWorktrees = "diverged_worktrees"
            case neverSyncedWorktrees = "never_synced_worktrees", lastSyncAt = "last_sync_at"
        }

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
