#!/usr/bin/env bash
# Makes this machine ready to build the worker to wasm and run it in workerd.
#
# Tools go to a cache outside the checkout (EDGESEG_TOOLS, default ~/.cache/edgeseg-tools),
# one folder per tool and version, so a fresh clone on the same machine reuses them and a
# second run is a no-op. Writes .tools.env in the checkout: the Makefile sources it.
#
# The wasm32 Rust target comes from, in order: a rustup toolchain that already has it, a
# private sysroot built earlier, `rustup target add` (short timeout), or Debian's
# rustc-web + rust-web-src with std built for wasm32 once (machines where rustup cannot
# download; see docs/toolchain.md).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOOLS=${EDGESEG_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/edgeseg-tools}
WORKER_BUILD_VERSION=0.8.7
RUSTUP_TIMEOUT=${EDGESEG_RUSTUP_TIMEOUT:-45}
# auto: rustup if it has or can add the target, else Debian; debian: always the fallback.
WASM_TOOLCHAIN=${EDGESEG_WASM_TOOLCHAIN:-auto}
DEBIAN_RUST_PACKAGES="rustc-web cargo-web rust-web-src libstd-rust-web-dev lld-22"

log() { printf 'bootstrap: %s\n' "$*" >&2; }
die() { printf 'bootstrap: error: %s\n' "$*" >&2; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }

# The wasm-bindgen CLI must be exactly the version of the wasm-bindgen crate in the lock file.
wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock"
}

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif have sudo; then sudo "$@"; else
    die "need root to run: $*"
  fi
}

# A PATH without rustup's shims, so /usr/bin's Debian toolchain is the one found.
path_without_rustup() {
  local out="" dir
  IFS=: read -ra dirs <<<"$PATH"
  for dir in "${dirs[@]}"; do
    case "$dir" in */.cargo/bin | */.rustup/*) continue ;; esac
    out="${out:+$out:}$dir"
  done
  printf '%s' "$out"
}

rustc_has_wasm_std() { # $1: rustc to ask
  local libdir
  libdir=$("$1" --print target-libdir --target wasm32-unknown-unknown 2>/dev/null) || return 1
  compgen -G "$libdir/libstd-*.rlib" >/dev/null
}

# Builds std, panic_abort and friends for wasm32 with Debian's compiler and sources, and
# lays out a sysroot that plain `cargo build --target wasm32-unknown-unknown` accepts.
build_debian_sysroot() { # $1: sysroot dir
  local sysroot=$1 scratch rustc_path
  if [ ! -x /usr/bin/rustc ] || [ ! -d /usr/lib/rustlib/src/rust/library ] || [ ! -x /usr/bin/rust-lld ]; then
    log "installing Debian's Rust toolchain with std sources ($DEBIAN_RUST_PACKAGES)"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $DEBIAN_RUST_PACKAGES >/dev/null
  fi
  log "building std for wasm32 with $(/usr/bin/rustc --version)"
  scratch=$(mktemp -d)
  mkdir -p "$scratch/src"
  printf '[package]\nname = "edgeseg_std_seed"\nversion = "0.0.0"\nedition = "2021"\n[lib]\npath = "src/lib.rs"\n' >"$scratch/Cargo.toml"
  : >"$scratch/src/lib.rs"
  (
    cd "$scratch"
    PATH="$(path_without_rustup)" RUSTC_BOOTSTRAP=1 RUSTFLAGS="-Cembed-bitcode=yes" \
      CARGO_TARGET_DIR="$scratch/target" RUSTC=/usr/bin/rustc \
      /usr/bin/cargo build --quiet --release \
      -Zbuild-std=std,panic_abort,panic_unwind,proc_macro --target wasm32-unknown-unknown
  )
  rm -rf "$sysroot.partial"
  mkdir -p "$sysroot.partial/lib/rustlib/wasm32-unknown-unknown/lib" "$sysroot.partial/bin"
  find "$scratch/target/wasm32-unknown-unknown/release/deps" -name '*.rlib' ! -name 'libedgeseg_std_seed*' \
    -exec cp {} "$sysroot.partial/lib/rustlib/wasm32-unknown-unknown/lib/" \;
  for entry in x86_64-unknown-linux-gnu src etc; do
    [ -e "/usr/lib/rustlib/$entry" ] && ln -s "/usr/lib/rustlib/$entry" "$sysroot.partial/lib/rustlib/$entry"
  done
  rustc_path="$sysroot/bin/rustc"
  printf '#!/bin/sh\nexec /usr/bin/rustc --sysroot "%s" "$@"\n' "$sysroot" >"$sysroot.partial/bin/rustc"
  chmod +x "$sysroot.partial/bin/rustc"
  ln -s /usr/bin/cargo "$sysroot.partial/bin/cargo"
  rm -rf "$scratch" "$sysroot"
  mv "$sysroot.partial" "$sysroot"
  rustc_has_wasm_std "$rustc_path" || die "the sysroot at $sysroot has no wasm32 std"
}

# Prints the PATH under which `cargo build --target wasm32-unknown-unknown` works.
ensure_wasm_target() {
  local debian_version sysroot
  case "$WASM_TOOLCHAIN" in auto | debian) ;; *) die "EDGESEG_WASM_TOOLCHAIN must be auto or debian" ;; esac
  if [ "$WASM_TOOLCHAIN" = auto ] && have rustc && rustc_has_wasm_std rustc; then
    log "wasm32 target: $(command -v rustc) already has it"
    printf '%s' "$PATH"
    return
  fi
  if [ -x /usr/bin/rustc ]; then
    debian_version=$(/usr/bin/rustc --version | awk '{print $2}')
    sysroot="$TOOLS/wasm-sysroot-$debian_version"
    if [ -x "$sysroot/bin/rustc" ] && rustc_has_wasm_std "$sysroot/bin/rustc"; then
      log "wasm32 target: cached sysroot $sysroot"
      printf '%s:%s' "$sysroot/bin" "$(path_without_rustup)"
      return
    fi
  fi
  if [ "$WASM_TOOLCHAIN" = auto ] && have rustup; then
    log "wasm32 target: trying rustup (timeout ${RUSTUP_TIMEOUT}s)"
    if timeout "$RUSTUP_TIMEOUT" rustup target add wasm32-unknown-unknown >&2 && rustc_has_wasm_std rustc; then
      printf '%s' "$PATH"
      return
    fi
    log "rustup could not add the target; falling back to Debian's toolchain"
  fi
  build_debian_sysroot "$TOOLS/wasm-sysroot-pending"
  debian_version=$(/usr/bin/rustc --version | awk '{print $2}')
  sysroot="$TOOLS/wasm-sysroot-$debian_version"
  rm -rf "$sysroot"
  mv "$TOOLS/wasm-sysroot-pending" "$sysroot"
  # The wrapper names its own folder; rewrite it for the final location.
  printf '#!/bin/sh\nexec /usr/bin/rustc --sysroot "%s" "$@"\n' "$sysroot" >"$sysroot/bin/rustc"
  rustc_has_wasm_std "$sysroot/bin/rustc" || die "the sysroot at $sysroot has no wasm32 std"
  printf '%s:%s' "$sysroot/bin" "$(path_without_rustup)"
}

# cargo install into $TOOLS/<name>-<version>, unless it is there already.
ensure_cargo_tool() { # $1 crate, $2 version, $3 binary, rest: extra cargo install flags
  local crate=$1 version=$2 binary=$3 dir
  shift 3
  dir="$TOOLS/$crate-$version"
  if [ ! -x "$dir/bin/$binary" ]; then
    log "installing $crate $version (cargo install, a few minutes once per machine)"
    cargo install --quiet "$crate" --version "$version" --root "$dir.partial" "$@" >&2
    rm -rf "$dir"
    mv "$dir.partial" "$dir"
  fi
  printf '%s' "$dir/bin/$binary"
}

# npm tools pinned by tools/package-lock.json, installed in a folder named by its hash.
ensure_npm_tools() {
  local hash dir
  have npm || die "npm is needed (Node.js 20 or newer)"
  hash=$(sha256sum "$ROOT/tools/package-lock.json" | cut -c1-16)
  dir="$TOOLS/npm-$hash"
  if [ ! -x "$dir/node_modules/.bin/wrangler" ]; then
    log "installing wrangler, esbuild and binaryen from tools/package-lock.json"
    rm -rf "$dir.partial"
    mkdir -p "$dir.partial"
    cp "$ROOT/tools/package.json" "$ROOT/tools/package-lock.json" "$dir.partial/"
    (cd "$dir.partial" && npm ci --no-audit --no-fund --loglevel=error >&2)
    rm -rf "$dir"
    mv "$dir.partial" "$dir"
  fi
  printf '%s' "$dir/node_modules/.bin"
}

# Headless Chromium for the dashboard's end-to-end test (Debian's package; elsewhere,
# CHROMIUM=/path/to/chromium). Returns its path.
ensure_chromium() {
  local browser=${CHROMIUM:-}
  if [ -z "$browser" ]; then
    browser=$(command -v chromium || command -v chromium-browser || true)
  fi
  if [ -z "$browser" ] && have apt-get; then
    log "installing chromium (apt) for the dashboard's end-to-end test"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    browser=$(command -v chromium || true)
  fi
  [ -n "$browser" ] || die "chromium is needed for the end-to-end tests: install it or set CHROMIUM"
  printf '%s' "$browser"
}

main() {
  mkdir -p "$TOOLS"
  have cargo || die "cargo is needed: install Rust (https://rustup.rs) or Debian's cargo"
  bash "$ROOT/scripts/patch-deps.sh"
  local wasm_path worker_build wasm_bindgen npm_bin wbg_version chromium
  wasm_path=$(ensure_wasm_target)
  # Debug build: worker-build only orchestrates the other tools, and it installs 10x faster.
  worker_build=$(ensure_cargo_tool worker-build "$WORKER_BUILD_VERSION" worker-build --locked --debug)
  wbg_version=$(wasm_bindgen_version)
  [ -n "$wbg_version" ] || die "no wasm-bindgen in Cargo.lock"
  wasm_bindgen=$(ensure_cargo_tool wasm-bindgen-cli "$wbg_version" wasm-bindgen)
  npm_bin=$(ensure_npm_tools)
  chromium=$(ensure_chromium)
  cat >"$ROOT/.tools.env.partial" <<EOF
# Written by scripts/bootstrap.sh; sourced by the Makefile. Do not commit.
export EDGESEG_TOOLS='$TOOLS'
export WASM_BUILD_PATH='$wasm_path'
export WORKER_BUILD='$worker_build'
export WASM_BINDGEN_BIN='$wasm_bindgen'
export ESBUILD_BIN='$npm_bin/esbuild'
export WASM_OPT_BIN='$npm_bin/wasm-opt'
export WRANGLER='$npm_bin/wrangler'
export CHROMIUM='$chromium'
export WRANGLER_SEND_METRICS=false
export CLOUDFLARE_TELEMETRY_DISABLED=1
export WRANGLER_SEND_ERROR_REPORTS=false
EOF
  mv "$ROOT/.tools.env.partial" "$ROOT/.tools.env"
  log "ready (tools in $TOOLS)"
}

main "$@"
