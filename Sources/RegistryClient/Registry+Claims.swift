import struct Foundation.Date
import PostgresClient

/// The outcome of a claim: who holds the worktree now, and until when.
public struct ClaimOutcome: Sendable, Equatable {
    /// True when the caller holds it now (it was free, expired, or already the caller's).
    public var claimed: Bool
    /// The holder after the attempt (the caller when `claimed`).
    public var holder: String?
    /// When the holder's lease ends; `nil` for a claim without a lease.
    public var expiresAt: Date?
}

extension Registry {
    /// Claims worktree `id` for `agent`: one compare-and-set statement on `worktrees.agent_id`
    /// (free, already `agent`'s, or its lease expired), logged in `agent_activities` in the
    /// same transaction. `nil` when no active worktree has that id.
    public func claim(_ id: String, agent: String, leaseSeconds: Int?) throws -> ClaimOutcome? {
        try connection.transaction {
            let claimed = try connection.execute(
                """
                UPDATE worktrees SET agent_id = $2, agent_claimed_at = now(),
                    agent_lease_expires_at = CASE WHEN $3::integer IS NULL THEN NULL
                                                  ELSE now() + make_interval(secs => $3::integer) END
                WHERE id = $1::uuid AND active
                  AND (agent_id IS NULL OR agent_id = $2 OR agent_lease_expires_at < now())
                RETURNING agent_lease_expires_at
                """, [id, agent, leaseSeconds])
            if claimed.count == 1 {
                try connection.execute(
                    """
                    INSERT INTO agent_activities (agent_id, worktree_id, activity_type, description, metadata)
                    VALUES ($1, $2::uuid, 'other', 'claimed the worktree',
                            jsonb_build_object('event', 'claim', 'lease_seconds', $3::integer))
                    """, [agent, id, leaseSeconds])
                return ClaimOutcome(claimed: true, holder: agent, expiresAt: try claimed.decode(0, 0, as: Date?.self))
            }
            // A statement of its own, so it sees the claim that won meanwhile.
            let holder = try connection.execute(
                "SELECT agent_id, agent_lease_expires_at FROM worktrees WHERE id = $1::uuid AND active", [id])
            guard holder.count == 1 else { return nil }
            return ClaimOutcome(
                claimed: false, holder: try holder.decode(0, 0, as: String?.self),
                expiresAt: try holder.decode(0, 1, as: Date?.self))
        }
    }

    /// Releases worktree `id` if `agent` holds it; logged. False when another agent (or
    /// nobody) holds it; `nil` when no active worktree has that id.
    public func release(_ id: String, agent: String) throws -> Bool? {
        try connection.transaction {
            let released = try connection.execute(
                """
                UPDATE worktrees SET agent_id = NULL, agent_claimed_at = NULL, agent_lease_expires_at = NULL
                WHERE id = $1::uuid AND active AND agent_id = $2
                RETURNING id
                """, [id, agent])
            if released.count == 1 {
                try connection.execute(
                    """
                    INSERT INTO agent_activities (agent_id, worktree_id, activity_type, description, metadata)
                    VALUES ($1, $2::uuid, 'other', 'released the worktree', '{"event": "release"}'::jsonb)
                    """, [agent, id])
                return true
            }
            let exists: Bool = try connection.execute(
                "SELECT EXISTS (SELECT 1 FROM worktrees WHERE id = $1::uuid AND active)", [id]).decode(0, 0)
            return exists ? false : nil
        }
    }
}
