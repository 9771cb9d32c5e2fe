#!/bin/sh
# Installs Debian's Chromium (and a CJK font so the dashboard's Chinese renders in screenshots) for
# `npm run test:browser`, only when /usr/bin/chromium is missing. The browser test itself never
# downloads a browser. Needs root (CI runs as root); exits non-zero when the install fails.
set -eu

if [ -x /usr/bin/chromium ]; then
  echo "chromium present: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
  exit 0
fi

SUDO=""
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "install-chromium: /usr/bin/chromium is missing and this is not root; run: apt-get install -y chromium" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y chromium
# Optional: without it Chinese text shows as boxes in screenshots, but the test still passes.
$SUDO apt-get install -y --no-install-recommends fonts-noto-cjk || echo "install-chromium: fonts-noto-cjk not installed (screenshots only)" >&2
/usr/bin/chromium --version
