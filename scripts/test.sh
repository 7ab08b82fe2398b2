#!/usr/bin/env bash
# Runs every test: unit tests and integration tests against real git repositories and a
# throwaway PostgreSQL cluster the tests start themselves (no server needs to be running).
# Installs missing system packages first. Extra arguments go to `swift test`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-packages.sh
swift build --build-tests
swift test --skip-build "$@"
