#!/usr/bin/env bash
# Builds the core for wasm32-wasip1 and times it in V8 (Node's WASI): benches/wasm-bench.
# Needs the wasm32-wasip1 target, which rustup adds on an ordinary machine; on the
# Debian-only route (no rustup download) this benchmark is skipped with a message.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip1; then
  if ! timeout 60 rustup target add wasm32-wasip1 >&2; then
    echo "bench-wasm: the wasm32-wasip1 target is not available here; skipped" >&2
    exit 0
  fi
fi
# The profile of the worker's wasm (Cargo.toml), so this times the code the worker runs.
cargo build --locked --profile worker -p edgeseg-wasm-bench --target wasm32-wasip1
node --no-warnings benches/wasm_bench.mjs target/wasm32-wasip1/worker/edgeseg-wasm-bench.wasm | tee target/bench-wasm.json
