#!/usr/bin/env bash
# The big-merchant benchmark (BENCHMARKS.md "A million skus"): starts its own wrangler dev with
# production limits on a fresh state directory and runs scripts/bench/big-tenant.mjs against it.
#   scripts/bench/big.sh [SKUS]     (default 1000000; about 10 minutes on a 2-core machine with BIG_SKIP_BACKUP=1, the backup part
#                                   adding about 15 more)
set -euo pipefail
cd "$(dirname "$0")/../.."
skus=${1:-1000000}
export PORT=${BIG_PORT:-8798} STATE_DIR=${BIG_STATE:-$(mktemp -d)}
export LOG_FILE=$STATE_DIR/wrangler.log PID_FILE=$STATE_DIR/pid
export WRANGLER_ARGS="--var ALLOW_TENANT_HEADER:1"
[ -f crates/worker/build/index_bg.wasm ] || scripts/build-worker.sh >/dev/null
out=$(scripts/wrangler-dev.sh start); pid=${out##*PID=}
echo "$pid" > "$STATE_DIR/current.pid"
trap 'scripts/wrangler-dev.sh stop "$(cat "$STATE_DIR/current.pid")" >/dev/null 2>&1 || true' EXIT
key=$(sed -n 's/^API_KEY=//p' .dev.vars | tail -n1)
restart="scripts/wrangler-dev.sh stop \$(cat $STATE_DIR/current.pid) >/dev/null && scripts/wrangler-dev.sh start | sed -n 's/^PID=//p' > $STATE_DIR/current.pid"
node scripts/bench/big-tenant.mjs "http://127.0.0.1:$PORT" "$key" "$skus" "$restart"
