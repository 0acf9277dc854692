// Loads the built browser package (www/pkg, from scripts/build-web.sh) into Node, so the tests
// compare what the page shows with what the very same wasm core answers.
import { readFileSync, existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

export const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const pkgDir = join(root, "www", "pkg");

if (!existsSync(join(pkgDir, "stocksync_web_bg.wasm"))) {
  throw new Error(`${pkgDir} is not built: run scripts/build-web.sh first`);
}

const pkg = await import(join(pkgDir, "stocksync_web.js"));
pkg.initSync({ module: readFileSync(join(pkgDir, "stocksync_web_bg.wasm")) });

export const { Hub, describeSkipReason } = pkg;

/** The seed story as the page builds its example: set-up, then every push delivered. */
export function seedStory() {
  return JSON.parse(readFileSync(join(root, "tests", "scenarios", "seed_story.json"), "utf8"));
}

export function exampleHub() {
  const hub = new Hub();
  for (const e of seedStory().setup) hub.apply(e);
  hub.deliverAll();
  return hub;
}
