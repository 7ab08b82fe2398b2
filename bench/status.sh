#!/usr/bin/env bash
# Benchmark for `imi-sync status` / `stats` (issue: operations). On a registry of N worktrees
# (default 5,000; about a third in flight) prints the end-to-end wall time of the commands
# against the plan's bar (< 100 ms for typical queries) and against psql running the same view.
#   bench/status.sh [WORKTREES]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
count=${1:-5000}
scripts/ensure-packages.sh time
out=$(pwd)/bench/out/status
bin=$(release_binary)
conninfo=$(fresh_cluster "$out")
trap 'scripts/pg-throwaway.sh stop "$out/pg"' EXIT
"$bin" migrate --schema-only --database-url "$conninfo" >/dev/null
psql "$conninfo" -q -v ON_ERROR_STOP=1 -v count="$count" <<'SQL'
INSERT INTO projects (name, remote_origin, trunk_path)
SELECT 'project-' || p, 'git@example.com:org/project-' || p || '.git', '/code/project-' || p || '/trunk-main'
FROM generate_series(1, 100) AS p;
INSERT INTO worktrees (project_id, type_id, name, branch_name, path, agent_id,
                       has_uncommitted_changes, uncommitted_files_count, ahead_of_trunk, behind_trunk,
                       last_commit_hash, last_commit_message, last_sync_at)
SELECT p.id, 1, 'feat-' || n, 'feat/' || n, '/code/' || p.name || '/feat-' || n,
       CASE WHEN n % 4 = 0 THEN 'agent-' || (n % 10) END,
       n % 3 = 0, CASE WHEN n % 3 = 0 THEN n % 17 + 1 ELSE 0 END,
       CASE WHEN n % 5 = 0 THEN n % 7 ELSE 0 END, CASE WHEN n % 7 = 0 THEN n % 4 ELSE 0 END,
       md5(n::text) || 'abcdefgh', 'commit ' || n, now() - (n % 600) * interval '1 second'
FROM generate_series(1, :count) AS n
JOIN projects p ON p.name = 'project-' || (n % 100 + 1);
ANALYZE;
SQL
inflight=$(psql "$conninfo" -Atc "SELECT count(*) FROM v_inflight_work")
t_status=$(median_ms 21 "$bin" status --database-url "$conninfo")
t_status_json=$(median_ms 21 "$bin" status --json --database-url "$conninfo")
t_stats=$(median_ms 21 "$bin" stats --json --database-url "$conninfo")
t_psql=$(median_ms 21 psql "$conninfo" -Atc "SELECT * FROM v_inflight_work ORDER BY project_name, worktree_name")
echo
echo "registry: $count worktrees, $inflight in flight"
printf '%-52s %8s\n' "imi-sync status (table), median of 21, ms" "$t_status"
printf '%-52s %8s\n' "imi-sync status --json, median of 21, ms" "$t_status_json"
printf '%-52s %8s\n' "imi-sync stats --json, median of 21, ms" "$t_stats"
printf '%-52s %8s\n' "psql SELECT * FROM v_inflight_work (reference), ms" "$t_psql"
printf '%-52s %8s MB, of it anonymous %s MB\n' "imi-sync status --json peak RSS" \
    "$(peak_rss_mb "$bin" status --json --database-url "$conninfo")" "$(peak_anon_mb "$bin" status --json --database-url "$conninfo")"
echo "status / 100 ms bar = $(ratio "$t_status" 100)   (target < 1.00)"
echo "status / psql       = $(ratio "$t_status" "$t_psql")"
