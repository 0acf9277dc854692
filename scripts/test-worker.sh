#!/usr/bin/env bash
# The worker stage of scripts/test.sh:
#   1. the worker crate's own unit tests (native): routes, status map, CSV, signatures
#   2. the release build (scripts/build-worker.sh) and a size check against Cloudflare's limit
#   3. the HTTP tests (crates/http-tests) against `wrangler dev` instances they start and stop
#      themselves on free ports with temporary state: scenario files over HTTP against the
#      native core, the seed story through the demo channel, webhooks, bad input,
#      concurrency, restart, auth, the KV mirror
set -euo pipefail
cd "$(dirname "$0")/.."

cargo test -p stocksync-worker

scripts/build-worker.sh

# The whole upload (JS + wasm) must fit the free plan's 3 MiB after gzip.
limit=$((3 * 1024 * 1024))
gz=$(find crates/worker/build -type f \( -name '*.wasm' -o -name '*.js' -o -name '*.mjs' \) -exec cat {} + | gzip -9 -c | wc -c)
if [ "$gz" -gt "$limit" ]; then
  echo "test-worker: the bundle is $gz bytes gzipped, over the $limit-byte limit" >&2
  exit 1
fi
echo "test-worker: bundle $gz bytes gzipped (limit $limit)"

cargo test -p stocksync-http-tests
