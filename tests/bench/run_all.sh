#!/usr/bin/env bash
# Runs every benchmark executable in BUILD_DIR (files named *_bench), one after another, each under a
# header. Benchmarks are measurements: a missed goal still exits 0; a bench that exits non-zero had a
# real error. Every bench runs even after one fails; the exit status is 1 when any failed.
#   tests/bench/run_all.sh BUILD_DIR            (./run.sh bench builds and calls this)
#   SK_BENCH_ROWS=100000 tests/bench/run_all.sh build   a quick, small run
set -uo pipefail

(($# == 1)) || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
BUILD_DIR=$1
[[ -d $BUILD_DIR ]] || { echo "run_all.sh: no build folder '$BUILD_DIR'" >&2; exit 2; }

benches=()
for f in "$BUILD_DIR"/*_bench; do
  [[ -f $f && -x $f ]] && benches+=("$f")
done
((${#benches[@]})) || { echo "run_all.sh: no *_bench executable in '$BUILD_DIR' (build them first)" >&2; exit 2; }

failed=()
for b in "${benches[@]}"; do
  name=$(basename -- "$b")
  printf '\n==================== %s ====================\n' "$name"
  printf '(started %s)\n\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  start=$SECONDS
  "$b"
  rc=$?
  printf '\n---- %s: exit %d after %d s\n' "$name" "$rc" $((SECONDS - start))
  ((rc == 0)) || failed+=("$name")
done

if ((${#failed[@]})); then
  printf '\nrun_all.sh: %d of %d benchmarks failed: %s\n' "${#failed[@]}" "${#benches[@]}" "${failed[*]}" >&2
  exit 1
fi
printf '\nrun_all.sh: %d benchmark(s) ran\n' "${#benches[@]}"
