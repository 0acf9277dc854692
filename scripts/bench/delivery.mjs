// Delivery throughput, and orders while a big backlog drains (issue #11), against a running
// worker (scripts/bench.sh starts one with ALLOW_PRIVATE_TARGETS=1):
//
//   node scripts/bench/delivery.mjs <base url> <api key> [demo=40000] [batched=20000] [single=2000] [drain=100000]
//
// Each part maps that many new listings at once (PUT /v1/mappings, in requests of 100,000
// rows at most) to a fresh channel and times from the mapping's request until the Ledger's
// `pending_pushes` (GET /v1/stats) is 0 — and, for webhooks, until a local receiver has every
// push: the rate is listings ÷ that whole time (the demo channel's pushes are delivered inside
// the mapping request itself, so timing from its answer would flatter it). Parts:
//   demo      the built-in demo channel (nothing leaves the Durable Object)
//   batched   a webhook with "batch": true (up to 100 pushes per signed call)
//   single    a webhook, one call per push
//   drain     a batched webhook of `drain` listings while orders arrive one at a time (a second
//             client sends the next order as soon as one is answered): their latency and any
//             refusal, while the alarm delivers the pushes and writes the mapping's KV mirror
// A part of 0 listings is skipped.
import http from 'node:http';

const [base, key, ...sizes] = process.argv.slice(2);
const [demoN, batchedN, singleN, drainN] = [40000, 20000, 2000, 100000].map((d, i) =>
  sizes[i] === undefined ? d : Number(sizes[i]),
);
const auth = { Authorization: `Bearer ${key}` };
const run = `d${Date.now().toString(36)}`;
const location = `LOC-${run}`;

async function call(method, path, body, type = 'application/json') {
  const res = await fetch(base + path, {
    method,
    headers: { ...auth, 'Content-Type': type },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : null;
}

const stats = () => call('GET', '/v1/stats');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Stock for the largest part: sku i at one location (CSV, 100,000 rows per request).
const most = Math.max(demoN, batchedN, singleN, drainN);
await call('PUT', `/v1/locations/${location}`, {});
for (let from = 0; from < most; from += 100000) {
  const rows = ['sku,location,on_hand'];
  for (let i = from; i < Math.min(most, from + 100000); i++) rows.push(`${run}-${i},${location},${(i % 50) + 1}`);
  await call('PUT', '/v1/items', rows.join('\n'), 'text/csv');
}
await waitDrained('stock loaded');
console.log(`stock: ${most} skus loaded; Ledger wasm memory so far (peak): ${((await stats()).wasm_memory_bytes / 2 ** 20).toFixed(1)} MiB`);

// A receiver counting pushes (single bodies, or batch bodies).
let received = 0;
const receiver = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = JSON.parse(Buffer.concat(chunks));
    received += Array.isArray(body.pushes) ? body.pushes.length : 1;
    res.writeHead(200).end('ok');
  });
});
receiver.keepAliveTimeout = 5000;
await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
const hook = `http://127.0.0.1:${receiver.address().port}/hook`;

async function waitDrained(what, want = null) {
  for (;;) {
    const s = await stats();
    if (s.pending_pushes === 0 && (want === null || received >= want)) return;
    await sleep(50);
  }
}

async function part(name, n, target, during = null) {
  if (!n) return null;
  const channel = `${name}-${run}`;
  await call('PUT', `/v1/channels/${channel}`, { locations: [location], target });
  received = 0;
  const t0 = performance.now();
  let mapped = 0;
  for (let from = 0; from < n; from += 100000) {
    const rows = [];
    for (let i = from; i < Math.min(n, from + 100000); i++) rows.push({ channel, listing: `${channel}-${i}`, sku: `${run}-${i}` });
    await call('PUT', '/v1/mappings', rows);
    mapped += rows.length;
  }
  const answered = performance.now();
  const load = during ? during() : null;
  await waitDrained(name, target.kind === 'webhook' ? n : null);
  const done = performance.now();
  const extra = load ? await load.stop() : null;
  const totalS = (done - t0) / 1000;
  console.log(
    `${name.padEnd(8)} ${String(n).padStart(7)} listings: mapping answered in ${((answered - t0) / 1000).toFixed(1)} s, ` +
      `all delivered ${totalS.toFixed(1)} s after the request: ${Math.round(n / totalS)} listings/s` +
      (target.kind === 'webhook' ? ` (receiver got ${received})` : ''),
  );
  if (extra) console.log(`         ${extra}`);
  const st = await stats();
  console.log(`         Ledger wasm memory so far (peak): ${(st.wasm_memory_bytes / 2 ** 20).toFixed(1)} MiB`);
  return n / totalS;
}

// Orders one at a time until stopped: latency percentiles and refusals.
function orders() {
  const times = [];
  let refused = 0;
  let stop = false;
  let n = 0;
  const loop = (async () => {
    while (!stop) {
      const t = performance.now();
      const res = await fetch(`${base}/v1/orders`, {
        method: 'POST',
        headers: { ...auth, 'Content-Type': 'application/json' },
        body: JSON.stringify({ channel: `drain-${run}`, order: `O-${run}-${n++}`, location, lines: [{ sku: `${run}-${n % 1000}`, qty: 1 }] }),
      });
      await res.arrayBuffer();
      times.push(performance.now() - t);
      if (!res.ok) refused++;
    }
  })();
  return {
    async stop() {
      stop = true;
      await loop;
      times.sort((a, b) => a - b);
      const p = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))]?.toFixed(1);
      return `orders during the drain: ${times.length}, p50 ${p(0.5)} ms, p99 ${p(0.99)} ms, max ${p(1)} ms, refused ${refused}`;
    },
  };
}

await part('demo', demoN, { kind: 'demo' });
await part('batched', batchedN, { kind: 'webhook', url: hook, secret: 'bench-secret-0123456789', batch: true });
await part('single', singleN, { kind: 'webhook', url: hook, secret: 'bench-secret-0123456789' });
await part('drain', drainN, { kind: 'webhook', url: hook, secret: 'bench-secret-0123456789', batch: true }, orders);
const s = await stats();
console.log(`KV mirror backlog at the end: ${s.kv_backlog} keys; Ledger wasm memory ${(s.wasm_memory_bytes / 2 ** 20).toFixed(1)} MiB`);
receiver.close();
process.exit(0);
