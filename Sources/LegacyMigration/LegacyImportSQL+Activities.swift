/// Legacy `agent_activities` → `agent_activities`, each under its (possibly aliased) worktree.
extension LegacyImportSQL {
    static let activityTypes =
        "('created', 'modified', 'deleted', 'committed', 'pushed', 'merged', 'synced', 'other')"

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
}
