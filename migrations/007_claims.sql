-- Agents claim worktrees (imi-sync mcp: claim_worktree / release_worktree). The holder is
-- worktrees.agent_id, as before; a claim may carry a lease, after which another agent may take
-- it over. Safe to run more than once.

ALTER TABLE worktrees ADD COLUMN IF NOT EXISTS agent_claimed_at timestamptz;
-- NULL: the claim holds until it is released.
ALTER TABLE worktrees ADD COLUMN IF NOT EXISTS agent_lease_expires_at timestamptz;
