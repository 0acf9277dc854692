#!/usr/bin/env bash
# The main command (README): builds the Worker and runs it locally under `wrangler dev` on
# http://127.0.0.1:8787 with the demo merchant loaded, until Ctrl-C.
#
#   scripts/run.sh
#
# - Installs what is missing first (scripts/setup.sh --no-browser; a warm machine pays ~1 s).
# - Builds the Worker (scripts/build-worker.sh) and the browser package if scripts/build-web.sh
#   exists.
# - State lives in .wrangler/state (KV, the Durable Object's SQLite, its alarms): a restart
#   keeps every stock level, order and waiting push. The demo merchant (demo/merchant.json) is
#   imported only into an empty store, so a restart never overwrites your data. To start over:
#   stop, `rm -rf .wrangler/state`, run again.
# - The local API key is API_KEY in .dev.vars (written as dev-local-key if missing).
#
# Environment: PORT (default 8787), STATE_DIR (default .wrangler/state), FAKES=1 to also start
# the local fakes of Shopify and WooCommerce (crates/channels, bin fake-channels) and connect two
# channels to them, `shopify` and `woo`, each listing TEST_SS7052 and MUG-BLUE.
set -euo pipefail
cd "$(dirname "$0")/.."

export PORT=${PORT:-8787}
export STATE_DIR=${STATE_DIR:-.wrangler/state}
url="http://127.0.0.1:$PORT"

say() { printf '\033[1mrun:\033[0m %s\n' "$*"; }

scripts/setup.sh --no-browser
scripts/build-worker.sh
if [ -x scripts/build-web.sh ]; then
  scripts/build-web.sh
fi

# The local demo may point channels at local fakes (http://127.0.0.1:…): allow private
# targets here, never in a deployment (SPEC §9).
export WRANGLER_ARGS="${WRANGLER_ARGS:-} --var ALLOW_PRIVATE_TARGETS:1"
out=$(scripts/wrangler-dev.sh start)
pid=${out##*PID=}
stopping=0
fakes_pid=
stop() {
  [ "$stopping" = 1 ] && return
  stopping=1
  [ -n "$fakes_pid" ] && kill "$fakes_pid" 2>/dev/null || true
  echo
  say "stopping wrangler dev (state kept in $STATE_DIR)"
  scripts/wrangler-dev.sh stop "$pid" || true
}
trap 'stop; exit 0' INT TERM
trap stop EXIT

key=$(sed -n 's/^API_KEY=//p' .dev.vars | tail -n1)
auth=(-H "Authorization: Bearer $key")

# The demo merchant goes only into an empty store (the export of a new hub, field by field).
empty='"locations":{},"items":{},"channels":{},"listings":[],"orders":[]'
export_json=$(curl -sf "${auth[@]}" "$url/v1/export") || { say "GET /v1/export failed"; exit 1; }
if grep -qF "$empty" <<<"$export_json"; then
  say "empty store: importing the demo merchant (demo/merchant.json)"
  curl -sf "${auth[@]}" -H 'Content-Type: application/json' --data-binary @demo/merchant.json \
    "$url/v1/import" >/dev/null || { say "importing the demo merchant failed"; exit 1; }
  # The pushes the import planned are delivered by the Durable Object's alarm, within moments.
  for _ in $(seq 1 100); do
    curl -sf "${auth[@]}" "$url/v1/sync" | grep -qE '"pending":[0-9-]' || break
    sleep 0.1
  done
else
  say "the store already holds data: not loading the demo"
fi

if [ -n "${FAKES:-}" ]; then
  say "starting the fake Shopify and WooCommerce (FAKES=1)"
  cargo build -q -p stocksync-channels --features fake --bin fake-channels
  fakes_out=.wrangler/fakes.out
  target/debug/fake-channels >"$fakes_out" 2>&1 &
  fakes_pid=$!
  for _ in $(seq 1 50); do grep -q '^WOO=' "$fakes_out" 2>/dev/null && break; sleep 0.1; done
  shopify_url=$(sed -n 's/^SHOPIFY=//p' "$fakes_out")
  woo_url=$(sed -n 's/^WOO=//p' "$fakes_out")
  # The fakes listen on new ports every run: the channels are re-pointed each time.
  put() { curl -sf "${auth[@]}" -X PUT -H 'Content-Type: application/json' -d "$2" "$url/v1/$1" >/dev/null \
    || { say "PUT /v1/$1 failed"; exit 1; }; }
  put channels/shopify '{"name": "Shopify (fake)", "locations": ["LONDON"], "target": {"kind": "shopify",
    "shop": "fake-mugs.myshopify.com", "location_id": "gid://shopify/Location/655441491",
    "api_version": "2026-04", "access_token": "shpat_fake_token",
    "webhook_secret": "demo-shopify-webhook-secret", "endpoint": "'"$shopify_url"'"}}'
  put channels/woo '{"name": "WooCommerce (fake)", "locations": ["LONDON"], "target": {"kind": "woocommerce",
    "site": "https://shop.example", "consumer_key": "ck_fake0123456789abcdef0123456789abcdef01",
    "consumer_secret": "cs_fake0123456789abcdef0123456789abcdef01",
    "webhook_secret": "demo-woo-webhook-secret", "endpoint": "'"$woo_url"'"}}'
  put mappings '[{"channel": "shopify", "listing": "101", "sku": "TEST_SS7052"},
    {"channel": "shopify", "listing": "102", "sku": "MUG-BLUE"},
    {"channel": "woo", "listing": "301", "sku": "TEST_SS7052"},
    {"channel": "woo", "listing": "302", "sku": "MUG-BLUE"}]'
  say "fake Shopify on $shopify_url, fake WooCommerce on $woo_url (what they show: $fakes_out)"
fi

cat <<MSG

  stocksync is running on $url (wrangler dev, state in $STATE_DIR)

    page      $url/
    API key   $key        (API_KEY in .dev.vars)

    try       curl -H "Authorization: Bearer $key" $url/v1/sync
              curl -H "Authorization: Bearer $key" $url/v1/items/TEST_SS7052
              curl -H "Authorization: Bearer $key" $url/v1/demo/ebay-uk/EB-7052

  Ctrl-C stops it; the data stays for the next run.

MSG

[ -n "$fakes_pid" ] && say "with FAKES=1: curl -H \"Authorization: Bearer $key\" '$url/v1/sync?channel=shopify'"
while kill -0 "$pid" 2>/dev/null; do
  sleep 1
done
say "wrangler dev exited (log: .wrangler/dev-$PORT.log)"
