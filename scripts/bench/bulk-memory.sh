#!/usr/bin/env bash
# The Ledger's wasm memory through two 100,000-row bulk loads (BENCHMARKS.md, "The Worker's own
# cost": the memory table): a fresh object, then PUT /v1/items (CSV), then PUT /v1/mappings
# (JSON) on top, each read from GET /v1/stats (wasm memory never shrinks: each figure is the
# peak so far). Starts its own `wrangler dev` on BULK_PORT (default 8854); build first.
#   scripts/bench/bulk-memory.sh [ROWS=100000]
set -euo pipefail
cd "$(dirname "$0")/../.."
rows=${1:-100000}
port=${BULK_PORT:-8854} state=$(mktemp -d)
export PORT=$port STATE_DIR=$state LOG_FILE=$state/wrangler.log PID_FILE=$state/pid
out=$(scripts/wrangler-dev.sh start)
pid=${out##*PID=}
trap 'scripts/wrangler-dev.sh stop "$pid" >/dev/null 2>&1 || true; rm -rf "$state"' EXIT
key=$(sed -n 's/^API_KEY=//p' .dev.vars | tail -n1)
url=http://127.0.0.1:$port
call() { curl -sf -H "Authorization: Bearer $key" "$@"; }
mem() {
  call "$url/v1/stats" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(`${process.argv[1]}: ${(JSON.parse(s).wasm_memory_bytes/2**20).toFixed(1)} MiB`))' "$1"
}
mem "fresh object"
call -X PUT -H 'Content-Type: application/json' -d '{}' "$url/v1/locations/LOC-a" >/dev/null
node -e 'const n=+process.argv[1];let r=["sku,location,on_hand"];for(let i=0;i<n;i++)r.push(`a-${i},LOC-a,${i%50+1}`);process.stdout.write(r.join("\n"))' "$rows" > "$state/items.csv"
call -X PUT -H 'Content-Type: text/csv' --data-binary @"$state/items.csv" "$url/v1/items" >/dev/null
mem "after $rows rows of PUT /v1/items (CSV)"
call -X PUT -H 'Content-Type: application/json' -d '{"locations":["LOC-a"],"target":{"kind":"demo"}}' "$url/v1/channels/c" >/dev/null
node -e 'const n=+process.argv[1];let r=[];for(let i=0;i<n;i++)r.push({channel:"c",listing:`L-${i}`,sku:`a-${i}`});process.stdout.write(JSON.stringify(r))' "$rows" > "$state/mappings.json"
call -X PUT -H 'Content-Type: application/json' --data-binary @"$state/mappings.json" "$url/v1/mappings" >/dev/null
mem "after $rows rows of PUT /v1/mappings (JSON) on top"
