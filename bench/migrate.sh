#!/usr/bin/env bash
# Times `imi-sync migrate` against pgloader on one generated legacy registry:
# 100 repositories, 2,000 worktrees, 1,000,000 agent activities (override with ACTIVITIES=n).
# Both load into an empty database of one throwaway PostgreSQL cluster, in this one run.
# Prints both wall times, the ratio and imi-sync's peak RSS (and its anonymous part).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
out="$root/bench/out"
activities=${ACTIVITIES:-1000000}
mkdir -p "$out"
db="$out/legacy-$activities.db"

command -v /usr/bin/time >/dev/null || { echo "bench: install GNU time (apt-get install time)" >&2; exit 69; }
command -v pgloader >/dev/null || { echo "bench: install pgloader (apt-get install pgloader)" >&2; exit 69; }

if [[ ! -f "$db" ]]; then
    echo "generating $db ($activities activities)…" >&2
    rm -f "$db.tmp"
    # The legacy schema and the CLI's built-in types come from migrations/legacy/, the one copy.
    sqlite3 "$db.tmp" <<SQL
.read $root/migrations/legacy/tables.sql
BEGIN;
.read $root/migrations/legacy/builtin-types.sql
INSERT INTO worktree_types (name, branch_prefix, worktree_prefix, description, is_builtin, created_at) VALUES
    ('spike', 'spike/', 'spike-', 'Custom: experiments', 0, '2025-02-01 10:00:00');
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100)
INSERT INTO repositories SELECT printf('aaaaaaaa-0000-4000-8000-%012x', i), 'repo-' || i, '/code/repo-' || i,
    CASE i % 3 WHEN 0 THEN 'git@github.com:bench/repo-' || i || '.git'
               WHEN 1 THEN 'https://gitlab.example.com/bench/repo-' || i ELSE '' END,
    'main', strftime('%Y-%m-%dT%H:%M:%f', 1690000000 + i * 3600, 'unixepoch') || '123+00:00',
    strftime('%Y-%m-%d %H:%M:%S', 1690000000 + i * 7200, 'unixepoch'), 1
FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
INSERT INTO worktrees SELECT printf('bbbbbbbb-0000-4000-8000-%012x', i), 'repo-' || (i % 100 + 1),
    CASE i % 4 WHEN 0 THEN 'feat-' WHEN 1 THEN 'fix-' WHEN 2 THEN 'spike-' ELSE 'pr-' END || i,
    CASE i % 4 WHEN 0 THEN 'feat/' WHEN 1 THEN 'fix/' WHEN 2 THEN 'spike/' ELSE 'pr-review/' END || i,
    CASE i % 4 WHEN 0 THEN 'feat' WHEN 1 THEN 'fix' WHEN 2 THEN 'spike' ELSE 'review' END,
    '/code/repo-' || (i % 100 + 1) || '/wt-' || i,
    strftime('%Y-%m-%dT%H:%M:%SZ', 1695000000 + i * 60, 'unixepoch'),
    strftime('%Y-%m-%dT%H:%M:%SZ', 1695000000 + i * 60, 'unixepoch'), i % 10 <> 0, 'agent-' || (i % 7)
FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $activities)
INSERT INTO agent_activities SELECT printf('cccccccc-%04x-4000-8000-%012x', i % 65536, i), 'agent-' || (i % 7),
    printf('bbbbbbbb-0000-4000-8000-%012x', i % 2000 + 1),
    CASE i % 6 WHEN 0 THEN 'created' WHEN 1 THEN 'modified' WHEN 2 THEN 'committed'
               WHEN 3 THEN 'pushed' WHEN 4 THEN 'claimed' ELSE 'modified' END,
    CASE WHEN i % 3 = 0 THEN NULL ELSE 'Sources/Module' || (i % 40) || '/File' || (i % 500) || '.swift' END,
    'agent-' || (i % 7) || ' touched file ' || (i % 500) || ' while working on task #' || i,
    strftime('%Y-%m-%dT%H:%M:%f', 1700000000 + i, 'unixepoch') || '456789+00:00'
FROM n;
COMMIT;
SQL
    mv "$db.tmp" "$db"
fi

echo "building imi-sync (release)…" >&2
source "$root/bench/lib.sh"
bin=$(release_binary)

pgdir="$out/pg"
scripts/pg-throwaway.sh stop "$pgdir" >/dev/null 2>&1 || true
rm -rf "$pgdir"
scripts/pg-throwaway.sh start "$pgdir" >/dev/null
trap 'scripts/pg-throwaway.sh stop "$pgdir"' EXIT
psql -q "host=$pgdir user=postgres dbname=postgres" -c "CREATE DATABASE bench_imi" -c "CREATE DATABASE bench_pgloader"

echo "imi-sync migrate…" >&2
/usr/bin/time -v -o "$out/imi-sync.time" "$bin" migrate --from "$db" \
    --database-url "host=$pgdir user=postgres dbname=bench_imi" > "$out/imi-sync.out" &
timer=$!
# Peak anonymous memory (RssAnon; the binary's mapped pages are the rest of RSS), sampled.
anon=0
while kill -0 "$timer" 2>/dev/null; do
    child=$(pgrep -P "$timer" || true)
    if [[ -n $child ]]; then
        kb=$(awk '/^RssAnon:/ { print $2 }' "/proc/$child/status" 2>/dev/null || true)
        [[ -n $kb ]] && ((kb > anon)) && anon=$kb
    fi
    sleep 0.05
done
wait "$timer"
echo "pgloader…" >&2
/usr/bin/time -v -o "$out/pgloader.time" pgloader "sqlite://$db" \
    "pgsql://postgres@unix:$pgdir:5432/bench_pgloader" > "$out/pgloader.out" 2>&1

seconds() {  # "Elapsed (wall clock) time (h:mm:ss or m:ss): 0:12.34" → seconds
    awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' "$1"
}
imi=$(seconds "$out/imi-sync.time")
pgl=$(seconds "$out/pgloader.time")
rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$out/imi-sync.time")
rows=$(psql -Atq "host=$pgdir user=postgres dbname=bench_imi" -c "SELECT count(*) FROM agent_activities")
loaded=$(psql -Atq "host=$pgdir user=postgres dbname=bench_pgloader" -c "SELECT count(*) FROM agent_activities")
cat "$out/imi-sync.out"
echo
echo "legacy registry: $db ($activities activities)"
echo "imi-sync migrate: ${imi} s wall, peak RSS $((rss / 1024)) MB (anonymous $((anon / 1024)) MB), agent_activities rows: $rows"
echo "pgloader:         ${pgl} s wall, agent_activities rows: $loaded"
awk -v a="$imi" -v b="$pgl" 'BEGIN { printf "ratio imi-sync / pgloader: %.2f (target <= 0.40)\n", a / b }'
