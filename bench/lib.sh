# Shared helpers for the benchmarks (sourced, not run).

# median_ms N CMD...: runs CMD N times (output discarded) and prints the median wall time in ms.
median_ms() {
    local runs=$1 i start end
    shift
    local times=()
    for ((i = 0; i < runs; i++)); do
        start=$(date +%s%N)
        "$@" >/dev/null 2>&1
        end=$(date +%s%N)
        times+=($(((end - start) / 1000)))
    done
    printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.1f\n", m/1000}'
}

# peak_rss_mb CMD...: runs CMD once and prints its peak resident set size in MB.
peak_rss_mb() {
    /usr/bin/time -v "$@" 2>&1 >/dev/null | awk -F: '/Maximum resident set size/ {printf "%.1f\n", $2/1024}'
}

# peak_anon_mb CMD...: runs CMD once and prints the largest RssAnon seen in /proc (every 2 ms).
peak_anon_mb() {
    python3 - "$@" <<'PY'
import subprocess, sys, time
process = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
peak = 0
while process.poll() is None:
    try:
        for line in open(f"/proc/{process.pid}/status"):
            if line.startswith("RssAnon:"):
                peak = max(peak, int(line.split()[1]))
    except OSError:
        pass
    time.sleep(0.002)
print(f"{peak / 1024:.1f}")
PY
}

# memory_mb PID: "RSS x MB, anonymous y MB" of a running process (VmRSS and RssAnon).
memory_mb() {
    awk '/^VmRSS:/ {r = $2} /^RssAnon:/ {a = $2} END {printf "RSS %.1f MB, anonymous %.1f MB\n", r / 1024, a / 1024}' "/proc/$1/status"
}

# ratio A B: A / B with two decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f\n", (b > 0 ? a / b : 0) }'; }

# release_binary: builds imi-sync in release mode (as installed) and prints its path.
# IMI_BIN names a binary built already (e.g. one kept while the tree changes).
release_binary() {
    if [[ -n ${IMI_BIN:-} ]]; then echo "$IMI_BIN"; return; fi
    scripts/build-release.sh 2>/dev/null || scripts/build-release.sh
}

# fresh_cluster WORK [DIR...]: stops the throwaway PostgreSQL an earlier run left in WORK/pg,
# empties WORK (making DIR... inside it), starts a new cluster in WORK/pg and prints its
# connection string.
fresh_cluster() {
    local work=$1 dir
    shift
    # Command substitution runs this without set -e: each step stops it on failure.
    scripts/pg-throwaway.sh stop "$work/pg"
    rm -rf "$work" && mkdir -p "$work" || return
    for dir in "$@"; do mkdir -p "$work/$dir" || return; done
    scripts/pg-throwaway.sh start "$work/pg"
}

# drop_cluster WORK: stops WORK's throwaway PostgreSQL and removes WORK.
drop_cluster() {
    scripts/pg-throwaway.sh stop "$1/pg"
    rm -rf "$1"
}

# stop_agents PID...: SIGTERM to every agent, then waits for each to exit.
stop_agents() {
    local pid
    for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "$@"; do wait "$pid" 2>/dev/null || true; done
}

# wait_first_sync LOG PID: waits (at most 60 s) until the agent PID writes its first full sync
# to LOG; if the agent exits first, prints LOG and ends the benchmark.
wait_first_sync() {
    local _
    for _ in $(seq 1 600); do
        grep -q "first full sync done" "$1" && return 0
        kill -0 "$2" 2>/dev/null || { cat "$1"; exit 1; }
        sleep 0.1
    done
}

# bench_git_config DIR: git reads only DIR/gitconfig (no system or user file), which names a
# bench author and makes main the default branch.
bench_git_config() {
    export GIT_CONFIG_GLOBAL="$1/gitconfig" GIT_CONFIG_NOSYSTEM=1
    git config --global user.name bench
    git config --global user.email bench@example.invalid
    git config --global init.defaultBranch main
}
