#!/usr/bin/env bash
# `make dev`: serves the built worker in workerd on 127.0.0.1:$DEV_PORT. Without ORIGIN it
# first starts the demo store on 127.0.0.1:$ORIGIN_PORT and stops it on exit.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
source .tools.env
DEV_PORT=${DEV_PORT:-8787}
ORIGIN_PORT=${ORIGIN_PORT:-8788}

if [ -z "${ORIGIN:-}" ]; then
  node demo/origin.mjs --host 127.0.0.1 --port "$ORIGIN_PORT" &
  origin_pid=$!
  trap 'kill "$origin_pid" 2>/dev/null || true' EXIT INT TERM
  ORIGIN="http://127.0.0.1:$ORIGIN_PORT"
fi

echo "edgeseg: http://127.0.0.1:$DEV_PORT/ -> $ORIGIN (health: http://127.0.0.1:$DEV_PORT/__edgeseg/health)"
"$WRANGLER" dev --local --ip 127.0.0.1 --port "$DEV_PORT" \
  --show-interactive-dev-session=false --var "ORIGIN:$ORIGIN"
