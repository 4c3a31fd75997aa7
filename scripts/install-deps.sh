#!/usr/bin/env bash
# Installs the Debian packages PSPF builds, tests and demos with. Idempotent: installs only
# what is missing, and runs apt-get update at most once.
set -euo pipefail

packages=(libmosquitto-dev mosquitto mosquitto-clients libsqlite3-dev pkg-config openssl ca-certificates)

missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done

if ((${#missing[@]})); then
    sudo=""
    if [[ $(id -u) -ne 0 ]]; then
        command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
        sudo="sudo"
    fi
    echo "install-deps: installing ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v swift >/dev/null; then
    echo "install-deps: the Swift 6.3 toolchain is not on PATH (expected at /opt/swift/usr/bin)." >&2
    exit 1
fi
