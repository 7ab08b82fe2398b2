#!/usr/bin/env bash
# Benchmark for incremental probing (issue: incremental probing) on one worktree of 100,000
# tracked files (1,000 directories x 100), built once and cached under bench/.work/bigrepo.
#  1. `git status --porcelain`: wall and CPU, median of 5 (the baseline of this run).
#  2. `imi-sync probe` of the same worktree: wall and CPU, median of 5; then both again with
#     every file racily clean (stamped in the index's own second).
#  3. `imi-sync run`: 20 edits of distinct tracked files 0.4 s apart: edit -> row p50/p99,
#     the agent's CPU per edit as a ratio to one git status; then 30 s of continuous editing
#     at 10 edits/s: the agent's share of one core.
# Targets: CPU per edit <= 0.1x one git status; edit -> row p50 <= 100 ms, p99 <= 250 ms;
#          continuous editing <= 10% of one core; probe as fast as git status or faster.
#   bench/bigrepo.sh            (set IMI_BENCH_REBUILD=1 to rebuild the cached worktree)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
cache=$(pwd)/bench/.work/bigrepo
work=$(pwd)/bench/.work/bigrepo-run
tree="$cache/code/big/trunk-main"

bin=$(release_binary)
export GIT_CONFIG_GLOBAL="$cache/gitconfig" GIT_CONFIG_NOSYSTEM=1

if [[ -n "${IMI_BENCH_REBUILD:-}" || "$(git -C "$tree" ls-files 2>/dev/null | wc -l)" -ne 100001 ]]; then
    echo "== building the 100,000-file worktree (once; cached in $cache)"
    rm -rf "$cache"
    mkdir -p "$cache/code/big"
    bench_git_config "$cache"
    git config --global gc.auto 0   # packed once below, never in the background
    mkdir -p "$tree"
    python3 - "$tree" <<'PY'
import os, sys
root = sys.argv[1]
for d in range(1000):
    directory = os.path.join(root, "src", "m%02d" % (d // 50), "d%03d" % d)
    os.makedirs(directory, exist_ok=True)
    for f in range(100):
        with open(os.path.join(directory, "f%02d.txt" % f), "w") as handle:
            handle.write(("file %d %d\n" % (d, f)) * 3)
PY
    printf 'build/\n*.o\n' > "$tree/.gitignore"
    git -C "$tree" init --quiet
    git -C "$tree" add -A
    git -C "$tree" commit --quiet -m "100,000 files"
    git -C "$tree" gc --quiet
fi
# Each run starts from a clean tree: earlier runs' edits are undone.
git -C "$tree" reset --quiet --hard
git -C "$tree" clean --quiet -fd
git -C "$tree" status --porcelain >/dev/null   # index stat data fresh, as after any git use

url=$(fresh_cluster "$work")
agent_pid=""
cleanup() {
    stop_agents ${agent_pid:+"$agent_pid"}
    drop_cluster "$work"
    git -C "$tree" reset --quiet --hard
}
trap cleanup EXIT

# cpu_wall N CMD...: median wall ms and median CPU ms (user + system) of N runs.
cpu_wall() {
    local runs=$1 i
    shift
    for ((i = 0; i < runs; i++)); do
        /usr/bin/time -f "%e %U %S" "$@" 2>&1 >/dev/null | tail -1
    done | python3 -c '
import statistics, sys
rows = [line.split() for line in sys.stdin if line.strip()]
print("%.0f %.0f" % (statistics.median(float(r[0]) * 1000 for r in rows),
                     statistics.median((float(r[1]) + float(r[2])) * 1000 for r in rows)))'
}

echo "== 1. git status --porcelain, 100,000 files (median of 5)"
read -r git_wall git_cpu < <(cpu_wall 5 git -C "$tree" --no-optional-locks status --porcelain)
printf 'git status --porcelain      wall %5d ms   CPU %5d ms   (baseline)\n' "$git_wall" "$git_cpu"

echo "== 2. imi-sync probe (median of 5)"
read -r probe_wall probe_cpu < <(cpu_wall 5 "$bin" probe "$tree")
printf 'imi-sync probe              wall %5d ms   CPU %5d ms   wall ratio %s, CPU ratio %s  (target <= 1.5, issue 20)\n' \
    "$probe_wall" "$probe_cpu" "$(ratio "$probe_wall" "$git_wall")" "$(ratio "$probe_cpu" "$git_cpu")"

echo "== 2b. racily clean: every file stamped in the index's own second (as right after a reset)"
# Neither rewrites the index (git: --no-optional-locks), so both compare the files' contents
# on every run; the stamps are put back afterwards.
stamp=$(date +%s)
find "$tree/src" -type f -print0 | xargs -0 touch -d "@$stamp"
git -C "$tree" update-index -q --refresh
touch -d "@$stamp" "$tree/.git/index"
read -r racy_git_wall racy_git_cpu < <(cpu_wall 5 git -C "$tree" --no-optional-locks status --porcelain)
read -r racy_wall racy_cpu < <(cpu_wall 5 "$bin" probe "$tree")
printf 'git status, all racy        wall %5d ms   CPU %5d ms   (baseline)\n' "$racy_git_wall" "$racy_git_cpu"
printf 'imi-sync probe, all racy    wall %5d ms   CPU %5d ms   wall ratio %s, CPU ratio %s  (target <= 1.5)\n' \
    "$racy_wall" "$racy_cpu" "$(ratio "$racy_wall" "$racy_git_wall")" "$(ratio "$racy_cpu" "$racy_git_cpu")"
printf 'one racy probe: peak RSS %s MB, peak anonymous %s MB\n' "$(peak_rss_mb "$bin" probe "$tree")" \
    "$(peak_anon_mb "$bin" probe "$tree")"
git -C "$tree" status --porcelain >/dev/null   # index stat data fresh again

echo "== 3. imi-sync run"
export IMI_DATABASE_URL="$url"
"$bin" migrate --schema-only >/dev/null
"$bin" scan "$cache/code" >/dev/null
"$bin" run --no-membership --log-level info 2> "$work/agent.log" &
agent_pid=$!
wait_first_sync "$work/agent.log" "$agent_pid"
id=$(psql "$url" -At -v path="$tree" <<< "SELECT id FROM worktrees WHERE path = :'path'")
python3 bench/bigrepo_driver.py "$url" "$agent_pid" "$id" "$tree" "$git_cpu"
