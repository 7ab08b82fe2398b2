#!/usr/bin/env bash
# Benchmark for many hosts and many agent sessions on one registry (issue 21, part 4).
#  a. HOSTS_DIRECT (80) `imi-sync run` agents, each its own --host and root with WORKTREES (3)
#     worktrees, straight to a stock PostgreSQL (max_connections 100), logging in as the plain
#     role deploy/roles.sql makes (imi_sync_agent); SESSION_HOSTS_DIRECT (10) of the hosts get
#     SESSIONS_PER_HOST (3) `imi-sync mcp` sessions each (imi_sync_mcp), driven by the official
#     Python MCP client.
#  b. HOSTS_POOLED (200) agents + SESSIONS_POOLED (60) mcp sessions through PgBouncer (Debian's,
#     transaction pooling, POOL_SIZE 20 per database and role).
# Each part: hosts synced, sessions answering, peak client backends per role on the server,
# edit -> row p50/p99, memory per agent (VmRSS and anonymous). Hosts and sessions that fail are
# counted, not fatal. Targets (issue 21): every host synced, every session answering, the
# hosts' roles <= 90 server connections, edit -> row p50 <= 150 ms, p99 <= 1 s.
#   bench/manyhosts.sh                 both parts, DURATION (60) s of edits and sessions each
#   PARTS=a HOSTS_DIRECT=20 bench/manyhosts.sh      a quick run
# Other knobs: EDIT_RATE (edits/s over all hosts, 4), SESSION_INTERVAL (s between a session's
# calls, 5), SYNC_TIMEOUT (s to wait for the agents' first sync, 120).
# Work files (agents' logs, summary.json) stay under bench/.work/manyhosts-{a,b}. Needs root for sysctl (see below).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
HOSTS_DIRECT=${HOSTS_DIRECT:-80} SESSION_HOSTS_DIRECT=${SESSION_HOSTS_DIRECT:-10}
SESSIONS_PER_HOST=${SESSIONS_PER_HOST:-3} HOSTS_POOLED=${HOSTS_POOLED:-200}
SESSIONS_POOLED=${SESSIONS_POOLED:-60} POOL_SIZE=${POOL_SIZE:-20} WORKTREES=${WORKTREES:-3}
DURATION=${DURATION:-60} EDIT_RATE=${EDIT_RATE:-4} SESSION_INTERVAL=${SESSION_INTERVAL:-5}
SYNC_TIMEOUT=${SYNC_TIMEOUT:-120} PARTS=${PARTS:-a b}

bin=${IMI_BIN:-$(release_binary)}  # IMI_BIN: another build, e.g. for a quick check
scripts/ensure-venv.sh >&2
python=$(pwd)/.venv/bin/python
command -v pgbouncer >/dev/null || [[ -x /usr/sbin/pgbouncer ]] || scripts/ensure-packages.sh

# Every agent holds an inotify instance; the default fs.inotify.max_user_instances (128) stops
# the 129th agent of one user on one machine. Real hosts each have their own limit.
most=$((HOSTS_DIRECT > HOSTS_POOLED ? HOSTS_DIRECT : HOSTS_POOLED))
want=$((most * 2 + 256))
have=$(sysctl -n fs.inotify.max_user_instances)
if ((have < want)); then
    if sysctl -qw fs.inotify.max_user_instances="$want"; then
        echo "raised fs.inotify.max_user_instances from $have to $want for $most agents on one machine" \
            "(on real hosts each machine has its own limit)"
    else
        echo "warning: cannot raise fs.inotify.max_user_instances ($have); agents past it will fail to watch"
    fi
fi
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u '+%Y-%m-%d %H:%M UTC')"

g() { git "$@" >/dev/null 2>&1; }
as_postgres() { if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }

work="" bouncer_dir=""
cleanup() {
    [[ -n $bouncer_dir && -f $bouncer_dir/pgbouncer.pid ]] && kill "$(cat "$bouncer_dir/pgbouncer.pid")" 2>/dev/null
    [[ -n $work ]] && scripts/pg-throwaway.sh stop "$work/pg"
    return 0
}
trap cleanup EXIT

# hosts WORK N: N roots WORK/hosts/hK/code/api with a clone and WORKTREES-1 linked worktrees;
# prints the hosts as JSON.
hosts() {
    local origin="$1/origin.git" seed="$1/seed" h w trunk
    g init --bare "$origin"
    mkdir -p "$seed/src" && for f in a b c d; do echo "$f" > "$seed/src/$f.c"; done
    g -C "$seed" init && g -C "$seed" add -A && g -C "$seed" commit -m initial && g -C "$seed" push "$origin" main
    for ((h = 0; h < $2; h++)); do
        trunk="$1/hosts/h$h/code/api/trunk-main"
        g clone "$origin" "$trunk"
        for ((w = 1; w < WORKTREES; w++)); do g -C "$trunk" worktree add -b "feat/w$w" "$1/hosts/h$h/code/api/feat-w$w"; done
    done
    "$python" -c 'import json,sys; print(json.dumps([{"name": f"h{n}", "root": f"{sys.argv[1]}/hosts/h{n}/code"} for n in range(int(sys.argv[2]))]))' "$1" "$2"
}

# bouncer DIR PGDIR: PgBouncer on DIR's Unix socket (port 6432) in front of the cluster in PGDIR.
bouncer() {
    mkdir -p "$1"
    cat > "$1/pgbouncer.ini" <<EOF
[databases]
* = host=$2
[pgbouncer]
listen_addr =
listen_port = 6432
unix_socket_dir = $1
auth_type = trust
auth_file = $1/userlist.txt
auth_user = postgres
admin_users = postgres
pool_mode = transaction
default_pool_size = $POOL_SIZE
max_client_conn = 2000
log_connections = 0
log_disconnections = 0
logfile = $1/pgbouncer.log
pidfile = $1/pgbouncer.pid
EOF
    echo '"postgres" ""' > "$1/userlist.txt"
    [[ $(id -u) -eq 0 ]] && chown -R postgres "$1"
    # As the cluster's owner: pgbouncer refuses to run as root.
    as_postgres bash -c "ulimit -n \$(ulimit -Hn); exec pgbouncer -d -q '$1/pgbouncer.ini'"
    for _ in $(seq 1 100); do [[ -S $1/.s.PGSQL.6432 ]] && return 0; sleep 0.1; done
    cat "$1/pgbouncer.log"
    return 1
}

# part LABEL HOSTS SESSION_HOSTS SESSIONS_PER_HOST POOLED
part() {
    local label=$1 count=$2 session_hosts=$3 per_host=$4 pooled=$5
    work=$(pwd)/bench/.work/manyhosts-$label
    bouncer_dir=""
    local url agent_url mcp_url bouncer_admin=null sessions
    url=$(fresh_cluster "$work")
    echo "   PostgreSQL: max_connections $(psql "$url" -Atc 'SHOW max_connections')," \
        "superuser_reserved_connections $(psql "$url" -Atc 'SHOW superuser_reserved_connections')"
    "$bin" migrate --schema-only --database-url "$url" >/dev/null
    PGOPTIONS="-c client_min_messages=warning" psql -q "$url" -v ON_ERROR_STOP=1 -f deploy/roles.sql >/dev/null
    agent_url="host=$work/pg user=imi_sync_agent dbname=postgres"
    mcp_url="host=$work/pg user=imi_sync_mcp dbname=postgres"
    if [[ $pooled == 1 ]]; then
        bouncer_dir=$work/bouncer
        bouncer "$bouncer_dir" "$work/pg"
        agent_url="host=$bouncer_dir port=6432 user=imi_sync_agent dbname=postgres"
        mcp_url="host=$bouncer_dir port=6432 user=imi_sync_mcp dbname=postgres"
        bouncer_admin="\"host=$bouncer_dir port=6432 user=postgres dbname=pgbouncer\""
        echo "   PgBouncer $(pgbouncer --version | head -1 | cut -d' ' -f2): transaction pooling," \
            "default_pool_size $POOL_SIZE, Unix socket"
    fi
    bench_git_config "$work"
    local started=$SECONDS hosts_json
    hosts_json=$(hosts "$work" "$count")
    echo "   made $count roots with $WORKTREES worktrees each in $((SECONDS - started)) s"
    sessions=$("$python" -c 'import json,sys; n,k=int(sys.argv[1]),int(sys.argv[2]); print(json.dumps([f"h{h}" for h in range(n) for _ in range(k)]))' \
        "$session_hosts" "$per_host")
    cat > "$work/config.json" <<EOF
{"binary": "$bin", "agent_url": "$agent_url", "mcp_url": "$mcp_url", "admin_url": "$url",
 "work": "$work", "hosts": $hosts_json, "worktrees": $WORKTREES, "sessions": $sessions,
 "duration": $DURATION, "sync_timeout": $SYNC_TIMEOUT, "edit_rate": $EDIT_RATE,
 "session_interval": $SESSION_INTERVAL, "bouncer_admin": $bouncer_admin}
EOF
    "$python" bench/manyhosts_driver.py "$work/config.json" || echo "   (the driver failed: exit $?)"
    echo "   load after the part: $(cut -d' ' -f1-3 /proc/loadavg)"
    if [[ -n $bouncer_dir ]]; then kill "$(cat "$bouncer_dir/pgbouncer.pid")" 2>/dev/null || true; fi
    bouncer_dir=""
    # The agents' logs and summary.json stay in WORK for a look afterwards.
    scripts/pg-throwaway.sh stop "$work/pg"
    work=""
}

for p in $PARTS; do
    case $p in
    a)
        echo "== a. $HOSTS_DIRECT hosts straight to PostgreSQL, $SESSION_HOSTS_DIRECT of them with" \
            "$SESSIONS_PER_HOST mcp sessions each"
        part a "$HOSTS_DIRECT" "$SESSION_HOSTS_DIRECT" "$SESSIONS_PER_HOST" 0
        ;;
    b)
        session_hosts=$(((SESSIONS_POOLED + SESSIONS_PER_HOST - 1) / SESSIONS_PER_HOST))
        echo "== b. $HOSTS_POOLED hosts + $((session_hosts * SESSIONS_PER_HOST)) mcp sessions" \
            "($SESSIONS_PER_HOST on each of $session_hosts hosts) through PgBouncer"
        part b "$HOSTS_POOLED" "$session_hosts" "$SESSIONS_PER_HOST" 1
        ;;
    esac
done
