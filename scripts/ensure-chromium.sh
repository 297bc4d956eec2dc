#!/usr/bin/env bash
# The support console's end-to-end test (test/console/) drives Debian's Chromium through playwright-core, which
# downloads no browser of its own. Installs it from Debian when /usr/bin/chromium is missing (root only: CI images
# run as root; elsewhere install it yourself: sudo apt-get install chromium).
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
  echo "chromium: $CHROMIUM is installed ($("$CHROMIUM" --version 2>/dev/null || echo 'version unknown'))"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "chromium: $CHROMIUM is missing and this is not root; install it with: sudo apt-get install -y chromium" >&2
  exit 1
fi

echo "chromium: $CHROMIUM is missing; installing Debian's chromium package"
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y chromium
echo "chromium: installed ($("$CHROMIUM" --version 2>/dev/null || echo 'version unknown'))"
