#!/usr/bin/env bash
# The load of the recompute profile in BENCHMARKS.md: on a worker loaded by
# scripts/bench/big.sh (tenant `big`, channel c1), change c1's buffer (a recompute job of its
# ~1/3 of the listings), wait for the job, then for its pushes to be delivered, and print both
# times. Run it under the profiler:
#   INSPECTOR_PORT=9333 node scripts/bench/profile.mjs recompute 'scripts/bench/recompute-load.sh'
# against `INSPECTOR_PORT=9333 BIG_STATE=… scripts/wrangler-dev.sh start` on that state
# (PORT=8798, WRANGLER_ARGS="--var ALLOW_TENANT_HEADER:1").
set -euo pipefail
key=$(sed -n 's/^API_KEY=//p' "$(dirname "$0")/../../.dev.vars" | tail -n1)
u=http://127.0.0.1:${PORT:-8798}
h=(-H "Authorization: Bearer $key" -H "X-Stocksync-Tenant: big" -H "Content-Type: application/json")
b=$((RANDOM % 50 + 6))
t0=$(date +%s.%N)
job=$(curl -s "${h[@]}" -X PUT -d "{\"locations\":[\"L0\",\"L1\",\"L2\",\"L3\",\"L4\"],\"rules\":{\"buffer\":$b},\"target\":{\"kind\":\"demo\"}}" "$u/v1/channels/c1" | sed 's/.*"job":"\([^"]*\)".*/\1/')
while :; do s=$(curl -s "${h[@]}" "$u/v1/jobs/$job"); case $s in *running*) sleep 0.5 ;; *) break ;; esac; done
t1=$(date +%s.%N); echo "$s in $(echo "$t1 - $t0" | bc) s"
while [ "$(curl -s "${h[@]}" "$u/v1/stats" | sed 's/.*"pending_pushes":\([0-9]*\).*/\1/')" != 0 ]; do sleep 0.5; done
t2=$(date +%s.%N); echo "pushes delivered $(echo "$t2 - $t0" | bc) s after the change"
