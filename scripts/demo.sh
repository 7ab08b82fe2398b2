#!/usr/bin/env bash
# The main job end to end on a fresh machine: install what is missing, build, start a
# throwaway PostgreSQL under .imi-demo/, create sample worktrees in different states, record
# them in a legacy iMi SQLite registry, migrate it (schema + import + verify), run
# `imi-sync once`, add a worktree with git and `imi-sync scan` it, start `imi-sync run` and
# watch it pick up an edit and a new worktree, and show the result.
#   scripts/demo.sh [--keep]     (--keep leaves the server running afterwards)
set -euo pipefail
cd "$(dirname "$0")/.."
keep=false
[[ "${1:-}" == "--keep" ]] && keep=true
scripts/ensure-packages.sh sqlite3

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

echo "== writing a legacy iMi SQLite registry of them ($demo/legacy.db)"
# The old CLI's tables and built-in types (migrations/legacy/, the one copy of the legacy
# schema); values arrive through .import, never as SQL text.
sqlite3 "$demo/legacy.db" <<SQL
.read migrations/legacy/tables.sql
.read migrations/legacy/builtin-types.sql
CREATE TEMP TABLE staging (project, default_branch, name, type, branch, path);
.mode tabs
.import $demo/worktrees.tsv staging
INSERT INTO repositories (id, name, path, remote_url, default_branch, created_at, updated_at)
    SELECT lower(hex(randomblob(16))), project, path, 'git@github.com:demo/' || project || '.git',
           default_branch, '2025-10-27T22:20:01.123456789+00:00', '2025-10-27T22:20:01.123456789+00:00'
    FROM staging WHERE type = 'trunk';
INSERT INTO worktrees (id, repo_name, worktree_name, branch_name, worktree_type, path, created_at, updated_at, agent_id)
    SELECT lower(hex(randomblob(16))), project, name, branch, type, path, '2025-11-02 10:11:12', '2025-11-02 10:11:12',
           CASE WHEN type = 'aiops' THEN 'agent-1' END
    FROM staging;
INSERT INTO agent_activities (id, agent_id, worktree_id, activity_type, file_path, description, created_at)
    SELECT lower(hex(randomblob(16))), 'agent-1', id, 'claimed', NULL, 'took the worktree', '2025-11-02T10:12:00Z'
    FROM worktrees WHERE worktree_type = 'aiops';
SQL

echo "== imi-sync migrate --from $demo/legacy.db   (schema, then the legacy import)"
"$bin" migrate --from "$demo/legacy.db"
"$bin" migrate verify --from "$demo/legacy.db" | tail -n 3

echo "== imi-sync once"
"$bin" once

# The demo's own root, never the user's ~/code.
export IMI_SYSTEM_PATHS="$demo/code"
trunk=$(awk -F'\t' '$4 == "trunk" { print $6; exit }' "$demo/worktrees.tsv")
echo
echo "== git worktree add (no legacy row knows it), then imi-sync scan"
git -C "$trunk" worktree add --quiet -b feat/scanned "$(dirname "$trunk")/feat-scanned"
"$bin" scan

echo "== imi-sync run: the background agent sees an edit within a fraction of a second"
"$bin" run --log-level notice 2> "$demo/agent.log" &
agent=$!
edited=$(awk -F'\t' '$3 == "pr-7" { print $6 }' "$demo/worktrees.tsv")
for _ in $(seq 1 100); do grep -q "first full sync" "$demo/agent.log" && break; sleep 0.1; done
echo "edit" > "$edited/edited-by-demo.txt"
start=$(date +%s%N)
for _ in $(seq 1 100); do
    files=$(psql "$IMI_DATABASE_URL" -Atc "SELECT uncommitted_files_count FROM worktrees WHERE name = 'pr-7'")
    [[ "$files" == "1" ]] && break
    sleep 0.02
done
echo "pr-7: uncommitted_files_count = $files, $(( ($(date +%s%N) - start) / 1000000 )) ms after the edit"
added="$(dirname "$trunk")/feat-by-agent"
git -C "$trunk" worktree add --quiet -b feat/by-agent "$added"
start=$(date +%s%N)
for _ in $(seq 1 200); do
    synced=$(psql "$IMI_DATABASE_URL" -At -v p="$added" <<< "SELECT count(*) FROM worktrees WHERE active AND last_sync_at IS NOT NULL AND path = :'p'")
    [[ "$synced" == "1" ]] && break
    sleep 0.02
done
echo "feat-by-agent (git worktree add while run watches): registered and synced $(( ($(date +%s%N) - start) / 1000000 )) ms later"
# Two worktrees of one project start the same new file: the forecast sees the collision.
login=$(awk -F'\t' '$3 == "feat-login" { print $6 }' "$demo/worktrees.tsv")
echo "login notes" > "$login/NOTES.md"
echo "scanned notes" > "$(dirname "$trunk")/feat-scanned/NOTES.md"
start=$(date +%s%N)
for _ in $(seq 1 200); do
    seen=$(psql "$IMI_DATABASE_URL" -Atc "SELECT count(*) FROM v_worktree_overlaps WHERE path = 'NOTES.md' AND conflict")
    [[ "$seen" == "1" ]] && break
    sleep 0.02
done
echo "NOTES.md started in feat-login and feat-scanned: conflict forecast in the registry $(( ($(date +%s%N) - start) / 1000000 )) ms later"
kill -TERM "$agent"; wait "$agent" || true

echo
echo "== imi-sync status (v_inflight_work)"
"$bin" status
echo
"$bin" stats
echo
"$bin" hosts
echo
echo "== imi-sync conflicts (v_worktree_overlaps; exit 2: a conflict is predicted)"
"$bin" conflicts || [[ $? == 2 ]]
if $keep; then
    echo "server left running: IMI_DATABASE_URL='$IMI_DATABASE_URL'"
fi
