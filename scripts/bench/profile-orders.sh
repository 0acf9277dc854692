#!/usr/bin/env bash
# A V8 CPU profile of the Worker's isolate while wrk places orders (BENCHMARKS.md, "The Worker's
# own cost": where an order's time goes): its own `wrangler dev` with the inspector on
# INSPECTOR_PORT (default 9351), the 2,000-sku catalogue of scripts/bench.sh, then
# scripts/bench/profile.mjs around 8 s of scripts/bench/orders.lua. Build first.
#   scripts/bench/profile-orders.sh [CONNECTIONS=8]    profile in out/profile-orders-<N>.cpuprofile
set -euo pipefail
cd "$(dirname "$0")/../.."
conns=${1:-8}
port=${PROFILE_PORT:-8851} state=$(mktemp -d)
export PORT=$port STATE_DIR=$state LOG_FILE=$state/wrangler.log PID_FILE=$state/pid
export INSPECTOR_PORT=${INSPECTOR_PORT:-9351}
out=$(scripts/wrangler-dev.sh start)
pid=${out##*PID=}
trap 'scripts/wrangler-dev.sh stop "$pid" >/dev/null 2>&1 || true; rm -rf "$state"' EXIT
key=$(sed -n 's/^API_KEY=//p' .dev.vars | tail -n1)
url=http://127.0.0.1:$port
cargo run -q --profile bench -p stocksync-bench --example catalogue_json -- 2000 > "$state/catalogue.json"
curl -sf -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
  --data-binary @"$state/catalogue.json" "$url/v1/import" >/dev/null
for _ in $(seq 1 600); do
  # Nothing pending and the import's KV mirror written, or the profile is of the drain.
  curl -sf -H "Authorization: Bearer $key" "$url/v1/stats" | grep -q '"pending_pushes":0,.*"kv_backlog":0,' && break
  sleep 0.2
done
API_KEY=$key wrk -t1 -c"$conns" -d2s -s scripts/bench/orders.lua "$url/v1/orders" >/dev/null
API_KEY=$key node scripts/bench/profile.mjs "orders-$conns" \
  "wrk -t1 -c$conns -d8s --latency -s scripts/bench/orders.lua $url/v1/orders"
