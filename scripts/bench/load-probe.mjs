#!/usr/bin/env node
// A bulk-load probe for profiling (scripts/bench/profile.mjs): `setup` loads N skus × 5
// locations of stock and 10 demo channels into tenant `probe`; `listings` imports their 3 listings
// per sku as NDJSON backup chunks (in sync); `mappings` links one new listing per sku through PUT
// /v1/mappings (CSV). Prints rows per second.
//
//   node scripts/bench/load-probe.mjs URL KEY N setup|listings|mappings
const [url, key, nArg, mode] = process.argv.slice(2);
const N = Number(nArg);
const LOCS = ['L0', 'L1', 'L2', 'L3', 'L4'];
const sku = (i) => `SKU-${String(i).padStart(7, '0')}`;
async function call(method, path, body, type = 'application/json') {
  const res = await fetch(url + path, { method, headers: { Authorization: `Bearer ${key}`, 'X-Stocksync-Tenant': 'probe', 'Content-Type': type }, body });
  const text = await res.text();
  if (!res.ok && res.status !== 202) throw new Error(`${method} ${path} → ${res.status}: ${text.slice(0, 300)}`);
  return text;
}
const t0 = performance.now();
let rows = 0;
if (mode === 'setup') {
  await call('POST', '/v1/import?first=true', '{"type":"meta","version":1,"next_seq":1}\n', 'application/x-ndjson');
  for (const l of LOCS) await call('PUT', `/v1/locations/${l}`, JSON.stringify({ name: l }));
  for (let c = 0; c < 10; c++) await call('PUT', `/v1/channels/c${c}`, JSON.stringify({ locations: LOCS, target: { kind: 'demo' } }));
  for (let start = 0; start < N; start += 20000) {
    const lines = ['sku,location,on_hand'];
    for (let i = start; i < Math.min(N, start + 20000); i++) for (const l of LOCS) lines.push(`${sku(i)},${l},10`);
    await call('PUT', '/v1/items', lines.join('\n') + '\n', 'text/csv');
    rows += lines.length - 1;
  }
} else if (mode === 'listings') {
  let chunk = [];
  const send = async () => { await call('POST', '/v1/import', chunk.join('\n') + '\n', 'application/x-ndjson'); rows += chunk.length; chunk = []; };
  for (let i = 0; i < N; i++) {
    for (const c of [0, 1 + (i % 9), 1 + ((i + 4) % 9)]) chunk.push(JSON.stringify({ type: 'listing', listing: { channel: `c${c}`, listing: `${sku(i)}-c${c}`, sku: sku(i), last_sent: 50, acked_seq: 0 } }));
    if (chunk.length >= 10000) await send();
  }
  if (chunk.length) await send();
} else if (mode === 'mappings') {
  const lines = ['channel,listing,sku'];
  for (let i = 0; i < N; i++) lines.push(`c9,M-${i},${sku(i)}`);
  await call('PUT', '/v1/mappings', lines.join('\n') + '\n', 'text/csv');
  rows = N;
} else throw new Error(`unknown mode ${mode}`);
const s = (performance.now() - t0) / 1000;
console.log(`${mode}: ${rows} rows in ${s.toFixed(1)} s = ${Math.round(rows / s)} rows/s`);
