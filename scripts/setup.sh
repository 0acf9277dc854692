#!/usr/bin/env bash
# Installs everything stocksync's build, demo and tests need on a fresh machine of this kind
# (see ../shared/TOOLCHAIN.md for why each pin is what it is). Every step checks first and
# skips what is already present, so a warm machine pays a few hundred milliseconds.
#
#   scripts/setup.sh            everything (rust targets, cargo tools, npm packages, chromium)
#   scripts/setup.sh --no-browser   skip chromium (for the run command)
set -euo pipefail
cd "$(dirname "$0")/.."

want_browser=1
[ "${1:-}" = "--no-browser" ] && want_browser=0

WORKER_BUILD_VERSION=0.8.7
WASM_BINDGEN_VERSION=0.2.130

say() { printf '\033[1msetup:\033[0m %s\n' "$*"; }

# Rust targets: wasm32-unknown-unknown for the worker and the browser package, wasm32v1-none to
# prove the core is no_std (that target has no std at all).
installed_targets=$(rustup target list --installed)
for t in wasm32-unknown-unknown wasm32v1-none; do
  if ! grep -qx "$t" <<<"$installed_targets"; then
    say "rustup target add $t"
    rustup target add "$t"
  fi
done
for c in rustfmt clippy; do
  if ! rustup component list --installed | grep -q "^$c"; then
    say "rustup component add $c"
    rustup component add "$c"
  fi
done

# Cargo tools, pinned. wasm-bindgen-cli must equal the wasm-bindgen in Cargo.lock; it is
# installed without --locked on purpose (TOOLCHAIN.md: --locked fails on this index).
have_version() { command -v "$1" >/dev/null 2>&1 && "$1" --version 2>/dev/null | grep -q "$2"; }
if ! have_version worker-build "$WORKER_BUILD_VERSION"; then
  say "cargo install worker-build $WORKER_BUILD_VERSION (about 4 minutes cold)"
  cargo install worker-build --version "$WORKER_BUILD_VERSION" --locked
fi
if ! have_version wasm-bindgen "$WASM_BINDGEN_VERSION"; then
  say "cargo install wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 2.5 minutes cold)"
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

# npm packages (wrangler pinned for Node 20, binaryen for wasm-opt, esbuild, playwright-core),
# exactly as package-lock.json says.
if [ -f package-lock.json ]; then
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    say "npm ci"
    npm ci --no-audit --no-fund --loglevel=error
  fi
fi

# Debian's Chromium for the browser tests (never playwright's own download).
if [ "$want_browser" = 1 ] && [ ! -x /usr/bin/chromium ]; then
  say "apt-get install chromium"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium chromium-driver >/dev/null
fi
