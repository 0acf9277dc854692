#!/usr/bin/env bash
# The worker stage of scripts/test.sh:
#   1. the worker crate's own unit tests (native): routes, status map, CSV, signatures
#   2. the release build (scripts/build-worker.sh)
#   3. the HTTP tests (crates/http-tests) against `wrangler dev` instances they start and stop
#      themselves on free ports with temporary state: scenario files over HTTP against the
#      native core, the seed story through the demo channel, webhooks, bad input,
#      concurrency, restart, auth, the KV mirror
set -euo pipefail
cd "$(dirname "$0")/.."

cargo test -p stocksync-worker

scripts/build-worker.sh

# Size budgets: scripts/check-sizes.sh, run by test.sh after this stage.

cargo test -p stocksync-http-tests
