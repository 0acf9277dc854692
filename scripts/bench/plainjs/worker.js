// A plain-JavaScript Worker with the part of stocksync's HTTP API that `scripts/bench.sh worker`
// drives, written the way a JavaScript developer would write it, on the same platform: the
// Worker checks the bearer key and forwards to one SQLite-backed Durable Object per tenant,
// which keeps its rows in SQLite tables and answers the same JSON as stocksync does.
// It is the comparison of issue #11 ("faster than a plain JavaScript Worker"), not part of
// stocksync: nothing else uses it.
//
// Routes: GET /healthz (the Worker itself) · GET /v1/ping (the Durable Object answering "ok" and
// doing nothing else: the floor of any request that reaches it) · POST /v1/import (a JSON snapshot, as
// `catalogue_json` prints it; it replaces the hub) · POST /v1/orders · GET /v1/items/{sku} ·
// GET /v1/demo/{channel}/{listing}. An order does what stocksync's Ledger does for one: the
// duplicate check on (channel, order), each line resolved through its listing or sku, units
// reserved at the order's location (orders are facts, SPEC §7.7: stock beyond what is available
// is recorded and reported as `oversold`, never refused), every listing of the touched skus (and
// of composites built from them) recomputed over its channel's locations and rules, and a push
// for each whose number changed, with its explanation. The order, the reservations, the listings
// and the demo marketplace's copy are written in one `transactionSync`, and each push is
// recorded as delivered to the in-object demo marketplace in that same transaction.
//
// What it does not do (stocksync does): only demo targets (an import naming any other target
// is refused), so there is no outbox, no alarm, no retries, no KV mirror; no signed order
// triggers; no orders or adjustments in an imported snapshot; no cancel, ship, mappings,
// stock, channel, sync, preview or export routes; JSON objects naming a key twice are not
// refused (JSON.parse keeps the last one); GET /v1/items/{sku} of a composite shows no kits per
// location (its listings' explanations do).
//
// Checked against stocksync on demo/merchant.json (orders by sku and by listing, a 2-pack
// listing, a composite, an oversold line, an unknown listing, a duplicate, a conflict, bad
// input) and on the benchmark's catalogue: the same answers, byte for byte, but for error
// messages' wording.

import { DurableObject } from "cloudflare:workers";

const MAX_BODY_BYTES = 1 << 20; // 1 MiB, stocksync's cap for these routes
const MAX_ORDER_LINES = 100;
const MAX_QTY = Number.MAX_SAFE_INTEGER; // 2^53 − 1
const encoder = new TextEncoder();

class ApiError extends Error {
  constructor(status, code, message, allow) {
    super(message);
    this.status = status;
    this.code = code;
    this.allow = allow;
  }

  response() {
    const headers = this.allow ? { Allow: this.allow } : {};
    return Response.json({ error: { code: this.code, message: this.message } }, { status: this.status, headers });
  }
}

const methodNotAllowed = (method, allow) =>
  new ApiError(405, "method_not_allowed", `${method} is not allowed here; allowed: ${allow}`, allow);

// ---------------------------------------------------------------------------------------------
// The Worker: liveness, auth, then the tenant's Durable Object.

export default {
  async fetch(request, env) {
    try {
      const { pathname } = new URL(request.url);
      if (pathname === "/healthz") {
        if (request.method !== "GET" && request.method !== "HEAD") throw methodNotAllowed(request.method, "GET");
        return new Response("ok");
      }
      if (!pathname.startsWith("/v1/")) throw new ApiError(404, "not_found", `no route ${pathname}`);
      if (!env.API_KEY) {
        throw new ApiError(503, "api_key_not_configured", "no API_KEY secret is configured, so the /v1 API refuses every request");
      }
      const auth = request.headers.get("Authorization");
      if (auth === null) throw new ApiError(401, "unauthorized", "missing Authorization: Bearer <API_KEY>");
      if (!auth.startsWith("Bearer ") || !sameKey(auth.slice(7).trim(), env.API_KEY)) {
        throw new ApiError(401, "unauthorized", "the API key in Authorization: Bearer is wrong");
      }
      const length = Number(request.headers.get("Content-Length") ?? 0);
      if (length > MAX_BODY_BYTES) {
        throw new ApiError(413, "payload_too_large", `the body is ${length} bytes or more; this route takes at most 1 MiB`);
      }
      const stub = env.LEDGER.get(env.LEDGER.idFromName(env.TENANT ?? "default"));
      return await stub.fetch(request);
    } catch (e) {
      if (e instanceof ApiError) return e.response();
      throw e;
    }
  },
};

function sameKey(given, key) {
  const a = encoder.encode(given);
  const b = encoder.encode(key);
  return a.byteLength === b.byteLength && crypto.subtle.timingSafeEqual(a, b);
}

// ---------------------------------------------------------------------------------------------
// Request bodies.

async function readJson(request) {
  const type = (request.headers.get("Content-Type") ?? "").split(";")[0].trim().toLowerCase();
  if (type !== "application/json") {
    throw new ApiError(415, "unsupported_media_type", `Content-Type is ${type ? JSON.stringify(type) : "missing"}; this route takes application/json`);
  }
  const text = await request.text();
  if (text.length > MAX_BODY_BYTES || encoder.encode(text).byteLength > MAX_BODY_BYTES) {
    throw new ApiError(413, "payload_too_large", "the body is over 1 MiB; this route takes at most 1 MiB");
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ApiError(400, "malformed_json", `the body is not valid JSON: ${e.message}`);
  }
}

function object(value, what, allowed) {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new ApiError(400, "invalid_type", `${what} must be an object`);
  }
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      throw new ApiError(400, "unknown_field", `unknown field \`${key}\` in ${what}, expected one of ${allowed.map((k) => `\`${k}\``).join(", ")}`);
    }
  }
  return value;
}

// A JSON object used as a map (`{"LOC-0": {...}}`), as [key, value] pairs; absent is empty.
function entries(value, what) {
  if (value === undefined) return [];
  return Object.entries(object(value, what, Object.keys(value ?? {})));
}

function array(value, what) {
  if (!Array.isArray(value)) throw new ApiError(400, "invalid_type", `${what} must be an array`);
  return value;
}

function id(value, what) {
  if (value === undefined) throw new ApiError(400, "missing_field", `missing field \`${what}\``);
  if (typeof value !== "string") throw new ApiError(400, "invalid_type", `${what} must be a string`);
  const bad = (why) => new ApiError(400, "invalid_id", `${what} ${why}`);
  if (value.length === 0) throw bad("is empty");
  const bytes = encoder.encode(value).byteLength;
  if (bytes > 255) throw bad(`is ${bytes} bytes long; the limit is 255`);
  if (/\p{Cc}/u.test(value)) throw bad("contains a control character");
  if (value.trim() !== value) throw bad("has leading or trailing whitespace");
  return value;
}

function qty(value, what, min) {
  if (value === undefined) throw new ApiError(400, "missing_field", `missing field \`${what}\``);
  if (!Number.isSafeInteger(value)) throw new ApiError(400, "invalid_quantity", `${what} must be a whole number within ±(2^53−1)`);
  if (value < min) throw new ApiError(400, "invalid_quantity", `${what} must be at least ${min} (got ${value})`);
  return value;
}

const optional = (value, read) => (value === undefined || value === null ? null : read(value));

function readOrder(body) {
  object(body, "the order", ["channel", "order", "location", "lines"]);
  if (body.lines === undefined) throw new ApiError(400, "missing_field", "missing field `lines`");
  return {
    channel: id(body.channel, "channel"),
    order: id(body.order, "order"),
    location: optional(body.location, (v) => id(v, "location")),
    lines: array(body.lines, "lines").map((line, i) => {
      object(line, `line ${i + 1}`, ["listing", "sku", "qty"]);
      const listing = optional(line.listing, (v) => id(v, `line ${i + 1} listing`));
      const sku = optional(line.sku, (v) => id(v, `line ${i + 1} sku`));
      if ((listing === null) === (sku === null)) {
        throw new ApiError(400, "invalid_request", `line ${i + 1} names exactly one of "listing" or "sku"`);
      }
      return { listing, sku, qty: qty(line.qty, `line ${i + 1} qty`, 1) };
    }),
  };
}

function readRules(value, what, overrides) {
  const names = ["buffer", "end_when", "percent", "max_listed", "bundle_pooling"];
  object(value, what, names);
  const rules = {};
  for (const name of ["buffer", "end_when", "percent"]) {
    if (value[name] !== undefined && value[name] !== null) rules[name] = qty(value[name], `${what}.${name}`, 0);
    else if (!overrides) rules[name] = name === "percent" ? 100 : 0;
  }
  if (rules.percent > 100) throw new ApiError(400, "invalid_rule", `percent must be between 0 and 100 (got ${rules.percent})`);
  if (value.max_listed !== undefined && value.max_listed !== null) rules.max_listed = qty(value.max_listed, `${what}.max_listed`, 0);
  else if (!overrides) rules.max_listed = null;
  if (value.bundle_pooling !== undefined && value.bundle_pooling !== null) {
    if (value.bundle_pooling !== "per_location" && value.bundle_pooling !== "across_locations") {
      throw new ApiError(400, "invalid_rule", `${what}.bundle_pooling must be "per_location" or "across_locations"`);
    }
    rules.bundle_pooling = value.bundle_pooling;
  } else if (!overrides) rules.bundle_pooling = "per_location";
  return rules;
}

// ---------------------------------------------------------------------------------------------
// The rule pipeline (SPEC §2.5): buffer, end_when, percent, pack, max_listed, clamp.

const clampQty = (q) => Math.min(Math.max(q, -MAX_QTY), MAX_QTY);

function effectiveRules(channel, own) {
  const pick = (name) =>
    own && own[name] !== undefined ? { value: own[name], source: "listing" } : { value: channel[name], source: "channel" };
  return {
    buffer: pick("buffer"),
    end_when: pick("end_when"),
    percent: pick("percent"),
    max_listed: pick("max_listed"),
    pooling: own?.bundle_pooling ?? channel.bundle_pooling,
  };
}

function shape(pool, rules, pack) {
  const steps = [];
  let q = pool;
  const step = (rule, value, source, after) => {
    steps.push({ rule, value, source, before: q, after });
    q = after;
  };
  step("buffer", rules.buffer.value, rules.buffer.source, clampQty(q - rules.buffer.value));
  step("end_when", rules.end_when.value, rules.end_when.source, q <= rules.end_when.value ? 0 : q);
  step("percent", rules.percent.value, rules.percent.source, Math.floor((q * rules.percent.value) / 100));
  step("pack", pack, "listing", Math.floor(q / Math.max(pack, 1)));
  const max = rules.max_listed.value;
  step("max_listed", max, rules.max_listed.source, max === null ? q : Math.min(q, max));
  step("clamp", null, "default", Math.max(q, 0));
  return { quantity: q, steps };
}

// ---------------------------------------------------------------------------------------------
// The Durable Object: one per tenant, its state in SQLite.

const SCHEMA = `
CREATE TABLE IF NOT EXISTS locations (id TEXT PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (sku TEXT PRIMARY KEY, components TEXT);
CREATE TABLE IF NOT EXISTS levels (sku TEXT NOT NULL, location TEXT NOT NULL, on_hand INTEGER NOT NULL, reserved INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (sku, location));
CREATE TABLE IF NOT EXISTS parts (component TEXT NOT NULL, parent TEXT NOT NULL, PRIMARY KEY (component, parent));
CREATE TABLE IF NOT EXISTS channels (id TEXT PRIMARY KEY, config TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS listings (channel TEXT NOT NULL, listing TEXT NOT NULL, sku TEXT, pack INTEGER NOT NULL DEFAULT 1, ignore_sync INTEGER NOT NULL DEFAULT 0, rules TEXT, last_sent INTEGER, acked_seq INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (channel, listing));
CREATE INDEX IF NOT EXISTS listings_by_sku ON listings (sku);
CREATE TABLE IF NOT EXISTS orders (channel TEXT NOT NULL, order_ref TEXT NOT NULL, location TEXT NOT NULL, status TEXT NOT NULL, request TEXT NOT NULL, lines TEXT NOT NULL, PRIMARY KEY (channel, order_ref));
CREATE TABLE IF NOT EXISTS demo (channel TEXT NOT NULL, listing TEXT NOT NULL, quantity INTEGER NOT NULL, recv_quantity INTEGER, recv_seq INTEGER, edited INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (channel, listing));
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta (key, value) VALUES ('next_seq', 1);
`;

export class Ledger extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(SCHEMA);
    this.cfg = null; // locations and channels, read once and kept (they change only on import)
  }

  async fetch(request) {
    try {
      const { pathname } = new URL(request.url);
      const method = request.method;
      if (pathname === "/v1/ping") {
        // The floor of a request that reaches the Durable Object and does nothing there.
        return new Response("ok");
      }
      if (pathname === "/v1/orders") {
        if (method !== "POST") throw methodNotAllowed(method, "POST");
        return Response.json(this.placeOrder(readOrder(await readJson(request))));
      }
      if (pathname === "/v1/import") {
        if (method !== "POST") throw methodNotAllowed(method, "POST");
        return Response.json(this.importSnapshot(await readJson(request)));
      }
      let m = pathname.match(/^\/v1\/items\/([^/]+)$/);
      if (m) {
        if (method !== "GET") throw methodNotAllowed(method, "GET");
        return Response.json(this.itemView(decodeURIComponent(m[1])));
      }
      m = pathname.match(/^\/v1\/demo\/([^/]+)\/([^/]+)$/);
      if (m) {
        if (method !== "GET") throw methodNotAllowed(method, "GET");
        return Response.json(this.demoView(decodeURIComponent(m[1]), decodeURIComponent(m[2])));
      }
      throw new ApiError(404, "not_found", `no route ${pathname} in this benchmark worker`);
    } catch (e) {
      if (e instanceof ApiError) return e.response();
      console.error(e);
      return Response.json({ error: { code: "internal", message: `internal error: ${e.message}` } }, { status: 500 });
    }
  }

  config() {
    if (this.cfg === null) {
      const locations = new Set(this.sql.exec("SELECT id FROM locations").toArray().map((r) => r.id));
      const channels = new Map();
      for (const row of this.sql.exec("SELECT id, config FROM channels")) channels.set(row.id, JSON.parse(row.config));
      this.cfg = { locations, channels };
    }
    return this.cfg;
  }

  // POST /v1/orders -----------------------------------------------------------------------------

  placeOrder(po) {
    const { locations, channels } = this.config();
    const channel = channels.get(po.channel);
    if (!channel) throw new ApiError(422, "unknown_channel", `no channel "${po.channel}"`);
    if (po.lines.length === 0) throw new ApiError(400, "empty_order", "an order needs at least one line");
    if (po.lines.length > MAX_ORDER_LINES) throw new ApiError(400, "too_many", `at most ${MAX_ORDER_LINES} lines per order`);
    const location = po.location ?? channel.locations[0];
    if (location === undefined) {
      throw new ApiError(400, "missing_location", `the order names no location and channel "${po.channel}" has none to default to`);
    }
    if (!locations.has(location)) throw new ApiError(422, "unknown_location", `no location "${location}"`);

    // Everything below reads and writes in one synchronous transaction: all of it or none.
    return this.ctx.storage.transactionSync(() => {
      const request = JSON.stringify(po.lines);
      const existing = this.sql
        .exec("SELECT location, status, request, lines FROM orders WHERE channel = ? AND order_ref = ?", po.channel, po.order)
        .toArray()[0];
      if (existing) {
        if (existing.request === request && (po.location === null || po.location === existing.location)) {
          const lines = JSON.parse(existing.lines);
          return {
            ...receipt(po, existing.location, existing.status, lines, true),
            pushes: [],
            skipped: [],
            oversold_stock: [],
          };
        }
        throw new ApiError(409, "order_conflict", `order "${po.order}" of channel "${po.channel}" was already recorded with other lines`);
      }

      // Resolve every line to a sku and the units it reserves.
      const lines = po.lines.map((line, i) => {
        let sku = null;
        let pack = 1;
        let newListing = false;
        if (line.listing !== null) {
          const row = this.sql
            .exec("SELECT sku, pack FROM listings WHERE channel = ? AND listing = ?", po.channel, line.listing)
            .toArray()[0];
          if (row) ({ sku, pack } = row);
          else newListing = true;
        } else {
          sku = line.sku;
        }
        const item = sku === null ? undefined : this.sql.exec("SELECT components FROM items WHERE sku = ?", sku).toArray()[0];
        if (!item) sku = null;
        const components = item?.components ? JSON.parse(item.components) : null;
        const units = (per) => {
          const n = line.qty * pack * per;
          if (!Number.isSafeInteger(n) || n > MAX_QTY) {
            throw new ApiError(400, "invalid_quantity", `line ${i + 1}: ${line.qty} units of ${sku} exceed 2^53−1`);
          }
          return n;
        };
        const reservations = sku === null ? [] : components ? components.map((c) => ({ sku: c.sku, qty: units(c.qty) })) : [{ sku, qty: units(1) }];
        return { listing: line.listing, sku, qty: line.qty, linked: sku !== null, oversold: 0, pack, components, reservations, newListing };
      });

      // Reserve: each line sees what the lines before it took.
      const skipped = [];
      const touched = new Set();
      for (const line of lines) {
        if (line.sku === null) {
          if (line.listing !== null) {
            if (line.newListing) {
              // A listing that sells without a link becomes a known, unlinked listing.
              this.sql.exec("INSERT INTO listings (channel, listing) VALUES (?, ?)", po.channel, line.listing);
            }
            skipped.push({ channel: po.channel, listing: line.listing, sku: null, reason: "unlinked" });
          }
          continue;
        }
        const sellable = Math.floor(Math.max(this.sellableAt(line.sku, line.components, location), 0) / line.pack);
        line.oversold = Math.max(line.qty - sellable, 0);
        for (const r of line.reservations) {
          this.sql.exec(
            `INSERT INTO levels (sku, location, on_hand, reserved) VALUES (?, ?, 0, ?)
             ON CONFLICT (sku, location) DO UPDATE SET reserved = reserved + excluded.reserved`,
            r.sku, location, r.qty,
          );
          touched.add(r.sku);
        }
      }

      const stored = lines.map(({ listing, sku, qty, linked, oversold, reservations }) => ({ listing, sku, qty, linked, oversold, reservations }));
      this.sql.exec(
        "INSERT INTO orders (channel, order_ref, location, status, request, lines) VALUES (?, ?, ?, 'open', ?, ?)",
        po.channel, po.order, location, request, JSON.stringify(stored),
      );

      const planner = new Planner(this.sql, channels);
      const oversoldStock = [];
      for (const sku of [...touched].sort()) {
        const level = planner.levels(sku).get(location) ?? { on_hand: 0, reserved: 0 };
        if (level.on_hand - level.reserved < 0) oversoldStock.push(stockLine(sku, location, level));
      }
      const { pushes, skipped: notEligible } = planner.planSkus(touched);
      return {
        ...receipt(po, location, "open", stored, false),
        pushes,
        skipped: skipped.concat(notEligible),
        oversold_stock: oversoldStock,
      };
    });
  }

  sellableAt(sku, components, location) {
    const available = (s) =>
      this.sql.exec("SELECT on_hand - reserved AS available FROM levels WHERE sku = ? AND location = ?", s, location).toArray()[0]?.available ?? 0;
    if (!components) return available(sku);
    return Math.min(...components.map((c) => Math.floor(Math.max(available(c.sku), 0) / c.qty)));
  }

  // POST /v1/import ---------------------------------------------------------------------------

  importSnapshot(body) {
    object(body, "the snapshot", ["version", "locations", "items", "channels", "listings", "orders", "adjustments", "next_seq"]);
    if (body.version !== 1) throw new ApiError(400, "unsupported_version", `snapshot version ${body.version}; this worker reads version 1`);
    if ((body.orders ?? []).length || (body.adjustments ?? []).length) {
      throw new ApiError(400, "invalid_request", "this benchmark worker imports no orders or adjustments");
    }
    const locations = entries(body.locations, "locations");
    const items = entries(body.items, "items");
    const channels = entries(body.channels, "channels");
    const listings = array(body.listings ?? [], "listings");
    const knownLocations = new Set(locations.map(([loc]) => id(loc, "location")));
    const knownSkus = new Set(items.map(([sku]) => id(sku, "sku")));

    return this.ctx.storage.transactionSync(() => {
      for (const table of ["locations", "items", "levels", "parts", "channels", "listings", "orders", "demo"]) {
        this.sql.exec(`DELETE FROM ${table}`);
      }
      for (const [loc, value] of locations) {
        object(value, `location ${loc}`, ["name"]);
        this.sql.exec("INSERT INTO locations (id, name) VALUES (?, ?)", loc, value.name ?? "");
      }
      for (const [sku, value] of items) {
        object(value, `item ${sku}`, ["levels", "components"]);
        if (value.components) {
          const components = array(value.components, `item ${sku} components`).map((c) => {
            object(c, `a component of ${sku}`, ["sku", "qty"]);
            const part = id(c.sku, "component sku");
            if (!knownSkus.has(part)) throw new ApiError(422, "unknown_sku", `item ${sku}: no component "${part}"`);
            return { sku: part, qty: qty(c.qty, `component ${part} qty`, 1) };
          });
          this.sql.exec("INSERT INTO items (sku, components) VALUES (?, ?)", sku, JSON.stringify(components));
          for (const c of components) this.sql.exec("INSERT INTO parts (component, parent) VALUES (?, ?)", c.sku, sku);
        } else {
          this.sql.exec("INSERT INTO items (sku, components) VALUES (?, NULL)", sku);
          for (const [loc, onHand] of entries(value.levels, `item ${sku} levels`)) {
            if (!knownLocations.has(loc)) throw new ApiError(422, "unknown_location", `item ${sku}: no location "${loc}"`);
            this.sql.exec("INSERT INTO levels (sku, location, on_hand, reserved) VALUES (?, ?, ?, 0)", sku, loc, qty(onHand, `${sku} at ${loc}`, -MAX_QTY));
          }
        }
      }
      for (const [channelId, value] of channels) {
        id(channelId, "channel");
        object(value, `channel ${channelId}`, ["name", "enabled", "locations", "rules", "target"]);
        const target = object(value.target ?? { kind: "demo" }, `channel ${channelId} target`, ["kind"]);
        if (target.kind !== "demo") {
          throw new ApiError(400, "invalid_target", `channel ${channelId}: this benchmark worker pushes only to the demo marketplace`);
        }
        const config = {
          name: value.name ?? "",
          enabled: value.enabled ?? true,
          locations: array(value.locations ?? [], `channel ${channelId} locations`).map((loc) => {
            if (!knownLocations.has(loc)) throw new ApiError(422, "unknown_location", `channel ${channelId}: no location "${loc}"`);
            return loc;
          }),
          ...readRules(value.rules ?? {}, `channel ${channelId} rules`, false),
        };
        this.sql.exec("INSERT INTO channels (id, config) VALUES (?, ?)", channelId, JSON.stringify(config));
      }
      const channelIds = new Set(channels.map(([c]) => c));
      for (const [i, l] of listings.entries()) {
        const what = `listings[${i}]`;
        object(l, what, ["channel", "listing", "sku", "pack", "ignore_sync", "rules", "last_sent", "pending", "attempts", "last_error", "acked_seq"]);
        const channelId = id(l.channel, `${what}.channel`);
        if (!channelIds.has(channelId)) throw new ApiError(422, "unknown_channel", `${what}: no channel "${channelId}"`);
        const sku = optional(l.sku, (v) => id(v, `${what}.sku`));
        if (sku !== null && !knownSkus.has(sku)) throw new ApiError(422, "unknown_sku", `${what}: no item "${sku}"`);
        const rules = l.rules ? readRules(l.rules, `${what}.rules`, true) : null;
        this.sql.exec(
          "INSERT INTO listings (channel, listing, sku, pack, ignore_sync, rules, last_sent, acked_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
          channelId, id(l.listing, `${what}.listing`), sku, qty(l.pack ?? 1, `${what}.pack`, 1), l.ignore_sync ? 1 : 0,
          rules && Object.keys(rules).length ? JSON.stringify(rules) : null, optional(l.last_sent, (v) => qty(v, `${what}.last_sent`, 0)), l.acked_seq ?? 0,
        );
      }
      this.sql.exec("UPDATE meta SET value = ? WHERE key = 'next_seq'", qty(body.next_seq ?? 1, "next_seq", 1));
      this.cfg = null;
      // Every listing whose number differs from what it was last sent is pushed (to the demo
      // marketplace, in this transaction).
      const planner = new Planner(this.sql, this.config().channels);
      const rows = this.sql.exec(`${LISTING_COLUMNS} ORDER BY channel, listing`).toArray();
      const { pushes, skipped } = planner.plan(rows);
      return { pushes, skipped, oversold_stock: [] };
    });
  }

  // GET /v1/items/{sku}, GET /v1/demo/{channel}/{listing} -----------------------------------

  itemView(sku) {
    const item = this.sql.exec("SELECT components FROM items WHERE sku = ?", sku).toArray()[0];
    if (!item) throw new ApiError(422, "unknown_sku", `no item "${sku}"`);
    const planner = new Planner(this.sql, this.config().channels);
    const locations = {};
    for (const [loc, level] of [...planner.levels(sku)].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      locations[loc] = { on_hand: level.on_hand, reserved: level.reserved, available: level.on_hand - level.reserved };
    }
    const listings = this.sql
      .exec(`${LISTING_COLUMNS} WHERE sku = ? ORDER BY channel, listing`, sku)
      .toArray()
      .map((row) => {
        const { explain, reason } = planner.wanted(row);
        return { channel: row.channel, listing: row.listing, quantity: explain?.quantity ?? null, last_sent: row.last_sent, reason, explain };
      });
    return { sku, locations, components: item.components ? JSON.parse(item.components) : [], listings };
  }

  demoView(channel, listing) {
    const row = this.sql.exec("SELECT quantity, recv_quantity, recv_seq, edited FROM demo WHERE channel = ? AND listing = ?", channel, listing).toArray()[0];
    if (!row) throw new ApiError(404, "unknown_listing", `demo listing ${channel}/${listing} has never received a quantity nor been edited`);
    return {
      channel,
      listing,
      quantity: row.quantity,
      last_received: row.recv_seq === null ? null : { quantity: row.recv_quantity, seq: row.recv_seq },
      edited: row.edited === 1,
    };
  }
}

function receipt(po, location, status, lines, duplicate) {
  return {
    order: po.order,
    channel: po.channel,
    location,
    status,
    duplicate,
    changed: !duplicate,
    oversold: lines.some((l) => l.oversold > 0),
    lines: lines.map(({ listing, sku, qty, linked, oversold }) => ({ listing, sku, qty, linked, oversold })),
  };
}

function stockLine(sku, location, level) {
  return { sku, location, on_hand: level.on_hand, reserved: level.reserved, available: level.on_hand - level.reserved };
}

const LISTING_COLUMNS = "SELECT channel, listing, sku, pack, ignore_sync, rules, last_sent FROM listings";

// Recomputes listings, pushes the ones whose number changed and records each push as delivered
// to the demo marketplace. Used inside a transactionSync; it caches what it reads for the request.
class Planner {
  constructor(sql, channels) {
    this.sql = sql;
    this.channels = channels;
    this.levelCache = new Map();
    this.itemCache = new Map();
  }

  levels(sku) {
    let levels = this.levelCache.get(sku);
    if (!levels) {
      levels = new Map();
      for (const row of this.sql.exec("SELECT location, on_hand, reserved FROM levels WHERE sku = ?", sku)) {
        levels.set(row.location, { on_hand: row.on_hand, reserved: row.reserved });
      }
      this.levelCache.set(sku, levels);
    }
    return levels;
  }

  components(sku) {
    if (!this.itemCache.has(sku)) {
      const row = this.sql.exec("SELECT components FROM items WHERE sku = ?", sku).toArray()[0];
      this.itemCache.set(sku, row?.components ? JSON.parse(row.components) : null);
    }
    return this.itemCache.get(sku);
  }

  // The listings of `skus` and of every composite built from them.
  planSkus(skus) {
    const keys = new Map();
    const add = (sku) => {
      for (const row of this.sql.exec(`${LISTING_COLUMNS} WHERE sku = ?`, sku)) {
        keys.set(`${row.channel}\u0000${row.listing}`, row);
      }
    };
    for (const sku of skus) {
      for (const { parent } of this.sql.exec("SELECT parent FROM parts WHERE component = ?", sku)) add(parent);
      add(sku);
    }
    const sorted = [...keys.values()].sort((a, b) =>
      a.channel < b.channel ? -1 : a.channel > b.channel ? 1 : a.listing < b.listing ? -1 : a.listing > b.listing ? 1 : 0,
    );
    return this.plan(sorted);
  }

  // `rows`: listings as LISTING_COLUMNS reads them, in (channel, listing) order.
  plan(rows) {
    const pushes = [];
    const skipped = [];
    if (rows.length === 0) return { pushes, skipped };
    let seq = this.sql.exec("SELECT value FROM meta WHERE key = 'next_seq'").one().value;
    for (const row of rows) {
      const { explain, reason } = this.wanted(row);
      if (reason) {
        skipped.push({ channel: row.channel, listing: row.listing, sku: row.sku, reason });
        continue;
      }
      if (explain.quantity === row.last_sent) continue;
      pushes.push({ channel: row.channel, listing: row.listing, sku: row.sku, quantity: explain.quantity, previous: row.last_sent, seq, explain });
      // Delivered to the in-object demo marketplace at once, in the same transaction.
      this.sql.exec("UPDATE listings SET last_sent = ?, acked_seq = ? WHERE channel = ? AND listing = ?", explain.quantity, seq, row.channel, row.listing);
      this.sql.exec(
        `INSERT INTO demo (channel, listing, quantity, recv_quantity, recv_seq, edited) VALUES (?, ?, ?, ?, ?, 0)
         ON CONFLICT (channel, listing) DO UPDATE SET quantity = excluded.quantity, recv_quantity = excluded.recv_quantity,
           recv_seq = excluded.recv_seq, edited = 0`,
        row.channel, row.listing, explain.quantity, explain.quantity, seq,
      );
      seq += 1;
    }
    this.sql.exec("UPDATE meta SET value = ? WHERE key = 'next_seq'", seq);
    return { pushes, skipped };
  }

  // The number a listing should show and why, or why it gets nothing (SPEC §2.2).
  wanted(row) {
    const channel = this.channels.get(row.channel);
    if (!channel || !channel.enabled) return { reason: "channel_disabled", explain: null };
    if (row.sku === null) return { reason: "unlinked", explain: null };
    if (row.ignore_sync) return { reason: "ignore_sync", explain: null };
    if (channel.locations.length === 0) return { reason: "no_locations", explain: null };
    return { reason: null, explain: this.explain(channel, row) };
  }

  explain(channel, row) {
    const rules = effectiveRules(channel, row.rules ? JSON.parse(row.rules) : null);
    const locations = channel.locations;
    const components = this.components(row.sku);
    const stock = [];
    const kits = [];
    const levelAt = (sku, loc) => this.levels(sku).get(loc) ?? { on_hand: 0, reserved: 0 };
    let pool = 0;
    if (!components) {
      for (const loc of locations) {
        const level = levelAt(row.sku, loc);
        pool = clampQty(pool + level.on_hand - level.reserved);
        stock.push(stockLine(row.sku, loc, level));
      }
    } else {
      for (const c of components) for (const loc of locations) stock.push(stockLine(c.sku, loc, levelAt(c.sku, loc)));
      const available = (sku, loc) => {
        const level = levelAt(sku, loc);
        return level.on_hand - level.reserved;
      };
      if (rules.pooling === "per_location") {
        for (const loc of locations) {
          const at = Math.min(...components.map((c) => Math.floor(available(c.sku, loc) / c.qty)));
          kits.push({ location: loc, component: null, component_pool: null, kits: at });
          pool = clampQty(pool + at);
        }
      } else {
        pool = Infinity;
        for (const c of components) {
          const units = locations.reduce((sum, loc) => clampQty(sum + available(c.sku, loc)), 0);
          const k = Math.floor(units / c.qty);
          kits.push({ location: null, component: c.sku, component_pool: units, kits: k });
          pool = Math.min(pool, k);
        }
      }
    }
    const { quantity, steps } = shape(pool, rules, row.pack);
    return {
      sku: row.sku,
      locations,
      stock,
      components: components ?? [],
      pooling: components ? rules.pooling : null,
      kits,
      pool,
      steps,
      quantity,
    };
  }
}
