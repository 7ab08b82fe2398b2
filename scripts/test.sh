#!/usr/bin/env bash
# Runs every test: unit tests and integration tests against real git repositories and a
# throwaway PostgreSQL cluster the tests start themselves (no server needs to be running).
# Installs missing system packages first. Extra arguments go to `swift test`.
#
# Then, unless extra arguments narrow the run (or IMI_SKIP_SANITIZER=1), the code that reads
# C memory (the watcher's readdir and inotify records, GitProbe over libgit2, the legacy
# SQLite reader) runs its tests again under AddressSanitizer, in a build of its own.
set -euo pipefail
cd "$(dirname "$0")/.."
# chromium and its driver: the dashboard's tests run in a real browser.
scripts/ensure-packages.sh chromium chromium-driver
scripts/ensure-venv.sh
swift build --build-tests
swift test --skip-build "$@"

if [[ $# -eq 0 && "${IMI_SKIP_SANITIZER:-0}" != 1 ]]; then
    echo "== AddressSanitizer pass: watcher, probe and legacy-reader tests" >&2
    swift build --build-tests --sanitize=address --scratch-path .build-asan
    # detect_leaks=0: LeakSanitizer reports allocations Foundation's Data(contentsOf:) and
    # XCTest keep for the life of the process; out-of-bounds reads and use-after-free are what
    # this pass is for. --no-parallel: instrumented code runs several times slower, and
    # parallel suites would starve the agent tests' timing.
    ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 swift test --skip-build --sanitize=address \
        --scratch-path .build-asan --no-parallel \
        --filter 'GitProbeTests|WatchTests|WatchCoverageTests|DirectoryListingTests|BlockedProbeTests|Legacy'
fi
