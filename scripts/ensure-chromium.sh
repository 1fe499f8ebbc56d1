#!/usr/bin/env bash
# The browser tests drive Debian's Chromium (never a downloaded browser) from Node.js.
# Installs chromium (and chromium-driver) and Node.js from Debian's packages (Debian 12's
# Node.js 18 will do) when they are missing and this runs as root; otherwise says what to
# install.
set -euo pipefail

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium chromium-driver)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -eq 0 ]; then
  # playwright-core 1.61 (tests/browser/package.json) runs on Node.js 18.19 and later: Debian 12's.
  if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 18 || (a === 18 && b >= 19) ? 0 : 1)'; then
    echo "browser tests need Node.js 18.19 or later; this is $(node --version)" >&2
    exit 1
  fi
  exit 0
fi

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "browser tests: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "browser tests need: ${missing[*]} (Debian: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
