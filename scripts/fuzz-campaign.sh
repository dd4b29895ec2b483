#!/usr/bin/env bash
# Long fuzz runs of every target in fuzz/ with libFuzzer (cargo-fuzz), on a stable
# toolchain (RUSTC_BOOTSTRAP=1, no sanitizer, debug assertions on). Prints one Markdown
# row per target: executions, seconds, executions per second, corpus size, crashes.
#
#   bash scripts/fuzz-campaign.sh [RUNS] [TARGET...]   # RUNS defaults to 10000000
#
# FUZZ_SECONDS bounds each target's run by time as well (libFuzzer's -max_total_time);
# the table then says how many executions fitted.
#
# Crashes land in fuzz/artifacts/<target>/ and fail the script; the grown corpus stays in
# target/fuzz-work/<target>/ (the committed seeds in fuzz/corpus/ are not touched).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
runs="${1:-10000000}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo fuzz list)
fi
export RUSTC_BOOTSTRAP=1
# The model's crates built without coverage counters: see the wrapper.
export RUSTC_WRAPPER="$PWD/../scripts/fuzz-rustc.sh"
cargo fuzz build -s none --debug-assertions >&2
work="../target/fuzz-work"
echo "| target | executions | seconds | exec/s | corpus | crashes |"
echo "|---|---:|---:|---:|---:|---:|"
failed=0
for t in "${targets[@]}"; do
  mkdir -p "$work/$t"
  log="$work/$t.log"
  start=$(date +%s)
  status=0
  cargo fuzz run -s none --debug-assertions "$t" "$work/$t" "corpus/$t" -- \
    -runs="$runs" ${FUZZ_SECONDS:+-max_total_time="$FUZZ_SECONDS"} -print_final_stats=1 \
    >"$log" 2>&1 || status=$?
  secs=$(( $(date +%s) - start ))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  corpus=$(find "$work/$t" -type f | wc -l)
  crashes=0
  if [ "$status" -ne 0 ]; then crashes=1; failed=1; tail -30 "$log" >&2; fi
  echo "| \`$t\` | ${execs:-?} | $secs | ${rate:-?} | $corpus | $crashes |"
done
exit "$failed"
