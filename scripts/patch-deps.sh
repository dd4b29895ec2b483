#!/usr/bin/env bash
# Lays out the patched dependencies that Cargo.toml's [patch.crates-io] builds, under
# target/patched/: each published crate, unpacked from cargo's own download and checked
# against its crates.io checksum, with the patch in patches/ applied. Idempotent and
# quick when done; the Makefile runs it before any cargo command (after a fresh clone,
# run it once before a bare `cargo`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# name, version, sha256 of the published .crate (Cargo.lock's checksum before the patch)
PATCHED_CRATES=(
  "tract-nnef 0.23.9 3bdfc2f17d10eaf04d27f7a2d7b45e3dc41ffd0bc6c1e48d87636d7e960d441d"
)
REGISTRY_CACHE="${CARGO_HOME:-$HOME/.cargo}/registry/cache"

log() { echo "[patch-deps] $*" >&2; }

# The .crate file cargo downloaded, fetched through a throwaway manifest when it is not
# there yet (the workspace itself cannot resolve before its patched paths exist).
downloaded_crate() { # $1 name, $2 version
  local found
  found=$(compgen -G "$REGISTRY_CACHE/*/$1-$2.crate" | head -n 1 || true)
  if [ -z "$found" ]; then
    local scratch
    scratch=$(mktemp -d)
    printf '[package]\nname = "fetch-%s"\nversion = "0.0.0"\nedition = "2021"\n\n[lib]\npath = "lib.rs"\n\n[dependencies]\n%s = "=%s"\n\n[workspace]\n' \
      "$1" "$1" "$2" >"$scratch/Cargo.toml"
    touch "$scratch/lib.rs"
    log "fetching $1 $2 from crates.io"
    cargo fetch --quiet --manifest-path "$scratch/Cargo.toml" >&2
    rm -rf "$scratch"
    found=$(compgen -G "$REGISTRY_CACHE/*/$1-$2.crate" | head -n 1 || true)
  fi
  [ -n "$found" ] || { log "cargo fetched no $1-$2.crate into $REGISTRY_CACHE"; exit 1; }
  echo "$found"
}

for entry in "${PATCHED_CRATES[@]}"; do
  read -r name version sha256 <<<"$entry"
  patch_file="patches/$name-$version.diff"
  dest="target/patched/$name-$version"
  stamp="$dest/.edgeseg-patched"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$(sha256sum <"$patch_file")" ]; then
    continue
  fi
  crate=$(downloaded_crate "$name" "$version")
  echo "$sha256  $crate" | sha256sum --check --quiet - ||
    { log "$crate does not match the checksum crates.io published"; exit 1; }
  rm -rf "$dest"
  mkdir -p target/patched
  tar -xzf "$crate" -C target/patched
  # --directory: the paths in the patch are the crate's own, and target/ is inside
  # this repository's work tree, where git apply reads paths from the top.
  git apply --directory="$dest" "$patch_file"
  sha256sum <"$patch_file" >"$stamp"
  log "$name $version patched ($patch_file)"
done
