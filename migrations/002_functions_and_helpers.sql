-- iMi project registry: triggers, views and functions.
-- Safe to run more than once.

-- updated_at follows changes to what a person or tool registered, not git-state refreshes:
-- the sync agent rewrites git columns often and must not make every row look edited.
CREATE OR REPLACE FUNCTION imi_touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'worktrees' THEN
        IF (NEW.project_id, NEW.type_id, NEW.name, NEW.branch_name, NEW.path, NEW.agent_id,
            NEW.merged_at, NEW.merged_by, NEW.merge_commit_hash, NEW.metadata, NEW.active)
           IS NOT DISTINCT FROM
           (OLD.project_id, OLD.type_id, OLD.name, OLD.branch_name, OLD.path, OLD.agent_id,
            OLD.merged_at, OLD.merged_by, OLD.merge_commit_hash, OLD.metadata, OLD.active) THEN
            RETURN NEW;
        END IF;
    END IF;
    IF NEW.updated_at IS NOT DISTINCT FROM OLD.updated_at THEN
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END;
$$;

DROP TRIGGER IF EXISTS projects_touch_updated_at ON projects;
CREATE TRIGGER projects_touch_updated_at
    BEFORE UPDATE ON projects
    FOR EACH ROW EXECUTE FUNCTION imi_touch_updated_at();

DROP TRIGGER IF EXISTS worktrees_touch_updated_at ON worktrees;
CREATE TRIGGER worktrees_touch_updated_at
    BEFORE UPDATE ON worktrees
    FOR EACH ROW EXECUTE FUNCTION imi_touch_updated_at();

-- The one definition of a worktree's in-flight status; NULL when its git state is unknown.
CREATE OR REPLACE FUNCTION imi_worktree_status(
    has_uncommitted boolean, ahead integer, behind integer
) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN has_uncommitted IS NULL AND ahead IS NULL AND behind IS NULL THEN NULL
        WHEN has_uncommitted THEN 'uncommitted'
        WHEN coalesce(ahead, 0) > 0 AND coalesce(behind, 0) > 0 THEN 'diverged'
        WHEN coalesce(ahead, 0) > 0 THEN 'ahead'
        WHEN coalesce(behind, 0) > 0 THEN 'behind'
        ELSE 'clean'
    END
$$;

CREATE OR REPLACE VIEW v_projects_summary AS
SELECT
    p.id,
    p.name,
    p.remote_origin,
    p.default_branch,
    p.trunk_path,
    p.description,
    p.active,
    count(w.id) FILTER (WHERE w.active)                                   AS active_worktrees,
    count(w.id)                                                           AS total_worktrees,
    count(w.id) FILTER (WHERE w.active AND w.has_uncommitted_changes)     AS uncommitted_worktrees,
    count(w.id) FILTER (WHERE w.active AND w.ahead_of_trunk > 0)          AS ahead_worktrees,
    count(w.id) FILTER (WHERE w.active AND w.behind_trunk > 0)            AS behind_worktrees,
    max(w.last_sync_at)                                                   AS last_sync_at,
    p.created_at,
    p.updated_at
FROM projects p
LEFT JOIN worktrees w ON w.project_id = p.id
GROUP BY p.id;

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
    imi_worktree_status(w.has_uncommitted_changes, w.ahead_of_trunk, w.behind_trunk) AS status,
    w.last_commit_hash,
    w.last_commit_message,
    w.last_sync_at,
    w.merged_at,
    w.merged_by,
    w.merge_commit_hash,
    w.metadata,
    w.created_at,
    w.updated_at,
    w.active
FROM worktrees w
JOIN projects p ON p.id = w.project_id
JOIN worktree_types t ON t.id = w.type_id;

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
    d.last_sync_at
FROM v_worktrees_detail d
WHERE d.active AND d.status IS NOT NULL AND d.status <> 'clean';

CREATE OR REPLACE FUNCTION get_inflight_work(p_project_id uuid DEFAULT NULL)
RETURNS TABLE (
    worktree_id uuid, project_id uuid, project_name text, worktree_name text,
    branch_name text, path text, agent_id text, status text,
    uncommitted_files_count integer, ahead_of_trunk integer, behind_trunk integer,
    last_commit_hash text, last_commit_message text, last_sync_at timestamptz
)
LANGUAGE sql STABLE AS $$
    SELECT v.worktree_id, v.project_id, v.project_name, v.worktree_name,
           v.branch_name, v.path, v.agent_id, v.status,
           v.uncommitted_files_count, v.ahead_of_trunk, v.behind_trunk,
           v.last_commit_hash, v.last_commit_message, v.last_sync_at
    FROM v_inflight_work v
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
LANGUAGE sql STABLE AS $$
    SELECT
        (SELECT count(*) FROM projects),
        (SELECT count(*) FROM projects WHERE active),
        (SELECT count(*) FROM worktrees),
        (SELECT count(*) FROM worktrees WHERE active),
        (SELECT count(*) FROM worktree_types),
        (SELECT count(*) FROM agent_activities),
        (SELECT count(*) FROM worktrees WHERE active AND has_uncommitted_changes),
        (SELECT count(*) FROM worktrees WHERE active AND ahead_of_trunk > 0),
        (SELECT count(*) FROM worktrees WHERE active AND behind_trunk > 0),
        (SELECT count(*) FROM worktrees WHERE active AND ahead_of_trunk > 0 AND behind_trunk > 0),
        (SELECT count(*) FROM worktrees WHERE active AND last_sync_at IS NULL),
        (SELECT max(last_sync_at) FROM worktrees WHERE active)
$$;

CREATE OR REPLACE FUNCTION cleanup_old_activities(days integer DEFAULT 90)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    removed integer;
BEGIN
    IF days IS NULL OR days < 1 THEN
        RAISE EXCEPTION 'cleanup_old_activities: days must be at least 1, got %', days;
    END IF;
    DELETE FROM agent_activities WHERE created_at < now() - make_interval(days => days);
    GET DIAGNOSTICS removed = ROW_COUNT;
    RETURN removed;
END;
$$;

CREATE OR REPLACE FUNCTION prune_inactive_worktrees(days integer DEFAULT 30)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    removed integer;
BEGIN
    IF days IS NULL OR days < 1 THEN
        RAISE EXCEPTION 'prune_inactive_worktrees: days must be at least 1, got %', days;
    END IF;
    DELETE FROM worktrees
    WHERE NOT active AND updated_at < now() - make_interval(days => days);
    GET DIAGNOSTICS removed = ROW_COUNT;
    RETURN removed;
END;
$$;

-- VACUUM cannot run inside a function or a transaction; this refreshes planner statistics
-- (which can) and says how to vacuum. `imi-sync maintain` runs VACUUM ANALYZE itself.
CREATE OR REPLACE FUNCTION maintenance_vacuum()
RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    ANALYZE projects;
    ANALYZE worktree_types;
    ANALYZE worktrees;
    ANALYZE agent_activities;
    RETURN 'analyzed; VACUUM cannot run in a function: run `imi-sync maintain` or `VACUUM ANALYZE` from psql';
END;
$$;
