#!/usr/bin/env bash
# Builds the browser package (crates/web) into www/pkg/, where the worker serves it beside the
# preview page: an ES module, the optimised .wasm, the .d.ts (with every type generated from
# the Rust types) and a package.json. Offline: wasm-bindgen is the cargo-installed CLI pinned
# to Cargo.lock's version, wasm-opt the npm binaryen (Debian's is too old; TOOLCHAIN.md).
#
#   scripts/build-web.sh            release build into www/pkg/
#   PKG_DIR=some/dir scripts/build-web.sh   somewhere else
#
# Prints the raw and gzip (-9) size of each file and of the .wasm + .js an app downloads.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
pkg=${PKG_DIR:-www/pkg}

die() { printf 'build-web: %s\n' "$*" >&2; exit 1; }

wasm_bindgen=$(command -v wasm-bindgen) || die "wasm-bindgen not on PATH (run scripts/setup.sh)"
wasm_opt="$root/node_modules/.bin/wasm-opt"
[ -x "$wasm_opt" ] || die "$wasm_opt missing (npm ci)"
lock_ver=$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock)
cli_ver=$("$wasm_bindgen" --version | awk '{print $2}')
[ "$lock_ver" = "$cli_ver" ] || die "wasm-bindgen-cli is $cli_ver but Cargo.lock has wasm-bindgen $lock_ver"

start=$(date +%s.%N)
# opt-level "z" for this build only (the root profile's "s" stays for the worker): 7 KB gzip
# smaller, and a preview of thousands of listings is still instant. Cargo keeps these
# artifacts apart from the "s" ones, so the two builds do not undo each other.
CARGO_PROFILE_RELEASE_OPT_LEVEL=z cargo build --release --target wasm32-unknown-unknown -p stocksync-web
wasm="target/wasm32-unknown-unknown/release/stocksync_web.wasm"
[ -f "$wasm" ] || die "$wasm was not produced"

# Assemble in a scratch directory and swap it in whole, so a server never sees half a package.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/stocksync-web.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
"$wasm_bindgen" --target web --out-dir "$tmp" --out-name stocksync_web "$wasm"
# --converge repeats -Oz until it stops shrinking; --low-memory-unused lets it fold address
# arithmetic, safe for Rust's wasm output (its stack and data start at 1 MiB, far above the
# first KiB it promises not to touch). Together about 2 KB gzip.
"$wasm_opt" -Oz --converge --low-memory-unused --strip-producers --strip-debug \
  "$tmp/stocksync_web_bg.wasm" -o "$tmp/stocksync_web_bg.wasm.opt"
mv "$tmp/stocksync_web_bg.wasm.opt" "$tmp/stocksync_web_bg.wasm"

# The seed story drives the page's built-in example and step-through.
cp tests/scenarios/seed_story.json "$tmp/seed_story.json"

version=$(awk -F'"' '/^version = / {print $2; exit}' Cargo.toml)
cat >"$tmp/package.json" <<JSON
{
  "name": "stocksync-web",
  "version": "$version",
  "description": "stocksync's core in the browser: load a snapshot, preview what a sync would send, and why.",
  "license": "Apache-2.0",
  "type": "module",
  "main": "stocksync_web.js",
  "module": "stocksync_web.js",
  "types": "stocksync_web.d.ts",
  "exports": {
    ".": { "types": "./stocksync_web.d.ts", "default": "./stocksync_web.js" },
    "./stocksync_web_bg.wasm": "./stocksync_web_bg.wasm"
  },
  "files": ["stocksync_web.js", "stocksync_web.d.ts", "stocksync_web_bg.wasm", "stocksync_web_bg.wasm.d.ts", "seed_story.json"],
  "sideEffects": ["./stocksync_web.js"]
}
JSON
rm -f "$tmp/.gitignore"

mkdir -p "$(dirname "$pkg")"
rm -rf "$pkg.old"
[ -d "$pkg" ] && mv "$pkg" "$pkg.old"
mv "$tmp" "$pkg"
chmod 755 "$pkg"
rm -rf "$pkg.old"
trap - EXIT
end=$(date +%s.%N)

size() { printf '%8d B raw %8d B gzip  %s\n' "$(wc -c <"$1")" "$(gzip -9 -c "$1" | wc -c)" "$1"; }
printf 'build-web: built %s in %.1f s\n' "$pkg" "$(awk -v a="$start" -v b="$end" 'BEGIN{print b-a}')"
for f in "$pkg"/*; do size "$f"; done
raw=$(( $(wc -c <"$pkg/stocksync_web_bg.wasm") + $(wc -c <"$pkg/stocksync_web.js") ))
gz=$(( $(gzip -9 -c "$pkg/stocksync_web_bg.wasm" | wc -c) + $(gzip -9 -c "$pkg/stocksync_web.js" | wc -c) ))
br=$(node -e 'const z = require("zlib"), fs = require("fs"); let n = 0;
  for (const f of process.argv.slice(1)) n += z.brotliCompressSync(fs.readFileSync(f), { params: { [z.constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
  console.log(n)' "$pkg/stocksync_web_bg.wasm" "$pkg/stocksync_web.js")
printf '%8d B raw %8d B gzip  download (.wasm + .js; aim 150 KB gzip; %d B brotli-11)\n' "$raw" "$gz" "$br"
