#!/usr/bin/env bash
# The system packages Tollgate's build and tests need, from Debian's archive:
#   building    a C compiler (the bundled SQLite and libpq are compiled from source), OpenSSL's
#               headers and pkg-config (libpq's TLS), CA certificates (crates.io), git (the
#               commit in `tollgate --version`)
#   testing     the PostgreSQL server binaries (the tests' throwaway clusters), psql (the fault
#               tests play a superuser with it), Python's venv (Traefik, hadolint), curl and
#               python3 (the README's session, run verbatim)
# The browser, gateway and operations tests have scripts of their own (ensure-chromium.sh,
# ensure-gateways.sh, ensure-ops-tools.sh).
#
#   scripts/ensure-system.sh         both (`just test`)
#   scripts/ensure-system.sh build   building only (`just run`)
#
# Installs what is missing when this runs as root (apt-get, --no-install-recommends, starting
# no service); otherwise names it and fails. Prints nothing when everything is there.
set -euo pipefail
# shellcheck source=lib/apt.sh
. "$(dirname "$0")/lib/apt.sh"

missing=()
command -v cc >/dev/null 2>&1 || missing+=(gcc libc6-dev)
[ -e /usr/include/openssl/ssl.h ] || missing+=(libssl-dev)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
[ -e /etc/ssl/certs/ca-certificates.crt ] || missing+=(ca-certificates)
command -v git >/dev/null 2>&1 || missing+=(git)

if [ "${1:-}" != build ]; then
  if [ -z "${TOLLGATE_TEST_DATABASE_URL:-}" ] \
    && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
    && ! command -v initdb >/dev/null 2>&1; then
    missing+=(postgresql postgresql-contrib)
  fi
  command -v psql >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/psql >/dev/null 2>&1 \
    || missing+=(postgresql-client)
  command -v python3 >/dev/null 2>&1 || missing+=(python3)
  # Debian's python3 makes virtual environments only with python3-venv (ensurepip).
  python3 -c 'import ensurepip' >/dev/null 2>&1 || missing+=(python3-venv)
  command -v curl >/dev/null 2>&1 || missing+=(curl)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ${missing[*]}"
  apt_install_quietly "${missing[@]}"
else
  echo "needed: ${missing[*]} (Debian: sudo apt-get install --no-install-recommends ${missing[*]})" >&2
  exit 1
fi
