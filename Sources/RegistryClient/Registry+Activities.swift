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
