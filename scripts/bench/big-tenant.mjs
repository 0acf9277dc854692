// The big-merchant benchmark (BENCHMARKS.md "A million skus"): one wrangler dev, a big tenant
// of SKUS skus × 5 locations and 3 listings per sku on 10 channels (channel c0 lists every
// sku), beside a small tenant of 1,000 skus of the same shape, both loaded through the bulk
// routes. Prints every figure as it is measured.
//
//   node scripts/bench/big-tenant.mjs URL KEY SKUS RESTART_CMD
//
// Stock goes in through PUT /v1/items (CSV, 100,000 rows a request), listings through PUT
// /v1/mappings (CSV, 100,000 rows a request: the route a merchant migrating with a CSV of
// listing mappings uses). Every sku has 10 on hand at each of 5 locations and the channels
// have no rules, so each new listing plans a first push of 50 to its demo channel (delivered
// inside the request that plans it; a push to any other kind of channel waits for the alarm).
// After the load the benchmark waits until no push is pending and the KV mirror (a mark per
// bucket the load touched) is written, and says how long each took, before anything is timed
// beside it (BIG_SETTLE_CAP_S, default 1800, caps the wait). The NDJSON import is timed as the
// backup's restore. PUT /v1/mappings is timed once more on the loaded hub at 100,000 rows.
// RESTART_CMD restarts wrangler dev on the same state (for the first-order-after-restart figure).
import { execSync } from 'node:child_process';
import { createHash } from 'node:crypto';

const [url, key, skusArg, restartCmd] = process.argv.slice(2);
const SKUS = Number(skusArg || 1000000);
const LOCS = ['L0', 'L1', 'L2', 'L3', 'L4'];
const CHANNELS = Array.from({ length: 10 }, (_, i) => `c${i}`);
const ROWS = 100000;

let restarts = 0;
async function call(tenant, method, path, body, type = 'application/json', headers = {}) {
  let t0 = performance.now();
  const send = () => fetch(url + path, {
    method,
    headers: { Authorization: `Bearer ${key}`, 'X-Stocksync-Tenant': tenant, 'Content-Type': type, ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  let res;
  try {
    res = await send();
  } catch (e) {
    // A keep-alive connection to the instance before a restart fails at once: retry on a new one.
    t0 = performance.now();
    res = await send();
  }
  let text = await res.text();
  // workerd under wrangler dev resets the object now and then during long bulk loads here
  // ("Your worker restarted mid-request"; the request's transaction rolled back): count it and
  // send the request again.
  for (let tries = 0; res.status === 503 && text.includes('restarted mid-request') && tries < 5; tries++) {
    restarts++;
    res = await send();
    text = await res.text();
  }
  const ms = performance.now() - t0;
  if (!res.ok && res.status !== 202) throw new Error(`${method} ${path} → ${res.status}: ${text.slice(0, 300)}`);
  return { ms, status: res.status, json: () => JSON.parse(text), text };
}

const sku = (i) => `SKU-${String(i).padStart(7, '0')}`;
const fmt = (n) => Math.round(n).toLocaleString('en');
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))]; };
const listingsOf = (i) => [0, 1 + (i % 9), 1 + ((i + 4) % 9)].map((c) => ({ channel: `c${c}`, listing: `${sku(i)}-c${c}` }));

async function load(tenant, n) {
  const mem = [];
  await call(tenant, 'POST', '/v1/import?first=true', JSON.stringify({ type: 'meta', version: 1, next_seq: 1 }) + '\n', 'application/x-ndjson');
  for (const l of LOCS) await call(tenant, 'PUT', `/v1/locations/${l}`, { name: l });
  for (const c of CHANNELS) await call(tenant, 'PUT', `/v1/channels/${c}`, { locations: LOCS, target: { kind: 'demo' } });
  // Stock: CSV, 100,000 rows a request.
  let t0 = performance.now(), rows = 0, lines = ['sku,location,on_hand'];
  const flush = async () => { await call(tenant, 'PUT', '/v1/items', lines.join('\n') + '\n', 'text/csv'); rows += lines.length - 1; lines = ['sku,location,on_hand']; };
  for (let i = 0; i < n; i++) {
    for (const l of LOCS) lines.push(`${sku(i)},${l},10`);
    if (lines.length > ROWS) await flush();
  }
  if (lines.length > 1) await flush();
  const itemsS = (performance.now() - t0) / 1000;
  console.log(`${tenant}: PUT /v1/items ${fmt(rows)} rows in ${itemsS.toFixed(1)} s = ${fmt(rows / itemsS)} rows/s`);
  mem.push((await call(tenant, 'GET', '/v1/stats')).json().wasm_memory_bytes);
  // Listings: PUT /v1/mappings, CSV, 100,000 rows a request (~3.5 MB each).
  t0 = performance.now();
  let count = 0, pushes = 0, rowsCsv = ['channel,listing,sku'];
  const send = async () => {
    const r = await call(tenant, 'PUT', '/v1/mappings', rowsCsv.join('\n') + '\n', 'text/csv');
    count += rowsCsv.length - 1;
    pushes += r.json().pushes;
    rowsCsv = ['channel,listing,sku'];
    if (process.env.BIG_VERBOSE) console.log(`  ${fmt(count)} mappings: ${JSON.stringify((await call(tenant, 'GET', '/v1/stats')).json())}`);
  };
  for (let i = 0; i < n; i++) {
    for (const l of listingsOf(i)) {
      rowsCsv.push(`${l.channel},${l.listing},${sku(i)}`);
      if (rowsCsv.length > ROWS) await send();
    }
  }
  if (rowsCsv.length > 1) await send();
  const listS = (performance.now() - t0) / 1000;
  const answered = performance.now();
  console.log(`${tenant}: PUT /v1/mappings ${fmt(count)} CSV rows in ${listS.toFixed(1)} s = ${fmt(count / listS)} rows/s (${fmt(pushes)} first pushes planned)`);
  const st = (await call(tenant, 'GET', '/v1/stats')).json();
  mem.push(st.wasm_memory_bytes);
  console.log(`${tenant}: stats ${JSON.stringify(st)}`);
  console.log(`${tenant}: SQLite ${fmt(st.sqlite_bytes)} bytes = ${fmt(st.sqlite_bytes / st.listings)} bytes per listing (everything included)`);
  return { mem, answered, kv: st.kv_backlog, pending: st.pending_pushes };
}

// Waits until each tenant's load has settled: its first pushes delivered (`pending_pushes`
// 0) and its KV mirror written (`kv_backlog` 0). Says, per tenant, how long each took after
// its load answered and at what rate, so what follows is not timed beside that work (or says
// plainly that it is, past the cap).
async function settle(loads) {
  const cap = Number(process.env.BIG_SETTLE_CAP_S || 1800) * 1000;
  const start = performance.now();
  const open = new Map(loads.map((l) => [l.tenant, { ...l, pendingAt: null, kvAt: null }]));
  let lastLog = start, st = {};
  for (;;) {
    for (const [t, l] of open) {
      st[t] = (await call(t, 'GET', '/v1/stats')).json();
      const now = performance.now();
      l.kv ??= st[t].kv_backlog;
      l.pending ??= st[t].pending_pushes;
      if (l.pendingAt === null && st[t].pending_pushes === 0) l.pendingAt = now;
      if (l.kvAt === null && st[t].kv_backlog === 0) l.kvAt = now;
    }
    if ([...open.values()].every((l) => l.pendingAt !== null && l.kvAt !== null)) break;
    if (performance.now() - start > cap) break;
    if (performance.now() - lastLog > 30000) {
      lastLog = performance.now();
      console.log(`  settling (${((lastLog - start) / 1000).toFixed(0)} s): ${[...open.keys()].map((t) => `${t} pending ${fmt(st[t].pending_pushes)}, kv_backlog ${fmt(st[t].kv_backlog)}`).join('; ')}`);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  for (const [t, l] of open) {
    const s = (at) => (at - l.answered) / 1000;
    if (l.pendingAt !== null) console.log(`${t}: first pushes delivered ${s(l.pendingAt).toFixed(1)} s after ${l.since ?? 'the load answered'} (${fmt(l.pending)} pending then${l.pending ? `, ${fmt(l.pending / Math.max(s(l.pendingAt), 0.001))}/s` : ''})`);
    if (l.kvAt !== null) console.log(`${t}: KV mirror drained ${s(l.kvAt).toFixed(1)} s after ${l.since ?? 'the load answered'} (${fmt(l.kv)} buckets waiting then${l.kv ? `, ${fmt(l.kv / Math.max(s(l.kvAt), 0.001))} buckets/s` : ''})`);
    if (l.pendingAt === null || l.kvAt === null) console.log(`${t}: NOT SETTLED after ${(cap / 1000).toFixed(0)} s: pending ${fmt(st[t].pending_pushes)}, kv_backlog ${fmt(st[t].kv_backlog)} — the figures below ran beside that work`);
  }
}

// Waits until a tenant has no push waiting (so two exports of it agree).
async function drained(tenant) {
  for (let k = 0; k < 600; k++) {
    if ((await call(tenant, 'GET', '/v1/stats')).json().pending_pushes === 0) return;
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`${tenant}: pushes still pending after 10 minutes`);
}

let orderNo = 0;
const order = (tenant, i) => call(tenant, 'POST', '/v1/orders', { channel: 'c0', order: `B-${orderNo++}`, lines: [{ listing: `${sku(i)}-c0`, qty: 1 }] });

async function steady(tenant, n, count) {
  const ms = [];
  for (let k = 0; k < count; k++) ms.push((await order(tenant, (k * 7919) % n)).ms);
  return ms;
}

const big = 'big', small = 'small';
// BIG_SKIP_LOAD=1 reuses a state directory loaded by an earlier run (BIG_STATE=…); BIG_ONLY=
// a comma-separated list of parts (restart, steady, pages, backup, recompute, mappings) runs
// only those.
const only = (part) => !process.env.BIG_ONLY || process.env.BIG_ONLY.split(',').includes(part);
let memBig = [];
if (process.env.BIG_SKIP_LOAD) {
  // A loaded state: whatever the last run left waiting (a mirror backlog, pushes) settles first.
  const now = performance.now();
  await settle([big, small].map((tenant) => ({ tenant, answered: now, since: 'the wait began' })));
} else {
  const b = await load(big, SKUS), s = await load(small, 1000);
  memBig = b.mem;
  await settle([{ tenant: big, ...b }, { tenant: small, ...s }]);
}

// First order after a restart, each tenant cold.
if (restartCmd && only('restart')) {
  execSync(restartCmd, { stdio: 'inherit' });
  const s = await order(small, 17), b = await order(big, 17);
  console.log(`first order after restart: small ${s.ms.toFixed(1)} ms, big ${b.ms.toFixed(1)} ms (${(b.ms / s.ms).toFixed(2)}×; target ≤ 1.5×)`);
  const s2 = await order(small, 18), b2 = await order(big, Math.floor(SKUS / 2));
  console.log(`second order: small ${s2.ms.toFixed(1)} ms, big ${b2.ms.toFixed(1)} ms`);
}
if (only('steady')) {
const sm = await steady(small, 1000, 300), bg = await steady(big, SKUS, 300);
console.log(`steady orders, 1 connection, 300 each: small p50 ${pct(sm, 0.5).toFixed(1)} ms p99 ${pct(sm, 0.99).toFixed(1)}; big p50 ${pct(bg, 0.5).toFixed(1)} ms p99 ${pct(bg, 0.99).toFixed(1)} (${(pct(bg, 0.5) / pct(sm, 0.5)).toFixed(2)}×; target ≤ 1.5×)`);

}

// Sync pages.
if (only('pages')) for (const path of ['/v1/sync?status=failing&limit=100', '/v1/sync?limit=100', `/v1/sync?limit=100&cursor=${encodeURIComponent(JSON.stringify(['c0', `${sku(SKUS - 50)}-c0`]))}`, `/v1/sync?sku=${sku(SKUS - 3)}`]) {
  const t = [];
  for (let k = 0; k < 5; k++) t.push((await call(big, 'GET', path)).ms);
  console.log(`GET ${path}: median ${pct(t, 0.5).toFixed(1)} ms of 5 (target < 100 ms)`);
}

// Backup of the whole big hub and its restore into a third tenant: the NDJSON export streamed,
// cut into 10,000-line import chunks as it arrives (the first one replaces), then both tenants
// exported again and compared by SHA-256 (equal hubs give equal streams).
if (!process.env.BIG_SKIP_BACKUP && only('backup')) {
  const restore = 'restore';
  const exportStream = async (tenant, onLines) => {
    const res = await fetch(url + '/v1/export', { headers: { Authorization: `Bearer ${key}`, 'X-Stocksync-Tenant': tenant, Accept: 'application/x-ndjson' } });
    if (!res.ok) throw new Error(`export ${tenant}: ${res.status}`);
    const hash = createHash('sha256');
    const decoder = new TextDecoder();
    let rest = '', lines = 0, bytes = 0, last = '';
    for await (const part of res.body) {
      hash.update(part);
      bytes += part.length;
      const text = rest + decoder.decode(part, { stream: true });
      const cut = text.lastIndexOf('\n');
      rest = text.slice(cut + 1);
      if (cut >= 0) {
        const got = text.slice(0, cut).split('\n');
        lines += got.length;
        last = got[got.length - 1];
        if (onLines) await onLines(got);
      }
    }
    // A whole stream ends with {"type":"end","records":N}; one cut short does not.
    let end = null;
    try { end = JSON.parse(last); } catch {}
    const whole = end?.type === 'end' && end.records === lines - 1;
    if (!whole) console.log(`backup: the export of ${tenant} is NOT whole: ${lines} lines, last ${last.slice(0, 120)}`);
    return { hash: hash.digest('hex'), lines, bytes, whole };
  };
  await drained(big);
  let t0 = performance.now(), pending = [], first = true, imported = 0;
  const sendChunk = async () => {
    await call(restore, 'POST', `/v1/import${first ? '?first=true' : ''}`, pending.join('\n') + '\n', 'application/x-ndjson');
    imported += pending.length; first = false; pending = [];
    memBig.push((await call(restore, 'GET', '/v1/stats')).json().wasm_memory_bytes);
  };
  const exported = await exportStream(big, async (got) => {
    for (const l of got) { pending.push(l); if (pending.length >= 10000) await sendChunk(); }
  });
  if (pending.length) await sendChunk();
  const s = (performance.now() - t0) / 1000;
  console.log(`backup: exported ${fmt(exported.lines)} lines (${fmt(exported.bytes / 1048576)} MiB) and restored them into a new tenant in ${s.toFixed(0)} s (${fmt(imported / s)} lines/s end to end)`);
  // The restore left pushes and a mark per bucket of its hub for the KV mirror: both are
  // done before the export is timed again.
  await settle([{ tenant: restore, answered: performance.now(), since: 'the restore answered' }]);
  t0 = performance.now();
  const again = await exportStream(big);
  console.log(`backup: export alone ${((performance.now() - t0) / 1000).toFixed(1)} s = ${fmt(again.lines / ((performance.now() - t0) / 1000))} lines/s`);
  const copy = await exportStream(restore);
  console.log(`backup: restored hub ${copy.hash === again.hash ? 'EQUAL to' : 'DIFFERENT from'} the original (${fmt(copy.lines)} vs ${fmt(again.lines)} lines; streams whole: ${exported.whole}, ${again.whole}, ${copy.whole})`);
}

// A channel-wide recompute of every listing of c0 (SKUS listings), with orders meanwhile.
if (only('recompute')) {
  const r = await call(big, 'PUT', '/v1/channels/c0', { locations: LOCS, rules: { buffer: 1 }, target: { kind: 'demo' } });
  const job = r.json().job;
  console.log(`PUT /v1/channels/c0 (buffer 1): ${r.status} ${r.text} in ${r.ms.toFixed(1)} ms`);
  const t0 = performance.now(), ms = [];
  let j;
  for (;;) {
    ms.push((await order(big, (orderNo * 104729) % SKUS)).ms);
    if (ms.length % 50 === 0) {
      j = (await call(big, 'GET', `/v1/jobs/${job}`)).json();
      memBig.push((await call(big, 'GET', '/v1/stats')).json().wasm_memory_bytes);
      if (j.state !== 'running' || performance.now() - t0 > 600000) break;
    }
  }
  const s = (performance.now() - t0) / 1000;
  console.log(`recompute job: ${j.state}, ${fmt(j.done)} of ${fmt(j.total)} listings in ${s.toFixed(0)} s (${fmt(j.done / s)} listings/s); ${ms.length} orders meanwhile: p50 ${pct(ms, 0.5).toFixed(1)} ms p99 ${pct(ms, 0.99).toFixed(1)} ms max ${Math.max(...ms).toFixed(0)} ms (target p99 < 100 ms)`);
}
// Last, because its 100,000 first pushes keep the object busy delivering for minutes.
// Mappings through PUT /v1/mappings, timed on the big tenant: 100,000 rows (one new listing on
// c9 for each of 100,000 skus; each plans its first push).
if (only('mappings')) {
  const lines = ['channel,listing,sku'];
  for (let k = 0; k < ROWS; k++) lines.push(`c9,M-${k},${sku(k % SKUS)}`);
  const r = await call(big, 'PUT', '/v1/mappings', lines.join('\n') + '\n', 'text/csv');
  console.log(`big: PUT /v1/mappings ${fmt(ROWS)} CSV rows in ${(r.ms / 1000).toFixed(1)} s = ${fmt(ROWS / (r.ms / 1000))} rows/s (${r.json().pushes} first pushes planned)`);
}

const st = (await call(big, 'GET', '/v1/stats')).json();
memBig.push(st.wasm_memory_bytes);
console.log(`object restarts seen (and retried): ${restarts}`);
console.log(`big: Ledger wasm memory, peak seen ${fmt(Math.max(...memBig) / 1048576)} MiB (target < 32 MB); stats ${JSON.stringify(st)}`);
