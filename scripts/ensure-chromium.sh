#!/usr/bin/env bash
# The browser tests drive Debian's Chromium (never a downloaded browser) from Node.js.
# Installs chromium (and chromium-driver) and Node.js from Debian's packages when they are
# missing and this runs as root; otherwise says what to install.
set -euo pipefail

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium chromium-driver)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "browser tests: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "browser tests need: ${missing[*]} (Debian: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
