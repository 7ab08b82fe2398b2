-- Finished work leaves the in-flight list. The sync agent writes merged_at, merged_by and
-- merge_commit_hash (columns since 001) with the rest of the git state: set when the branch's
-- work is in trunk, NULL again once a commit lands on the branch after that merge. A merged
-- worktree's status is `merged`, and it stays in v_inflight_work and get_inflight_work() only
-- while it has uncommitted changes. Names are schema-qualified and search_path pinned, as 008
-- made every function of the registry. Safe to run more than once.

-- The status every view shows: `merged` once the branch is merged, otherwise the git status
-- imi_worktree_status() gives (uncommitted / diverged / ahead / behind / clean; NULL unknown).
CREATE OR REPLACE FUNCTION imi_worktree_lifecycle_status(
    merged_at timestamptz, has_uncommitted boolean, ahead integer, behind integer
) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE
        WHEN merged_at IS NOT NULL THEN 'merged'
        ELSE public.imi_worktree_status(has_uncommitted, ahead, behind)
    END
$$;

-- Columns as in 005; only the status expression changes.
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
    public.imi_worktree_lifecycle_status(
        w.merged_at, w.has_uncommitted_changes, w.ahead_of_trunk, w.behind_trunk) AS status,
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
    CASE WHEN h.id IS NULL THEN NULL ELSE public.imi_host_is_stale(h.last_seen_at, h.heartbeat_seconds) END AS stale
FROM public.worktrees w
JOIN public.projects p ON p.id = w.project_id
JOIN public.worktree_types t ON t.id = w.type_id
LEFT JOIN public.hosts h ON h.id = w.host_id;

-- The columns of 005 in their order, the merge facts appended: existing readers keep working.
-- A merged worktree is listed only while it has uncommitted changes (work not in the merge).
CREATE OR REPLACE VIEW v_inflight_work AS
SELECT
    d.id AS worktree_id,
    d.project_id,
    d.project_name,
    d.name AS worktree_name,
    d.type_name,
    d.branch_name,
    d.path,
    d.agent_id,
    d.status,
    d.has_uncommitted_changes,
    d.uncommitted_files_count,
    d.ahead_of_trunk,
    d.behind_trunk,
    d.last_commit_hash,
    d.last_commit_message,
    d.last_sync_at,
    d.host_id,
    d.host_name AS host,
    d.stale,
    d.merged_at,
    d.merged_by,
    d.merge_commit_hash
FROM public.v_worktrees_detail d
WHERE d.active
  AND (d.status NOT IN ('clean', 'merged') OR (d.status = 'merged' AND d.uncommitted_files_count > 0));

-- Its result gains the merge facts at the end; a function's result type cannot be replaced,
-- so it is dropped and created again. EXECUTE is PUBLIC's again, as CREATE FUNCTION gives it
-- (neither the migrations nor deploy/roles.sql grant or revoke it by name).
DROP FUNCTION IF EXISTS get_inflight_work(uuid);
CREATE FUNCTION get_inflight_work(p_project_id uuid DEFAULT NULL)
RETURNS TABLE (
    worktree_id uuid, project_id uuid, project_name text, worktree_name text,
    branch_name text, path text, agent_id text, status text,
    uncommitted_files_count integer, ahead_of_trunk integer, behind_trunk integer,
    last_commit_hash text, last_commit_message text, last_sync_at timestamptz,
    merged_at timestamptz, merged_by text, merge_commit_hash text
)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT v.worktree_id, v.project_id, v.project_name, v.worktree_name,
           v.branch_name, v.path, v.agent_id, v.status,
           v.uncommitted_files_count, v.ahead_of_trunk, v.behind_trunk,
           v.last_commit_hash, v.last_commit_message, v.last_sync_at,
           v.merged_at, v.merged_by, v.merge_commit_hash
    FROM public.v_inflight_work v
    WHERE p_project_id IS NULL OR v.project_id = p_project_id
    ORDER BY v.project_name, v.worktree_name
$$;

-- `status --merged` and prune read the active merged rows by merge time; few rows, a small index.
CREATE INDEX IF NOT EXISTS worktrees_merged_at_active_idx
    ON worktrees (merged_at) WHERE merged_at IS NOT NULL AND active;
