#!/usr/bin/env bash
# What each step of the worker's wasm pipeline does to its size, raw and gzipped
# (`gzip -9`): cargo's output for the `worker` profile (Cargo.toml), wasm-bindgen,
# worker-build's `wasm-opt -Oz` (name section kept), then without the name section: the
# shipped build/index_bg.wasm. Run after `make wasm`, which leaves cargo's output and the
# named copy in target/. Prints a Markdown table; `make bench` runs it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source .tools.env
cargo_wasm=target/wasm32-unknown-unknown/worker/edgeseg.wasm
named=target/index_bg.named.wasm
for file in "$cargo_wasm" "$named" build/index_bg.wasm; do
  [ -f "$file" ] || { echo "size-steps: no $file; run make wasm first" >&2; exit 1; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

row() { # $1 label, $2 file
  local raw gz
  raw=$(stat -c %s "$2")
  gz=$(gzip -9 -c "$2" | wc -c)
  printf '| %s | %s | %s |\n' "$1" "$(awk -v b="$raw" 'BEGIN { printf "%.2f MB", b / 1e6 }')" \
    "$(awk -v b="$gz" 'BEGIN { printf "%.2f MB", b / 1e6 }')"
}

echo "| step | raw | gzip -9 |"
echo "|---|---|---|"
row "cargo output, profile \`worker\` (opt-level z, fat LTO, 1 codegen unit, panic=abort)" "$cargo_wasm"
"$WASM_BINDGEN_BIN" --target module --out-dir "$work" --out-name index "$cargo_wasm" \
  --experimental-reset-state-function --force-enable-abort-handler >/dev/null
row "+ wasm-bindgen" "$work/index_bg.wasm"
row "+ \`wasm-opt -Oz\` (worker-build, name section kept)" "$named"
row "+ name section stripped: build/index_bg.wasm" build/index_bg.wasm
