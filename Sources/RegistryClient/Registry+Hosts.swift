import struct Foundation.Date
import PostgresClient

/// One machine sharing the registry, as `imi-sync hosts` lists it.
public struct HostRecord: Sendable, Equatable {
    public var id: String
    public var name: String
    public var agentVersion: String?
    public var heartbeatSeconds: Int
    public var startedAt: Date?
    public var lastSeenAt: Date?
    /// Its agent missed three heartbeats (or never reported).
    public var stale: Bool
    public var activeWorktrees: Int
    public var inflightWorktrees: Int
}

extension Registry {
    /// Registers this machine (or refreshes its row) and returns its id. `starting` marks an
    /// agent's start; `heartbeatSeconds` is how often it will report (`nil` keeps the stored one).
    public func registerHost(
        named name: String, agentVersion: String?, heartbeatSeconds: Int? = nil, starting: Bool = false
    ) throws -> String {
        try connection.execute(
            """
            INSERT INTO hosts (name, agent_version, heartbeat_seconds, started_at, last_seen_at)
            VALUES ($1, $2, coalesce($3::integer, 300), CASE WHEN $4 THEN now() END, now())
            ON CONFLICT (name) DO UPDATE SET
                agent_version = coalesce(EXCLUDED.agent_version, hosts.agent_version),
                heartbeat_seconds = coalesce($3::integer, hosts.heartbeat_seconds),
                started_at = CASE WHEN $4 THEN now() ELSE hosts.started_at END,
                last_seen_at = now()
            RETURNING id
            """,
            [name, agentVersion, heartbeatSeconds, starting]
        ).decode(0, 0)
    }

    /// The id of the host called `name`, `nil` when there is none (or no hosts table yet).
    public func hostID(named name: String) throws -> String? {
        let exists: Bool = try connection.execute("SELECT to_regclass('hosts') IS NOT NULL").decode(0, 0)
        guard exists else { return nil }
        let result = try connection.execute("SELECT id FROM hosts WHERE name = $1", [name])
        return result.count == 0 ? nil : try result.decode(0, 0)
    }

    /// The heartbeat of a host: it is alive and its rows are current.
    public func touchHost(_ id: String) throws {
        try connection.execute("UPDATE hosts SET last_seen_at = now() WHERE id = $1", [id])
    }

    /// Every host with its worktree counts, by name.
    public func hosts() throws -> [HostRecord] {
        let result = try connection.execute("""
            SELECT h.id, h.name, h.agent_version, h.heartbeat_seconds, h.started_at, h.last_seen_at,
                   imi_host_is_stale(h.last_seen_at, h.heartbeat_seconds),
                   count(w.id) FILTER (WHERE w.active),
                   count(w.id) FILTER (WHERE w.active AND imi_worktree_status(
                       w.has_uncommitted_changes, w.ahead_of_trunk, w.behind_trunk) <> 'clean')
            FROM hosts h LEFT JOIN worktrees w ON w.host_id = h.id
            GROUP BY h.id ORDER BY h.name
            """)
        return try (0..<result.count).map { row in
            HostRecord(
                id: try result.decode(row, 0), name: try result.decode(row, 1),
                agentVersion: try result.decode(row, 2, as: String?.self),
                heartbeatSeconds: try result.decode(row, 3),
                startedAt: try result.decode(row, 4, as: Date?.self),
                lastSeenAt: try result.decode(row, 5, as: Date?.self),
                stale: try result.decode(row, 6), activeWorktrees: try result.decode(row, 7),
                inflightWorktrees: try result.decode(row, 8))
        }
    }

    /// Rows from before hosts existed (no host) that `host` takes over; returns how many.
    /// Only rows still without a host change, so two hosts adopting at once cannot both win.
    @discardableResult
    public func adopt(_ ids: [String], host: String) throws -> Int {
        guard !ids.isEmpty else { return 0 }
        return try connection.execute(
            "UPDATE worktrees SET host_id = $2 WHERE id = ANY($1::uuid[]) AND host_id IS NULL",
            [ids, host]
        ).affectedRows
    }
}
