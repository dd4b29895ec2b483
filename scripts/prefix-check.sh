#!/usr/bin/env bash
# Shows that the e2e tests of issue 9's seven defects (tests/e2e/trust.rs) fail on the
# worker from before the trust fix and pass on this checkout's: builds the worker of REV
# (default 1a7ba10^, the parent of the trust commit) in a temporary git worktree, runs
# today's tests against that build (EDGESEG_WORKER_DIR), then against this checkout's,
# and prints one Markdown row per test, with the start of the failure message.
#
#   bash scripts/prefix-check.sh [REV]
#
# PREFIX_DIR=dir builds the old worker in dir (a worktree made there if missing) and
# keeps it, so a second run skips the build. Needs what `make e2e` needs (make bootstrap).
# Fails unless every defect test fails on REV and passes here.
set -euo pipefail
cd "$(dirname "$0")/.."
rev="${1:-1a7ba10^}"
root="$PWD"

# defect number (issue 9) or "-" for the further abuse checks, and the test.
tests=(
  "1 parallel_requests_at_login_lose_no_view"
  "2 a_forged_customer_id_reads_and_pollutes_nothing"
  "3 logout_unlinks_the_device"
  "4 storage_failures_answer_our_own_json"
  "5 public_health_discloses_nothing"
  "6 look_alike_headers_never_reach_the_origin"
  "7 the_beacon_takes_only_json_or_text"
  "- the_origins_logout_header_unlinks_the_device"
  "- a_forged_session_id_is_replaced_not_adopted"
  "- a_chunked_beacon_over_the_limit_is_refused_while_reading"
  "- every_consent_variant_that_says_no_is_respected"
)

old="${PREFIX_DIR:-}"
if [ -z "$old" ]; then
  old=$(mktemp -d)/prefix
  trap 'git -C "$root" worktree remove --force "$old"; rmdir "$(dirname "$old")"' EXIT
fi
if [ ! -e "$old/.git" ]; then
  git worktree add --detach "$old" "$rev" >&2
fi
# The tool paths are per machine, not per revision (the wasm-bindgen CLI must match
# Cargo.lock: bootstrap again if it does not).
make --no-print-directory bootstrap >&2
# (copied only when it differs: a newer copy would make the old Makefile rebuild the worker)
cmp -s .tools.env "$old/.tools.env" || cp .tools.env "$old/.tools.env"
make -C "$old" --no-print-directory wasm >&2
make --no-print-directory wasm >&2
# shellcheck disable=SC1091
source .tools.env
cargo test --locked --features e2e --test e2e --no-run >&2

log=$(mktemp)
# Runs one test; prints "pass", or "FAIL: <the first lines of its panic message>".
run() {
  if cargo test --locked --features e2e --test e2e -- --exact "trust::$1" >"$log" 2>&1; then
    echo pass
  else
    local why
    why=$(awk '/panicked at/ { n = 3; next }
               n > 0 && /^(stack backtrace|note:)/ { n = 0 }
               n > 0 { print; n-- }' "$log" | tr -s ' \n' ' ' | cut -c1-160)
    echo "FAIL: ${why:-$(tail -3 "$log" | tr '\n' ' ' | cut -c1-160)}"
  fi
}

echo "| defect | test | before the fix ($(git rev-parse --short "$rev")) | after ($(git rev-parse --short HEAD)) |"
echo "|---|---|---|---|"
bad=0
for entry in "${tests[@]}"; do
  defect=${entry%% *}
  name=${entry#* }
  before=$(EDGESEG_WORKER_DIR="$old" run "$name")
  after=$(run "$name")
  if [ "$defect" != "-" ] && { [ "$before" = pass ] || [ "$after" != pass ]; }; then
    bad=1
  fi
  echo "| $defect | \`$name\` | ${before//|/\\|} | ${after//|/\\|} |"
done
rm -f "$log"
exit "$bad"
