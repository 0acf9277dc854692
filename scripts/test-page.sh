#!/usr/bin/env bash
# The page stage of scripts/test.sh: the preview page end to end in Debian's headless Chromium
# (tests/web/page.e2e.test.mjs, node --test + playwright-core), twice: on the built-in example,
# and on the live state of a worker loaded with the demo merchant (the key pasted into the page).
#
#   scripts/test-page.sh                 start `wrangler dev` on a free port with fresh state,
#                                        import demo/merchant.json, test, stop it
#   BASE_URL=… [API_KEY=…] scripts/test-page.sh
#                                        test a page served elsewhere (example, and live if a key)
#   STATIC=1 scripts/test-page.sh        serve www/ with python3 -m http.server (no worker:
#                                        the built-in example only)
#
# Needs www/pkg (scripts/build-web.sh) and, for the worker, crates/worker/build
# (scripts/build-worker.sh; built here if missing). Screenshots: out/screenshots/.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1mtest-page:\033[0m %s\n' "$*"; }
die() { say "$*"; exit 1; }

[ -f www/pkg/stocksync_web_bg.wasm ] || die "www/pkg is not built: run scripts/build-web.sh"
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || die "no Chromium at ${CHROMIUM:-/usr/bin/chromium} (scripts/setup.sh installs it)"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

e2e() {
  local what="the built-in example"
  [ -n "${API_KEY:-}" ] && what="the live state (API key from the environment)"
  say "the page at $BASE_URL: $what"
  node --test tests/web/page.e2e.test.mjs
}

if [ -n "${BASE_URL:-}" ]; then
  key=${API_KEY:-}
  API_KEY= e2e
  if [ -n "$key" ]; then API_KEY=$key e2e; fi
  exit 0
fi

if [ -n "${STATIC:-}" ]; then
  port=$(free_port)
  python3 -m http.server "$port" --bind 127.0.0.1 --directory www >/dev/null 2>&1 &
  server=$!
  trap 'kill "$server" 2>/dev/null || true' EXIT
  export BASE_URL="http://127.0.0.1:$port"
  for _ in $(seq 50); do curl -sf -o /dev/null "$BASE_URL/" && break; sleep 0.1; done
  API_KEY= e2e
  exit 0
fi

[ -f crates/worker/build/index.js ] || scripts/build-worker.sh
export PORT; PORT=$(free_port)
export STATE_DIR; STATE_DIR=$(mktemp -d "${TMPDIR:-/tmp}/stocksync-page-state.XXXXXX")
export LOG_FILE="$STATE_DIR/wrangler.log" PID_FILE="$STATE_DIR/wrangler.pid"
out=$(scripts/wrangler-dev.sh start)
pid=${out##*PID=}
cleanup() {
  scripts/wrangler-dev.sh stop "$pid" || true
  rm -rf "$STATE_DIR"
}
trap cleanup EXIT
export BASE_URL="http://127.0.0.1:$PORT"
key=$(sed -n 's/^API_KEY=//p' .dev.vars | tail -n1)
[ -n "$key" ] || die ".dev.vars has no API_KEY"

status=$(curl -s -o "$STATE_DIR/import.json" -w '%{http_code}' -H "Authorization: Bearer $key" \
  -H 'Content-Type: application/json' --data-binary @demo/merchant.json "$BASE_URL/v1/import")
[ "$status" = 200 ] || die "importing the demo merchant answered $status: $(cat "$STATE_DIR/import.json")"

API_KEY= e2e
API_KEY=$key e2e
