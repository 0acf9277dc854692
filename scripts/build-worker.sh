#!/usr/bin/env bash
# Builds the stocksync Worker (crates/worker) in release mode with worker-build, entirely offline:
# wasm-bindgen, wasm-opt and esbuild are handed to worker-build by absolute path (it would
# otherwise try to download them from GitHub and fail; see ../shared/TOOLCHAIN.md).
#
#   scripts/build-worker.sh           release build into crates/worker/build/
#   scripts/build-worker.sh --dev     unoptimised (debug) build
#
# Output: crates/worker/build/index.js (the module wrangler.toml's `main` points at) and the
# .wasm beside it. Prints the bundle's raw and gzip sizes at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

profile=--release
[ "${1:-}" = "--dev" ] && profile=--dev

die() { printf 'build-worker: %s\n' "$*" >&2; exit 1; }

# Tools, each resolved to an absolute path and checked: worker-build falls back to a download
# (with only a warning) when a *_BIN path does not exist, so a missing tool must stop us here.
wasm_bindgen=$(command -v wasm-bindgen) || die "wasm-bindgen not on PATH (run scripts/setup.sh)"
command -v worker-build >/dev/null || die "worker-build not on PATH (run scripts/setup.sh)"
wasm_opt="$root/node_modules/.bin/wasm-opt"
esbuild="$root/node_modules/.bin/esbuild"
[ -x "$wasm_opt" ] || die "$wasm_opt missing (npm ci)"
[ -x "$esbuild" ] || die "$esbuild missing (npm ci)"

# wasm-bindgen-cli must match the wasm-bindgen crate in Cargo.lock exactly.
lock_ver=$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock 2>/dev/null || true)
cli_ver=$("$wasm_bindgen" --version | awk '{print $2}')
if [ -n "$lock_ver" ] && [ "$lock_ver" != "$cli_ver" ]; then
  die "wasm-bindgen-cli is $cli_ver but Cargo.lock has wasm-bindgen $lock_ver"
fi

export WASM_BINDGEN_BIN="$wasm_bindgen"
export WASM_OPT_BIN="$wasm_opt"
export ESBUILD_BIN="$esbuild"

start=$(date +%s.%N)
worker-build "$profile" crates/worker
end=$(date +%s.%N)

out=crates/worker/build
[ -f "$out/index.js" ] || die "$out/index.js was not produced"
wasm=$(find "$out" -name '*.wasm' -print | head -n1)
[ -n "$wasm" ] || die "no .wasm under $out"

size() { printf '%8d B raw %8d B gzip  %s\n' "$(wc -c <"$1")" "$(gzip -9 -c "$1" | wc -c)" "$1"; }
printf 'build-worker: %s build took %.1f s\n' "${profile#--}" "$(awk -v a="$start" -v b="$end" 'BEGIN{print b-a}')"
while IFS= read -r f; do size "$f"; done < <(find "$out" -type f \( -name '*.wasm' -o -name '*.js' -o -name '*.mjs' \) | sort)
total_raw=$(find "$out" -type f \( -name '*.wasm' -o -name '*.js' -o -name '*.mjs' \) -exec cat {} + | wc -c)
total_gz=$(find "$out" -type f \( -name '*.wasm' -o -name '*.js' -o -name '*.mjs' \) -exec cat {} + | gzip -9 -c | wc -c)
printf '%8d B raw %8d B gzip  total (Cloudflare limit: 3 MB gzip free, 10 MB paid)\n' "$total_raw" "$total_gz"
