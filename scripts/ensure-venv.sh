#!/usr/bin/env bash
# The project-local virtual environment (.venv, not in git) with the Python packages the tests
# drive imi-sync with: the official MCP client (PyPI `mcp`) and selenium (the dashboard's
# browser tests, with Debian's chromium and chromium-driver). Made or repaired when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv
if ! "$venv/bin/python" -c "import mcp" 2>/dev/null; then
    # Debian's python3 makes virtual environments only with python3-venv installed.
    python3 -c "import ensurepip" 2>/dev/null || scripts/ensure-packages.sh python3-venv
    echo "making $venv with the MCP client (PyPI mcp)" >&2
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "mcp>=1.9,<2"
fi
if ! "$venv/bin/python" -c "import selenium" 2>/dev/null; then
    echo "adding selenium to $venv" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check "selenium>=4.20,<5"
fi
