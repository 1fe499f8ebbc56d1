#!/usr/bin/env bash
# Runs the fuzz targets of fuzz/ (cargo-fuzz, libFuzzer, stable toolchain, no sanitizer).
#
#   scripts/fuzz.sh run SECONDS JOBS [TARGET…]   optimised build; each target SECONDS, JOBS at a
#                                                time; keeps what it finds in artifacts/fuzz/corpus/
#   scripts/fuzz.sh smoke SECONDS [TARGET…]      quick unoptimised build; each target SECONDS, one
#                                                at a time, from the seeds only (nothing is kept)
#
# Installs cargo-fuzz when it is missing. Each run's libFuzzer output goes to
# artifacts/fuzz/<target>.log and a crash's input to fuzz/artifacts/<target>/; the summary gives
# each target's executions, executions per second and coverage (libFuzzer's `cov:` and `ft:`).
# Exits non-zero when any target crashed (or ran into a timeout or out of memory).
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:?usage: scripts/fuzz.sh run SECONDS JOBS [TARGET…] | smoke SECONDS [TARGET…]}
seconds=${2:?how many seconds per target}
shift 2
if [ "$mode" = run ]; then
  parallel=${1:?how many targets at a time}
  shift
  build=()
elif [ "$mode" = smoke ]; then
  parallel=1
  build=(--dev)
else
  echo "fuzz: unknown mode $mode (run or smoke)" >&2
  exit 2
fi

export PATH="$HOME/.cargo/bin:$PATH"
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

fuzz=(cargo fuzz)
opts=(--fuzz-dir fuzz -s none "${build[@]}")
if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <("${fuzz[@]}" list --fuzz-dir fuzz)
fi

started=$SECONDS
"${fuzz[@]}" build "${opts[@]}"
built=$((SECONDS - started))

logs=artifacts/fuzz
mkdir -p "$logs"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

run_one() {
  local target=$1 corpus
  if [ "$mode" = run ]; then
    corpus=$logs/corpus/$target
  else
    corpus=$scratch/$target
  fi
  mkdir -p "$corpus" "fuzz/artifacts/$target"
  local flags=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1)
  [ -f "fuzz/dict/$target.dict" ] && flags+=(-dict="fuzz/dict/$target.dict")
  if "${fuzz[@]}" run "${opts[@]}" "$target" "$corpus" "fuzz/corpus/$target" -- "${flags[@]}" \
    >"$logs/$target.log" 2>&1; then
    echo ok >"$scratch/$target.status"
  else
    echo FAILED >"$scratch/$target.status"
  fi
}

for target in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$parallel" ]; do
    wait -n || true
  done
  run_one "$target" &
done
wait

failed=0
printf '%-14s %12s %10s %7s %7s %8s  %s\n' target executions exec/s cov ft corpus result
for target in "${targets[@]}"; do
  log=$logs/$target.log
  status=$(cat "$scratch/$target.status" 2>/dev/null || echo FAILED)
  # The last status line: `#N  DONE  cov: C ft: F corp: U/S lim: L exec/s: E rss: R`.
  line=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
  runs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log" | tail -n 1)
  speed=$(sed -nE 's/^stat::average_exec_per_sec: *([0-9]+).*/\1/p' "$log" | tail -n 1)
  cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$line")
  ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$line")
  corp=$(sed -nE 's/.* corp: ([0-9]+).*/\1/p' <<<"$line")
  printf '%-14s %12s %10s %7s %7s %8s  %s\n' "$target" "${runs:-?}" "${speed:-?}" "${cov:-?}" \
    "${ft:-?}" "${corp:-?}" "$status"
  if [ "$status" != ok ]; then
    failed=1
    echo "fuzz: $target failed; its output is in $log (the last lines follow)" >&2
    tail -n 40 "$log" >&2
  fi
done
echo "fuzz: built in ${built}s, ${#targets[@]} targets ran in $((SECONDS - started - built))s"
exit "$failed"
