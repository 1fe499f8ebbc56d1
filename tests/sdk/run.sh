#!/usr/bin/env bash
# Drive the platform's real clients from PyPI against a throwaway Tollgate: the Python SDK
# (mpt-api-client 7.0.0), mpt-cli 6.0.0, mpt-cli 5.3.0 and mpt-curl 1.0.8.
#
#   tests/sdk/run.sh [pytest arguments…]
#
# Runs tests/sdk/install.sh (builds the three venvs outside the repository when their
# requirements changed; fails, exit 1, without Python 3.12 or PyPI — it never skips), starts
# `target/debug/tollgate serve --demo` on a free loopback port in a temporary folder (building the
# debug binary if it is missing), runs pytest on tests/sdk in the sdk venv, stops the server and
# exits with pytest's status. See docs/SDK.md.
#
# Environment: TOLLGATE_BIN (default target/debug/tollgate), TOLLGATE_SDK_PYTHON (a Python 3.12
# to build the venvs with), TOLLGATE_SDK_VENVS (where the venvs live).
set -euo pipefail

started=$SECONDS
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="${TOLLGATE_BIN:-$root/target/debug/tollgate}"

# shellcheck source=tests/sdk/venvs.sh
source "$here/venvs.sh"
say() { sdk_say "$@"; }

# --- the venvs (fast when up to date) -------------------------------------------------------
"$here/install.sh"
python="$sdk_venvs/sdk/bin/python"
for name in "${sdk_venv_names[@]}"; do
    if ! sdk_is_py312 "$sdk_venvs/$name/bin/python"; then
        say "error: venv $sdk_venvs/$name is missing after install.sh"
        exit 1
    fi
done

# --- the server -----------------------------------------------------------------------------
if [ ! -x "$bin" ]; then
    say "building the debug binary (cargo build -p tollgate)"
    (cd "$root" && cargo build -p tollgate)
fi
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"

port="$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
work="$(mktemp -d "${TMPDIR:-/tmp}/tollgate-sdk.XXXXXX")"
server_pid=""

stop_server() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill "$server_pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    server_pid=""
}
cleanup() {
    stop_server
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

(
    cd "$work"
    exec env -u TOLLGATE_DATA_DIR -u TOLLGATE_TLS_CERT -u TOLLGATE_TLS_KEY -u TOLLGATE_SECRET_KEY \
        -u TOLLGATE_HTTP_LISTEN -u TOLLGATE_TRUSTED_PROXIES -u TOLLGATE_REVEAL \
        TOLLGATE_DATABASE_URL=sqlite://./data/tollgate.db TOLLGATE_LISTEN="127.0.0.1:$port" \
        "$bin" serve --demo
) >"$work/server.out" 2>"$work/server.err" &
server_pid=$!

deadline=$((SECONDS + 60))
until grep -q 'is listening on' "$work/server.out" 2>/dev/null \
    && [ -s "$work/data/demo-token.txt" ] && [ -s "$work/data/tls/cert.pem" ]; do
    if ! kill -0 "$server_pid" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
        say "the server did not start; its output:"
        cat "$work/server.out" "$work/server.err" >&2
        exit 1
    fi
    sleep 0.2
done
say "server on https://localhost:$port (pid $server_pid, in $work), ready after $((SECONDS - started)) s"

# --- the tests ------------------------------------------------------------------------------
status=0
TOLLGATE_BASE_URL="https://localhost:$port" \
    TOLLGATE_TOKEN="$(tr -d '[:space:]' <"$work/data/demo-token.txt")" \
    TOLLGATE_CA_FILE="$work/data/tls/cert.pem" \
    TOLLGATE_CLI6_BIN_DIR="$sdk_venvs/cli6/bin" \
    TOLLGATE_CLI5_BIN_DIR="$sdk_venvs/cli5/bin" \
    TOLLGATE_BIN="$bin" \
    TOLLGATE_SERVER_DIR="$work" \
    "$python" -m pytest -p no:cacheprovider --rootdir "$here" --tb=short -rfExX "$here" "$@" \
    || status=$?

stop_server
if [ "$status" -ne 0 ]; then
    say "server log (stderr, last 40 lines):"
    tail -n 40 "$work/server.err" >&2 || true
fi
say "finished in $((SECONDS - started)) s, pytest exit status $status"
exit "$status"
