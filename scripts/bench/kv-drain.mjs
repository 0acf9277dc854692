// Times the KV mirror's drain (scripts/bench/kv-drain.sh starts it): polls each tenant's
// GET /v1/stats until its kv_backlog is 0 (or MAX_SECONDS pass) and prints the backlog every 5 s
// and, per tenant, how long it took and buckets/s. With ORDERS=<tenant> it places orders on that
// tenant's c0 listings (big.sh's shape: SKU-0000000-c0 …) one at a time while the drain runs,
// and prints their latency.
//
//   node scripts/bench/kv-drain.mjs URL KEY TENANT[,TENANT…] [MAX_SECONDS=1800]
const [url, key, list, maxArg] = process.argv.slice(2);
const tenants = list.split(',');
const max = Number(maxArg || 1800) * 1000;
const orders = process.env.ORDERS;
const headers = (t) => ({ Authorization: `Bearer ${key}`, 'X-Stocksync-Tenant': t, 'Content-Type': 'application/json' });
const stats = async (t) => (await (await fetch(`${url}/v1/stats`, { headers: headers(t) })).json());
const fmt = (n) => Math.round(n).toLocaleString('en');
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? 0; };

const t0 = performance.now();
const state = new Map();
for (const t of tenants) {
  const st = await stats(t); // wakes the object: its alarm starts the drain
  state.set(t, { start: st.kv_backlog, skus: st.skus, doneAt: st.kv_backlog === 0 ? 0 : null });
}
let running = true;
const latencies = [];
const placing = (async () => {
  if (!orders || !state.has(orders)) return;
  const skus = state.get(orders).skus || 1000;
  for (let n = 0; running; n++) {
    const i = (n * 7919) % skus;
    const body = JSON.stringify({ channel: 'c0', order: `KVD-${Date.now()}-${n}`, lines: [{ listing: `SKU-${String(i).padStart(7, '0')}-c0`, qty: 1 }] });
    const s = performance.now();
    const r = await fetch(`${url}/v1/orders`, { method: 'POST', headers: headers(orders), body });
    await r.text();
    if (!r.ok) throw new Error(`order → ${r.status}`);
    latencies.push(performance.now() - s);
  }
})();
let lastLog = 0;
for (;;) {
  const el = performance.now() - t0;
  const line = [];
  for (const [t, s] of state) {
    if (s.doneAt !== null) continue;
    const left = (await stats(t)).kv_backlog;
    if (left === 0) s.doneAt = performance.now() - t0;
    line.push(`${t} ${fmt(left)}`);
  }
  if ([...state.values()].every((s) => s.doneAt !== null) || el > max) break;
  if (el - lastLog >= 5000) {
    lastLog = el;
    console.log(`${(el / 1000).toFixed(0).padStart(5)} s  kv_backlog: ${line.join(', ')}${latencies.length ? `; ${latencies.length} orders so far` : ''}`);
  }
  await new Promise((r) => setTimeout(r, 250));
}
running = false;
await placing;
for (const [t, s] of state) {
  if (s.doneAt === null) {
    const left = (await stats(t)).kv_backlog, el = (performance.now() - t0) / 1000;
    console.log(`${t}: NOT drained after ${el.toFixed(0)} s: ${fmt(s.start - left)} of ${fmt(s.start)} buckets written = ${(s.start - left) / el < 10 ? ((s.start - left) / el).toFixed(1) : fmt((s.start - left) / el)} buckets/s`);
  }
  else console.log(`${t}: ${fmt(s.start)} buckets drained in ${(s.doneAt / 1000).toFixed(1)} s = ${fmt(s.start / Math.max(s.doneAt / 1000, 0.001))} buckets/s`);
}
if (latencies.length) console.log(`orders on ${orders} meanwhile, one at a time: ${latencies.length}, p50 ${pct(latencies, 0.5).toFixed(1)} ms, p99 ${pct(latencies, 0.99).toFixed(1)} ms, max ${Math.max(...latencies).toFixed(0)} ms`);
