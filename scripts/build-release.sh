#!/usr/bin/env bash
# Builds the release imi-sync with the Swift runtime linked in statically (it then starts
# faster and runs from ~/.local/bin or a systemd unit without the toolchain's libraries), and
# prints the binary's path. Build output goes to standard error.
set -euo pipefail
cd "$(dirname "$0")/.."
# The MCP SDK pulls in FoundationNetworking, whose static archive needs libcurl at link time.
flags=(-c release --static-swift-stdlib --product imi-sync -Xlinker -lcurl)
swift build "${flags[@]}" >&2
echo "$(swift build "${flags[@]}" --show-bin-path)/imi-sync"
