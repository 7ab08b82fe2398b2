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

# ratio A B: A / B with two decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f\n", (b > 0 ? a / b : 0) }'; }

# release_binary: builds imi-sync in release mode (as installed) and prints its path.
release_binary() {
    scripts/build-release.sh 2>/dev/null || scripts/build-release.sh
}
