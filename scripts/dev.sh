#!/usr/bin/env bash
# `make dev`: serves the built worker in workerd on 127.0.0.1:$DEV_PORT. Without ORIGIN it
# first starts the demo store on 127.0.0.1:$ORIGIN_PORT and stops it on exit.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
source .tools.env
DEV_PORT=${DEV_PORT:-8787}
ORIGIN_PORT=${ORIGIN_PORT:-8788}

# The secrets the demo store shares with the worker, from the worker's .dev.vars (which
# wrangler reads itself): the store then checks edgeseg-signature and signs its tokens.
# Without .dev.vars (zero config) neither side has them: see README, "Trust".
dev_var() {
  [ -f .dev.vars ] || return 0
  sed -n "s/^$1[[:space:]]*=[[:space:]]*//p" .dev.vars | tail -n 1 | sed 's/^"\(.*\)"$/\1/'
}

if [ -z "${ORIGIN:-}" ]; then
  EDGESEG_HEADER_KEY="$(dev_var EDGESEG_HEADER_KEY)" \
  EDGESEG_STORE_TOKEN_KEY="$(dev_var EDGESEG_STORE_TOKEN_KEY)" \
    node demo/origin.mjs --host 127.0.0.1 --port "$ORIGIN_PORT" &
  origin_pid=$!
  trap 'kill "$origin_pid" 2>/dev/null || true' EXIT INT TERM
  ORIGIN="http://127.0.0.1:$ORIGIN_PORT"
fi

echo "edgeseg: http://127.0.0.1:$DEV_PORT/ -> $ORIGIN (health: http://127.0.0.1:$DEV_PORT/__edgeseg/health)"
"$WRANGLER" dev --local --ip 127.0.0.1 --port "$DEV_PORT" \
  --show-interactive-dev-session=false --var "ORIGIN:$ORIGIN"
