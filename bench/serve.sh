#!/usr/bin/env bash
# Benchmarks `imi-sync serve` (issue 22, part 7): CLIENTS (100) event streams (GET /events)
# held open while RATE (10) edits a second land round-robin across one project's WORKTREES
# (20) worktrees, registered and synced by an `imi-sync run` agent, for DURATION seconds.
#   edit -> event at every client p50/p99 and the events lost, against edit -> row (NOTIFY on
#   a direct LISTEN) in the same run; the server's CPU (% of one core, /proc/PID/stat) over
#   the edits and idle with the streams open, its memory (VmRSS, RssAnon); the agent's CPU.
# Targets: edit -> browser p50 <= 250 ms; the server <= 5% of a core.
#   bench/serve.sh [DURATION]    (default 30; CLIENTS, RATE, WORKTREES, IDLE, MAX_STREAMS override;
#                                 PAGE=1: each client behaves as the page does (reads
#                                 /api/snapshot on connect, applies the patch events, reads
#                                 again only on a gap), timed edit -> data shown;
#                                 work files under bench/.work/serve, removed afterwards)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
duration=${1:-${DURATION:-30}}
clients=${CLIENTS:-100}
rate=${RATE:-10}
worktrees=${WORKTREES:-20}
idle=${IDLE:-5}
# serve's default --max-streams is 64, under the 100 clients: MAX_STREAMS=default keeps it.
max_streams=${MAX_STREAMS:-$((clients + 8))}
work=$(pwd)/bench/.work/serve

echo "== building imi-sync (release)"
bin=$(release_binary)
url=$(fresh_cluster "$work" code)
agent_pid="" serve_pid=""
cleanup() {
    stop_agents ${serve_pid:+"$serve_pid"} ${agent_pid:+"$agent_pid"}
    drop_cluster "$work"
}
trap cleanup EXIT
bench_git_config "$work"
g() { git "$@" >/dev/null 2>&1; }

echo "== one project, $worktrees worktrees (a clone and $((worktrees - 1)) linked) in $work/code"
origin="$work/origins/app.git" seed="$work/seeds/app"
g init --bare "$origin"
mkdir -p "$seed/src" "$seed/docs"
for f in a b c d; do echo "app $f" > "$seed/src/$f.c"; done
echo "# app" > "$seed/docs/README.md"
g -C "$seed" init && g -C "$seed" add -A && g -C "$seed" commit -m initial && g -C "$seed" push "$origin" main
trunk="$work/code/app/trunk-main"
g clone "$origin" "$trunk"
for ((w = 1; w < worktrees; w++)); do g -C "$trunk" worktree add -b "feat/w$w" "$work/code/app/feat-w$w"; done

echo "== schema, roles; the agent registers and syncs its worktrees"
"$bin" migrate --schema-only --database-url "$url" >/dev/null
PGOPTIONS="-c client_min_messages=warning" psql -q "$url" -v ON_ERROR_STOP=1 -f deploy/roles.sql >/dev/null
IMI_SYSTEM_PATHS="$work/code" HOME="$work" \
    "$bin" run --host bench --database-url "$url" --config /dev/null --log-level notice 2> "$work/agent.log" &
agent_pid=$!
wait_first_sync "$work/agent.log" "$agent_pid"
registered=$(psql "$url" -At -c "SELECT count(*) FROM worktrees WHERE active AND last_sync_at IS NOT NULL")
echo "   $registered worktrees registered and synced"
[[ $registered -eq $worktrees ]] || { echo "bench: expected $worktrees synced worktrees"; cat "$work/agent.log"; exit 1; }

streams=()
[[ $max_streams == default ]] || streams=(--max-streams "$max_streams")
echo "== imi-sync serve on 127.0.0.1:0 as imi_sync_serve (read-only) ${streams[*]:-(default --max-streams)}"
serve_url="host=$work/pg user=imi_sync_serve dbname=postgres"
HOME="$work" "$bin" serve --listen 127.0.0.1:0 "${streams[@]}" --database-url "$serve_url" \
    --config /dev/null --log-level notice > "$work/serve.out" 2> "$work/serve.log" &
serve_pid=$!
base=""
for _ in $(seq 1 200); do
    base=$(sed -n 's/^imi-sync serve: \(http:[^ ]*\)$/\1/p' "$work/serve.out")
    [[ -n $base ]] && break
    kill -0 "$serve_pid" 2>/dev/null || { cat "$work/serve.out" "$work/serve.log"; exit 1; }
    sleep 0.05
done
[[ -n $base ]] || { echo "bench: serve never said where it listens"; cat "$work/serve.log"; exit 1; }
echo "   $base (pid $serve_pid)"

echo "== $clients event streams, $rate edits/s for $duration s (idle ${idle} s first)"
python3 bench/serve_driver.py "$url" "$base" "$serve_pid" "$agent_pid" "$duration" "$clients" "$rate" "$idle"
if [[ -s $work/serve.log ]]; then
    echo "   serve's log ($(wc -l < "$work/serve.log") lines), last 5:"
    tail -n 5 "$work/serve.log" | sed 's/^/     /'
fi
