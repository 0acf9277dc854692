#!/usr/bin/env bash
# The CPU an order's SQLite writes cost inside workerd (BENCHMARKS.md, "The Worker's own cost,
# fourth session"): scripts/bench/sql-writes/, a Durable Object with the Ledger's schema and
# statements (copied here out of crates/worker/src/store.rs, so they are the ones the Worker
# runs), writes an order's ten listing rows and ten demo rows 20 times per request in several
# ways; wrk calls each way for SECS (default 4) seconds at one connection, and the runtime
# workerd's CPU time per request, less an empty transaction's, over 20, is one order's writes.
#   scripts/bench/sql-writes.sh            about a minute
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/bench/wrangler-cpu.sh
secs=${SECS:-4} port=${SQL_WRITES_PORT:-8793}
work=$(mktemp -d)
group=
trap '[ -z "$group" ] || PORT=$port scripts/wrangler-dev.sh stop "$group" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
cp scripts/bench/sql-writes/worker.js scripts/bench/sql-writes/wrangler.toml "$work/"
# The Rust string constants, as Rust reads them: a `\` at a line's end drops the newline and
# the next line's leading spaces.
node -e '
  const src = require("fs").readFileSync("crates/worker/src/store.rs", "utf8");
  const out = [];
  for (const name of ["SCHEMA", "LISTINGS_IN_PLACE", "LISTINGS_MANY", "DEMO_RECEIVED_MANY"]) {
    const m = src.match(new RegExp(`const ${name}: &str =\\s*"((?:[^"\\\\]|\\\\[\\s\\S])*)";`));
    if (!m) throw new Error(`${name} not found in store.rs`);
    out.push(`export const ${name} = ${JSON.stringify(m[1].replace(/\\\n\s*/g, ""))};`);
  }
  require("fs").writeFileSync(process.argv[1], out.join("\n") + "\n");
' "$work/statements.js"
out=$(WRANGLER_CONFIG=$work/wrangler.toml PORT=$port STATE_DIR=$work/state LOG_FILE=$work/log \
  PID_FILE=$work/pid LOG_LEVEL=warn scripts/wrangler-dev.sh start)
group=${out##*PID=}
url=http://127.0.0.1:$port
curl -sf "$url/none" >/dev/null
declare -A cpu
for way in none upsert-all ledger upsert-all-class ledger-class rows upsert-all-new ledger-new; do
  wrk -t1 -c1 -d1s "$url/$way" >/dev/null
  before=$(wrangler_cpu_ticks "$group")
  wrk -t1 -c1 -d"${secs}s" "$url/$way" > "$work/last"
  n=$(awk -v r="$(wrk_rate "$work/last")" -v s="$secs" 'BEGIN { printf "%d", r * s }')
  cpu[$way]=$(wrangler_cpu_per_request "$before" "$(wrangler_cpu_ticks "$group")" "$n" \
    | awk '$1 == "runtime-workerd" { print $2 }')
done
echo "runtime CPU per order's writes (ten listings, and ten demo rows but for *-new), less an empty transaction:"
for way in upsert-all ledger upsert-all-class ledger-class rows upsert-all-new ledger-new; do
  awk -v w="$way" -v c="${cpu[$way]}" -v z="${cpu[none]}" 'BEGIN { printf "  %-17s %.3f ms\n", w, (c - z) / 20 }'
done
