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
    /// Its rows in `v_inflight_work` (a merged worktree only while it has uncommitted changes).
    public var inflightWorktrees: Int
}

/// The current database role against the host an agent names. Row-level security
/// (deploy/roles.sql) lets a host's own role (a member of imi_sync_host) write only the rows of
/// the host whose `role_name` it is; any other write for another host matches no row.
public struct HostAuthority: Sendable, Equatable {
    /// The host the agent names.
    public var host: String
    /// `current_user`.
    public var role: String
    /// That host's `role_name`; `nil` when it has none or is not registered.
    public var hostRole: String?
    /// The host whose `role_name` is this role, if any.
    public var roleHost: String?
    /// The role is held to its own host's rows (not imi_sync_agent, the owner or a superuser).
    public var fenced: Bool

    public init(host: String, role: String, hostRole: String?, roleHost: String?, fenced: Bool) {
        self.host = host
        self.role = role
        self.hostRole = hostRole
        self.roleHost = roleHost
        self.fenced = fenced
    }

    /// One line saying why this role may not act for `host` and what to do; `nil` when it may.
    public var problem: String? {
        guard fenced, roleHost != host else { return nil }
        let owner = hostRole.map { "its agent role is \($0)" } ?? "it has no agent role"
        guard let roleHost else {
            return "role \(role) may not act for host '\(host)': \(owner) and no host names \(role) as its agent, "
                + "so the registry refuses its writes; as the registry owner run CALL imi_grant_host('\(host)', '\(role)')"
        }
        return "role \(role) may not act for host '\(host)': \(owner), and \(role) is the agent of host '\(roleHost)', "
            + "so the registry refuses its writes; run with --host \(roleHost) or log in as "
            + (hostRole ?? "a role granted '\(host)' (CALL imi_grant_host)")
    }
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

    /// The heartbeat of a host: it is alive and its rows are current. Returns how many rows
    /// it touched: 0 when the row is gone or row-level security keeps this role from it.
    @discardableResult
    public func touchHost(_ id: String) throws -> Int {
        try connection.execute("UPDATE hosts SET last_seen_at = now() WHERE id = $1", [id]).affectedRows
    }

    /// Whether the current role may write the rows of the host called `name`.
    public func hostAuthority(named name: String) throws -> HostAuthority {
        let result = try connection.execute(
            """
            SELECT current_user::text,
                   (SELECT h.role_name FROM hosts h WHERE h.name = $1),
                   (SELECT h.name FROM hosts h WHERE h.role_name = current_user),
                   EXISTS (SELECT FROM pg_roles g WHERE g.rolname = 'imi_sync_host'
                           AND pg_has_role(current_user, g.oid, 'MEMBER'))
                   AND NOT EXISTS (SELECT FROM pg_roles r WHERE r.rolname = current_user AND (r.rolsuper OR r.rolbypassrls))
                   AND NOT pg_has_role(current_user, (SELECT c.relowner FROM pg_class c WHERE c.oid = 'worktrees'::regclass),
                                       'MEMBER')
            """, [name])
        return HostAuthority(
            host: name, role: try result.decode(0, 0), hostRole: try result.decode(0, 1, as: String?.self),
            roleHost: try result.decode(0, 2, as: String?.self), fenced: try result.decode(0, 3))
    }

    /// Every host with its worktree counts, by name.
    public func hosts() throws -> [HostRecord] {
        let result = try connection.execute("""
            SELECT h.id, h.name, h.agent_version, h.heartbeat_seconds, h.started_at, h.last_seen_at,
                   imi_host_is_stale(h.last_seen_at, h.heartbeat_seconds),
                   count(w.id) FILTER (WHERE w.active),
                   (SELECT count(*) FROM v_inflight_work v WHERE v.host_id = h.id)
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
