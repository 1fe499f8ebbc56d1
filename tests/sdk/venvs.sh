# shellcheck shell=bash
# Sourced by tests/sdk/install.sh and tests/sdk/run.sh: where the virtual environments live and
# which Python builds them. Nothing here writes anything.
#
# The venvs live outside the repository, in ${TOLLGATE_SDK_VENVS:-${XDG_CACHE_HOME:-~/.cache}/tollgate-sdk}:
#   sdk   mpt-api-client 7.0.0 + pytest  (requirements.txt; runs the tests)
#   cli6  mpt-cli 6.0.0                  (requirements-cli6.txt)
#   cli5  mpt-cli 5.3.0 + mpt-curl 1.0.8 (requirements-cli5.txt)

sdk_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
sdk_venvs="${TOLLGATE_SDK_VENVS:-${XDG_CACHE_HOME:-$HOME/.cache}/tollgate-sdk}"
sdk_venv_names=(sdk cli6 cli5)

sdk_requirements() {
    case "$1" in
        sdk) printf '%s\n' "$sdk_dir/requirements.txt" ;;
        *) printf '%s\n' "$sdk_dir/requirements-$1.txt" ;;
    esac
}

sdk_say() { printf 'sdk-check: %s\n' "$*" >&2; }

sdk_is_py312() {
    [ -n "$1" ] && [ -x "$1" ] \
        && "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' >/dev/null 2>&1
}

# Prints the first Python 3.12 found: $TOLLGATE_SDK_PYTHON, python3.12 on PATH (a pyenv shim
# counts only if it runs), then ${PYENV_ROOT:-~/.pyenv}/versions/3.12*.
sdk_find_python() {
    local candidate
    for candidate in "${TOLLGATE_SDK_PYTHON:-}" "$(command -v python3.12 || true)" \
        "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.12*/bin/python3.12; do
        if sdk_is_py312 "$candidate"; then
            printf '%s\n' "$candidate"
            return 0
        fi
    done
    return 1
}

# The stamp a venv must carry to be reused: its requirements file and the Python version.
sdk_wanted_stamp() {
    local name="$1" python="$2"
    {
        sha256sum <"$(sdk_requirements "$name")"
        "$python" -c 'import sys; print(sys.version)'
    } | sha256sum | cut -d' ' -f1
}
