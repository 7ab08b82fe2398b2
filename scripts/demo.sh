#!/usr/bin/env bash
# The main job end to end on a fresh machine: install what is missing, build, start a
# throwaway PostgreSQL under .imi-demo/, create sample worktrees in different states,
# register them, apply the schema, run `imi-sync once`, and show the result.
#   scripts/demo.sh [--keep]     (--keep leaves the server running afterwards)
set -euo pipefail
cd "$(dirname "$0")/.."
keep=false
[[ "${1:-}" == "--keep" ]] && keep=true
scripts/ensure-packages.sh

echo "== building imi-sync (release)"
bin=$(scripts/build-release.sh 2> >(tail -n 1 >&2))

demo=$(pwd)/.imi-demo
echo "== starting a throwaway PostgreSQL in $demo/pg"
scripts/pg-throwaway.sh stop "$demo/pg"
rm -rf "$demo"
export IMI_DATABASE_URL
IMI_DATABASE_URL=$(scripts/pg-throwaway.sh start "$demo/pg")
$keep || trap 'scripts/pg-throwaway.sh stop "$demo/pg"' EXIT

echo "== creating sample worktrees in $demo/code"
scripts/sample-worktrees.sh "$demo/code" > "$demo/worktrees.tsv"

echo "== imi-sync migrate --schema-only"
"$bin" migrate --schema-only

echo "== registering $(wc -l < "$demo/worktrees.tsv") worktrees"
# Values travel as COPY data, never as SQL text.
psql "$IMI_DATABASE_URL" -q -v ON_ERROR_STOP=1 \
    -c "CREATE TABLE demo_staging (project text, default_branch text, name text, type text, branch text, path text)" \
    -c "\\copy demo_staging FROM '$demo/worktrees.tsv'" \
    -c "INSERT INTO projects (name, remote_origin, default_branch, trunk_path)
        SELECT DISTINCT project, 'git@github.com:demo/' || project || '.git', default_branch, path
        FROM demo_staging WHERE type = 'trunk'" \
    -c "INSERT INTO worktrees (project_id, type_id, name, branch_name, path)
        SELECT p.id, t.id, s.name, s.branch, s.path
        FROM demo_staging s JOIN projects p ON p.name = s.project JOIN worktree_types t ON t.name = s.type" \
    -c "DROP TABLE demo_staging"

echo "== imi-sync once"
"$bin" once

echo
echo "== the registry now says (v_inflight_work)"
psql "$IMI_DATABASE_URL" -c "SELECT project_name, worktree_name, status, uncommitted_files_count AS files,
        ahead_of_trunk AS ahead, behind_trunk AS behind, left(last_commit_message, 50) AS last_commit
    FROM v_inflight_work ORDER BY 1, 2"
if $keep; then
    echo "server left running: IMI_DATABASE_URL='$IMI_DATABASE_URL'"
fi
