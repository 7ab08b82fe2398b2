-- Least privilege for the sync agent. Run as the registry's owner after the schema exists:
--   psql imi_registry -f deploy/roles.sql
-- Safe to run again: it starts from no grants and recreates its policies.
--
-- Two kinds of agent role:
--   imi_sync_agent   one login role for a registry that one machine uses: reads the registry,
--                    writes git state and membership (scan, run), for every host's rows.
--   imi_sync_host    a group role for registries several machines share; each machine's agent
--                    logs in as a role of its own, a member of it, made with
--                      CALL imi_grant_host('laptop', 'imi_host_laptop');
--                    Row-level security limits that role's writes to its own host's rows
--                    (and its own hosts row, and the git facts of projects whose trunk is its
--                    own or no host's): host A's agent cannot change host B's rows.
-- Both may change only the git-state and membership columns; never names, agents, metadata,
-- activities or the schema. Authenticate with peer auth over the local socket or a ~/.pgpass
-- entry; never a password in a unit file. Migrations are run by the owner, not by these roles.

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'imi_sync_agent') THEN
        CREATE ROLE imi_sync_agent LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'imi_sync_host') THEN
        CREATE ROLE imi_sync_host NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;
    END IF;
EXCEPTION
    -- Roles are cluster-wide: another database's deploy may have created them meanwhile.
    WHEN duplicate_object OR unique_violation THEN NULL;
END
$$;

-- The same grants for both roles; start from nothing, so re-running this file also removes
-- grants made by hand.
DO $$
DECLARE
    agent text;
BEGIN
    FOREACH agent IN ARRAY ARRAY['imi_sync_agent', 'imi_sync_host'] LOOP
        EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA public FROM %I', agent);
        EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM %I', agent);
        EXECUTE format('REVOKE ALL ON ALL FUNCTIONS IN SCHEMA public FROM %I', agent);
        EXECUTE format('REVOKE CREATE ON SCHEMA public FROM %I', agent);
        EXECUTE format('GRANT USAGE ON SCHEMA public TO %I', agent);
        EXECUTE format('GRANT SELECT ON projects, worktree_types, worktrees, hosts, imi_schema_migrations TO %I', agent);
        -- Its own host row: registered at start, last_seen_at on every heartbeat.
        EXECUTE format('GRANT INSERT ON hosts TO %I', agent);
        EXECUTE format('GRANT UPDATE (agent_version, heartbeat_seconds, started_at, last_seen_at) ON hosts TO %I', agent);
        -- Membership: scan and run register clones and worktrees, follow moves, deactivate.
        EXECUTE format('GRANT INSERT ON projects, worktrees TO %I', agent);
        EXECUTE format('GRANT UPDATE (remote_origin, default_branch, trunk_path) ON projects TO %I', agent);
        EXECUTE format('GRANT UPDATE (path, git_dir, branch_name, active, host_id, gone_at) ON worktrees TO %I', agent);
        -- Git state, with the merge facts (migration 010: set on merge, cleared by a later commit).
        EXECUTE format('GRANT UPDATE (has_uncommitted_changes, uncommitted_files_count, ahead_of_trunk, '
            'behind_trunk, last_commit_hash, last_commit_message, last_sync_at, '
            'merged_at, merged_by, merge_commit_hash) ON worktrees TO %I', agent);
        -- Overlap forecast: change sets and pair verdicts (migration 006).
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON worktree_change_sets, worktree_changes, '
            'worktree_pair_verdicts, worktree_pair_conflicts TO %I', agent);
        EXECUTE format('GRANT SELECT ON v_worktree_overlaps TO %I', agent);
        -- The host's mcp sessions call through the agent (its hub) on its connection: what the
        -- tools read, and a worktree's holder with the claim's activity (as imi_sync_mcp may).
        -- Row-level security keeps a host's role to its own host's rows for claims too.
        EXECUTE format('GRANT SELECT ON v_worktrees_detail, v_inflight_work, v_projects_summary TO %I', agent);
        EXECUTE format('GRANT UPDATE (agent_id, agent_claimed_at, agent_lease_expires_at) ON worktrees TO %I', agent);
        EXECUTE format('GRANT INSERT ON agent_activities TO %I', agent);
        -- doctor's integrity check (activities without a worktree) and stats' count of
        -- activities: the one column they read, never what an activity says.
        EXECUTE format('GRANT SELECT (worktree_id) ON agent_activities TO %I', agent);
    END LOOP;
END
$$;
-- imi_current_host(), the host the current role is the agent of, is migration 008's: it names
-- public.hosts and pins its search_path, so a temporary `hosts` cannot answer for it.
GRANT EXECUTE ON FUNCTION imi_current_host() TO imi_sync_agent, imi_sync_host;

-- Row-level security. Readers are not limited (status, hosts and dashboards see every host);
-- the table owner is not subject to it.
ALTER TABLE worktrees ENABLE ROW LEVEL SECURITY;
ALTER TABLE hosts ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS imi_read_all ON worktrees;
DROP POLICY IF EXISTS imi_single_agent ON worktrees;
DROP POLICY IF EXISTS imi_host_insert ON worktrees;
DROP POLICY IF EXISTS imi_host_update ON worktrees;
CREATE POLICY imi_read_all ON worktrees FOR SELECT USING (true);
CREATE POLICY imi_single_agent ON worktrees FOR ALL TO imi_sync_agent USING (true) WITH CHECK (true);
CREATE POLICY imi_host_insert ON worktrees FOR INSERT TO imi_sync_host
    WITH CHECK (host_id = imi_current_host());
-- A host changes its own rows, and adopts rows no host has yet (making them its own).
CREATE POLICY imi_host_update ON worktrees FOR UPDATE TO imi_sync_host
    USING (host_id = imi_current_host() OR host_id IS NULL)
    WITH CHECK (host_id = imi_current_host());

DROP POLICY IF EXISTS imi_read_all ON hosts;
DROP POLICY IF EXISTS imi_single_agent ON hosts;
DROP POLICY IF EXISTS imi_host_insert ON hosts;
DROP POLICY IF EXISTS imi_host_update ON hosts;
CREATE POLICY imi_read_all ON hosts FOR SELECT USING (true);
CREATE POLICY imi_single_agent ON hosts FOR ALL TO imi_sync_agent USING (true) WITH CHECK (true);
-- The agent's start is an upsert: its proposed row must be its own host's.
CREATE POLICY imi_host_insert ON hosts FOR INSERT TO imi_sync_host
    WITH CHECK (name = (SELECT h.name FROM hosts h WHERE h.role_name = current_user));
CREATE POLICY imi_host_update ON hosts FOR UPDATE TO imi_sync_host
    USING (role_name = current_user) WITH CHECK (role_name = current_user);

-- A project's git facts (remote_origin, default_branch, trunk_path) belong to the host its
-- trunk is on: a host's role may change them while the project's active trunk row is its own,
-- or no host's (a trunk that moved, or one not registered yet), never while it is another's;
-- it may register new projects. The membership pass needs no more.
ALTER TABLE projects ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS imi_read_all ON projects;
DROP POLICY IF EXISTS imi_single_agent ON projects;
DROP POLICY IF EXISTS imi_host_insert ON projects;
DROP POLICY IF EXISTS imi_host_update ON projects;
CREATE POLICY imi_read_all ON projects FOR SELECT USING (true);
CREATE POLICY imi_single_agent ON projects FOR ALL TO imi_sync_agent USING (true) WITH CHECK (true);
CREATE POLICY imi_host_insert ON projects FOR INSERT TO imi_sync_host WITH CHECK (true);
CREATE POLICY imi_host_update ON projects FOR UPDATE TO imi_sync_host
    USING (imi_current_host() IS NOT NULL AND (
        EXISTS (SELECT 1 FROM worktrees w WHERE w.project_id = projects.id AND w.active AND w.path = projects.trunk_path
                AND w.host_id = imi_current_host())
        OR NOT EXISTS (SELECT 1 FROM worktrees w WHERE w.project_id = projects.id AND w.active AND w.path = projects.trunk_path
                       AND w.host_id <> imi_current_host())))
    WITH CHECK (imi_current_host() IS NOT NULL AND (
        EXISTS (SELECT 1 FROM worktrees w WHERE w.project_id = projects.id AND w.active AND w.path = projects.trunk_path
                AND w.host_id = imi_current_host())
        OR NOT EXISTS (SELECT 1 FROM worktrees w WHERE w.project_id = projects.id AND w.active AND w.path = projects.trunk_path
                       AND w.host_id <> imi_current_host())));

-- Makes `role` (a new login role, if it does not exist) the agent of host `host`: a member
-- of imi_sync_host, named in the host's row. Identifiers are quoted by format('%I').
-- Names are schema-qualified and search_path pinned, as in every function of the registry.
CREATE OR REPLACE PROCEDURE imi_grant_host(host text, role text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    BEGIN
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = role) THEN
            EXECUTE format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE', role);
        END IF;
    EXCEPTION
        WHEN duplicate_object OR unique_violation THEN NULL;
    END;
    EXECUTE format('GRANT imi_sync_host TO %I', role);
    INSERT INTO public.hosts (name, role_name) VALUES (host, role)
    ON CONFLICT (name) DO UPDATE SET role_name = EXCLUDED.role_name;
END
$$;
REVOKE ALL ON PROCEDURE imi_grant_host(text, text) FROM PUBLIC;

-- imi_sync_mcp: `imi-sync mcp`, the agents' MCP server. Reads everything the tools answer
-- from; writes only a worktree's holder (claim_worktree / release_worktree) and the activity
-- log of those claims. get_worktree_state's refresh cannot write git state as this role: it
-- returns the fresh state with "written": false and the refusal.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'imi_sync_mcp') THEN
        CREATE ROLE imi_sync_mcp LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
    END IF;
EXCEPTION
    WHEN duplicate_object OR unique_violation THEN NULL;
END
$$;
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM imi_sync_mcp;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM imi_sync_mcp;
REVOKE CREATE ON SCHEMA public FROM imi_sync_mcp;
GRANT USAGE ON SCHEMA public TO imi_sync_mcp;
GRANT SELECT ON projects, worktree_types, worktrees, hosts, imi_schema_migrations, worktree_change_sets,
    worktree_changes, worktree_pair_verdicts, worktree_pair_conflicts, v_worktrees_detail, v_inflight_work,
    v_worktree_overlaps, v_projects_summary, agent_activities TO imi_sync_mcp;
GRANT UPDATE (agent_id, agent_claimed_at, agent_lease_expires_at) ON worktrees TO imi_sync_mcp;
GRANT INSERT ON agent_activities TO imi_sync_mcp;
DROP POLICY IF EXISTS imi_mcp_claim ON worktrees;
CREATE POLICY imi_mcp_claim ON worktrees FOR UPDATE TO imi_sync_mcp USING (true) WITH CHECK (true);

-- imi_sync_serve: `imi-sync serve`, the dashboard. SELECT only: the views and tables its
-- page and API read, and nothing it could change. It LISTENs (no privilege needed) and reads
-- the version counters through imi_registry_versions() (migration 012).
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'imi_sync_serve') THEN
        CREATE ROLE imi_sync_serve LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
    END IF;
EXCEPTION
    WHEN duplicate_object OR unique_violation THEN NULL;
END
$$;
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM imi_sync_serve;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM imi_sync_serve;
REVOKE CREATE ON SCHEMA public FROM imi_sync_serve;
GRANT USAGE ON SCHEMA public TO imi_sync_serve;
GRANT SELECT ON projects, worktree_types, worktrees, hosts, imi_schema_migrations, worktree_change_sets,
    worktree_changes, worktree_pair_verdicts, worktree_pair_conflicts, v_worktrees_detail, v_inflight_work,
    v_worktree_overlaps, v_projects_summary, agent_activities TO imi_sync_serve;

-- The overlap forecast's tables (migration 006): every role may read them; imi_sync_agent
-- writes any row; a host's role only the change sets of its own worktrees, and verdicts of
-- pairs whose two worktrees are both its own (a pair is merged on the host that has both).
ALTER TABLE worktree_change_sets ENABLE ROW LEVEL SECURITY;
ALTER TABLE worktree_changes ENABLE ROW LEVEL SECURITY;
ALTER TABLE worktree_pair_verdicts ENABLE ROW LEVEL SECURITY;
ALTER TABLE worktree_pair_conflicts ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS imi_read_all ON worktree_change_sets;
DROP POLICY IF EXISTS imi_single_agent ON worktree_change_sets;
DROP POLICY IF EXISTS imi_host_own ON worktree_change_sets;
CREATE POLICY imi_read_all ON worktree_change_sets FOR SELECT USING (true);
CREATE POLICY imi_single_agent ON worktree_change_sets FOR ALL TO imi_sync_agent USING (true) WITH CHECK (true);
CREATE POLICY imi_host_own ON worktree_change_sets FOR ALL TO imi_sync_host
    USING (EXISTS (SELECT 1 FROM worktrees w WHERE w.id = worktree_id AND w.host_id = imi_current_host()))
    WITH CHECK (EXISTS (SELECT 1 FROM worktrees w WHERE w.id = worktree_id AND w.host_id = imi_current_host()));
DROP POLICY IF EXISTS imi_read_all ON worktree_changes;
DROP POLICY IF EXISTS imi_single_agent ON worktree_changes;
DROP POLICY IF EXISTS imi_host_own ON worktree_changes;
CREATE POLICY imi_read_all ON worktree_changes FOR SELECT USING (true);
CREATE POLICY imi_single_agent ON worktree_changes FOR ALL TO imi_sync_agent USING (true) WITH CHECK (true);
CREATE POLICY imi_host_own ON worktree_changes FOR ALL TO imi_sync_host
    USING (EXISTS (SELECT 1 FROM worktrees w WHERE w.id = worktree_id AND w.host_id = imi_current_host()))
    WITH CHECK (EXISTS (SELECT 1 FROM worktrees w WHERE w.id = worktree_id AND w.host_id = imi_current_host()));
DROP POLICY IF EXISTS imi_read_all ON worktree_pair_verdicts;
DROP POLICY IF EXISTS imi_single_agent ON worktree_pair_verdicts;
DROP POLICY IF EXISTS imi_host_own ON worktree_pair_verdicts;
CREATE POLICY imi_read_all ON worktree_pair_verdicts FOR SELECT USING (true);
CREATE POLICY imi_single_agent ON worktree_pair_verdicts FOR ALL TO imi_sync_agent USING (true) WITH CHECK (true);
CREATE POLICY imi_host_own ON worktree_pair_verdicts FOR ALL TO imi_sync_host
    USING (NOT EXISTS (SELECT 1 FROM worktrees w WHERE w.id IN (worktree_id_a, worktree_id_b)
                       AND w.host_id IS DISTINCT FROM imi_current_host()))
    WITH CHECK (NOT EXISTS (SELECT 1 FROM worktrees w WHERE w.id IN (worktree_id_a, worktree_id_b)
                            AND w.host_id IS DISTINCT FROM imi_current_host()));
DROP POLICY IF EXISTS imi_read_all ON worktree_pair_conflicts;
DROP POLICY IF EXISTS imi_single_agent ON worktree_pair_conflicts;
DROP POLICY IF EXISTS imi_host_own ON worktree_pair_conflicts;
CREATE POLICY imi_read_all ON worktree_pair_conflicts FOR SELECT USING (true);
CREATE POLICY imi_single_agent ON worktree_pair_conflicts FOR ALL TO imi_sync_agent USING (true) WITH CHECK (true);
CREATE POLICY imi_host_own ON worktree_pair_conflicts FOR ALL TO imi_sync_host
    USING (NOT EXISTS (SELECT 1 FROM worktrees w WHERE w.id IN (worktree_id_a, worktree_id_b)
                       AND w.host_id IS DISTINCT FROM imi_current_host()))
    WITH CHECK (NOT EXISTS (SELECT 1 FROM worktrees w WHERE w.id IN (worktree_id_a, worktree_id_b)
                            AND w.host_id IS DISTINCT FROM imi_current_host()));

-- No agent role needs temporary tables or objects of its own in public: a session's temporary
-- schema is searched before the registry's, the way host roles once shadowed `hosts`. TEMP
-- comes from PUBLIC by default, so it is revoked there (a role that needs it gets it by name);
-- the registry's owner keeps it (the legacy import stages rows in temporary tables). Each
-- statement is a warning, not an error, for a runner that does not own the database or schema.
DO $$
DECLARE
    owner text := (SELECT pg_catalog.pg_get_userbyid(c.relowner) FROM pg_catalog.pg_class c
                   WHERE c.oid = 'public.hosts'::regclass);
BEGIN
    EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC, imi_sync_agent, imi_sync_host, imi_sync_mcp, imi_sync_serve',
                   current_database());
    EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO %I', current_database(), owner);
    REVOKE CREATE ON SCHEMA public FROM PUBLIC;
    IF has_database_privilege('public', current_database(), 'TEMPORARY') THEN
        RAISE WARNING 'every role keeps TEMPORARY on database %: run roles.sql as its owner or a superuser to take it away',
            current_database();
    END IF;
END
$$;
