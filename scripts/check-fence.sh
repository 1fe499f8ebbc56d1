#!/usr/bin/env bash
# The dependency fence: each inner crate stays free of what it must not know (normal
# dependencies, direct or transitive, as `cargo tree` lists them):
#   tollgate-domain, tollgate-audit   no I/O and no framework: diesel, r2d2, actix, tokio, maud
#   tollgate-gate, tollgate-app       no web framework: actix, maud, multipart, OpenAPI, metrics
#   tollgate-gate --features actix    what an embedder of RequireModule compiles: no maud, no
#                                     multipart, no OpenAPI document, no metrics registry
set -euo pipefail
cd "$(dirname "$0")/.."

io='diesel|diesel_[a-z_]+|r2d2[a-z_-]*|actix[a-z_-]*|tokio[a-z_-]*|maud[a-z_-]*'
pages='maud[a-z_-]*|actix-multipart[a-z_-]*|utoipa[a-z_-]*|prometheus|tollgate-http'

check() {
  local package=$1 features=$2 forbidden=$3 what=$4 tree bad
  tree=$(cargo tree -p "$package" $features -e normal --prefix none --locked)
  # Guard against passing by accident: the tree must list the crate itself.
  if ! grep -q "^$package v" <<<"$tree"; then
    echo "fence: cargo tree did not list $package; cannot check" >&2
    exit 1
  fi
  if bad=$(grep -E "^($forbidden) v" <<<"$tree"); then
    echo "fence: $package ${features:+($features) }depends on $what:" >&2
    sort -u <<<"$bad" >&2
    exit 1
  fi
  echo "fence: $package ${features:+($features) }depends on no $what ($(sort -u <<<"$tree" | wc -l) crates checked)"
}

check tollgate-domain "" "$io" "I/O or framework crate"
check tollgate-audit "" "$io" "I/O or framework crate"
check tollgate-gate "" "actix[a-z_-]*|$pages" "web framework"
check tollgate-app "" "actix[a-z_-]*|$pages" "web framework"
check tollgate-gate "--features actix" "$pages" "page, multipart, OpenAPI or metrics crate"
