#!/usr/bin/env bash
# Builds the model bundle in model/: venv (when missing or requirements changed), then the whole pipeline.
# Called by `make model` (and with --venv-only by `make test`). Reproducible: fixed seeds, one thread per library, stable JSON.
set -euo pipefail

TRAIN_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$TRAIN_DIR/../.." && pwd)"
VENV="$TRAIN_DIR/.venv"
STAMP="$VENV/.requirements.sha256"
PYTHON_BIN="${PYTHON:-python3}"

wanted="$(sha256sum "$TRAIN_DIR/requirements.txt" | cut -d' ' -f1)"
if [[ ! -x "$VENV/bin/python" || ! -f "$STAMP" || "$(cat "$STAMP")" != "$wanted" ]]; then
  echo "[build] creating $VENV from requirements.txt"
  rm -rf "$VENV"
  "$PYTHON_BIN" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$TRAIN_DIR/requirements.txt"
  echo "$wanted" > "$STAMP"
fi

# `--venv-only`: just the environment (what `make test` needs to run the pipeline's tests).
if [[ "${1:-}" == "--venv-only" ]]; then
  exit 0
fi

export EDGESEG_DATA="${EDGESEG_DATA:-$REPO_DIR/data}"
# One thread everywhere: same float summation order on every run, and light on a shared 2-core box.
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 PYTHONHASHSEED=0
export MPLBACKEND=Agg
cd "$TRAIN_DIR"
"$VENV/bin/python" -m edgeseg_train.pipeline
