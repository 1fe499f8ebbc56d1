# Tollgate's development loop. `just` lists the recipes.

set shell := ["bash", "-euo", "pipefail", "-c"]

default:
    @just --list

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

# Benchmarks: the per-request decision (criterion).
bench:
    cargo bench -p tollgate-domain --bench decision

# What CI runs.
ci: test
