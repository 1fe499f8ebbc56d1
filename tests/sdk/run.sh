#!/usr/bin/env bash
# Drive the platform's Python SDK (mpt-api-client) against a throwaway Tollgate.
#
#   tests/sdk/run.sh [pytest arguments…]
#
# Creates tests/sdk/.venv with Python 3.12 when missing (skips, exit 0, when no Python 3.12
# exists), installs tests/sdk/requirements.txt, starts `target/debug/tollgate serve --demo` on a
# free loopback port in a temporary folder (building the debug binary if it is missing), runs
# pytest on tests/sdk, stops the server and exits with pytest's status. See docs/SDK.md.
#
# Environment: TOLLGATE_BIN (default target/debug/tollgate), TOLLGATE_SDK_PYTHON (a Python
# >= 3.12 to build the venv with).
set -euo pipefail

started=$SECONDS
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="$here/.venv"
bin="${TOLLGATE_BIN:-$root/target/debug/tollgate}"

say() { printf 'sdk-check: %s\n' "$*" >&2; }

# --- Python 3.12 and the venv ---------------------------------------------------------------
is_py312() { [ -x "$1" ] && "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' 2>/dev/null; }
find_python() {
    local candidate
    for candidate in "${TOLLGATE_SDK_PYTHON:-}" "$(command -v python3.12 || true)" \
        "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.12*/bin/python3.12; do
        if [ -n "$candidate" ] && is_py312 "$candidate"; then
            printf '%s\n' "$candidate"
            return 0
        fi
    done
    return 1
}

if ! is_py312 "$venv/bin/python"; then
    if ! python="$(find_python)"; then
        echo "skipped: no Python 3.12 (looked for python3.12 on PATH and in ${PYENV_ROOT:-$HOME/.pyenv}/versions/3.12*)"
        exit 0
    fi
    say "creating $venv with $python"
    rm -rf "$venv"
    "$python" -m venv "$venv"
fi

stamp="$venv/.requirements.sha256"
wanted="$(sha256sum "$here/requirements.txt" | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
    say "installing requirements.txt"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"
    printf '%s\n' "$wanted" >"$stamp"
fi

# --- the server -----------------------------------------------------------------------------
if [ ! -x "$bin" ]; then
    say "building the debug binary (cargo build -p tollgate)"
    (cd "$root" && cargo build -p tollgate)
fi

port="$("$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
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
    "$venv/bin/python" -m pytest -p no:cacheprovider --rootdir "$here" --tb=short -rfExX "$here" "$@" \
    || status=$?

stop_server
if [ "$status" -ne 0 ]; then
    say "server log (stderr, last 40 lines):"
    tail -n 40 "$work/server.err" >&2 || true
fi
say "finished in $((SECONDS - started)) s, pytest exit status $status"
exit "$status"
