import PostgresClient
import RegistryClient
/// The SQL that turns staged legacy rows into registry rows. Staging tables hold the legacy
/// text; each `legacy_plan_*` table holds, per source row, the registry row it becomes, the
/// repairs made on the way, and the reason it cannot be imported (`problem`), if any.
///
/// Every value comes from the staging tables (filled by COPY); the text here is fixed.
/// The importer and the verifier run the same plans, so what is checked is what was imported.
enum LegacyImportSQL {
    static let activityTypes =
        "('created', 'modified', 'deleted', 'committed', 'pushed', 'merged', 'synced', 'other')"

    /// The UUID a legacy id maps to: itself when it is one, else md5 of a fixed namespace,
    /// the legacy table and the id (deterministic, so runs agree), else NULL.
    static func key(_ column: String, namespace: String) -> String {
        """
        CASE WHEN s.\(column) IS NOT NULL THEN s.\(column)::uuid \
        WHEN s.\(column)__raw IS NOT NULL THEN md5('imi-legacy:\(namespace):' || s.\(column)__raw)::uuid END
        """
    }

    /// A legacy boolean (0/1, true/false, t/f, yes/no, on/off in any case), else NULL.
    static func boolean(_ expression: String) -> String {
        """
        (CASE lower(btrim(\(expression))) WHEN '1' THEN true WHEN 't' THEN true WHEN 'true' THEN true \
        WHEN 'yes' THEN true WHEN 'y' THEN true WHEN 'on' THEN true \
        WHEN '0' THEN false WHEN 'f' THEN false WHEN 'false' THEN false WHEN 'no' THEN false \
        WHEN 'n' THEN false WHEN 'off' THEN false END)
        """
    }

    /// The source row exactly as read (original text of every column), for the quarantine.
    static func sourceRow(_ table: LegacyTable) -> String {
        var pairs = ["'rowid', s.ord"]
        for column in table.columns {
            let value = column.kind == .text ? "s.\(column.name)" : "coalesce(s.\(column.name)__raw, s.\(column.name))"
            pairs.append("'\(column.name)', \(value)")
        }
        return "jsonb_build_object(\(pairs.joined(separator: ", ")))"
    }

    static func sourceID(_ column: String = "id") -> String {
        "coalesce(s.\(column)__raw, s.\(column), 'rowid:' || s.ord)"
    }

    /// Repairs of a pair of timestamps where either stands in for the other.
    private static func timestampRepairs() -> [String] {
        [
            """
            CASE WHEN s.created_at IS NULL AND s.updated_at IS NOT NULL THEN 'created_at ' || \
            CASE WHEN s.created_at__raw IS NULL THEN 'missing' ELSE 'unparseable' END || '; set to updated_at' END
            """,
            """
            CASE WHEN s.updated_at IS NULL AND s.created_at IS NOT NULL THEN 'updated_at ' || \
            CASE WHEN s.updated_at__raw IS NULL THEN 'missing' ELSE 'unparseable' END || '; set to created_at' END
            """,
        ]
    }

    private static func activeRepair(_ column: String) -> String {
        """
        CASE WHEN \(boolean("s.\(column)")) IS NULL THEN '\(column) ' || \
        CASE WHEN s.\(column) IS NULL THEN 'missing' ELSE 'not a boolean' END || '; set to true' END
        """
    }

    private static let badTextRepair =
        "CASE WHEN s.bad_text IS NOT NULL THEN 'invalid UTF-8 or NUL bytes replaced in ' || s.bad_text END"

    private static func repairs(_ items: [String]) -> String {
        "array_remove(ARRAY[\(items.joined(separator: ",\n"))]::text[], NULL)"
    }

    // MARK: repositories → projects

    static let planProjects: [String] = [
        """
        CREATE TEMP TABLE legacy_plan_repositories ON COMMIT DROP AS
        SELECT s.ord, \(sourceID()) AS source_id, k.id, s.name,
            coalesce(s.remote_url, '') AS remote_origin,
            b.default_branch,
            CASE WHEN p.last_part LIKE 'trunk-_%' THEN p.clean
                 ELSE rtrim(p.clean, '/') || '/trunk-' || b.default_branch END AS trunk_path,
            \(timestampsActiveAndMetadata()),
            \(repairs([
                "CASE WHEN s.remote_url IS NULL THEN 'remote_url missing; stored as empty' END",
                """
                CASE WHEN coalesce(s.default_branch, '') = '' THEN CASE WHEN p.last_part LIKE 'trunk-_%' \
                THEN 'default_branch missing; taken from the trunk directory name' \
                ELSE 'default_branch missing; set to main' END END
                """,
            ] + timestampRepairs() + [activeRepair("active"), badTextRepair])) AS repairs,
            CASE WHEN k.id IS NULL THEN 'missing id'
                 WHEN coalesce(s.name, '') = '' THEN 'empty name'
                 WHEN p.clean = '' THEN 'missing path'
                 WHEN octet_length(s.name) > 2000 OR octet_length(s.remote_url) > 2000
                     THEN 'name or remote_url too long to index (over 2000 bytes)'
                 WHEN s.created_at IS NULL AND s.updated_at IS NULL
                     THEN 'no usable timestamp (created_at and updated_at missing or unparseable)'
            END AS problem,
            false AS present,
            NULL::uuid AS alias_of
        FROM legacy_stage_repositories s
        CROSS JOIN LATERAL (SELECT \(key("id", namespace: "repositories")) AS id) k
        CROSS JOIN LATERAL (SELECT CASE WHEN s.path ~ '^/+$' THEN '/' ELSE rtrim(coalesce(s.path, ''), '/') END AS clean) p0
        CROSS JOIN LATERAL (SELECT p0.clean, regexp_replace(p0.clean, '^.*/', '') AS last_part) p
        CROSS JOIN LATERAL (SELECT coalesce(nullif(s.default_branch, ''),
            CASE WHEN p.last_part LIKE 'trunk-_%' THEN substr(p.last_part, 7) END, 'main') AS default_branch) b
        """,
        duplicateID("legacy_plan_repositories"),
        "UPDATE legacy_plan_repositories p SET present = true WHERE problem IS NULL AND EXISTS (SELECT 1 FROM projects x WHERE x.id = p.id)",
        // The same project registered already under another id (by `scan` or the agent, during
        // the dual-run period; not a row of this legacy file): the legacy row is that project.
        """
        UPDATE legacy_plan_repositories p SET present = true, alias_of = x.id
        FROM projects x
        WHERE p.problem IS NULL AND NOT p.present AND p.active AND x.active
          AND ((p.remote_origin <> '' AND x.remote_origin = p.remote_origin) OR x.trunk_path = p.trunk_path)
          AND NOT EXISTS (SELECT 1 FROM legacy_plan_repositories o WHERE o.id = x.id)
        """,
        """
        UPDATE legacy_plan_repositories p SET problem = 'duplicate name (another active project has it)'
        FROM (SELECT ord, row_number() OVER (PARTITION BY name ORDER BY ord) AS n
              FROM legacy_plan_repositories WHERE problem IS NULL AND NOT present AND active) d
        WHERE d.ord = p.ord AND (d.n > 1 OR EXISTS (SELECT 1 FROM projects x WHERE x.active AND x.name = p.name))
        """,
        """
        UPDATE legacy_plan_repositories p SET problem = 'duplicate remote (another active project has it)'
        FROM (SELECT ord, row_number() OVER (PARTITION BY remote_origin ORDER BY ord) AS n
              FROM legacy_plan_repositories WHERE problem IS NULL AND NOT present AND active AND remote_origin <> '') d
        WHERE d.ord = p.ord AND (d.n > 1 OR EXISTS (SELECT 1 FROM projects x WHERE x.active AND x.remote_origin = p.remote_origin))
        """,
    ]

    static let insertProjects = """
        INSERT INTO projects (id, name, remote_origin, default_branch, trunk_path, metadata,
                              created_at, updated_at, active)
        SELECT id, name, remote_origin, default_branch, trunk_path, metadata, created_at, updated_at, active
        FROM legacy_plan_repositories WHERE problem IS NULL AND NOT present ORDER BY ord
        ON CONFLICT (id) DO NOTHING
        """

    // MARK: worktree_types

    static let planWorktreeTypes: [String] = [
        """
        CREATE TEMP TABLE legacy_plan_worktree_types ON COMMIT DROP AS
        SELECT s.ord, coalesce(s.id, 'rowid:' || s.ord) AS source_id, s.name,
            coalesce(s.branch_prefix, '') AS branch_prefix,
            coalesce(s.worktree_prefix, '') AS worktree_prefix,
            s.description,
            coalesce(\(boolean("s.is_builtin")), false) AS is_builtin,
            coalesce(s.created_at::timestamptz, now()) AS created_at,
            jsonb_strip_nulls(jsonb_build_object('legacy_id', s.id,
                'legacy_created_at', CASE WHEN s.created_at IS NULL THEN s.created_at__raw END)) AS metadata,
            \(repairs([
                "CASE WHEN s.created_at IS NULL THEN 'created_at ' || CASE WHEN s.created_at__raw IS NULL THEN 'missing' ELSE 'unparseable' END || '; set to the import time' END",
                "CASE WHEN s.is_builtin IS NOT NULL AND \(boolean("s.is_builtin")) IS NULL THEN 'is_builtin not a boolean; set to false' END",
                badTextRepair,
            ])) AS repairs,
            CASE WHEN coalesce(s.name, '') = '' THEN 'empty name'
                 WHEN octet_length(s.name) > 2000 THEN 'name too long to index (over 2000 bytes)' END AS problem,
            false AS present, false AS derived
        FROM legacy_stage_worktree_types s
        """,
        """
        UPDATE legacy_plan_worktree_types p SET problem = 'duplicate name'
        FROM (SELECT ord, row_number() OVER (PARTITION BY name ORDER BY ord) AS n
              FROM legacy_plan_worktree_types WHERE problem IS NULL) d
        WHERE d.ord = p.ord AND d.n > 1
        """,
        // A built-in still as migration 001 seeded it is a default, not user data: a legacy
        // row with other values replaces it (so it is not "present" yet).
        """
        UPDATE legacy_plan_worktree_types p SET present = true
        WHERE problem IS NULL AND EXISTS (
            SELECT 1 FROM worktree_types x WHERE x.name = p.name
              AND (NOT (\(untouchedSeed("x")))
                   OR (x.branch_prefix, x.worktree_prefix, x.description)
                      IS NOT DISTINCT FROM (p.branch_prefix, p.worktree_prefix, p.description)))
        """,
        // A type named only by worktrees.worktree_type (older files, deleted custom types).
        """
        INSERT INTO legacy_plan_worktree_types
            (ord, source_id, name, branch_prefix, worktree_prefix, description, is_builtin,
             created_at, metadata, repairs, problem, present, derived)
        SELECT NULL, 'worktrees.worktree_type:' || w.t, w.t, '', '',
            'created by imi-sync migrate from worktrees.worktree_type', false, now(),
            jsonb_build_object('derived_from', 'worktrees.worktree_type'),
            ARRAY['no worktree_types row; created from worktrees.worktree_type'], NULL, false, true
        FROM (SELECT DISTINCT worktree_type AS t FROM legacy_stage_worktrees
              WHERE coalesce(worktree_type, '') <> '' AND octet_length(worktree_type) <= 2000) w
        WHERE NOT EXISTS (SELECT 1 FROM worktree_types x WHERE x.name = w.t)
          AND NOT EXISTS (SELECT 1 FROM legacy_plan_worktree_types p WHERE p.name = w.t AND p.problem IS NULL)
        """,
    ]

    static let insertWorktreeTypes = """
        INSERT INTO worktree_types (name, branch_prefix, worktree_prefix, description, is_builtin,
                                    metadata, created_at)
        SELECT name, branch_prefix, worktree_prefix, description, is_builtin, metadata, created_at
        FROM legacy_plan_worktree_types WHERE problem IS NULL AND NOT present ORDER BY ord NULLS LAST, name
        ON CONFLICT (name) DO UPDATE SET
            branch_prefix = EXCLUDED.branch_prefix, worktree_prefix = EXCLUDED.worktree_prefix,
            description = EXCLUDED.description, metadata = EXCLUDED.metadata, created_at = EXCLUDED.created_at
        WHERE \(untouchedSeed("worktree_types"))
        """

    /// True for a row of `alias` that is a built-in type exactly as migration 001 seeds it and
    /// never replaced by an import (no `legacy_id`).
    static func untouchedSeed(_ alias: String) -> String {
        """
        \(alias).is_builtin AND NOT \(alias).metadata ? 'legacy_id' \
        AND (\(alias).name, \(alias).branch_prefix, \(alias).worktree_prefix) IN (\(seededTypes))
        """
    }

    /// Migration 001's built-in worktree types: (name, branch_prefix, worktree_prefix).
    static let seededTypes = """
        ('feat', 'feat/', 'feat-'), ('fix', 'fix/', 'fix-'), ('aiops', 'aiops/', 'aiops-'), \
        ('devops', 'devops/', 'devops-'), ('review', 'pr-review/', 'pr-'), ('trunk', '', 'trunk-')
        """

    /// created_at, updated_at, active and metadata (legacy id and unparsable originals), the
    /// columns repositories and worktrees share.
    static func timestampsActiveAndMetadata() -> String {
        """
        coalesce(s.created_at, s.updated_at)::timestamptz AS created_at,
            coalesce(s.updated_at, s.created_at)::timestamptz AS updated_at,
            coalesce(\(boolean("s.active")), true) AS active,
            jsonb_strip_nulls(jsonb_build_object(
                'legacy_id', s.id__raw,
                'legacy_created_at', CASE WHEN s.created_at IS NULL THEN s.created_at__raw END,
                'legacy_updated_at', CASE WHEN s.updated_at IS NULL THEN s.updated_at__raw END,
                'legacy_active', CASE WHEN \(boolean("s.active")) IS NULL THEN s.active END)) AS metadata
        """
    }

    // MARK: worktrees

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

    // MARK: agent_activities

    static let planActivities: [String] = [
        // Two source rows mapping to one UUID (case variants, a table without a key).
        """
        CREATE TEMP TABLE legacy_dup_agent_activities ON COMMIT DROP AS
        SELECT ord FROM (
            SELECT k.ord, row_number() OVER (PARTITION BY k.id ORDER BY k.ord) AS n
            FROM (SELECT s.ord, \(key("id", namespace: "agent_activities")) AS id
                  FROM legacy_stage_agent_activities s) k
            WHERE k.id IN (
                SELECT \(key("id", namespace: "agent_activities")) FROM legacy_stage_agent_activities s
                GROUP BY 1 HAVING count(*) > 1)
        ) d WHERE d.n > 1
        """,
        """
        CREATE TEMP TABLE legacy_plan_agent_activities ON COMMIT DROP AS
        SELECT s.ord, \(sourceID()) AS source_id, k.id, coalesce(wa.alias_of, k.worktree_id) AS worktree_id,
            coalesce(s.agent_id, '') AS agent_id,
            CASE WHEN s.activity_type IN \(activityTypes) THEN s.activity_type ELSE 'other' END AS activity_type,
            s.file_path,
            coalesce(s.description, '') AS description,
            s.created_at::timestamptz AS created_at,
            CASE WHEN s.id__raw IS NULL AND s.worktree_id__raw IS NULL AND s.activity_type IN \(activityTypes)
                 THEN '{}'::jsonb
                 ELSE jsonb_strip_nulls(jsonb_build_object(
                     'legacy_id', s.id__raw, 'legacy_worktree_id', s.worktree_id__raw,
                     'legacy_activity_type', CASE WHEN s.activity_type IN \(activityTypes) THEN NULL
                                                  ELSE s.activity_type END))
            END AS metadata,
            CASE WHEN s.activity_type IN \(activityTypes) AND s.agent_id IS NOT NULL
                      AND s.description IS NOT NULL AND s.bad_text IS NULL THEN NULL::text[]
                 ELSE \(repairs([
                    """
                    CASE WHEN s.activity_type IS NULL THEN 'activity_type missing; set to other' \
                    WHEN s.activity_type NOT IN \(activityTypes) THEN 'activity_type ''' || s.activity_type || ''' mapped to other' END
                    """,
                    "CASE WHEN s.agent_id IS NULL THEN 'agent_id missing; stored as empty' END",
                    "CASE WHEN s.description IS NULL THEN 'description missing; stored as empty' END",
                    badTextRepair,
                 ])) END AS repairs,
            CASE WHEN k.id IS NULL THEN 'missing id'
                 WHEN s.created_at IS NULL THEN CASE WHEN s.created_at__raw IS NULL
                     THEN 'missing created_at' ELSE 'unparseable created_at' END
                 WHEN k.worktree_id IS NULL THEN 'missing worktree_id'
                 WHEN w.id IS NULL THEN coalesce('worktree quarantined: ' || pw.problem,
                                                 'orphan: no worktree with this worktree_id')
                 WHEN d.ord IS NOT NULL THEN 'duplicate id'
            END AS problem,
            x.id IS NOT NULL AS present
        FROM legacy_stage_agent_activities s
        CROSS JOIN LATERAL (SELECT \(key("id", namespace: "agent_activities")) AS id,
                                   \(key("worktree_id", namespace: "worktrees")) AS worktree_id) k
        LEFT JOIN (SELECT DISTINCT ON (id) id, alias_of FROM legacy_plan_worktrees
                   WHERE alias_of IS NOT NULL ORDER BY id, ord) wa ON wa.id = k.worktree_id
        LEFT JOIN worktrees w ON w.id = coalesce(wa.alias_of, k.worktree_id)
        LEFT JOIN (SELECT DISTINCT ON (id) id, problem FROM legacy_plan_worktrees
                   WHERE problem IS NOT NULL AND id IS NOT NULL ORDER BY id, ord) pw ON pw.id = k.worktree_id
        LEFT JOIN agent_activities x ON x.id = k.id
        LEFT JOIN legacy_dup_agent_activities d ON d.ord = s.ord
        """,
    ]

    static let insertActivities = """
        INSERT INTO agent_activities (id, agent_id, worktree_id, activity_type, file_path,
                                      description, metadata, created_at)
        SELECT id, agent_id, worktree_id, activity_type, file_path, description, metadata, created_at
        FROM legacy_plan_agent_activities WHERE problem IS NULL AND NOT present
        ON CONFLICT (id) DO NOTHING
        """

    // MARK: shared

    /// Marks every row after the first that maps to an id already taken in the same plan.
    static func duplicateID(_ plan: String) -> String {
        """
        UPDATE \(plan) p SET problem = 'duplicate id'
        FROM (SELECT ord, row_number() OVER (PARTITION BY id ORDER BY ord) AS n
              FROM \(plan) WHERE problem IS NULL) d
        WHERE d.ord = p.ord AND d.n > 1
        """
    }

    /// Rows that cannot be imported go to `legacy_quarantine` with their source row; a row
    /// quarantined by an earlier run gets the current reason and row.
    static func quarantine(_ table: LegacyTable) -> String {
        """
        INSERT INTO legacy_quarantine (source_table, source_id, reason, source_row)
        SELECT '\(table.name)',
               \(quarantineID),
               p.problem, \(sourceRow(table))
        FROM legacy_plan_\(table.name) p JOIN \(table.stagingName) s ON s.ord = p.ord
        WHERE p.problem IS NOT NULL
        ON CONFLICT (source_table, source_id) DO UPDATE
            SET reason = EXCLUDED.reason, source_row = EXCLUDED.source_row
        """
    }

    /// `legacy_quarantine.source_id` of a plan row `p`: the legacy id, made unique with the
    /// rowid where the id repeats or is missing.
    static let quarantineID = """
        CASE WHEN p.problem = 'duplicate id' OR p.source_id LIKE 'rowid:%' \
        THEN p.source_id || ' #rowid:' || p.ord ELSE p.source_id END
        """

    /// A row quarantined earlier and imported now leaves the quarantine.
    static func releaseFromQuarantine(_ table: LegacyTable) -> String {
        """
        DELETE FROM legacy_quarantine q USING legacy_plan_\(table.name) p
        WHERE q.source_table = '\(table.name)' AND q.source_id = p.source_id AND p.problem IS NULL
        """
    }
}
