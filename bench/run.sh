#!/usr/bin/env bash
# Benchmarks `imi-sync run` against a throwaway PostgreSQL and 200 real worktrees:
#   edit -> row latency p50/p99 over 60 edits, commit -> hash latency, the probes and writes
#   of one 1,000-file checkout, merged and pushed -> out of the in-flight view, idle CPU over
#   60 s and RSS (and anonymous memory) with 200 worktrees watched.
#   bench/run.sh [IDLE_SECONDS]        (work files under bench/.work, removed afterwards)
set -euo pipefail
cd "$(dirname "$0")/.."
idle=${1:-60}
work=$(pwd)/bench/.work/run

echo "== building imi-sync (release)"
# As installed: release, Swift runtime linked statically (scripts/build-release.sh).
source bench/lib.sh
bin=$(release_binary)

url=$(fresh_cluster "$work" code)
agent_pid=""
cleanup() {
    stop_agents ${agent_pid:+"$agent_pid"}
    drop_cluster "$work"
}
trap cleanup EXIT

bench_git_config "$work"

echo "== creating 20 projects x 10 worktrees (200) in $work/code"
tsv="$work/worktrees.tsv"
: > "$tsv"
for p in $(seq -w 1 20); do
    origin="$work/origins/p$p.git"
    git init --quiet --bare "$origin"
    seed="$work/seeds/p$p"
    mkdir -p "$seed/src/app" "$seed/src/lib" "$seed/docs" "$seed/tests"
    printf 'node_modules/\n.build/\n' > "$seed/.gitignore"
    for f in src/app/main.c src/lib/util.c docs/README.md tests/test.c; do echo "$f" > "$seed/$f"; done
    git -C "$seed" init --quiet && git -C "$seed" add -A && git -C "$seed" commit --quiet -m "initial"
    git -C "$seed" push --quiet "$origin" main
    trunk="$work/code/p$p/trunk-main"
    git clone --quiet "$origin" "$trunk"
    mkdir -p "$trunk/node_modules/a/b/c"   # ignored: must cost no watch
    printf 'p%s\tmain\ttrunk-main\ttrunk\tmain\t%s\n' "$p" "$trunk" >> "$tsv"
    for w in $(seq 1 9); do
        git -C "$trunk" worktree add --quiet -b "feat/w$w" "$work/code/p$p/feat-w$w"
        printf 'p%s\tmain\tfeat-w%s\tfeat\tfeat/w%s\t%s\n' "$p" "$w" "$w" "$work/code/p$p/feat-w$w" >> "$tsv"
    done
done
# The checkout target: a branch with 1,000 more files in p01's feat-w2.
bulk="$work/code/p01/feat-w2"
git -C "$bulk" checkout --quiet -b bulk
for i in $(seq 1 1000); do d="$bulk/gen/d$((i % 25))"; mkdir -p "$d"; echo "$i" > "$d/f$i.txt"; done
git -C "$bulk" add -A && git -C "$bulk" commit --quiet -m "a thousand files"
git -C "$bulk" checkout --quiet feat/w2

# Five worktrees registered only while the agent runs (registration -> synced).
for i in 1 2 3 4 5; do
    git -C "$work/code/p03/trunk-main" worktree add --quiet -b "feat/late$i" "$work/code/p03/feat-late$i"
done

echo "== applying the schema and registering 200 worktrees"
for f in migrations/[0-8][0-9][0-9]_*.sql; do PGOPTIONS="-c client_min_messages=warning" psql "$url" -q -v ON_ERROR_STOP=1 -f "$f" >/dev/null; done
# Values travel as COPY data, never as SQL text.
psql "$url" -q -v ON_ERROR_STOP=1 \
    -c "CREATE TEMP TABLE staging (project text, default_branch text, name text, type text, branch text, path text)" \
    -c "\\copy staging FROM '$tsv'" \
    -c "INSERT INTO projects (name, default_branch, trunk_path)
        SELECT project, default_branch, path FROM staging WHERE type = 'trunk'" \
    -c "INSERT INTO worktrees (project_id, type_id, name, branch_name, path)
        SELECT p.id, t.id, s.name, s.branch, s.path
        FROM staging s JOIN projects p ON p.name = s.project JOIN worktree_types t ON t.name = s.type"

id_of() { psql "$url" -At -v path="$1" <<< "SELECT id FROM worktrees WHERE path = :'path'"; }
edit_path="$work/code/p02/feat-w1"
edit_id=$(id_of "$edit_path")
bulk_id=$(id_of "$bulk")
late_project=$(psql "$url" -At <<< "SELECT id FROM projects WHERE name = 'p03'")

echo "== starting imi-sync run"
# --no-membership: this benchmark registers rows itself (bench/hosts.sh measures membership).
"$bin" run --no-membership --database-url "$url" --log-level debug 2> "$work/agent.log" &
agent_pid=$!
wait_first_sync "$work/agent.log" "$agent_pid"
grep "first full sync done" "$work/agent.log" | sed 's/^/   /'

echo "== measuring"
python3 bench/driver.py "$url" "$agent_pid" "$work/agent.log" "$edit_id" "$edit_path" \
    "$bulk_id" "$bulk" "$idle" "$late_project" "$work/code/p03/feat-late" "$work/code"

start=$(date +%s.%N)
kill -TERM "$agent_pid"
wait "$agent_pid" || true
agent_pid=""
printf 'SIGTERM -> exit: %.2f s  (target <= 2 s)\n' "$(echo "$(date +%s.%N) - $start" | bc)"
