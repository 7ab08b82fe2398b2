-- The built-in worktree types the Rust iMi CLI seeds into a new legacy registry.
INSERT INTO worktree_types (name, branch_prefix, worktree_prefix, description, is_builtin, created_at) VALUES
    ('feat', 'feat/', 'feat-', 'Feature development', 1, '2025-01-01T00:00:00Z'),
    ('fix', 'fix/', 'fix-', 'Bug fixes', 1, '2025-01-01T00:00:00Z'),
    ('aiops', 'aiops/', 'aiops-', 'AI agent operations', 1, '2025-01-01T00:00:00Z'),
    ('devops', 'devops/', 'devops-', 'Infrastructure work', 1, '2025-01-01T00:00:00Z'),
    ('review', 'pr-review/', 'pr-', 'Pull request review', 1, '2025-01-01T00:00:00Z'),
    ('trunk', '', 'trunk-', 'Main branch checkout', 1, '2025-01-01T00:00:00Z');
