#!/usr/bin/env bash
# Builds imi-sync in release mode, installs it to ~/.local/bin and, when a systemd user
# manager is running, installs and starts the user unit. Safe to run again (upgrades).
set -euo pipefail
cd "$(dirname "$0")/.."

bin_dir="${HOME}/.local/bin"
unit_dir="${XDG_CONFIG_HOME:-${HOME}/.config}/systemd/user"

swift build -c release --product imi-sync
built="$(swift build -c release --show-bin-path)/imi-sync"
install -d "${bin_dir}"
install -m 0755 "${built}" "${bin_dir}/imi-sync.new"
mv -f "${bin_dir}/imi-sync.new" "${bin_dir}/imi-sync"
echo "installed ${bin_dir}/imi-sync"

install -d "${unit_dir}"
install -m 0644 deploy/imi-sync.service "${unit_dir}/imi-sync.service"
echo "installed ${unit_dir}/imi-sync.service"

if command -v systemd-analyze >/dev/null; then
    systemd-analyze --user verify "${unit_dir}/imi-sync.service" 2>/dev/null \
        || systemd-analyze verify "${unit_dir}/imi-sync.service"
fi

if systemctl --user show-environment >/dev/null 2>&1; then
    systemctl --user daemon-reload
    systemctl --user enable --now imi-sync.service
    systemctl --user restart imi-sync.service   # picks up a new binary on upgrade
    systemctl --user --no-pager status imi-sync.service || true
    echo "logs: journalctl --user -u imi-sync -f"
else
    echo "no systemd user manager is running for $(id -un); start it later with:"
    echo "  systemctl --user daemon-reload && systemctl --user enable --now imi-sync.service"
    echo "(on a server without a login session: sudo loginctl enable-linger $(id -un))"
fi
