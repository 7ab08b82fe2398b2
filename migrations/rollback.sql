-- Removes everything the numbered migrations created, including imi-sync's
-- record of applied migrations. The pg_trgm extension is left in place: other schemas in
-- the same database may use it.
ALTER TABLE IF EXISTS worktrees DROP COLUMN IF EXISTS agent_lease_expires_at;
ALTER TABLE IF EXISTS worktrees DROP COLUMN IF EXISTS agent_claimed_at;
DROP FUNCTION IF EXISTS imi_overlaps(text, uuid, text[]);
DROP VIEW IF EXISTS v_worktree_overlaps;
DROP TABLE IF EXISTS worktree_pair_conflicts;
DROP TABLE IF EXISTS worktree_pair_verdicts;
DROP TABLE IF EXISTS worktree_changes;
DROP TABLE IF EXISTS worktree_change_sets;
DROP VIEW IF EXISTS v_inflight_work;
DROP VIEW IF EXISTS v_worktrees_detail;
DROP VIEW IF EXISTS v_projects_summary;
DROP FUNCTION IF EXISTS get_inflight_work(uuid);
DROP FUNCTION IF EXISTS get_registry_stats();
DROP FUNCTION IF EXISTS cleanup_old_activities(integer);
DROP FUNCTION IF EXISTS prune_inactive_worktrees(integer);
DROP FUNCTION IF EXISTS maintenance_vacuum();
DROP TABLE IF EXISTS agent_activities;
DROP TABLE IF EXISTS worktrees;
DROP TABLE IF EXISTS hosts;
DROP TABLE IF EXISTS worktree_types;
DROP TABLE IF EXISTS projects;
DROP TABLE IF EXISTS legacy_quarantine;
DROP FUNCTION IF EXISTS imi_worktree_lifecycle_status(timestamptz, boolean, integer, integer);
DROP FUNCTION IF EXISTS imi_worktree_status(boolean, integer, integer);
DROP FUNCTION IF EXISTS imi_touch_updated_at();
DROP FUNCTION IF EXISTS imi_notify_registry_changed();
DROP FUNCTION IF EXISTS imi_note_state_change();
DROP FUNCTION IF EXISTS imi_registry_versions();
DROP SEQUENCE IF EXISTS imi_registry_version;
DROP SEQUENCE IF EXISTS imi_state_version;
DROP FUNCTION IF EXISTS imi_host_is_stale(timestamptz, integer);
DROP FUNCTION IF EXISTS imi_current_host();
DROP TABLE IF EXISTS imi_schema_migrations;
