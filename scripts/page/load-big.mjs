#!/usr/bin/env node
// Loads a big merchant into a worker for the page's live test, through `POST /v1/import`
// (NDJSON backup lines, `?first=true` on the first chunk, every chunk under 1 MiB), and prints
// how long it took.
//
//   BASE_URL=http://127.0.0.1:8787 API_KEY=… SKUS=100000 node scripts/page/load-big.mjs
//
// The merchant (deterministic, so the test can name what it expects):
//   locations LONDON, MANCHESTER;
//   skus BIG-000001 … BIG-<SKUS>, on hand (i % 7) at LONDON and (i % 5) at MANCHESTER;
//   channel `ebay-uk` (demo, LONDON): listing EB-<i> for every sku, in sync;
//   channel `shop` (demo, LONDON + MANCHESTER, max_listed 20): listing SH-<i> for every sku,
//   in sync;
//   channel `wholesale` (webhook to a closed local port, so its pushes fail; the instance allows
//   private targets): WS-<i> for the first
//   WHOLESALE (default 400) skus — small enough for a listing-by-listing channel preview, and
//   its listings turn `failing` once the worker has retried them (start the worker with a
//   short RETRY_BASE_MS).
import { pad, skuOf } from "./merchant.mjs";

const BASE_URL = process.env.BASE_URL ?? "http://127.0.0.1:8787";
const API_KEY = process.env.API_KEY;
const SKUS = Number(process.env.SKUS ?? 100_000);
const WHOLESALE = Number(process.env.WHOLESALE ?? 400);
const CHUNK_BYTES = Number(process.env.CHUNK_KB ?? 900) * 1024;
if (!API_KEY) throw new Error("set API_KEY");

function* lines() {
  yield { type: "meta", version: 1, next_seq: 1 };
  yield { type: "location", id: "LONDON", location: { name: "London warehouse" } };
  yield { type: "location", id: "MANCHESTER", location: { name: "Manchester warehouse" } };
  yield { type: "channel", id: "ebay-uk", channel: { name: "eBay UK", enabled: true, locations: ["LONDON"], target: { kind: "demo" } } };
  yield { type: "channel", id: "shop", channel: { name: "Own shop", enabled: true, locations: ["LONDON", "MANCHESTER"], rules: { max_listed: 20 }, target: { kind: "demo" } } };
  yield {
    type: "channel", id: "wholesale",
    channel: { name: "Wholesale", enabled: true, locations: ["MANCHESTER"], target: { kind: "webhook", url: "http://127.0.0.1:9/stock", secret: "wholesale-secret-0123456789" } },
  };
  for (let i = 1; i <= SKUS; i++) {
    const sku = skuOf(i);
    yield { type: "item", sku, item: { levels: { LONDON: i % 7, MANCHESTER: i % 5 } } };
  }
  // A backup of a hub in sync: each listing's last_sent is what the hub wants, so the restore
  // plans no push for it.
  for (let i = 1; i <= SKUS; i++) yield { type: "listing", listing: { channel: "ebay-uk", listing: `EB-${pad(i)}`, sku: skuOf(i), last_sent: i % 7 } };
  for (let i = 1; i <= SKUS; i++) yield { type: "listing", listing: { channel: "shop", listing: `SH-${pad(i)}`, sku: skuOf(i), last_sent: Math.min(20, (i % 7) + (i % 5)) } };
  for (let i = 1; i <= Math.min(WHOLESALE, SKUS); i++) yield { type: "listing", listing: { channel: "wholesale", listing: `WS-${pad(i)}`, sku: skuOf(i) } };
}

// A 503 "worker restarted mid-request" has been seen once under load: the chunk is sent again
// (a chunk is rows to merge, so sending it twice is harmless; the first one replaces anyway).
let retries = 0;
async function send(body, first, attempt = 1) {
  const res = await fetch(new URL(`/v1/import${first ? "?first=true" : ""}`, BASE_URL), {
    method: "POST",
    headers: { Authorization: `Bearer ${API_KEY}`, "Content-Type": "application/x-ndjson" },
    body,
  });
  const text = await res.text();
  if (res.status === 503 && attempt < 4) {
    retries++;
    console.error(`load-big: POST /v1/import answered 503 (${text.slice(0, 120)}); sending the chunk again`);
    return send(body, first, attempt + 1);
  }
  if (!res.ok) throw new Error(`POST /v1/import answered ${res.status}: ${text.slice(0, 300)}`);
}

const t0 = performance.now();
let chunk = [];
let bytes = 0;
let first = true;
let chunks = 0;
let rows = 0;
for (const line of lines()) {
  const s = JSON.stringify(line) + "\n";
  if (bytes + s.length > CHUNK_BYTES) {
    await send(chunk.join(""), first);
    first = false;
    chunks++;
    chunk = [];
    bytes = 0;
  }
  chunk.push(s);
  bytes += s.length;
  rows++;
}
if (chunk.length) {
  await send(chunk.join(""), first);
  chunks++;
}
const secs = (performance.now() - t0) / 1000;
console.log(JSON.stringify({ skus: SKUS, rows, chunks, seconds: Number(secs.toFixed(1)), rows_per_second: Math.round(rows / secs), retries }));
