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
# Then, on a second `wrangler dev` loaded with a big merchant (scripts/page/load-big.mjs,
# PAGE_SKUS skus, default 100,000), the page for a big merchant (tests/web/page.live.test.mjs):
# it must never download the export. The loaded state is kept in .wrangler/page-big/ and reused
# while the merchant, the tables and the record formats are unchanged. A cold run costs, on this
# 2-core machine, ~15 s of import and ~40 s until the KV mirror's ~2,300 mapping buckets are
# written (the page is tested on a settled worker); a warm one ~35 s for the whole script.
# PAGE_BIG_FRESH=1 loads again, PAGE_SKUS=5000 tries the cold path in ~1 min, PAGE_BIG=0 skips.
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
big_pid=
cleanup() {
  scripts/wrangler-dev.sh stop "$pid" || true
  rm -rf "$STATE_DIR"
  if [ -n "$big_pid" ]; then PORT=$big_port PID_FILE=$big_dir/wrangler.pid scripts/wrangler-dev.sh stop "$big_pid" || true; fi
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

[ "${PAGE_BIG:-1}" = 0 ] && exit 0
scripts/wrangler-dev.sh stop "$pid" || true
skus=${PAGE_SKUS:-100000}
# The state is reusable while the merchant, the tables (store.rs's SCHEMA) and the stored
# record formats (snapshot.rs, backup.rs) are unchanged.
stamp=$( { cat scripts/page/load-big.mjs scripts/page/merchant.mjs crates/core/src/snapshot.rs \
  crates/core/src/backup.rs; sed -n '/^pub const SCHEMA/,/";$/p' crates/worker/src/store.rs; } | sha256sum | cut -c1-16)
big_dir=.wrangler/page-big/$skus-$stamp
[ -n "${PAGE_BIG_FRESH:-}" ] && rm -rf "$big_dir"
fresh=
[ -f "$big_dir/loaded" ] || { rm -rf .wrangler/page-big/"$skus"-*; mkdir -p "$big_dir/state"; fresh=1; }
big_port=$(free_port)
out=$(PORT=$big_port STATE_DIR=$big_dir/state LOG_FILE=$big_dir/wrangler.log PID_FILE=$big_dir/wrangler.pid \
  WRANGLER_ARGS="--var RETRY_BASE_MS:50 --var RETRY_MAX_MS:200 --var ALLOW_PRIVATE_TARGETS:1" scripts/wrangler-dev.sh start)
big_pid=${out##*PID=}
big_url="http://127.0.0.1:$big_port"
if [ -n "$fresh" ]; then
  say "loading a big merchant ($skus skus) into $big_url"
  BASE_URL=$big_url API_KEY=$key SKUS=$skus node scripts/page/load-big.mjs
  # The wholesale channel's pushes fail (a closed port): wait until its listings show failing.
  for _ in $(seq 120); do
    failing=$(curl -s -H "Authorization: Bearer $key" "$big_url/v1/sync?status=failing&limit=1" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{console.log(JSON.parse(s).counts.failing??0)}catch{console.log(0)}})')
    [ "${failing:-0}" -gt 0 ] && break
    sleep 0.5
  done
  # The import marked the KV mirror's mapping buckets (at most 1,024 per channel), which the
  # alarm writes in slices; the page is tested on a settled worker (and this state is reused
  # afterwards).
  t0=$(date +%s)
  while :; do
    # A slow answer on a busy machine is not a failure here (the deadline below is).
    backlog=$({ curl -s -m 60 -H "Authorization: Bearer $key" "$big_url/v1/stats" || true; } | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{console.log(JSON.parse(s).kv_backlog??0)}catch{console.log(-1)}})')
    [ "$backlog" = 0 ] && break
    [ $(( $(date +%s) - t0 )) -gt 1800 ] && die "the KV mirror still has $backlog keys to write after 30 min"
    say "waiting for the KV mirror: $backlog keys to write"
    sleep 3
  done
  say "the KV mirror settled $(( $(date +%s) - t0 )) s after the load"
  touch "$big_dir/loaded"
else
  say "reusing the big merchant loaded in $big_dir ($skus skus; PAGE_BIG_FRESH=1 loads it again)"
fi
say "the page for a big merchant at $big_url"
BASE_URL=$big_url API_KEY=$key SKUS=$skus node --test tests/web/page.live.test.mjs
