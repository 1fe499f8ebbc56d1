#!/usr/bin/env bash
# The system packages `just test` needs before anything is built or run, from Debian's
# archive: a C compiler (the bundled SQLite and libpq are compiled from source), OpenSSL's
# headers and pkg-config (libpq's TLS), the PostgreSQL server binaries (the tests' throwaway
# clusters) and psql (the fault tests play a superuser with it), Python's venv (the gateway
# tests' Traefik, the operations tests' hadolint). The browser, gateway and operations tests
# have scripts of their own (ensure-chromium.sh, ensure-gateways.sh, ensure-ops-tools.sh).
#
# Installs what is missing when this runs as root (apt-get, --no-install-recommends, without
# starting services); otherwise names it and fails. Prints nothing when everything is there.
set -euo pipefail

missing=()
command -v cc >/dev/null 2>&1 || missing+=(gcc libc6-dev)
[ -e /usr/include/openssl/ssl.h ] || missing+=(libssl-dev)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
if [ -z "${TOLLGATE_TEST_DATABASE_URL:-}" ] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
  && ! command -v initdb >/dev/null 2>&1; then
  missing+=(postgresql postgresql-contrib)
fi
command -v psql >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/psql >/dev/null 2>&1 \
  || missing+=(postgresql-client)
# Debian's python3 makes virtual environments only with python3-venv (ensurepip).
python3 -c 'import ensurepip' >/dev/null 2>&1 || missing+=(python3-venv)
command -v git >/dev/null 2>&1 || missing+=(git)
command -v curl >/dev/null 2>&1 || missing+=(curl)
[ -e /etc/ssl/certs/ca-certificates.crt ] || missing+=(ca-certificates)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "just test: installing ${missing[*]}"
  # PostgreSQL's postinst would start a cluster on port 5432; the tests start their own.
  own_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    own_policy=1
  fi
  trap 'if [ "$own_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi' EXIT
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
else
  echo "just test needs: ${missing[*]} (Debian: sudo apt-get install --no-install-recommends ${missing[*]})" >&2
  exit 1
fi
