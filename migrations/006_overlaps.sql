-- Overlap and conflict forecast between in-flight worktrees (imi-sync once / run).
-- A worktree's change set: the paths that differ between merge-base(HEAD, trunk) and the tree
-- `git add -A` would record. For two worktrees of one project on the same host, the paths a
-- three-way merge of their working states leaves conflicted. Safe to run more than once.

CREATE TABLE IF NOT EXISTS worktree_change_sets (
    worktree_id   uuid PRIMARY KEY REFERENCES worktrees (id) ON DELETE CASCADE,
    head_commit   text,
    base_commit   text,
    -- The working state's tree id; it exists only in the agent's memory, never in a repository.
    working_tree  text NOT NULL,
    path_count    integer NOT NULL CHECK (path_count >= 0),
    computed_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS worktree_changes (
    worktree_id  uuid NOT NULL REFERENCES worktree_change_sets (worktree_id) ON DELETE CASCADE,
    -- As git names it; a name that is not UTF-8 is stored in git's quoted form ("d\377").
    path         text NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('added', 'modified', 'deleted', 'type_changed')),
    PRIMARY KEY (worktree_id, path)
);
CREATE INDEX IF NOT EXISTS worktree_changes_path_idx ON worktree_changes (path);

-- One merge of two working states (worktree_id_a < worktree_id_b), valid for those two trees.
CREATE TABLE IF NOT EXISTS worktree_pair_verdicts (
    worktree_id_a  uuid NOT NULL REFERENCES worktrees (id) ON DELETE CASCADE,
    worktree_id_b  uuid NOT NULL REFERENCES worktrees (id) ON DELETE CASCADE,
    tree_a         text NOT NULL,
    tree_b         text NOT NULL,
    computed_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (worktree_id_a, worktree_id_b),
    CHECK (worktree_id_a < worktree_id_b)
);

CREATE TABLE IF NOT EXISTS worktree_pair_conflicts (
    worktree_id_a  uuid NOT NULL,
    worktree_id_b  uuid NOT NULL,
    path           text NOT NULL,
    PRIMARY KEY (worktree_id_a, worktree_id_b, path),
    FOREIGN KEY (worktree_id_a, worktree_id_b)
        REFERENCES worktree_pair_verdicts (worktree_id_a, worktree_id_b) ON DELETE CASCADE
);

-- Every path two active worktrees of one project both change. `conflict` is the verdict of
-- the merge of their current working states: NULL when they are on different hosts (no
-- single machine holds both) or when no merge of these two states has been made yet.
CREATE OR REPLACE VIEW v_worktree_overlaps AS
SELECT
    wa.project_id,
    ca.worktree_id AS worktree_id_a,
    cb.worktree_id AS worktree_id_b,
    ca.path,
    ca.kind AS kind_a,
    cb.kind AS kind_b,
    CASE
        WHEN wa.host_id IS DISTINCT FROM wb.host_id THEN NULL
        WHEN v.worktree_id_a IS NULL
             OR v.tree_a <> sa.working_tree OR v.tree_b <> sb.working_tree THEN NULL
        ELSE EXISTS (
            SELECT 1 FROM worktree_pair_conflicts pc
            WHERE pc.worktree_id_a = ca.worktree_id AND pc.worktree_id_b = cb.worktree_id
              AND pc.path = ca.path)
    END AS conflict,
    greatest(sa.computed_at, sb.computed_at) AS computed_at
FROM worktree_changes ca
JOIN worktree_changes cb ON cb.path = ca.path AND ca.worktree_id < cb.worktree_id
JOIN worktrees wa ON wa.id = ca.worktree_id
JOIN worktrees wb ON wb.id = cb.worktree_id
JOIN worktree_change_sets sa ON sa.worktree_id = ca.worktree_id
JOIN worktree_change_sets sb ON sb.worktree_id = cb.worktree_id
LEFT JOIN worktree_pair_verdicts v
    ON v.worktree_id_a = ca.worktree_id AND v.worktree_id_b = cb.worktree_id
WHERE wa.active AND wb.active AND wa.project_id = wb.project_id;
