-- iMi project registry: tables, indexes and seed data.
-- Safe to run more than once (psql users may run it by hand; imi-sync records it).
-- Requires PostgreSQL 14 or newer (gen_random_uuid() is built in).

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE IF NOT EXISTS projects (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name            text NOT NULL CHECK (name <> ''),
    -- Any remote git accepts: ssh, https, other hosts, local paths, or '' for none.
    remote_origin   text NOT NULL DEFAULT '',
    default_branch  text NOT NULL DEFAULT 'main' CHECK (default_branch <> ''),
    trunk_path      text NOT NULL,
    description     text,
    metadata        jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(metadata) = 'object'),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    active          boolean NOT NULL DEFAULT true
);

-- One active project per remote; projects without a remote ('') may repeat.
CREATE UNIQUE INDEX IF NOT EXISTS projects_remote_origin_active_key
    ON projects (remote_origin) WHERE active AND remote_origin <> '';
CREATE UNIQUE INDEX IF NOT EXISTS projects_name_active_key
    ON projects (name) WHERE active;
CREATE INDEX IF NOT EXISTS projects_name_trgm_idx
    ON projects USING gin (name gin_trgm_ops);

CREATE TABLE IF NOT EXISTS worktree_types (
    id               serial PRIMARY KEY,
    name             text NOT NULL UNIQUE CHECK (name <> ''),
    branch_prefix    text NOT NULL DEFAULT '',
    worktree_prefix  text NOT NULL DEFAULT '',
    description      text,
    is_builtin       boolean NOT NULL DEFAULT false,
    color            text,
    icon             text,
    metadata         jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(metadata) = 'object'),
    created_at       timestamptz NOT NULL DEFAULT now()
);

INSERT INTO worktree_types (name, branch_prefix, worktree_prefix, description, is_builtin, color, icon)
VALUES
    ('feat',   'feat/',      'feat-',   'Feature development',  true, 'green',  'sparkles'),
    ('fix',    'fix/',       'fix-',    'Bug fixes',            true, 'red',    'wrench'),
    ('aiops',  'aiops/',     'aiops-',  'AI agent operations',  true, 'purple', 'robot'),
    ('devops', 'devops/',    'devops-', 'Infrastructure work',  true, 'blue',   'gear'),
    ('review', 'pr-review/', 'pr-',     'Pull request review',  true, 'yellow', 'eye'),
    ('trunk',  '',           'trunk-',  'Main branch checkout', true, 'gray',   'tree')
ON CONFLICT (name) DO NOTHING;

CREATE TABLE IF NOT EXISTS worktrees (
    id                       uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    project_id               uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    type_id                  integer NOT NULL REFERENCES worktree_types (id),
    name                     text NOT NULL CHECK (name <> ''),
    branch_name              text NOT NULL,
    path                     text NOT NULL CHECK (path <> ''),
    agent_id                 text,
    -- Git state. NULL means "not known" (never read, no trunk, unborn HEAD), never 0.
    has_uncommitted_changes  boolean,
    uncommitted_files_count  integer CHECK (uncommitted_files_count >= 0),
    ahead_of_trunk           integer CHECK (ahead_of_trunk >= 0),
    behind_trunk             integer CHECK (behind_trunk >= 0),
    last_commit_hash         text,
    last_commit_message      text,
    last_sync_at             timestamptz,
    merged_at                timestamptz,
    merged_by                text,
    merge_commit_hash        text,
    metadata                 jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(metadata) = 'object'),
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now(),
    active                   boolean NOT NULL DEFAULT true
);

CREATE UNIQUE INDEX IF NOT EXISTS worktrees_path_active_key
    ON worktrees (path) WHERE active;
CREATE UNIQUE INDEX IF NOT EXISTS worktrees_project_name_active_key
    ON worktrees (project_id, name) WHERE active;
CREATE INDEX IF NOT EXISTS worktrees_project_id_idx ON worktrees (project_id);
CREATE INDEX IF NOT EXISTS worktrees_type_id_idx ON worktrees (type_id);
CREATE INDEX IF NOT EXISTS worktrees_agent_id_idx ON worktrees (agent_id) WHERE agent_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS worktrees_inflight_idx
    ON worktrees (project_id)
    WHERE active AND (has_uncommitted_changes OR ahead_of_trunk > 0 OR behind_trunk > 0);

CREATE TABLE IF NOT EXISTS agent_activities (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    agent_id       text NOT NULL,
    worktree_id    uuid NOT NULL REFERENCES worktrees (id) ON DELETE CASCADE,
    activity_type  text NOT NULL CHECK (activity_type IN
                       ('created', 'modified', 'deleted', 'committed',
                        'pushed', 'merged', 'synced', 'other')),
    file_path      text,
    description    text NOT NULL DEFAULT '',
    metadata       jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(metadata) = 'object'),
    created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS agent_activities_worktree_id_idx ON agent_activities (worktree_id);
CREATE INDEX IF NOT EXISTS agent_activities_agent_id_idx ON agent_activities (agent_id);
CREATE INDEX IF NOT EXISTS agent_activities_created_at_idx ON agent_activities (created_at);

-- Rows from a legacy registry that could not be imported as they were; nothing is dropped.
CREATE TABLE IF NOT EXISTS legacy_quarantine (
    id            bigserial PRIMARY KEY,
    source_table  text NOT NULL,
    source_id     text,
    reason        text NOT NULL,
    source_row    jsonb NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX IF NOT EXISTS legacy_quarantine_source_key
    ON legacy_quarantine (source_table, source_id);
