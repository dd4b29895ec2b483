#!/usr/bin/env bash
# Lints the wasm32-only shell (src/edge) and the benches' Rust floor worker
# (benches/floor-rs) where the toolchain has clippy for wasm32.
# Debian's rustc-web has no clippy: on that route this says so and lints natively only.
set -euo pipefail
if command -v rustup >/dev/null 2>&1 && rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  cargo clippy --locked --lib --target wasm32-unknown-unknown -- -D warnings
  cargo clippy --locked -p edgeseg-floor-rs --target wasm32-unknown-unknown -- -D warnings
else
  echo "clippy-wasm: no rustup toolchain with the wasm32 target; src/edge is compiled, not linted" >&2
fi
