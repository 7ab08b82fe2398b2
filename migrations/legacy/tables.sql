-- The legacy iMi SQLite registry's tables as the Rust iMi CLI creates them (REGISTRY.md).
-- One copy for everything: `migrate export-sqlite` writes it, the tests' fixtures and
-- bench/migrate.sh build legacy files from it. Embedded by scripts/embed-migrations.sh.
CREATE TABLE repositories (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, path TEXT NOT NULL,
    remote_url TEXT NOT NULL, default_branch TEXT NOT NULL DEFAULT 'main',
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL, active BOOLEAN NOT NULL DEFAULT TRUE);
CREATE TABLE worktree_types (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE,
    branch_prefix TEXT NOT NULL, worktree_prefix TEXT NOT NULL, description TEXT,
    is_builtin BOOLEAN NOT NULL DEFAULT 0, created_at TEXT NOT NULL);
CREATE TABLE worktrees (id TEXT PRIMARY KEY, repo_name TEXT NOT NULL, worktree_name TEXT NOT NULL,
    branch_name TEXT NOT NULL, worktree_type TEXT NOT NULL, path TEXT NOT NULL,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL, active BOOLEAN NOT NULL DEFAULT TRUE,
    agent_id TEXT, FOREIGN KEY (repo_name) REFERENCES repositories (name),
    UNIQUE(repo_name, worktree_name));
CREATE TABLE agent_activities (id TEXT PRIMARY KEY, agent_id TEXT NOT NULL, worktree_id TEXT NOT NULL,
    activity_type TEXT NOT NULL, file_path TEXT, description TEXT NOT NULL, created_at TEXT NOT NULL,
    FOREIGN KEY (worktree_id) REFERENCES worktrees (id));
