-- The views compute a worktree's status and a host's staleness inline. Since 008 pinned every
-- function's search_path, PostgreSQL no longer inlines imi_worktree_status(),
-- imi_worktree_lifecycle_status() and imi_host_is_stale() into the views that call them: each
-- became a function call per row, and v_inflight_work over 5,000 worktrees went from about
-- 60 ms to 270 ms (bench/status.sh). The expressions below are those functions' bodies, word
-- for word; the functions stay for other callers, and tests check that both agree. Columns,
-- their order and the rows are unchanged. Safe to run more than once.

CREATE OR REPLACE VIEW v_worktrees_detail AS
SELECT
    w.id,
    w.project_id,
    p.name             AS project_name,
    p.default_branch,
    w.type_id,
    t.name             AS type_name,
    w.name,
    w.branch_name,
    w.path,
    w.agent_id,
    w.has_uncommitted_changes,
    w.uncommitted_files_count,
    w.ahead_of_trunk,
    w.behind_trunk,
    CASE
        WHEN w.merged_at IS NOT NULL THEN 'merged'
        WHEN w.has_uncommitted_changes IS NULL AND w.ahead_of_trunk IS NULL AND w.behind_trunk IS NULL THEN NULL
        WHEN w.has_uncommitted_changes THEN 'uncommitted'
        WHEN coalesce(w.ahead_of_trunk, 0) > 0 AND coalesce(w.behind_trunk, 0) > 0 THEN 'diverged'
        WHEN coalesce(w.ahead_of_trunk, 0) > 0 THEN 'ahead'
        WHEN coalesce(w.behind_trunk, 0) > 0 THEN 'behind'
        ELSE 'clean'
    END AS status,
    w.last_commit_hash,
    w.last_commit_message,
    w.last_sync_at,
    w.merged_at,
    w.merged_by,
    w.merge_commit_hash,
    w.metadata,
    w.created_at,
    w.updated_at,
    w.active,
    w.host_id,
    h.name             AS host_name,
    CASE
        WHEN h.id IS NULL THEN NULL
        ELSE h.last_seen_at IS NULL OR h.last_seen_at < pg_catalog.now() - pg_catalog.make_interval(secs => 3 * h.heartbeat_seconds)
    END AS stale
FROM public.worktrees w
JOIN public.projects p ON p.id = w.project_id
JOIN public.worktree_types t ON t.id = w.type_id
LEFT JOIN public.hosts h ON h.id = w.host_id;
