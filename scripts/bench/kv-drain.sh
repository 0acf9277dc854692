#!/usr/bin/env bash
# The KV mirror's drain on a loaded state (BENCHMARKS.md, "A million skus"): copies a state
# directory that scripts/bench/big.sh left (BIG_STATE=…), marks every mapping bucket of every
# tenant for the mirror again (as a bulk load or an import does), starts its own wrangler dev
# with production limits on the copy and times the alarm writing the backlog: buckets/s per
# tenant, and with ORDERS=<tenant> an order on that tenant's c0 one at a time meanwhile (p50,
# p99, max). The copy is removed afterwards; the state given is never changed.
#   scripts/bench/kv-drain.sh STATE_DIR [MAX_SECONDS=1800]
# Environment: KV_DRAIN_PORT (8874), ORDERS (a tenant of big.sh's shape: big or small),
# WRANGLER_ARGS (more vars, e.g. "--var KV_SLICE_GAP_MS:0"), INSPECTOR_PORT with PROFILE=name
# (a V8 profile of the drain through scripts/bench/profile.mjs). Needs sqlite3 (Debian's
# package) to set the marks; build the worker first.
set -euo pipefail
cd "$(dirname "$0")/../.."
src=${1:?usage: scripts/bench/kv-drain.sh STATE_DIR [MAX_SECONDS]}
max=${2:-1800}
command -v sqlite3 >/dev/null || { echo "kv-drain: sqlite3 missing (apt-get install sqlite3)" >&2; exit 1; }
[ -d "$src/v3/do" ] || { echo "kv-drain: $src has no v3/do (a wrangler --persist-to directory)" >&2; exit 1; }
copy=$(mktemp -d /tmp/kv-drain.XXXXXX)
trap 'rm -rf "$copy"' EXIT
cp -a "$src/." "$copy/"
rm -f "$copy"/*.pid "$copy/pid"
tenants=()
for db in "$copy"/v3/do/*/*.sqlite; do
  [ "$(basename "$db")" = metadata.sqlite ] && continue
  t=$(sqlite3 "$db" "SELECT v FROM meta WHERE k = 'tenant'" 2>/dev/null || true)
  [ -n "$t" ] || continue
  # The marks a bulk load leaves (mirror::MARK_SQL), one per bucket holding a linked listing.
  sqlite3 "$db" "INSERT INTO kv_dirty (key, gen) SELECT DISTINCT 'bucket:' || json_array(channel, kvb), 1 \
    FROM listings WHERE sku IS NOT NULL ON CONFLICT (key) DO UPDATE SET gen = gen + 1; \
    PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
  tenants+=("$t")
done
[ ${#tenants[@]} -gt 0 ] || { echo "kv-drain: no tenant in $src" >&2; exit 1; }
export PORT=${KV_DRAIN_PORT:-8874} STATE_DIR=$copy LOG_FILE=$copy/wrangler.log PID_FILE=$copy/pid
export WRANGLER_ARGS="--var ALLOW_TENANT_HEADER:1 ${WRANGLER_ARGS:-}"
out=$(scripts/wrangler-dev.sh start); pid=${out##*PID=}
trap 'scripts/wrangler-dev.sh stop "$pid" >/dev/null 2>&1 || true; rm -rf "$copy"' EXIT
key=$(sed -n 's/^API_KEY=//p' .dev.vars | tail -n1)
list=$(IFS=,; echo "${tenants[*]}")
run="node scripts/bench/kv-drain.mjs http://127.0.0.1:$PORT $key $list $max"
if [ -n "${PROFILE:-}" ]; then
  node scripts/bench/profile.mjs "$PROFILE" "$run"
else
  $run
fi
