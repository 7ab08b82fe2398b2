-- Two counters a client can poll when it cannot LISTEN: behind a transaction-pooling
-- PgBouncer a LISTEN lands on whichever server connection runs it and then receives nothing
-- (docs/pgbouncer.md). `imi_registry_version` moves whenever imi_registry_changed is notified
-- (membership: a worktree added, moved, (de)activated or given to another host; a project's
-- default branch or active flag); `imi_state_version` whenever git states are written
-- (imi_worktree_state) or the overlap forecast writes change sets and verdicts
-- (imi_worktree_overlaps). A poller reads both with imi_registry_versions() and re-reads what it
-- shows when one moved.
--
-- Sequences, not a counter row: nextval never waits for another transaction, so hundreds of
-- hosts writing at once do not queue behind one row. It is not transactional: a rolled-back
-- change moves the counter too (a poller re-reads for nothing), and the counter moves before
-- the change commits, so a poller that sees it move reads once more a poll later.
-- Both functions run as their owner: no role needs a grant on the sequences. Safe to run
-- more than once.

CREATE SEQUENCE IF NOT EXISTS imi_registry_version;
CREATE SEQUENCE IF NOT EXISTS imi_state_version;

CREATE OR REPLACE FUNCTION imi_notify_registry_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM nextval('public.imi_registry_version');
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('imi_registry_changed', TG_TABLE_NAME || ':' || OLD.id::text);
        RETURN OLD;
    END IF;
    PERFORM pg_notify('imi_registry_changed', TG_TABLE_NAME || ':' || NEW.id::text);
    RETURN NEW;
END;
$$;

-- Called by the writer of git states in the transaction that writes them (beside its NOTIFY).
CREATE OR REPLACE FUNCTION imi_note_state_change() RETURNS void
LANGUAGE sql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT nextval('public.imi_state_version');
$$;

CREATE OR REPLACE FUNCTION imi_registry_versions(OUT registry bigint, OUT state bigint)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT (SELECT last_value FROM public.imi_registry_version),
           (SELECT last_value FROM public.imi_state_version);
$$;
