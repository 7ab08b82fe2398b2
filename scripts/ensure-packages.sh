#!/usr/bin/env bash
# Installs the system packages imi-sync builds and tests with, when any is missing.
set -euo pipefail
needed=(libgit2-dev libpq-dev libsqlite3-dev libarchive-dev libssl-dev zlib1g-dev libcurl4-openssl-dev postgresql pgbouncer git "$@")
missing=()
for package in "${needed[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$package")
done
if ((${#missing[@]})); then
    echo "installing: ${missing[*]}" >&2
    sudo=""
    [[ $(id -u) -eq 0 ]] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
