#!/usr/bin/env bash
# Benchmark for `imi-sync once` (issue: once). Prints, measured in this one run:
#  - 200+ worktrees of 200 files each (a third with modified and untracked files, a third
#    with a commit ahead): imi-sync once (probe + forecast) vs the plan's sync-git-state.sh
#    vs a serial `git status --porcelain` loop over the same worktrees, and once's peak RSS
#    and peak anonymous memory (RssAnon, sampled every 2 ms);
#  - 20,000-file worktrees: `imi-sync probe` vs `git status --porcelain`, per worktree.
# Targets: >= 40x faster than the baseline script; once / status loop <= 0.5;
#          <= 1.5x git status on 20,000-file worktrees; peak RSS <= 50 MB.
#   bench/once.sh [WORKTREES]      (default 200)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
count=${1:-200}
projects=$(((count + 9) / 10))
scripts/ensure-packages.sh time
out=$(pwd)/bench/out/once
baseline_dir=$(realpath ../shared/baseline 2>/dev/null || true)
[[ -x "$baseline_dir/sync-git-state.sh" ]] || { echo "missing ../shared/baseline/sync-git-state.sh" >&2; exit 1; }

bin=$(release_binary)
conninfo=$(fresh_cluster "$out")
trap 'scripts/pg-throwaway.sh stop "$out/pg"' EXIT
export GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com
g() { git -c init.defaultBranch=main "$@" >/dev/null 2>&1; }

echo "generating $((projects * 10)) worktrees in $projects projects..."
: > "$out/worktrees.tsv"
for ((p = 0; p < projects; p++)); do
    name=proj$p
    g init --bare -b main "$out/origins/$name.git"
    trunk="$out/code/$name/trunk-main"
    g clone "$out/origins/$name.git" "$trunk"
    g -C "$trunk" checkout -b main
    for d in src lib docs tests; do
        mkdir -p "$trunk/$d"
        for f in $(seq 1 50); do printf '%s %s %s\nline 2\nline 3\n' "$name" "$d" "$f" > "$trunk/$d/file$f.txt"; done
    done
    g -C "$trunk" add -A && g -C "$trunk" commit -m "initial" && g -C "$trunk" push -u origin main
    g -C "$trunk" remote set-head origin main
    printf '%s\t%s\t%s\n' "$name" "trunk-main" "$trunk" >> "$out/worktrees.tsv"
    for ((w = 1; w < 10; w++)); do
        wt="$out/code/$name/feat-$w"
        g -C "$trunk" worktree add -b "feat/$w" "$wt"
        case $((w % 3)) in
        0) echo "edit" >> "$wt/src/file1.txt"; echo "edit $w" >> "$wt/lib/file$w.txt"
           echo new > "$wt/new.txt"; echo "new $w" > "$wt/src/new$w.txt" ;;
        1) echo "c" > "$wt/c.txt"; g -C "$wt" add -A; g -C "$wt" commit -m "work $w" ;;
        esac
        printf '%s\t%s\t%s\n' "$name" "feat-$w" "$wt" >> "$out/worktrees.tsv"
    done
done
cut -f3 "$out/worktrees.tsv" > "$out/paths.txt"
# Warm the index stat caches (git status writes them back; imi-sync never writes).
while IFS= read -r path; do git -C "$path" status --porcelain >/dev/null; done < "$out/paths.txt"

"$bin" migrate --schema-only --database-url "$conninfo" >/dev/null
psql "$conninfo" -q -v ON_ERROR_STOP=1 \
    -c "CREATE TEMP TABLE s (project text, name text, path text)" \
    -c "\\copy s FROM '$out/worktrees.tsv'" \
    -c "INSERT INTO projects (name, remote_origin, trunk_path)
        SELECT DISTINCT project, 'git@example.com:' || project || '.git', path FROM s WHERE name = 'trunk-main'" \
    -c "INSERT INTO worktrees (project_id, type_id, name, branch_name, path)
        SELECT p.id, (SELECT id FROM worktree_types WHERE name = 'feat'), s.name, s.name, s.path
        FROM s JOIN projects p ON p.name = s.project"
n=$(wc -l < "$out/paths.txt")

echo "timing ($n worktrees, $(nproc) cores)..."
t_once=$(median_ms 7 "$bin" once --database-url "$conninfo")
t_loop=$(median_ms 3 "$baseline_dir/git_status_loop.sh" "$out/paths.txt")
t_base=$(DB="$conninfo" median_ms 3 "$baseline_dir/sync-git-state.sh")
rss_once=$(peak_rss_mb "$bin" once --database-url "$conninfo")
anon_once=$(peak_anon_mb "$bin" once --database-url "$conninfo")

echo "generating 3 worktrees of 20,000 files..."
big_times_git=()
big_times_probe=()
big_times_git10=()
big_times_probe10=()
for b in 1 2 3; do
    big="$out/big/big$b/trunk-main"
    mkdir -p "$big"
    g -C "$big" init -b main
    for ((d = 0; d < 200; d++)); do
        mkdir -p "$big/dir$d"
        for ((f = 0; f < 100; f++)); do echo "$b $d $f" > "$big/dir$d/f$f.txt"; done
    done
    g -C "$big" add -A && g -C "$big" commit -m "20k files"
    echo change >> "$big/dir7/f7.txt"; echo untracked > "$big/dir9/new.txt"
    git -C "$big" status --porcelain >/dev/null
    sleep 1   # let mtimes fall behind the index so neither side needs to re-hash
    git -C "$big" status --porcelain >/dev/null
    big_times_git+=("$(median_ms 9 git -C "$big" status --porcelain)")
    big_times_probe+=("$(median_ms 9 "$bin" probe "$big")")
    # Ten reads in one process, as once and run do, against ten git processes.
    big_times_git10+=("$(median_ms 5 bash -c 'for i in 1 2 3 4 5 6 7 8 9 10; do git -C "$1" status --porcelain; done' _ "$big")")
    big_times_probe10+=("$(median_ms 5 "$bin" probe "$big" "$big" "$big" "$big" "$big" "$big" "$big" "$big" "$big" "$big")")
done

echo
printf '%-58s %10s\n' "measurement" "value"
printf '%-58s %10s\n' "imi-sync once, $n worktrees (median of 7), ms" "$t_once"
printf '%-58s %10s\n' "baseline sync-git-state.sh, $n worktrees (median of 3), ms" "$t_base"
printf '%-58s %10s\n' "serial git status --porcelain loop (median of 3), ms" "$t_loop"
printf '%-58s %10s\n' "imi-sync once peak RSS, MB" "$rss_once"
printf '%-58s %10s\n' "imi-sync once peak anonymous memory (sampled), MB" "$anon_once"
for b in 0 1 2; do
    printf '%-58s %10s\n' "20k-file worktree $((b + 1)): git status --porcelain, ms" "${big_times_git[$b]}"
    printf '%-58s %10s\n' "20k-file worktree $((b + 1)): imi-sync probe, ms" "${big_times_probe[$b]}"
    printf '%-58s %10s\n' "20k-file worktree $((b + 1)): 10x git status, ms" "${big_times_git10[$b]}"
    printf '%-58s %10s\n' "20k-file worktree $((b + 1)): 10 probes in one imi-sync, ms" "${big_times_probe10[$b]}"
done
echo
speedup_base=$(ratio "$t_base" "$t_once")
speedup_loop=$(ratio "$t_loop" "$t_once")
echo "once vs baseline script:   ${speedup_base}x faster   (target >= 40x)"
echo "once vs git status loop:   ${speedup_loop}x faster, once / loop = $(ratio "$t_once" "$t_loop")   (target <= 0.5)"
for b in 0 1 2; do
    echo "20k worktree $((b + 1)): per worktree, probe / git status = $(ratio "${big_times_probe10[$b]}" "${big_times_git10[$b]}") in one process, $(ratio "${big_times_probe[$b]}" "${big_times_git[$b]}") one process each   (target <= 1.5)"
done
echo "once peak RSS: ${rss_once} MB, of it anonymous: ${anon_once} MB   (target <= 50 MB)"
