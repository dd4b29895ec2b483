#!/usr/bin/env bash
# The rustc wrapper of the fuzz build (scripts/fuzz-campaign.sh sets RUSTC_WRAPPER): builds
# the model's inference crates (tract and the array, FFT and archive crates only it uses)
# without libFuzzer's coverage instrumentation; everything else keeps it. No fuzz target
# reaches them (no parser runs the model), but tract registers its kernels at startup, so
# they are linked all the same, and instrumented they made the binary's coverage counters
# 433,000 instead of 7,500: libFuzzer scans and clears them all after every execution,
# which was most of its time.
set -euo pipefail
rustc="$1"
shift
crate=""
prev=""
for arg in "$@"; do
  if [ "$prev" = "--crate-name" ]; then crate="$arg"; fi
  prev="$arg"
done
case "$crate" in
  tract_* | rustfft | ndarray | matrixmultiply | erased_serde | smallvec | tar | nom | \
    num_complex | half | itertools | primal_check | strength_reduce | transpose)
    args=()
    for arg in "$@"; do
      case "$arg" in
        -Cpasses=sancov-module | -Cllvm-args=-sanitizer-coverage-*) ;;
        *) args+=("$arg") ;;
      esac
    done
    exec "$rustc" "${args[@]}"
    ;;
esac
exec "$rustc" "$@"
