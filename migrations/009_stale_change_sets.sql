-- A worktree whose working state cannot be built (an unreadable file, a broken index) keeps its
-- last change set; `stale_since` says since when it is no longer current and `stale_reason`
-- why, so `conflicts` and `check` can say so. Cleared when a change set is written again.
-- Safe to run more than once.

ALTER TABLE worktree_change_sets ADD COLUMN IF NOT EXISTS stale_since timestamptz;
ALTER TABLE worktree_change_sets ADD COLUMN IF NOT EXISTS stale_reason text;
