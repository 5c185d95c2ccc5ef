#!/usr/bin/env bash
# Debian's Chromium for the browser tests (playwright drives it; no browser download).
# A no-op when it is installed already; otherwise installs chromium and chromium-driver with apt-get
# (as root, or through sudo when that works without a password).
set -euo pipefail
CHROMIUM="${SEQCLR_CHROMIUM:-/usr/bin/chromium}"
if [ -x "$CHROMIUM" ]; then
    exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
else
    echo "install_chromium.sh: $CHROMIUM is missing and apt-get needs root:" >&2
    echo "  sudo apt-get install -y chromium chromium-driver   (or set SEQCLR_CHROMIUM=/path/to/chromium)" >&2
    exit 1
fi
if ! command -v apt-get >/dev/null; then
    echo "install_chromium.sh: $CHROMIUM is missing and there is no apt-get: install Chromium and set SEQCLR_CHROMIUM" >&2
    exit 1
fi
echo "install_chromium.sh: installing Debian's chromium and chromium-driver"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
test -x "$CHROMIUM" || { echo "install_chromium.sh: apt-get ran but $CHROMIUM is still missing" >&2; exit 1; }
"$CHROMIUM" --version 2>/dev/null || true
