#!/usr/bin/env bash
# The one command that tests everything (README: "Run every test"). On a fresh machine of this
# kind it installs what it needs first (scripts/setup.sh skips what is present), then:
#
#   1. cargo fmt --check, clippy with warnings denied (native crates, and the wasm crates for
#      wasm32-unknown-unknown)
#   2. the core: unit, scenario, bad-input and simulation tests (native)
#   3. the core built for wasm32v1-none (a target without std: proves the core is no_std)
#   4. the browser package: built, size-checked, wasm-bindgen tests and the scenario files
#      through the package under Node
#   5. the worker: built, size-checked, and the HTTP tests against `wrangler dev` (scenario
#      files over HTTP, webhooks, bad input, concurrency, restart, auth)
#   6. the preview page end to end in headless Chromium, served by `wrangler dev`
#
# Environment: SIM_SEEDS / SIM_STEPS size the simulation (defaults in the test).
set -euo pipefail
cd "$(dirname "$0")/.."

stage() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

stage "set-up"
scripts/setup.sh

stage "format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --exclude stocksync-worker --exclude stocksync-web --all-targets --all-features -- -D warnings
if [ -d crates/worker ] || [ -d crates/web ]; then
  wasm_crates=()
  [ -d crates/worker ] && wasm_crates+=(-p stocksync-worker)
  [ -d crates/web ] && wasm_crates+=(-p stocksync-web)
  cargo clippy "${wasm_crates[@]}" --target wasm32-unknown-unknown -- -D warnings
fi

stage "core: unit, scenario, bad-input and simulation tests"
cargo test -p stocksync-core --all-features

stage "core: no_std build for wasm32v1-none"
cargo build -p stocksync-core --target wasm32v1-none --release

if [ -x scripts/test-web.sh ]; then
  stage "browser package"
  scripts/test-web.sh
fi

if [ -x scripts/test-worker.sh ]; then
  stage "worker under wrangler dev"
  scripts/test-worker.sh
fi

if [ -x scripts/test-page.sh ]; then
  stage "preview page in headless Chromium"
  scripts/test-page.sh
fi

stage "all tests passed"
