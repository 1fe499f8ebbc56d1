#!/usr/bin/env bash
# The domain crate must stay free of I/O and frameworks: it may not depend (directly or
# transitively, normal dependencies) on diesel, actix, r2d2 or tokio.
set -euo pipefail
cd "$(dirname "$0")/.."
tree=$(cargo tree -p tollgate-domain -e normal --prefix none --locked)
# Guard against passing by accident: the tree must list the crate itself.
if ! grep -q '^tollgate-domain v' <<<"$tree"; then
  echo "fence: cargo tree did not list tollgate-domain; cannot check" >&2
  exit 1
fi
if bad=$(grep -E '^(diesel|diesel_[a-z_]+|actix[a-z_-]*|r2d2[a-z_-]*|tokio[a-z_-]*) v' <<<"$tree"); then
  echo "fence: tollgate-domain depends on I/O or framework crates:" >&2
  echo "$bad" >&2
  exit 1
fi
echo "fence: tollgate-domain depends on no I/O or framework crate ($(wc -l <<<"$tree") crates checked)"
