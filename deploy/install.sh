#!/usr/bin/env bash
# Builds imi-sync in release mode, installs it to ~/.local/bin with its completions and man
# pages, and, when a systemd user manager is running, installs and starts the agent unit and
# the daily maintenance and backup timers. Safe to run again (upgrades).
set -euo pipefail
cd "$(dirname "$0")/.."

bin_dir="${HOME}/.local/bin"
unit_dir="${XDG_CONFIG_HOME:-${HOME}/.config}/systemd/user"

data_dir="${XDG_DATA_HOME:-${HOME}/.local/share}"
units=(imi-sync.service imi-sync-maintain.service imi-sync-maintain.timer
       imi-sync-backup.service imi-sync-backup.timer)

built="$(scripts/build-release.sh)"
install -d "${bin_dir}"
install -m 0755 "${built}" "${bin_dir}/imi-sync.new"
mv -f "${bin_dir}/imi-sync.new" "${bin_dir}/imi-sync"
install -m 0755 deploy/imi-registry-backup "${bin_dir}/imi-registry-backup"
echo "installed ${bin_dir}/imi-sync and ${bin_dir}/imi-registry-backup"

docs="$(mktemp -d)"
trap 'rm -rf "${docs}"' EXIT
if scripts/gen-docs.sh "${bin_dir}/imi-sync" "${docs}" >/dev/null 2>&1; then
    install -D -m 0644 "${docs}/completions/imi-sync.bash" "${data_dir}/bash-completion/completions/imi-sync"
    install -D -m 0644 "${docs}/completions/_imi-sync" "${data_dir}/zsh/site-functions/_imi-sync"
    install -D -m 0644 "${docs}/completions/imi-sync.fish" "${XDG_CONFIG_HOME:-${HOME}/.config}/fish/completions/imi-sync.fish"
    install -d "${data_dir}/man/man1"
    install -m 0644 "${docs}"/man/man1/*.1 "${data_dir}/man/man1/"
    echo "installed completions (bash, zsh, fish) and man pages in ${data_dir}/man/man1"
else
    echo "warning: could not generate completions and man pages (scripts/gen-docs.sh)" >&2
fi

install -d "${unit_dir}"
for unit in "${units[@]}"; do
    install -m 0644 "deploy/${unit}" "${unit_dir}/${unit}"
done
echo "installed ${units[*]} in ${unit_dir}"

if command -v systemd-analyze >/dev/null; then
    (cd "${unit_dir}" && systemd-analyze verify "${units[@]}")
fi

if systemctl --user show-environment >/dev/null 2>&1; then
    systemctl --user daemon-reload
    systemctl --user enable --now imi-sync.service imi-sync-maintain.timer imi-sync-backup.timer
    systemctl --user restart imi-sync.service   # picks up a new binary on upgrade
    systemctl --user --no-pager status imi-sync.service || true
    echo "logs: journalctl --user -u imi-sync -f"
else
    echo "no systemd user manager is running for $(id -un); start it later with:"
    echo "  systemctl --user daemon-reload"
    echo "  systemctl --user enable --now imi-sync.service imi-sync-maintain.timer imi-sync-backup.timer"
    echo "(on a server without a login session: sudo loginctl enable-linger $(id -un))"
fi
