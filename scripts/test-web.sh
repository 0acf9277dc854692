#!/usr/bin/env bash
# The browser-package stage of scripts/test.sh, cheapest first:
#   1. the TypeScript types are current (native; fails when crates/web/src/types.d.ts is stale)
#   2. wasm-bindgen tests under Node: every scenario file through the JS-facing API, each answer
#      compared with the core's, plus the binding's own promises (error codes, previews)
#   3. scripts/build-web.sh (www/pkg, sizes printed; budgets: scripts/check-sizes.sh)
#   4. the built (wasm-opt'd) package under Node: node --test tests/web/package.test.mjs
# The page itself is scripts/test-page.sh.
#
#   SKIP_BUILD=1 scripts/test-web.sh     reuse www/pkg as it is
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1mtest-web:\033[0m %s\n' "$*"; }

say "TypeScript types are generated from the Rust types"
cargo test -q -p stocksync-web --features ts --test typescript
say "wasm-bindgen tests (Node)"
cargo test -p stocksync-web --target wasm32-unknown-unknown  # no -q: the runner rejects --quiet
if [ -z "${SKIP_BUILD:-}" ]; then
  say "build the package"
  scripts/build-web.sh
fi

# Size budgets are checked once for both artifacts by scripts/check-sizes.sh (test.sh).

say "the built package under Node"
node --test tests/web/package.test.mjs
