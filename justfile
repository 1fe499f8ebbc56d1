# Tollgate's development loop. `just` lists the recipes.

set shell := ["bash", "-euo", "pipefail", "-c"]

default:
    @just --list

# The server on the embedded SQLite default (./data), with demo data; prints a demo token.
run:
    cargo run --release -p tollgate -- serve --demo

# Everything CI checks: formatting, lints, the dependency fence, every test.
test: lint fence
    cargo test --workspace --all-targets --locked
    cargo test --workspace --doc --locked

# Formatting and clippy (warnings are errors).
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets --locked -- -D warnings

# Fails if the domain crate depends on I/O or framework crates.
fence:
    ./scripts/check-domain-fence.sh

# Benchmarks: the per-request decision (criterion), the store at 1,000,000 tokens on PostgreSQL,
# the REST API over HTTPS on both backends, and the gate under load (wrk against /v1/authorize,
# RequireModule's cost, revocation latency, cache memory; see docs/BENCHMARKS.md).
bench:
    cargo bench -p tollgate-domain --bench decision
    cargo bench -p tollgate-store --bench scale
    cargo bench -p tollgate --bench api
    cargo bench -p tollgate --bench gate

# What CI runs.
ci: test
