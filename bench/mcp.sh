#!/usr/bin/env bash
# Benchmark for `imi-sync mcp` (issue: speed of the MCP tools). On a registry of 5,000
# worktrees (4,850 in flight, 50 projects, two hosts) drives the release binary's MCP server
# with the official Python MCP client (and on raw stdio) and prints p50/p99 per tool against
# the targets, the 1,000-row page against `imi-sync status --json`, and the server's memory.
#   bench/mcp.sh [RUNS]     (calls per case, default 200; work files under bench/out/mcp)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
runs=${1:-200}
scripts/ensure-packages.sh time
scripts/ensure-venv.sh
out=$(pwd)/bench/out/mcp
bin=$(release_binary)
conninfo=$(fresh_cluster "$out" repo)
# KEEP=1 leaves the cluster running for a look (scripts/pg-throwaway.sh stop bench/out/mcp/pg).
[[ -n ${KEEP:-} ]] || trap 'scripts/pg-throwaway.sh stop "$out/pg"' EXIT
"$bin" migrate --schema-only --database-url "$conninfo" >/dev/null

# A real worktree of 200 files for get_worktree_state with refresh: trunk main, a branch one
# commit ahead, five files edited.
bench_git_config "$out"
repo=$out/repo/app
git init -q "$repo"
for i in $(seq 1 200); do printf 'line %s\n' "$i" >"$repo/file-$i.txt"; done
git -C "$repo" add -A && git -C "$repo" commit -qm "200 files"
git -C "$repo" checkout -qb feat/bench
echo change >>"$repo/file-1.txt" && git -C "$repo" commit -qam "ahead by one"
for i in 2 3 4 5 6; do echo edit >>"$repo/file-$i.txt"; done

psql "$conninfo" -q -v ON_ERROR_STOP=1 -v repo="$repo" <<'SQL'
INSERT INTO hosts (name, last_seen_at) VALUES ('bench-host', now()), ('other-host', now());
INSERT INTO projects (name, remote_origin, trunk_path)
SELECT 'project-' || p, 'git@example.com:org/project-' || p || '.git', '/code/project-' || p || '/trunk-main'
FROM generate_series(1, 50) AS p;
-- 5,000 worktrees; n % 100 < 3 are clean (150), the other 4,850 in flight.
INSERT INTO worktrees (project_id, type_id, name, branch_name, path, agent_id, host_id,
                       has_uncommitted_changes, uncommitted_files_count, ahead_of_trunk, behind_trunk,
                       last_commit_hash, last_commit_message, last_sync_at, updated_at)
SELECT p.id, 1, 'feat-' || n, 'feat/' || n, '/code/' || p.name || '/feat-' || n,
       CASE WHEN n % 4 = 0 THEN 'agent-' || (n % 10) END,
       (SELECT id FROM hosts WHERE name = CASE WHEN n % 2 = 0 THEN 'bench-host' ELSE 'other-host' END),
       n % 100 >= 3 AND n % 3 = 0, CASE WHEN n % 100 >= 3 AND n % 3 = 0 THEN n % 17 + 1 ELSE 0 END,
       CASE WHEN n % 100 >= 3 AND n % 3 <> 0 THEN n % 7 + 1 ELSE 0 END,
       CASE WHEN n % 100 >= 3 AND n % 5 = 0 THEN n % 4 + 1 ELSE 0 END,
       md5(n::text) || 'abcdefgh', 'commit ' || n, now() - (n % 600) * interval '1 second',
       now() - n * interval '1 minute'
FROM generate_series(1, 5000) AS n
JOIN projects p ON p.name = 'project-' || (n % 50 + 1);
-- The real worktree, in project-1 on this host (its state is read by the refresh).
UPDATE projects SET default_branch = 'main' WHERE name = 'project-1';
INSERT INTO worktrees (project_id, type_id, name, branch_name, path, host_id)
SELECT p.id, 1, 'bench-real', 'feat/bench', :'repo', h.id
FROM projects p, hosts h WHERE p.name = 'project-1' AND h.name = 'bench-host';
-- Change sets: feat-50 (project-1) changes 20 files, as do the other 99 project-1 worktrees
-- for 5 of them each: about 500 overlapping (worktree, path) rows for find_overlaps.
INSERT INTO worktree_change_sets (worktree_id, working_tree, path_count)
SELECT w.id, md5(w.name), 20 FROM worktrees w JOIN projects p ON p.id = w.project_id
WHERE p.name = 'project-1' AND w.name LIKE 'feat-%';
INSERT INTO worktree_changes (worktree_id, path, kind)
SELECT w.id, 'src/file-' || f || '.c', 'modified'
FROM worktrees w JOIN projects p ON p.id = w.project_id, generate_series(1, 20) AS f
WHERE p.name = 'project-1' AND w.name LIKE 'feat-%'
  AND (w.name = 'feat-50' OR f % 4 = (substr(w.name, 6)::int / 50) % 4);
ANALYZE;
SQL
inflight=$(psql "$conninfo" -Atc "SELECT count(*) FROM v_inflight_work")
total=$(psql "$conninfo" -Atc "SELECT count(*) FROM worktrees")
overlap_path=$(psql "$conninfo" -Atc "SELECT path FROM worktrees WHERE name = 'feat-50'")
overlaps=$(psql "$conninfo" -Atc "SELECT count(*) FROM v_worktree_overlaps o JOIN worktrees w ON w.id IN (o.worktree_id_a, o.worktree_id_b) WHERE w.name = 'feat-50' AND w.path = '$overlap_path'")

t_status_json=$(median_ms 21 "$bin" status --json --database-url "$conninfo")
scenario=$(python3 -c 'import json, sys; print(json.dumps({
    "binary": sys.argv[1], "runs": int(sys.argv[2]), "path": sys.argv[3], "refresh_path": sys.argv[4],
    "refresh_id": sys.argv[7],
    "arguments": ["mcp", "--database-url", sys.argv[5], "--config", "/dev/null", "--host", "bench-host"],
    "environment": {"PATH": "/usr/bin:/bin", "HOME": sys.argv[6], "GIT_CONFIG_NOSYSTEM": "1"}}))' \
    "$bin" "$runs" "$overlap_path" "$repo" "$conninfo" "$out" \
    "$(psql "$conninfo" -Atc "SELECT id FROM worktrees WHERE name = 'bench-real'")")
[[ -n ${SETUP_ONLY:-} ]] && { echo "$conninfo"; exit 0; }
report=$(.venv/bin/python bench/mcp_driver.py "$scenario")
echo "$report" >"$out/report.json"

echo
echo "registry: $total worktrees, $inflight in flight, 50 projects; find_overlaps answers $overlaps rows in all"
python3 - "$out/report.json" "$t_status_json" "$runs" <<'PY'
import json, sys
report, status_ms, runs = json.load(open(sys.argv[1])), float(sys.argv[2]), sys.argv[3]
targets = {
    "list_inflight_work default page": (20, 50), "list_inflight_work next page (cursor)": (20, 50),
    "list_worktrees default page": (20, 50), "find_overlaps": (20, 50),
    "get_worktree_state": (20, 50), "get_worktree_state refresh (200 files)": (30, None),
}
for mode in ("official_client", "raw_stdio"):
    print(f"\n{mode.replace('_', ' ')} ({runs} calls per case), ms:")
    print(f"  {'case':42} {'p50':>7} {'p99':>7} {'bytes':>9}  target")
    for label, row in report[mode].items():
        if label == "memory_mb":
            continue
        p50, p99 = targets.get(label, (None, None))
        target = ""
        if p50:
            ok = row["p50"] <= p50 and (p99 is None or row["p99"] <= p99)
            target = f"p50 <= {p50}" + (f", p99 <= {p99}" if p99 else "") + ("  ok" if ok else "  MISSED")
        print(f"  {label:42} {row['p50']:7.2f} {row['p99']:7.2f} {row['bytes']:9d}  {target}")
    page = report[mode]["list_inflight_work 1,000-row page"]["p50"]
    print(f"  1,000-row page / status --json ({status_ms:.1f} ms, all in-flight rows, whole process) = "
          f"{page / status_ms:.2f} (target <= 4)")
    print(f"  server memory after the calls, MB: {report[mode]['memory_mb']}")
print("\npush to a subscriber (official client, two sessions, 30 edits), ms:")
for label, row in report["push"].items():
    print(f"  {label:42} p50 {row['p50']:7.2f}  p99 {row['p99']:7.2f}")
PY
