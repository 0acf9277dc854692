#!/usr/bin/env bash
# stocksync against the plain-JavaScript comparison worker (scripts/bench/plainjs), in turns:
# ROUNDS (default 3) rounds, each starting stocksync's worker, then the plain one, each alone on
# a fresh state with the same 2,000-sku catalogue, and measuring with wrk for LINE_SECONDS (default
# 5) per line: /healthz and orders (a sku with 10 listings) at 8 and at 1 connection, and, on the
# plain worker, GET /v1/ping (a request that reaches the Durable Object and does nothing there:
# the floor under any order). Each line also gives the CPU time per request of each wrangler dev
# process (node, the proxy workerd on the public port, the runtime workerd running the Worker
# and its Durable Object). Prints every round, then the medians. One run of scripts/bench.sh
# worker measures each worker once; on a 2-core machine shared with other tenants the rates
# move by a third from one minute to the next, so the comparison is made in turns and the
# medians are what BENCHMARKS.md reports. Build first (scripts/build-worker.sh).
#   scripts/bench/vs-plainjs.sh            ~6 minutes
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/bench/wrangler-cpu.sh
ROUNDS=${ROUNDS:-3} SECONDS_PER_LINE=${LINE_SECONDS:-5}
port=${VS_PORT:-8794}
key=$(sed -n 's/^API_KEY=//p' .dev.vars 2>/dev/null | tail -n1)
[ -n "$key" ] || { printf 'API_KEY=dev-local-key\n' > .dev.vars; key=dev-local-key; }
work=$(mktemp -d)
group=
cleanup() {
  [ -z "$group" ] || PORT=$port scripts/wrangler-dev.sh stop "$group" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
cargo run -q --profile bench -p stocksync-bench --example catalogue_json -- 2000 > "$work/catalogue.json"

# One wrk line: prints "rate p50_ms runtime_ms proxy_ms node_ms" (CPU ms per request of the
# runtime workerd, the proxy workerd and node; scripts/bench/wrangler-cpu.sh).
line() {
  local conns=$1 before after
  before=$(wrangler_cpu_ticks "$group")
  wrk -t1 -c"$conns" -d"${SECONDS_PER_LINE}s" --latency "${@:2}" > "$work/last"
  after=$(wrangler_cpu_ticks "$group")
  local rate; rate=$(wrk_rate "$work/last")
  wrangler_cpu_per_request "$before" "$after" \
    "$(awk -v r="$rate" -v s="$SECONDS_PER_LINE" 'BEGIN { printf "%d", r * s }')" \
    | awk -v rate="$rate" -v p50="$(wrk_pct_ms 50% "$work/last")" '{ ms[$1] = $2 }
      END { printf "%.1f %.2f %.2f %.2f %.2f\n", rate, p50, ms["runtime-workerd"], ms["proxy-workerd"], ms["node"] }'
}
settled() {
  curl -sf -H "Authorization: Bearer $key" "$1/v1/stats" 2>/dev/null | grep -q '"pending_pushes":0,.*"kv_backlog":0,'
}

results=$work/results
for round in $(seq 1 "$ROUNDS"); do
  for worker in stocksync plain-js; do
    state=$work/state-$round-$worker
    if [ "$worker" = stocksync ]; then
      out=$(PORT=$port STATE_DIR=$state LOG_FILE=$state.log PID_FILE=$state.pid scripts/wrangler-dev.sh start)
    else
      out=$(WRANGLER_CONFIG=scripts/bench/plainjs/wrangler.toml WRANGLER_ARGS="--env-file $(pwd)/.dev.vars" \
        PORT=$port STATE_DIR=$state LOG_FILE=$state.log PID_FILE=$state.pid scripts/wrangler-dev.sh start)
    fi
    group=${out##*PID=}
    url=http://127.0.0.1:$port
    curl -sf -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
      --data-binary @"$work/catalogue.json" "$url/v1/import" >/dev/null
    if [ "$worker" = stocksync ]; then
      for _ in $(seq 1 600); do settled "$url" && break; sleep 0.2; done
    fi
    wrk -t1 -c8 -d2s "$url/healthz" >/dev/null
    API_KEY=$key wrk -t1 -c8 -d2s -s scripts/bench/orders.lua "$url/v1/orders" >/dev/null
    {
      echo "$round $worker healthz8 $(line 8 "$url/healthz")"
      echo "$round $worker orders8 $(API_KEY=$key line 8 -s scripts/bench/orders.lua "$url/v1/orders")"
      echo "$round $worker healthz1 $(line 1 "$url/healthz")"
      echo "$round $worker orders1 $(API_KEY=$key line 1 -s scripts/bench/orders.lua "$url/v1/orders")"
      if [ "$worker" = plain-js ]; then
        echo "$round $worker ping8 $(line 8 -H "Authorization: Bearer $key" "$url/v1/ping")"
        echo "$round $worker ping1 $(line 1 -H "Authorization: Bearer $key" "$url/v1/ping")"
      fi
    } | tee -a "$results"
    PORT=$port scripts/wrangler-dev.sh stop "$group" >/dev/null 2>&1
    group=
  done
done

echo
echo "medians of $ROUNDS rounds (rate/s, p50 ms, CPU ms per request: runtime workerd, proxy workerd, node):"
awk '
  { k = $2 " " $3; n[k]++; for (i = 4; i <= 8; i++) v[k, i, n[k]] = $i; keys[k] = 1 }
  function med(k, i,   m, a, j, t, x, y) {
    m = n[k]; for (j = 1; j <= m; j++) a[j] = v[k, i, j]
    for (x = 1; x <= m; x++) for (y = x + 1; y <= m; y++) if (a[y] < a[x]) { t = a[x]; a[x] = a[y]; a[y] = t }
    return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2 }
  END {
    split("stocksync plain-js", ws, " ")
    for (w = 1; w <= 2; w++) for (l = 1; l <= 6; l++) {
      split("healthz8 orders8 healthz1 orders1 ping8 ping1", ls, " "); k = ws[w] " " ls[l]
      if (!(k in keys)) continue
      M[k, 4] = med(k, 4); M[k, 5] = med(k, 5)
      printf "  %-9s %-9s %7.1f/s  p50 %6.2f ms  CPU %.2f · %.2f · %.2f ms\n", ws[w], ls[l], M[k, 4], M[k, 5], med(k, 6), med(k, 7), med(k, 8)
    }
    for (w = 1; w <= 2; w++) {
      s = ws[w]
      printf "%s: orders ÷ /healthz at 8 connections %.2f; order p50 ÷ /healthz p50 at 1 connection %.1f×\n", s, M[s " orders8", 4] / M[s " healthz8", 4], M[s " orders1", 5] / M[s " healthz1", 5]
    }
    s = "plain-js"
    printf "floor (plain worker, GET /v1/ping): %.2f of /healthz at 8 connections; %.1f× its p50 at 1 connection\n", M[s " ping8", 4] / M[s " healthz8", 4], M[s " ping1", 5] / M[s " healthz1", 5]
    printf "stocksync ÷ plain-js, orders at 8 connections: %.2f; order p50 at 1 connection: %.2f\n", M["stocksync orders8", 4] / M["plain-js orders8", 4], M["stocksync orders1", 5] / M["plain-js orders1", 5]
  }' "$results"
