// The built package (www/pkg) under Node: its files, its API, its errors, and every scenario file
// of the core (those for "wasm") run through it. This is the optimised artifact the page loads,
// after wasm-opt, which the wasm-bindgen tests (a debug build) do not cover.
//
//   node --test tests/web/package.test.mjs      (after scripts/build-web.sh)
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { Hub, describeSkipReason, exampleHub, pkgDir, root } from "./pkg.mjs";

test("the package is an ES module with its .wasm, .d.ts and package.json", () => {
  const files = readdirSync(pkgDir);
  for (const f of ["stocksync_web.js", "stocksync_web_bg.wasm", "stocksync_web.d.ts", "package.json"]) assert.ok(files.includes(f), f);
  const pj = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8"));
  assert.equal(pj.type, "module");
  assert.equal(pj.types, "stocksync_web.d.ts");
  for (const f of pj.files) assert.ok(files.includes(f), `package.json names ${f}`);
});

test("the .d.ts types every method with the types generated from Rust", () => {
  const dts = readFileSync(join(pkgDir, "stocksync_web.d.ts"), "utf8");
  const generated = readFileSync(join(root, "crates", "web", "src", "types.d.ts"), "utf8");
  const names = [...generated.matchAll(/^export (?:type|interface) (\w+)/gm)].map((m) => m[1]);
  assert.ok(names.length > 40, `types.d.ts declares ${names.length} types`);
  for (const n of names) assert.match(dts, new RegExp(`^\\s*export (type|interface) ${n}\\b`, "m"), `the package declares ${n}`);
  for (const sig of [
    "static fromSnapshot(snapshot: Snapshot): Hub;",
    "static fromJson(json: string): Hub;",
    "preview(events: Event[]): Preview;",
    "fork(events: Event[]): Hub;",
    "apply(event: Event): Outcome;",
    "view(): HubView;",
    "snapshot(): Snapshot;",
    "deliverAll(): Delivery[];",
    "item(sku: string): ItemView | undefined;",
    "sync(): ListingStatus[];",
  ]) assert.ok(dts.includes(sig), `d.ts declares ${sig}`);
  assert.ok(!/\bbigint\b/.test(generated), "quantities are numbers");
});

test("the .d.ts is valid strict TypeScript, and an app written against it type-checks", () => {
  // tests/web/types-usage.ts uses every method, and keeps @ts-expect-error on inputs the types
  // must refuse (a string quantity, an unknown event): tsc fails if those stop being errors.
  const tsc = join(root, "node_modules", ".bin", "tsc");
  try {
    execFileSync(tsc, ["-p", join(root, "tests", "web", "tsconfig.json")], { encoding: "utf8", stdio: "pipe" });
  } catch (e) {
    assert.fail(`tsc: ${e.stdout}${e.stderr}`);
  }
});

test("a preview shows per listing before, after, why, and warnings, and changes nothing", () => {
  const hub = exampleHub();
  const before = JSON.stringify(hub.snapshot());
  const p = hub.preview([{ type: "item_put", sku: "TEST_SS7052", item: { levels: { LONDON: 0 } } }]);
  assert.equal(JSON.stringify(hub.snapshot()), before);
  assert.deepEqual(p.changes.map((c) => [c.channel, c.listing, c.before, c.after, c.last_sent]), [
    ["ebay-uk", "EB-7052", 5, 0, 5],
    ["shop", "SHOP-7052", 5, 0, 5],
  ]);
  assert.equal(p.changes[0].explain.steps.length, 6);
  assert.deepEqual(p.warnings.map((w) => [w.code, w.count]), [["sends_zero", 2]]);
  assert.equal(p.steps.length, 1);

  const off = hub.preview([{ type: "channel_put", id: "shop", channel: { name: "Own shop", enabled: false, locations: ["LONDON"], target: { kind: "demo" } } }]);
  assert.deepEqual(off.changes.map((c) => [c.listing, c.after, c.reason]), [["SHOP-7052", null, "channel_disabled"]]);
  assert.deepEqual(off.warnings.map((w) => w.code), ["stops_sync"]);
  assert.equal(describeSkipReason(off.changes[0].reason), "the channel is disabled");
  hub.free();
});

test("invalid input throws a StocksyncError with the HTTP API's code and message", () => {
  const hub = exampleHub();
  const cases = [
    [() => hub.apply({ type: "item_put", sku: "TEST_SS7052", item: { levels: { LONDON: -1 } } }), "invalid_quantity"],
    [() => hub.apply({ type: "item_put", sku: "TEST_SS7052", item: { levels: { LONDON: 1.5 } } }), "invalid_quantity"],
    [() => hub.apply({ type: "item_put", sku: "", item: { levels: { LONDON: 1 } } }), "invalid_id"],
    [() => hub.apply({ type: "order_placed", order: { channel: "shop", order: "X", lines: [] } }), "empty_order"],
    [() => hub.apply({ type: "location_put", id: "L", location: { name: "x", extra: 1 } }), "unknown_field"],
    [() => hub.preview([{ type: "resync" }, { type: "order_shipped", channel: "shop", order: "nope" }]), "unknown_order"],
    [() => hub.preview("not a list"), "invalid_type"],
    [() => hub.apply(undefined), "invalid_type"],
    [() => Hub.fromJson("{ not json"), "malformed_json"],
    [() => Hub.fromSnapshot({ version: 2 }), "unsupported_version"],
  ];
  for (const [call, code] of cases) {
    assert.throws(call, (e) => {
      assert.ok(e instanceof Error);
      assert.equal(e.name, "StocksyncError");
      assert.equal(e.code, code, e.message);
      assert.ok(e.message.length > 0);
      return true;
    });
  }
  assert.throws(() => hub.preview([{ type: "resync" }, { type: "order_shipped", channel: "shop", order: "nope" }]), /^StocksyncError: event 2: /);
  hub.free();
});

test("a snapshot loads from the export's JSON text and round-trips", () => {
  const hub = exampleHub();
  const snap = hub.snapshot();
  const again = Hub.fromJson(JSON.stringify(snap));
  assert.deepEqual(again.snapshot(), snap);
  assert.deepEqual(again.view(), hub.view());
  const v = again.view();
  assert.deepEqual(v.items[0].locations.LONDON, { on_hand: 5, reserved: 0, available: 5 });
  assert.deepEqual(v.listings.map((l) => [l.listing, l.wanted, l.last_sent, l.status]), [["EB-7052", 5, 5, "in_sync"], ["SHOP-7052", 5, 5, "in_sync"]]);
  hub.free();
  again.free();
});

// ----- the scenario corpus, through the package ------------------------------------------------
// A small JS reading of the core's scenario runner (crates/core/src/scenario.rs): expectations
// are JSON subsets; pushes and skips are compared sorted by channel and listing.

function subset(want, got, path) {
  if (want !== null && typeof want === "object" && !Array.isArray(want)) {
    if (got === null || typeof got !== "object" || Array.isArray(got)) throw new Error(`${path}: expected an object, got ${JSON.stringify(got)}`);
    for (const [k, w] of Object.entries(want)) subset(w, got[k] ?? null, `${path}.${k}`);
  } else if (Array.isArray(want)) {
    if (!Array.isArray(got) || got.length !== want.length) throw new Error(`${path}: expected ${want.length} elements, got ${JSON.stringify(got)}`);
    want.forEach((w, i) => subset(w, got[i], `${path}[${i}]`));
  } else if (want !== got) {
    throw new Error(`${path}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
  }
}

const byListing = (a, b) => `${a.channel}\u0000${a.listing}`.localeCompare(`${b.channel}\u0000${b.listing}`);
const sorted = (list) => [...list].sort(byListing);

function runScenario(s) {
  const hub = new Hub();
  const shows = new Map();
  const deliver = () => {
    for (const d of hub.deliverAll()) shows.set(`${d.channel}/${d.listing}`, d.quantity);
  };
  try {
    for (const e of s.setup ?? []) hub.apply(e);
    deliver();
    (s.steps ?? []).forEach((step, i) => {
      const at = `${s.name} step ${i + 1} (${step.note ?? ""})`;
      const x = step.expect ?? {};
      if (step.channel_edit) shows.set(`${step.channel_edit.channel}/${step.channel_edit.listing}`, step.channel_edit.quantity);
      if (step.event) {
        let outcome = null;
        let code = null;
        try {
          outcome = hub.apply(step.event);
        } catch (e) {
          code = e.code;
        }
        if (x.error !== undefined && x.error !== null) assert.equal(code, x.error, `${at}: error code`);
        else {
          assert.equal(code, null, `${at}: unexpected error`);
          if (x.pushes) subset(sorted(x.pushes), sorted(outcome.pushes), `${at} pushes`);
          if (x.skipped) subset(sorted(x.skipped), sorted(outcome.skipped), `${at} skipped`);
          if (x.outcome) subset(x.outcome, outcome, `${at} outcome`);
        }
      }
      if (step.deliver !== false) deliver();
      for (const [sku, want] of Object.entries(x.stock ?? {})) subset(want, hub.item(sku)?.locations ?? null, `${at} stock of ${sku}`);
      const sync = Object.keys(x.listings ?? {}).length ? hub.sync() : [];
      for (const [name, want] of Object.entries(x.listings ?? {})) {
        const [channel, listing] = name.split("/");
        const got = { ...(sync.find((l) => l.channel === channel && l.listing === listing) ?? {}) };
        if ("channel_shows" in want) got.channel_shows = shows.get(name) ?? null;
        subset(want, got, `${at} listing ${name}`);
      }
    });
  } finally {
    hub.free();
  }
}

test("every scenario file for wasm passes through the built package", () => {
  const dir = join(root, "tests", "scenarios");
  const files = readdirSync(dir).filter((f) => f.endsWith(".json")).sort();
  let ran = 0;
  const failures = [];
  for (const f of files) {
    const s = JSON.parse(readFileSync(join(dir, f), "utf8"));
    if (s.runtimes?.length && !s.runtimes.includes("wasm")) continue;
    ran++;
    try {
      runScenario(s);
    } catch (e) {
      failures.push(`${f}: ${e.message}`);
    }
  }
  assert.ok(ran > 0);
  assert.deepEqual(failures, [], `${failures.length} of ${ran} scenarios failed`);
});
