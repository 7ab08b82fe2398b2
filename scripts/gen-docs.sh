#!/usr/bin/env bash
# Generates shell completions and man pages from the command definitions (swift-argument-parser),
# so they never drift from the code.
#   scripts/gen-docs.sh BINARY OUTDIR
#     OUTDIR/completions/{imi-sync.bash,_imi-sync,imi-sync.fish}   OUTDIR/man/man1/imi-sync*.1
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:?imi-sync binary}
out=${2:?output directory}
mkdir -p "$out/completions" "$out/man/man1"
"$bin" --generate-completion-script bash > "$out/completions/imi-sync.bash"
"$bin" --generate-completion-script zsh > "$out/completions/_imi-sync"
"$bin" --generate-completion-script fish > "$out/completions/imi-sync.fish"
# The plugin builds imi-sync in release mode (reusing .build) and dumps its help tree.
log=$(swift package plugin generate-manual --multi-page 2>&1)
generated=$(sed -n "s|.*Generated manual in 'file://\(.*\)'.*|\1|p" <<<"$log")
[[ -d "$generated" ]] || { echo "generate-manual failed:" >&2; echo "$log" >&2; exit 1; }
cp "$generated"/*.1 "$out/man/man1/"
echo "completions: $out/completions   man pages: $out/man/man1 ($(ls "$out/man/man1" | wc -l))"
