#!/usr/bin/env bash
# The browser-package stage of scripts/test.sh, cheapest first:
#   1. the TypeScript types are current (native; fails when crates/web/src/types.d.ts is stale)
#   2. wasm-bindgen tests under Node: every scenario file through the JS-facing API, each answer
#      compared with the core's, plus the binding's own promises (error codes, previews)
#   3. scripts/build-web.sh (www/pkg, sizes printed), and the size budget
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

# The download (.wasm + .js, gzip -9). The aim is 150 KB; the check fails only well past where
# the package is today, so that a real regression (a second copy of the deserializers, a new
# dependency) stops the build. See the README's notes on size.
limit=${WEB_GZIP_LIMIT:-190000}
gz=$(( $(gzip -9 -c www/pkg/stocksync_web_bg.wasm | wc -c) + $(gzip -9 -c www/pkg/stocksync_web.js | wc -c) ))
[ "$gz" -le "$limit" ] || { say "the package is $gz bytes gzipped, over $limit"; exit 1; }
say "package $gz bytes gzipped (limit $limit, aim 150000)"

say "the built package under Node"
node --test tests/web/package.test.mjs
