#!/usr/bin/env bash
# Reruns every benchmark of BENCHMARKS.md and prints the figures (README: "Benchmarks").
#
#   scripts/bench.sh            everything (~10 minutes on a 2-core machine)
#   scripts/bench.sh core       only the native core, wasm and memory figures
#   scripts/bench.sh worker     only the worker under wrangler dev
#
# Environment: BENCH_MAX_SKUS (default 1000000) caps the catalogue sizes; LOAD_SECONDS
# (default 10) is each wrk run's length; WORKER_SKUS (default 2000) the worker's catalogue (its JSON must fit the 1 MiB body cap of POST /v1/import);
# DELIVERY_SIZES (default "40000 20000 2000 100000") the listings of the delivery figures;
# BENCH_PORT (default 8799) the port of stocksync's worker.
# After stocksync's figures, `worker` stops it and runs the plain-JavaScript comparison worker
# of issue #11 (scripts/bench/plainjs: the same routes, the same catalogue, the same wrk lines,
# on BENCH_PLAINJS_PORT, default 8796), one after the other, never both at once, and prints each
# worker's orders ÷ /healthz rate and p50s, then the platform's floor for any order: the plain
# worker's GET /v1/ping, a request that reaches the Durable Object and does nothing there.
# BENCH_PLAINJS=0 skips it.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bench/wrangler-cpu.sh

what=${1:-all}
BENCH_MAX_SKUS=${BENCH_MAX_SKUS:-1000000}
LOAD_SECONDS=${LOAD_SECONDS:-10}
WORKER_SKUS=${WORKER_SKUS:-2000}
# Listings of scripts/bench/delivery.mjs's parts: demo, batched webhook, single webhook, drain.
read -r -a DELIVERY_SIZES <<< "${DELIVERY_SIZES:-40000 20000 2000 100000}"
export BENCH_MAX_SKUS
sizes=()
for n in 1000 100000 1000000; do [ "$n" -le "$BENCH_MAX_SKUS" ] && sizes+=("$n"); done

stage() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

scripts/setup.sh --no-browser
if ! command -v wrk >/dev/null; then
  echo "bench: installing wrk (Debian)"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi

stage "machine"
echo "$(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "rustc $(rustc --version | cut -d' ' -f2), node $(node --version), load average $(cut -d' ' -f1-3 /proc/loadavg)"

if [ "$what" = all ] || [ "$what" = core ]; then
  stage "core, native (criterion): order → plan per catalogue size, and a full resync plan"
  cargo bench -p stocksync-bench --bench engine 2>&1 | grep -E '^(order_plan|resync_plan)/|time:|thrpt:' | grep -v change

  stage "core, native vs wasm under Node: the same loop, the same catalogue"
  cargo build -q -p stocksync-bench --features wasm --target wasm32-unknown-unknown --profile bench
  wasm-bindgen --target nodejs --out-dir target/bench-wasm target/wasm32-unknown-unknown/release/stocksync_bench.wasm
  cargo run -q --profile bench -p stocksync-bench --example timing -- "${sizes[@]}"
  node scripts/bench-wasm.mjs target/bench-wasm "${sizes[@]}"

  stage "memory held per sku and per listing (counting allocator)"
  cargo build -q --profile bench -p stocksync-bench --example footprint
  for n in "${sizes[@]}"; do target/release/examples/footprint "$n"; done
fi

if [ "$what" = all ] || [ "$what" = worker ]; then
  stage "worker under wrangler dev: order triggers beside a trivial route, in the same run"
  scripts/build-worker.sh >/dev/null
  port=${BENCH_PORT:-8799} state=$(mktemp -d)
  export PORT=$port STATE_DIR=$state LOG_FILE=$state/wrangler.log PID_FILE=$state/pid
  # The webhook receivers of the latency and delivery figures listen on 127.0.0.1.
  export WRANGLER_ARGS="--var ALLOW_PRIVATE_TARGETS:1"
  out=$(scripts/wrangler-dev.sh start)
  pid=${out##*PID=} js_pid=
  group=$pid
  cleanup() {
    [ -z "$pid" ] || scripts/wrangler-dev.sh stop "$pid" >/dev/null 2>&1 || true
    [ -z "$js_pid" ] || PORT=$js_port scripts/wrangler-dev.sh stop "$js_pid" >/dev/null 2>&1 || true
    rm -rf "$state"
  }
  trap cleanup EXIT
  key=$(sed -n 's/^API_KEY=//p' .dev.vars | tail -n1)
  url=http://127.0.0.1:$port
  # Nothing pending and the KV mirror written: the import marks every mapping bucket (3 channels
  # × 1,024), and measuring while the alarm writes them would time the drain, not the orders.
  settled() {
    curl -sf -H "Authorization: Bearer $key" "$1/v1/stats" | grep -q '"pending_pushes":0,.*"kv_backlog":0,'
  }
  cargo run -q --profile bench -p stocksync-bench --example catalogue_json -- "$WORKER_SKUS" > "$state/catalogue.json"
  import_catalogue() {
    curl -sf -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
      --data-binary @"$state/catalogue.json" "$url/v1/import" >/dev/null
    echo "catalogue: $WORKER_SKUS skus imported ($(wc -c < "$state/catalogue.json") bytes of JSON; the import body cap is 1 MiB)"
  }
  import_catalogue
  # The import plans a push to every listing; measure only once the alarm has delivered them
  # all, or requests queue behind the deliveries and the figures say nothing.
  for _ in $(seq 1 600); do
    settled "$url" && break
    sleep 0.2
  done
  echo "catalogue: every listing in sync, its KV mirror written"
  # Warm both routes, then measure them back to back with the same client settings, each
  # after the deliveries of the one before have drained.
  drain() {
    for _ in $(seq 1 300); do
      settled "$url" && return 0
      sleep 0.2
    done
  }
  warm() {
    wrk -t2 -c8 -d2s "$url/healthz" >/dev/null
    API_KEY=$key wrk -t2 -c8 -d2s -s scripts/bench/orders.lua "$url/v1/orders" >/dev/null
    drain
  }
  warm
  # Each run's lines are kept in $state/last for the ratios below.
  load() {
    local before; before=$(wrangler_cpu_ticks "$group")
    wrk -t"$(( $1 < 2 ? $1 : 2 ))" -c"$1" -d"${LOAD_SECONDS}s" --latency "${@:2}" \
      | grep -E 'Requests/sec|^ +(50|99)%|Non-2xx|Socket errors' | tee "$state/last"
    # CPU time per request of each wrangler dev process (scripts/bench/wrangler-cpu.sh).
    wrangler_cpu_per_request "$before" "$(wrangler_cpu_ticks "$group")" \
      "$(awk -v r="$(rate)" -v s="$LOAD_SECONDS" 'BEGIN { printf "%d", r * s }')" \
      | awk '{ printf "%s%s %s", (k++ ? " · " : "    CPU per request (ms): "), $1, $2 } END { print "" }'
    drain
  }
  rate() { wrk_rate "$state/last"; }
  p50_ms() { wrk_pct_ms 50% "$state/last"; }
  p99_ms() { wrk_pct_ms 99% "$state/last"; }
  # The four figures of issue #11's comparison: /healthz and orders (10 listings) at 8
  # connections, and at 1 connection. Prints "<name>: …" and sets their ratios in $ratios.
  compare() {
    local name=$1 h8 o8 h1 o1
    echo "-- GET /healthz, 8 connections (the platform's floor)"
    load 8 "$url/healthz"; h8=$(rate)
    echo "-- POST /v1/orders, 8 connections: a new order for a sku with 10 listings (store, plan 10 pushes, answer)"
    API_KEY=$key load 8 -s scripts/bench/orders.lua "$url/v1/orders"; o8=$(rate)
    [ -z "${between:-}" ] || "$between"
    echo "-- GET /healthz, 1 connection"
    load 1 "$url/healthz"; h1=$(p50_ms)
    echo "-- POST /v1/orders, 1 connection (10 listings): one order's latency without queueing"
    API_KEY=$key load 1 -s scripts/bench/orders.lua "$url/v1/orders"; o1=$(p50_ms)
    last_h8=$h8 last_h1=$h1
    ratios=$(awk -v n="$name" -v h8="$h8" -v o8="$o8" -v h1="$h1" -v o1="$o1" 'BEGIN {
      printf "%s: orders %.0f/s ÷ /healthz %.0f/s = %.2f at 8 connections; order p50 %.2f ms ÷ /healthz p50 %.2f ms = %.1f× at 1 connection", n, o8, h8, o8 / h8, o1, h1, o1 / h1 }')
    echo "$ratios"
  }
  # stocksync's other runs sit between its 8-connection and 1-connection figures, as before.
  ours_more() {
    echo "-- POST /v1/orders, 8 connections: a new order for a sku with 1 listing"
    API_KEY=$key ORDER_SKU=SKU-0000001 load 8 -s scripts/bench/orders.lua "$url/v1/orders"
    echo "-- POST /v1/preview, 8 connections: one hypothetical order (a copy of the hub, nothing stored)"
    API_KEY=$key load 8 -s scripts/bench/preview.lua "$url/v1/preview"
  }
  echo "load average $(cut -d' ' -f1-3 /proc/loadavg)"
  between=ours_more compare stocksync
  ours_ratios=$ratios

  stage "worker: time from an order to its push reaching a local webhook"
  node scripts/bench/webhook-latency.mjs "$url" "$key" 400

  stage "worker: delivery throughput (demo, batched and single webhooks), and orders while 100,000 pushes drain"
  node scripts/bench/delivery.mjs "$url" "$key" "${DELIVERY_SIZES[@]}"
  scripts/wrangler-dev.sh stop "$pid" >/dev/null 2>&1
  pid=

  if [ "${BENCH_PLAINJS:-1}" != 0 ]; then
    stage "plain-JavaScript worker (scripts/bench/plainjs, issue #11's comparison): the same catalogue and wrk lines, after stocksync's has stopped"
    echo "load average $(cut -d' ' -f1-3 /proc/loadavg)"
    js_port=${BENCH_PLAINJS_PORT:-8796}
    # Its pushes go to the demo marketplace inside the order's transaction: nothing to drain.
    drain() { :; }
    out=$(WRANGLER_CONFIG=scripts/bench/plainjs/wrangler.toml WRANGLER_ARGS="--env-file $(pwd)/.dev.vars" \
      PORT=$js_port STATE_DIR=$state/plainjs LOG_FILE=$state/plainjs.log PID_FILE=$state/plainjs.pid \
      scripts/wrangler-dev.sh start)
    js_pid=${out##*PID=}
    group=$js_pid
    url=http://127.0.0.1:$js_port
    import_catalogue
    warm
    between= compare plain-js
    # The floor under any order: a request that crosses into the Durable Object and back with
    # nothing done there (the plain worker's GET /v1/ping), against the same run's /healthz.
    echo "-- GET /v1/ping, 8 connections: the Worker, its hop to the Durable Object, an empty answer"
    load 8 -H "Authorization: Bearer $key" "$url/v1/ping"; p8=$(rate)
    echo "-- GET /v1/ping, 1 connection"
    load 1 -H "Authorization: Bearer $key" "$url/v1/ping"; p1=$(p50_ms) q1=$(p99_ms)
    floor=$(awk -v h8="$last_h8" -v p8="$p8" -v h1="$last_h1" -v p1="$p1" -v q1="$q1" 'BEGIN {
      printf "floor (a Durable Object request doing nothing): %.0f/s ÷ /healthz %.0f/s = %.2f at 8 connections; p50 %.2f ms ÷ %.2f ms = %.1f× at 1 connection (p99 %.2f ms)", p8, h8, p8 / h8, p1, h1, p1 / h1, q1 }')
    echo "$floor"
    PORT=$js_port scripts/wrangler-dev.sh stop "$js_pid" >/dev/null 2>&1
    js_pid=
    echo
    echo "$ours_ratios"
    echo "$ratios"
    echo "$floor"
  fi
fi

stage "sizes"
scripts/check-sizes.sh || true
