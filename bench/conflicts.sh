#!/usr/bin/env bash
# Benchmark for the overlap and conflict forecast (issue: overlap and conflict forecast).
#  1. One project with 30 in-flight worktrees that pairwise overlap (every one edits the
#     shared files; a third of them the same line of one of them): the full matrix (435
#     pairs) with `imi-sync once`, against a loop of `git merge-tree --write-tree` over the
#     same pairs of working-state commits (what the tools that do this today run), in one run.
#  2. `imi-sync run`: an edit that creates an overlap -> the row in v_worktree_overlaps.
# Targets: full matrix >= 10x faster than the merge-tree loop; edit -> overlap visible
#          p50 <= 300 ms, p99 <= 1 s.
#   bench/conflicts.sh            (work files under bench/.work/conflicts, removed afterwards;
#                                  IMI_BENCH_KEEP=1 keeps them and the PostgreSQL for profiling)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
work=$(pwd)/bench/.work/conflicts
bin=$(release_binary)

url=$(fresh_cluster "$work" code)
agent_pid=""
cleanup() {
    [[ -n "${IMI_BENCH_KEEP:-}" ]] && { [[ -n "$agent_pid" ]] && kill -TERM "$agent_pid"; return; }
    stop_agents ${agent_pid:+"$agent_pid"}
    drop_cluster "$work"
}
trap cleanup EXIT
bench_git_config "$work"

echo "== one project, 30 worktrees, each editing the shared files"
origin="$work/origin.git"
git init --quiet --bare "$origin"
seed="$work/seed"
mkdir -p "$seed/src"
for f in $(seq 1 200); do printf 'line %s\n' $(seq 1 40) > "$seed/src/f$f.c"; done
printf 'line %s\n' $(seq 1 60) > "$seed/shared.txt"
git -C "$seed" init --quiet && git -C "$seed" add -A && git -C "$seed" commit --quiet -m initial
git -C "$seed" push --quiet "$origin" main
trunk="$work/code/app/trunk-main"
git clone --quiet "$origin" "$trunk"
for w in $(seq -w 1 30); do
    tree="$work/code/app/feat-w$w"
    git -C "$trunk" worktree add --quiet -b "feat/w$w" "$tree"
    # Everyone edits shared.txt: worktrees 1-10 the same line (conflicts), the rest their own.
    if ((10#$w <= 10)); then line=1; else line=$((10#$w * 2)); fi
    sed -i "${line}s/.*/changed by w$w/" "$tree/shared.txt"
    echo "w$w" > "$tree/own-w$w.txt"
    sed -i "3s/.*/w$w/" "$tree/src/f$((10#$w)).c"
done

export IMI_DATABASE_URL="$url"
"$bin" migrate --schema-only >/dev/null
"$bin" scan "$work/code" >/dev/null

echo "== 1. the full matrix: 30 worktrees, 435 pairs"
# Baseline: each worktree's working state as a commit (temporary index, as the peers'
# stash commits), then git merge-tree over every pair, timed alone.
commits=()
for w in $(seq -w 1 30); do
    tree="$work/code/app/feat-w$w"
    index="$work/index-$w"
    cp "$(git -C "$tree" rev-parse --absolute-git-dir)/index" "$index"
    GIT_INDEX_FILE="$index" git -C "$tree" add -A
    t=$(GIT_INDEX_FILE="$index" git -C "$tree" write-tree)
    commits+=("$(git -C "$tree" commit-tree "$t" -p HEAD -m "working state w$w")")
done
start=$(date +%s%N)
conflicting=0
for ((i = 0; i < 30; i++)); do
    for ((j = i + 1; j < 30; j++)); do
        git -C "$trunk" merge-tree --write-tree --name-only "${commits[i]}" "${commits[j]}" >/dev/null || conflicting=$((conflicting + 1))
    done
done
loop_ms=$(( ($(date +%s%N) - start) / 1000000 ))
printf 'git merge-tree loop, 435 pairs         %6d ms  (%d conflicting)  (baseline)\n' "$loop_ms" "$conflicting"
once_times=()
for run in 1 2 3; do
    psql "$url" -q -c "DELETE FROM worktree_pair_verdicts; DELETE FROM worktree_change_sets" >/dev/null
    start=$(date +%s%N)
    "$bin" once >/dev/null
    once_times+=($(( ($(date +%s%N) - start) / 1000000 )))
done
once_ms=$(printf '%s\n' "${once_times[@]}" | sort -n | sed -n 2p)
pairs=$(psql "$url" -At -c "SELECT count(*) FROM worktree_pair_verdicts")
conflicts=$(psql "$url" -At -c "SELECT count(DISTINCT (worktree_id_a, worktree_id_b)) FROM worktree_pair_conflicts")
printf 'imi-sync once (probe + forecast), median of 3  %6d ms  (%s pairs merged, %s conflicting)\n' "$once_ms" "$pairs" "$conflicts"
printf 'merge-tree loop / once: %sx  (target >= 10x)\n' "$(ratio "$loop_ms" "$once_ms")"
psql "$url" -q -c "DELETE FROM worktree_pair_verdicts; DELETE FROM worktree_change_sets" >/dev/null
once_rss=$(peak_rss_mb "$bin" once)
psql "$url" -q -c "DELETE FROM worktree_pair_verdicts; DELETE FROM worktree_change_sets" >/dev/null
printf 'imi-sync once, full matrix: peak RSS %s MB, of it anonymous %s MB\n' "$once_rss" "$(peak_anon_mb "$bin" once)"

echo "== 2. imi-sync run: edit -> overlap row"
"$bin" run --no-membership --log-level info 2> "$work/agent.log" &
agent_pid=$!
wait_first_sync "$work/agent.log" "$agent_pid"
python3 bench/conflicts_driver.py "$url" "$work/code/app"
echo "agent after the edits: $(memory_mb "$agent_pid")"
