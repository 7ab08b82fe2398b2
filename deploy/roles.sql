-- Least privilege for the sync agent. Run as the registry's owner after the schema exists:
--   psql imi_registry -f deploy/roles.sql
-- Creates the login role imi_sync_agent, which can read the registry and update only the
-- git-state columns of worktrees. Authenticate it with peer auth over the local socket
-- (a system user of the same name) or a ~/.pgpass entry; never a password in a unit file.
-- Schema migrations (imi-sync migrate) are run by the owner, not by this role.

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'imi_sync_agent') THEN
        CREATE ROLE imi_sync_agent LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
    END IF;
EXCEPTION
    -- Roles are cluster-wide: another database's deploy may have created it meanwhile.
    WHEN duplicate_object OR unique_violation THEN NULL;
END
$$;

-- Start from nothing, so re-running this file also removes grants made by hand.
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM imi_sync_agent;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM imi_sync_agent;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA public FROM imi_sync_agent;
REVOKE CREATE ON SCHEMA public FROM imi_sync_agent;

GRANT USAGE ON SCHEMA public TO imi_sync_agent;
GRANT SELECT ON projects, worktree_types, worktrees, hosts, imi_schema_migrations TO imi_sync_agent;
-- Its own host row: registered at start, last_seen_at on every heartbeat.
GRANT INSERT ON hosts TO imi_sync_agent;
GRANT UPDATE (agent_version, heartbeat_seconds, started_at, last_seen_at) ON hosts TO imi_sync_agent;
-- Adopting rows from before hosts existed.
GRANT UPDATE (host_id) ON worktrees TO imi_sync_agent;
GRANT UPDATE (
    has_uncommitted_changes,
    uncommitted_files_count,
    ahead_of_trunk,
    behind_trunk,
    last_commit_hash,
    last_commit_message,
    last_sync_at
) ON worktrees TO imi_sync_agent;
