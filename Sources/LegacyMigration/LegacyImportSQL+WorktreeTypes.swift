/// Legacy `worktree_types` (and types named only by a worktree) → `worktree_types`; a built-in
/// still as migration 001 seeded it gives way to the legacy row.
extension LegacyImportSQL {
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
}
