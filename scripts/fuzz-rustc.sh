#!/usr/bin/env bash
# The rustc wrapper of the fuzz build (scripts/fuzz-campaign.sh sets RUSTC_WRAPPER): builds
# the model's inference crates (tract and the array, FFT and archive crates only it uses)
# without libFuzzer's coverage instrumentation; everything else keeps it. No fuzz target
# reaches them (no parser runs the model), but tract registers its kernels at startup, so
# they are linked all the same: they held 4 in 5 of the binary's 433,000 coverage
# counters, which libFuzzer scans and clears after every execution, most of its time.
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
