#!/usr/bin/env bash
# What each step of the worker's wasm pipeline does to its size, raw and gzipped
# (`gzip -9`): cargo's output for the `worker` profile (Cargo.toml), wasm-bindgen,
# `wasm-opt -Oz` keeping the name section, then the shipped build/index_bg.wasm (the same
# without the name section, Cargo.toml's wasm-opt settings). Run after `make wasm`, which leaves
# cargo's output in target/. Prints a Markdown table; `make bench` runs it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source .tools.env
cargo_wasm=target/wasm32-unknown-unknown/worker/edgeseg.wasm
[ -f "$cargo_wasm" ] || { echo "size-steps: no $cargo_wasm; run make wasm first" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The wasm features worker-build enables for wasm-opt.
features=(--enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int
  --enable-bulk-memory --enable-multivalue --enable-reference-types --enable-exception-handling)

row() { # $1 label, $2 file
  local raw gz
  raw=$(stat -c %s "$2")
  gz=$(gzip -9 -c "$2" | wc -c)
  printf '| %s | %s | %s |\n' "$1" "$(awk -v b="$raw" 'BEGIN { printf "%.2f MB", b / 1e6 }')" "$(awk -v b="$gz" 'BEGIN { printf "%.2f MB", b / 1e6 }')"
}

echo "| step | raw | gzip -9 |"
echo "|---|---|---|"
row "cargo output, profile \`worker\` (opt-level z, fat LTO, 1 codegen unit, panic=abort)" "$cargo_wasm"
"$WASM_BINDGEN_BIN" --target bundler --out-dir "$work" --out-name index "$cargo_wasm" \
  --experimental-reset-state-function --force-enable-abort-handler >/dev/null
row "+ wasm-bindgen" "$work/index_bg.wasm"
"$WASM_OPT_BIN" -Oz "${features[@]}" --debuginfo "$work/index_bg.wasm" -o "$work/oz.wasm"
row "+ \`wasm-opt -Oz\` (name section kept, as worker-build keeps it)" "$work/oz.wasm"
row "+ name section stripped (\`--strip-debug\`): build/index_bg.wasm" build/index_bg.wasm
