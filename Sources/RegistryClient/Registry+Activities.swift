import struct Foundation.Date
import PostgresClient

/// One entry of a worktree's activity log (`agent_activities`).
public struct AgentActivity: Sendable, Equatable {
    public var agentID: String
    public var type: String
    public var filePath: String?
    public var description: String
    public var createdAt: Date
}

extension Registry {
    /// The newest `limit` activities of one worktree, newest first.
    public func recentActivities(of worktreeID: String, limit: Int = 20) throws -> [AgentActivity] {
        let result = try connection.execute(
            """
            SELECT agent_id, activity_type, file_path, description, created_at
            FROM agent_activities WHERE worktree_id = $1::uuid
            ORDER BY created_at DESC, id LIMIT $2
            """, [worktreeID, limit])
        return try (0..<result.count).map { row in
            AgentActivity(
                agentID: try result.decode(row, 0), type: try result.decode(row, 1),
                filePath: try result.decode(row, 2, as: String?.self), description: try result.decode(row, 3),
                createdAt: try result.decode(row, 4))
        }
    }
}

/// One side of a pair, as a conflict report needs it: where the worktree is and the commit its
/// change set is measured from.
public struct PairSide: Sendable, Equatable {
    public var id: String
    public var name: String
    public var path: String
    public var host: String?
    /// The merge base of its HEAD with trunk, from its change set; `nil` without one.
    public var baseCommit: String?
}

extension Registry {
    /// The two worktrees of a pair (or fewer, for ids that name no active worktree).
    public func pairSides(_ ids: [String]) throws -> [PairSide] {
        let result = try connection.execute(
            """
            SELECT w.id, w.name, w.path, h.name, s.base_commit
            FROM worktrees w
            LEFT JOIN hosts h ON h.id = w.host_id
            LEFT JOIN worktree_change_sets s ON s.worktree_id = w.id
            WHERE w.id = ANY($1::uuid[]) AND w.active ORDER BY w.id
            """, [ids])
        return try (0..<result.count).map { row in
            PairSide(
                id: try result.decode(row, 0), name: try result.decode(row, 1), path: try result.decode(row, 2),
                host: try result.decode(row, 3, as: String?.self), baseCommit: try result.decode(row, 4, as: String?.self))
        }
    }
}
