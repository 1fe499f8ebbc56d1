#!/usr/bin/env bash
# Create or update the virtual environments the SDK and CLI checks run in, and nothing else.
#
#   tests/sdk/install.sh
#
# Three venvs, outside the repository, under
# ${TOLLGATE_SDK_VENVS:-${XDG_CACHE_HOME:-~/.cache}/tollgate-sdk}:
#   sdk   requirements.txt       mpt-api-client 7.0.0 and pytest (the tests run here)
#   cli6  requirements-cli6.txt  mpt-cli 6.0.0
#   cli5  requirements-cli5.txt  mpt-cli 5.3.0 and mpt-curl 1.0.8
# A venv is reused while its stamp (the hash of its requirements file and the Python version)
# matches; otherwise it is rebuilt from scratch, so it never holds anything its file does not
# pin. Up to date, this takes well under a second. It needs Python 3.12
# ($TOLLGATE_SDK_PYTHON, python3.12 on PATH or pyenv's 3.12*) and, to build a venv, PyPI: when
# either is missing it fails (exit 1) and says so. It never skips.
#
# Safe to run concurrently (a lock in the venvs folder); `just test` runs it beside the Rust
# build, and tests/sdk/run.sh runs it again (then it only checks the stamps).
set -euo pipefail

# shellcheck source=tests/sdk/venvs.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/venvs.sh"

die() {
    sdk_say "error: $*"
    exit 1
}

if ! python="$(sdk_find_python)"; then
    die "no Python 3.12 found (looked at \$TOLLGATE_SDK_PYTHON, python3.12 on PATH and" \
        "${PYENV_ROOT:-$HOME/.pyenv}/versions/3.12*/bin/python3.12). The platform's SDK and CLIs" \
        "need Python >= 3.12: install it (e.g. 'pyenv install 3.12') or point TOLLGATE_SDK_PYTHON at one."
fi

mkdir -p "$sdk_venvs" || die "cannot create $sdk_venvs (set TOLLGATE_SDK_VENVS to a writable folder)"
exec 9>"$sdk_venvs/.lock"
if ! flock -w 900 9; then
    die "another install holds $sdk_venvs/.lock for more than 15 minutes"
fi

up_to_date() {
    local venv="$sdk_venvs/$1"
    sdk_is_py312 "$venv/bin/python" && [ -f "$venv/.tollgate-stamp" ] \
        && [ "$(cat "$venv/.tollgate-stamp")" = "$(sdk_wanted_stamp "$1" "$python")" ]
}

build() {
    local name="$1" venv="$sdk_venvs/$1" requirements
    requirements="$(sdk_requirements "$name")"
    rm -rf "$venv"
    "$python" -m venv "$venv" || return 1
    # Everything is pinned; --timeout/--retries keep an unreachable index from hanging for long.
    env -u PIP_REQUIRE_VIRTUALENV -u PIP_USER "$venv/bin/python" -m pip install --quiet \
        --disable-pip-version-check --no-input --timeout 30 --retries 2 -r "$requirements" \
        || return 1
    "$venv/bin/python" -m pip check --disable-pip-version-check || return 1
    sdk_wanted_stamp "$name" "$python" >"$venv/.tollgate-stamp"
}

# Build the stale ones in parallel (pip mostly waits on the network).
pending=()
for name in "${sdk_venv_names[@]}"; do
    up_to_date "$name" || pending+=("$name")
done
if [ "${#pending[@]}" -eq 0 ]; then
    exit 0
fi

started=$SECONDS
logs="$(mktemp -d "${TMPDIR:-/tmp}/tollgate-sdk-install.XXXXXX")"
trap 'rm -rf "$logs"' EXIT
declare -A jobs=()
for name in "${pending[@]}"; do
    sdk_say "building venv $name in $sdk_venvs/$name with $python ($(basename "$(sdk_requirements "$name")"))"
    build "$name" >"$logs/$name.log" 2>&1 &
    jobs[$name]=$!
done
failed=()
for name in "${pending[@]}"; do
    if ! wait "${jobs[$name]}"; then
        failed+=("$name")
    fi
done
if [ "${#failed[@]}" -gt 0 ]; then
    for name in "${failed[@]}"; do
        sdk_say "pip output for venv $name:"
        sed 's/^/    /' "$logs/$name.log" >&2
        rm -rf "${sdk_venvs:?}/$name" # no half-built venv is ever reused
    done
    die "could not build venv(s) ${failed[*]} from PyPI (is the package index reachable? pip's" \
        "output is above). Nothing was skipped: the SDK and CLI checks cannot run without them."
fi
sdk_say "venvs ${pending[*]} ready in $((SECONDS - started)) s"
