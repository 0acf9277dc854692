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
# Environment: PORT (default 8787), STATE_DIR (default .wrangler/state).
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
stop() {
  [ "$stopping" = 1 ] && return
  stopping=1
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

cat <<MSG

  stocksync is running on $url (wrangler dev, state in $STATE_DIR)

    page      $url/
    API key   $key        (API_KEY in .dev.vars)

    try       curl -H "Authorization: Bearer $key" $url/v1/sync
              curl -H "Authorization: Bearer $key" $url/v1/items/TEST_SS7052
              curl -H "Authorization: Bearer $key" $url/v1/demo/ebay-uk/EB-7052

  Ctrl-C stops it; the data stays for the next run.

MSG

while kill -0 "$pid" 2>/dev/null; do
  sleep 1
done
say "wrangler dev exited (log: .wrangler/dev-$PORT.log)"
