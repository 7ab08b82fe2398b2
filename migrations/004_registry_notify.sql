-- Tell listeners (the imi-sync agent) when the set of watched worktrees changes: a worktree
-- added, moved, moved to another project, (de)activated or removed, or a project whose
-- default branch or active flag changed. The payload is the row's id; the agent re-reads the
-- registry, so the payload is only a hint. Git-state updates do not fire these triggers.

CREATE OR REPLACE FUNCTION imi_notify_registry_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('imi_registry_changed', TG_TABLE_NAME || ':' || OLD.id::text);
        RETURN OLD;
    END IF;
    PERFORM pg_notify('imi_registry_changed', TG_TABLE_NAME || ':' || NEW.id::text);
    RETURN NEW;
END;
$$;

DROP TRIGGER IF EXISTS worktrees_notify_registry_changed ON worktrees;
CREATE TRIGGER worktrees_notify_registry_changed
    AFTER INSERT OR DELETE OR UPDATE OF path, active, project_id ON worktrees
    FOR EACH ROW EXECUTE FUNCTION imi_notify_registry_changed();

DROP TRIGGER IF EXISTS projects_notify_registry_changed ON projects;
CREATE TRIGGER projects_notify_registry_changed
    AFTER DELETE OR UPDATE OF default_branch, active ON projects
    FOR EACH ROW EXECUTE FUNCTION imi_notify_registry_changed();
