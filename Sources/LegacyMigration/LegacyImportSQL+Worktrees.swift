/// Legacy `worktrees` → `worktrees` on the importing host, each under its project and type.
extension LegacyImportSQL {
    static let planWorktrees: [String] = [
        """
        CREATE TEMP TABLE legacy_plan_worktrees ON COMMIT DROP AS
        SELECT s.ord, \(sourceID()) AS source_id, k.id, pr.id AS project_id, t.id AS type_id,
            s.worktree_name AS name, coalesce(s.branch_name, '') AS branch_name, s.path, s.agent_id,
            \(timestampsActiveAndMetadata()),
            \(repairs([
                "CASE WHEN s.branch_name IS NULL THEN 'branch_name missing; stored as empty' END",
            ] + timestampRepairs() + [activeRepair("active"), badTextRepair])) AS repairs,
            CASE WHEN k.id IS NULL THEN 'missing id'
                 WHEN coalesce(s.worktree_name, '') = '' THEN 'empty worktree_name'
                 WHEN coalesce(s.path, '') = '' THEN 'missing path'
                 WHEN octet_length(s.path) > 2000 OR octet_length(s.worktree_name) > 2000
                     THEN 'path or worktree_name too long to index (over 2000 bytes)'
                 WHEN s.created_at IS NULL AND s.updated_at IS NULL
                     THEN 'no usable timestamp (created_at and updated_at missing or unparseable)'
                 WHEN coalesce(s.worktree_type, '') = '' THEN 'missing worktree_type'
                 WHEN t.id IS NULL THEN 'worktree type quarantined'
                 WHEN pr.id IS NULL THEN coalesce('repository quarantined: ' || pq.problem,
                                                  'orphan: no repository with this repo_name')
            END AS problem,
            false AS present,
            NULL::uuid AS alias_of
        FROM legacy_stage_worktrees s
        CROSS JOIN LATERAL (SELECT \(key("id", namespace: "worktrees")) AS id) k
        LEFT JOIN LATERAL (
            SELECT c.id FROM (
                SELECT coalesce(pp.alias_of, pp.id) AS id, 0 AS rank, pp.active, pp.ord FROM legacy_plan_repositories pp
                WHERE pp.name = s.repo_name AND pp.problem IS NULL
                UNION ALL
                SELECT x.id, 1, x.active, 0 FROM projects x WHERE x.name = s.repo_name
            ) c ORDER BY c.rank, c.active DESC, c.ord LIMIT 1) pr ON true
        LEFT JOIN LATERAL (
            SELECT pp.problem FROM legacy_plan_repositories pp
            WHERE pp.name = s.repo_name AND pp.problem IS NOT NULL ORDER BY pp.ord LIMIT 1) pq ON true
        LEFT JOIN worktree_types t ON t.name = s.worktree_type
        """,
        duplicateID("legacy_plan_worktrees"),
        "UPDATE legacy_plan_worktrees p SET present = true WHERE problem IS NULL AND EXISTS (SELECT 1 FROM worktrees x WHERE x.id = p.id)",
        // The worktree registered already under another id on this host (found on disk by
        // `scan` or the agent; not a row of this legacy file): the legacy row is that
        // worktree, and its activities go to it.
        """
        UPDATE legacy_plan_worktrees p SET present = true, alias_of = x.id
        FROM worktrees x
        WHERE p.problem IS NULL AND NOT p.present AND p.active AND x.active AND x.path = p.path
          AND x.project_id = p.project_id AND x.host_id IS NOT DISTINCT FROM \(importHost)
          AND NOT EXISTS (SELECT 1 FROM legacy_plan_worktrees o WHERE o.id = x.id)
        """,
        """
        UPDATE legacy_plan_worktrees p SET problem = 'duplicate path (another active worktree has it)'
        FROM (SELECT ord, row_number() OVER (PARTITION BY path ORDER BY ord) AS n
              FROM legacy_plan_worktrees WHERE problem IS NULL AND NOT present AND active) d
        WHERE d.ord = p.ord AND (d.n > 1 OR EXISTS (SELECT 1 FROM worktrees x WHERE x.active AND x.path = p.path
              AND x.host_id IS NOT DISTINCT FROM \(importHost)))
        """,
        """
        UPDATE legacy_plan_worktrees p SET problem = 'duplicate worktree name in its project'
        FROM (SELECT ord, row_number() OVER (PARTITION BY project_id, name ORDER BY ord) AS n
              FROM legacy_plan_worktrees WHERE problem IS NULL AND NOT present AND active) d
        WHERE d.ord = p.ord AND (d.n > 1 OR EXISTS (SELECT 1 FROM worktrees x WHERE x.active AND x.project_id = p.project_id
              AND x.name = p.name AND x.host_id IS NOT DISTINCT FROM \(importHost)))
        """,
    ]

    /// The importing host (`imi.import_host`, set per transaction), NULL when none was given.
    static let importHost = "nullif(current_setting('imi.import_host', true), '')::uuid"

    static let insertWorktrees = """
        INSERT INTO worktrees (id, project_id, type_id, name, branch_name, path, agent_id, metadata,
                               created_at, updated_at, active, host_id)
        SELECT id, project_id, type_id, name, branch_name, path, agent_id, metadata,
               created_at, updated_at, active, \(importHost)
        FROM legacy_plan_worktrees WHERE problem IS NULL AND NOT present ORDER BY ord
        ON CONFLICT (id) DO NOTHING
        """
}
