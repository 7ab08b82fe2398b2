-- Several machines share one registry: each worktree belongs to the host it lives on.
-- Safe to run more than once.

CREATE TABLE IF NOT EXISTS hosts (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name               text NOT NULL UNIQUE CHECK (name <> ''),
    agent_version      text,
    -- How often this host's agent refreshes last_seen_at; three missed beats make it stale.
    heartbeat_seconds  integer NOT NULL DEFAULT 300 CHECK (heartbeat_seconds > 0),
    -- The database role this host's agent logs in as, when it has one of its own (row-level
    -- security below lets that role change only its own host's rows).
    role_name          text UNIQUE,
    started_at         timestamptz,
    last_seen_at       timestamptz,
    metadata           jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(metadata) = 'object'),
    created_at         timestamptz NOT NULL DEFAULT now()
);

-- NULL for rows from before hosts existed: the first host on which the path exists adopts them.
ALTER TABLE worktrees ADD COLUMN IF NOT EXISTS host_id uuid REFERENCES hosts (id);
-- The worktree's git administrative directory (.git, or .git/worktrees/<name>): it stays
-- when `git worktree move` moves the directory, so a move is followed, never a second row.
ALTER TABLE worktrees ADD COLUMN IF NOT EXISTS git_dir text;
-- When imi-sync deactivated the row because its worktree was gone from disk and from git's
-- worktree list (NULL: active, or deactivated by someone else). The registry follows the
-- disk: a worktree that comes back at the path makes its row active again.
ALTER TABLE worktrees ADD COLUMN IF NOT EXISTS gone_at timestamptz;

CREATE INDEX IF NOT EXISTS worktrees_host_id_idx ON worktrees (host_id);

-- Paths and names are unique among the active worktrees of one host, not of the world:
-- ~/code/api/trunk-main exists on the laptop and on the workstation alike.
DROP INDEX IF EXISTS worktrees_path_active_key;
DROP INDEX IF EXISTS worktrees_project_name_active_key;
CREATE UNIQUE INDEX IF NOT EXISTS worktrees_host_path_active_key
    ON worktrees (coalesce(host_id, '00000000-0000-0000-0000-000000000000'::uuid), path) WHERE active;
CREATE UNIQUE INDEX IF NOT EXISTS worktrees_project_host_name_active_key
    ON worktrees (project_id, coalesce(host_id, '00000000-0000-0000-0000-000000000000'::uuid), name) WHERE active;

-- A host is stale when its agent missed three heartbeats (or never reported).
CREATE OR REPLACE FUNCTION imi_host_is_stale(last_seen_at timestamptz, heartbeat_seconds integer)
RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT last_seen_at IS NULL OR last_seen_at < now() - make_interval(secs => 3 * heartbeat_seconds)
$$;

-- New columns go at the end: existing readers of these views keep working.
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
    w.active,
    w.host_id,
    h.name             AS host_name,
    CASE WHEN h.id IS NULL THEN NULL ELSE imi_host_is_stale(h.last_seen_at, h.heartbeat_seconds) END AS stale
FROM worktrees w
JOIN projects p ON p.id = w.project_id
JOIN worktree_types t ON t.id = w.type_id
LEFT JOIN hosts h ON h.id = w.host_id;

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
    d.stale
FROM v_worktrees_detail d
WHERE d.active AND d.status IS NOT NULL AND d.status <> 'clean';

-- Membership changes of a host (registered, moved, deactivated) reach listeners as before;
-- host changes too, so `hosts` and dashboards can follow.
DROP TRIGGER IF EXISTS worktrees_notify_registry_changed ON worktrees;
CREATE TRIGGER worktrees_notify_registry_changed
    AFTER INSERT OR DELETE OR UPDATE OF path, active, project_id, host_id ON worktrees
    FOR EACH ROW EXECUTE FUNCTION imi_notify_registry_changed();
