#!/usr/bin/env bash
# The one command that tests everything (README: "Test everything"). On a fresh machine of this
# kind it installs what it needs first (scripts/setup.sh skips what is present), then:
#
#   1. cargo fmt --check, and clippy with warnings denied: the native crates, and the wasm
#      crates (worker, browser package, wasm benches) for wasm32-unknown-unknown
#   2. the core: unit, scenario, bad-input, preview and simulation tests (native); the channel
#      codecs against their strict local fakes over HTTP (crates/channels)
#   3. the core and the channel codecs built for wasm32v1-none (a target without std: proves
#      both are no_std)
#   4. the browser package: built; wasm-bindgen tests and every scenario file through the
#      package under Node; the built ES module and its .d.ts (scripts/test-web.sh)
#   5. the worker: built; the HTTP tests against `wrangler dev` — scenario files over HTTP,
#      the seed story, webhooks, bad input, concurrency, restart, auth (scripts/test-worker.sh)
#   6. size budgets: worker ≤ 1 MB gzip, browser package ≤ 152 KB gzip (scripts/check-sizes.sh)
#   7. the preview page end to end in headless Chromium, served by `wrangler dev`
#      (scripts/test-page.sh: the example, the demo merchant, and a 100,000-sku merchant the
#      page must browse without the export; screenshots in out/screenshots/)
#
# Environment: SIM_SEEDS / SIM_STEPS size the simulation (defaults in the test).
set -euo pipefail
cd "$(dirname "$0")/.."

stage() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
started=$(date +%s)

stage "set-up"
scripts/setup.sh

stage "format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --exclude stocksync-worker --exclude stocksync-web --all-targets --all-features -- -D warnings
cargo clippy -p stocksync-worker -p stocksync-web --target wasm32-unknown-unknown -- -D warnings
cargo clippy -p stocksync-bench --features wasm --target wasm32-unknown-unknown -- -D warnings

stage "core: unit, scenario, bad-input, preview and simulation tests"
cargo test -p stocksync-core --all-features
# The channel codecs (Shopify, WooCommerce) and their tests against the strict local fakes.
cargo test -p stocksync-channels --all-features

stage "core and channel codecs: no_std build for wasm32v1-none"
cargo build -p stocksync-core --target wasm32v1-none --release
cargo build -p stocksync-channels --target wasm32v1-none --release

stage "browser package"
scripts/test-web.sh

stage "worker under wrangler dev"
scripts/test-worker.sh

stage "size budgets"
scripts/check-sizes.sh

stage "preview page in headless Chromium"
scripts/test-page.sh

stage "all tests passed in $(( $(date +%s) - started )) s"
