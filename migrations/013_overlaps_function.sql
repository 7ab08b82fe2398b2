-- imi_overlaps(project, worktree, paths): v_worktree_overlaps with the names people read, the
-- statement `Registry.overlaps(project:worktree:paths:)` sent as text until now (`conflicts`,
-- `check`, the MCP tools and serve's dashboard). That statement joins 14 relations, and
-- PostgreSQL spent about 6 ms planning it on every call (warm backend; 10-15 ms in a new one)
-- against 0.3-0.5 ms running it: serve reads it after every registry change. PL/pgSQL keeps
-- the statement's plan in the session, so a backend plans it a few times and then reuses it;
-- that holds behind a transaction-pooling PgBouncer too (the plan lives in each server
-- backend, nothing is prepared by name). The query is the old statement word for word, with
-- the parameters named: same rows, same order. SECURITY INVOKER: the caller needs the grants
-- the statement needed (v_worktree_overlaps, projects, worktree_change_sets, worktrees,
-- hosts); EXECUTE comes from PUBLIC as for every function. Safe to run more than once.

CREATE OR REPLACE FUNCTION imi_overlaps(p_project text, p_worktree uuid, p_paths text[])
RETURNS TABLE (
    project text, worktree_id_a uuid, name_a text, path_a text, host_a text,
    worktree_id_b uuid, name_b text, path_b text, host_b text,
    path text, kind_a text, kind_b text, conflict boolean,
    stale_since_a timestamptz, stale_since_b timestamptz)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    SELECT p.name, o.worktree_id_a, wa.name, wa.path, ha.name, o.worktree_id_b, wb.name, wb.path, hb.name,
           o.path, o.kind_a, o.kind_b, o.conflict, sa.stale_since, sb.stale_since
    FROM public.v_worktree_overlaps o
    JOIN public.projects p ON p.id = o.project_id
    JOIN public.worktree_change_sets sa ON sa.worktree_id = o.worktree_id_a
    JOIN public.worktree_change_sets sb ON sb.worktree_id = o.worktree_id_b
    JOIN public.worktrees wa ON wa.id = o.worktree_id_a
    JOIN public.worktrees wb ON wb.id = o.worktree_id_b
    LEFT JOIN public.hosts ha ON ha.id = wa.host_id
    LEFT JOIN public.hosts hb ON hb.id = wb.host_id
    WHERE (p_project IS NULL OR p.name = p_project)
      AND (p_worktree IS NULL OR o.worktree_id_a = p_worktree OR o.worktree_id_b = p_worktree)
      AND (p_paths IS NULL OR o.path = ANY(p_paths)
           OR (right(o.path, 1) = '/' AND EXISTS (SELECT 1 FROM unnest(p_paths) q WHERE starts_with(q, o.path))))
    ORDER BY p.name, wa.name, wb.name, o.path;
END;
$$;
