// Runs stocksync-bench's wasm build under Node: the same order loop and resync plan as the
// native `timing` example, so the two compare like for like. Called by scripts/bench.sh.
//   node scripts/bench-wasm.mjs <pkg dir> <skus>...
import { createRequire } from 'node:module';
import path from 'node:path';

const [pkgDir, ...sizes] = process.argv.slice(2);
const require = createRequire(import.meta.url);
const bench = require(path.resolve(pkgDir, 'stocksync_bench.js'));
for (const skus of (sizes.length ? sizes : ['1000', '100000']).map(Number)) {
  const order_ns = bench.bench_order_ns(skus, 200000);
  const resync_ms = bench.bench_resync_ms(skus);
  console.log(JSON.stringify({ runtime: 'wasm', skus, order_ns: Math.round(order_ns), resync_ms: Number(resync_ms.toFixed(1)) }));
}
