-- Functions look names up when they run, in the caller's search_path, where a session's own
-- temporary schema comes first: a role that could create a temporary `hosts` table made
-- imi_current_host() (which row-level security calls) answer another host's id. Every function
-- of the registry now names its tables with their schema and runs with search_path pinned to
-- pg_catalog, then pg_temp (listed last, so a temporary object is never found first; it must be
-- listed, or it is searched first). Bodies are unchanged otherwise. Safe to run more than once.

-- The host the current role is the agent of (NULL for any other role). Row-level security
-- (deploy/roles.sql) calls it; roles.sql grants it and no longer defines it.
CREATE OR REPLACE FUNCTION imi_current_host() RETURNS uuid
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT h.id FROM public.hosts h WHERE h.role_name = current_user
$$;

-- Trigger functions run for every role that writes, so they are pinned too.
ALTER FUNCTION imi_touch_updated_at() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION imi_notify_registry_changed() SET search_path = pg_catalog, pg_temp;
-- Builtins only; pinned so a function created elsewhere with a closer argument type can
-- never stand in for pg_catalog's.
ALTER FUNCTION imi_worktree_status(boolean, integer, integer) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION imi_host_is_stale(timestamptz, integer) SET search_path = pg_catalog, pg_temp;

CREATE OR REPLACE FUNCTION get_inflight_work(p_project_id uuid DEFAULT NULL)
RETURNS TABLE (
    worktree_id uuid, project_id uuid, project_name text, worktree_name text,
    branch_name text, path text, agent_id text, status text,
    uncommitted_files_count integer, ahead_of_trunk integer, behind_trunk integer,
    last_commit_hash text, last_commit_message text, last_sync_at timestamptz
)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT v.worktree_id, v.project_id, v.project_name, v.worktree_name,
           v.branch_name, v.path, v.agent_id, v.status,
           v.uncommitted_files_count, v.ahead_of_trunk, v.behind_trunk,
           v.last_commit_hash, v.last_commit_message, v.last_sync_at
    FROM public.v_inflight_work v
    WHERE p_project_id IS NULL OR v.project_id = p_project_id
    ORDER BY v.project_name, v.worktree_name
$$;

CREATE OR REPLACE FUNCTION get_registry_stats()
RETURNS TABLE (
    total_projects bigint, active_projects bigint,
    total_worktrees bigint, active_worktrees bigint,
    worktree_types bigint, total_activities bigint,
    uncommitted_worktrees bigint, ahead_worktrees bigint,
    behind_worktrees bigint, diverged_worktrees bigint,
    never_synced_worktrees bigint, last_sync_at timestamptz
)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT
        (SELECT count(*) FROM public.projects),
        (SELECT count(*) FROM public.projects WHERE active),
        (SELECT count(*) FROM public.worktrees),
        (SELECT count(*) FROM public.worktrees WHERE active),
        (SELECT count(*) FROM public.worktree_types),
        (SELECT count(*) FROM public.agent_activities),
        (SELECT count(*) FROM public.worktrees WHERE active AND has_uncommitted_changes),
        (SELECT count(*) FROM public.worktrees WHERE active AND ahead_of_trunk > 0),
        (SELECT count(*) FROM public.worktrees WHERE active AND behind_trunk > 0),
        (SELECT count(*) FROM public.worktrees WHERE active AND ahead_of_trunk > 0 AND behind_trunk > 0),
        (SELECT count(*) FROM public.worktrees WHERE active AND last_sync_at IS NULL),
        (SELECT max(last_sync_at) FROM public.worktrees WHERE active)
$$;

CREATE OR REPLACE FUNCTION cleanup_old_activities(days integer DEFAULT 90)
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    removed integer;
BEGIN
    IF days IS NULL OR days < 1 THEN
        RAISE EXCEPTION 'cleanup_old_activities: days must be at least 1, got %', days;
    END IF;
    DELETE FROM public.agent_activities WHERE created_at < now() - make_interval(days => days);
    GET DIAGNOSTICS removed = ROW_COUNT;
    RETURN removed;
END;
$$;

CREATE OR REPLACE FUNCTION prune_inactive_worktrees(days integer DEFAULT 30)
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    removed integer;
BEGIN
    IF days IS NULL OR days < 1 THEN
        RAISE EXCEPTION 'prune_inactive_worktrees: days must be at least 1, got %', days;
    END IF;
    DELETE FROM public.worktrees
    WHERE NOT active AND updated_at < now() - make_interval(days => days);
    GET DIAGNOSTICS removed = ROW_COUNT;
    RETURN removed;
END;
$$;

CREATE OR REPLACE FUNCTION maintenance_vacuum()
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    ANALYZE public.projects;
    ANALYZE public.worktree_types;
    ANALYZE public.worktrees;
    ANALYZE public.agent_activities;
    RETURN 'analyzed; VACUUM cannot run in a function: run `imi-sync maintain` or `VACUUM ANALYZE` from psql';
END;
$$;
