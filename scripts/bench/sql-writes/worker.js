// The writes of one order on a sku with ten demo listings, as the Ledger makes them
// (crates/worker/src/store.rs, `Many::flush`), against the other ways tried, inside workerd:
// each request runs REPS of them in one transactionSync, and scripts/bench/sql-writes.sh reads
// the runtime's CPU time per request from /proc. Routes (GET):
//   /none           an empty transaction (the baseline the script subtracts)
//   /upsert-all     one upsert setting every listing column (the write before issue #11's
//                   fourth session), then the demo rows
//   /ledger         LISTINGS_IN_PLACE, then LISTINGS_MANY only if rowsWritten fell short (as
//                   now), then the demo rows: an order's listings keep their class
//   /ledger-class   the same for rows whose class changed (a push planned or acknowledged on a
//                   channel outside the object): the in-place update misses, the upsert runs
//   /rows           one statement per listing and per demo row (the plain-JS worker's way)
//   /upsert-all-class   /upsert-all for rows whose class changed (to compare with /ledger-class)
//   /upsert-all-new, /ledger-new   the listing writes alone for ten listings new to the table
//                   (a bulk load's case: the in-place update misses every row)
import { DurableObject } from "cloudflare:workers";
import { SCHEMA, LISTINGS_IN_PLACE, LISTINGS_MANY, DEMO_RECEIVED_MANY } from "./statements.js";

const REPS = 20;
const LISTINGS = 10;
// The upsert as it was: LISTINGS_MANY without the clause that skips unchanged rows.
const UPSERT_ALL = LISTINGS_MANY.slice(0, LISTINGS_MANY.indexOf(" WHERE listings.sku IS NOT"));

export default {
  async fetch(request, env) {
    if (new URL(request.url).pathname === "/healthz") return new Response("ok");
    return env.BENCH.get(env.BENCH.idFromName("bench")).fetch(request);
  },
};

export class Writes extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(SCHEMA);
    this.seq = 1;
    if (this.sql.exec("SELECT count(*) AS n FROM listings").one().n === 0) {
      ctx.storage.transactionSync(() => {
        for (let s = 0; s < 200; s++) {
          for (let c = 0; c < LISTINGS; c++) {
            const listing = `L-${c}-${s}`;
            this.sql.exec(
              "INSERT INTO listings (channel, listing, sku, class, attempts, kvb, json) VALUES (?, ?, ?, 2, 0, 5, ?)",
              `channel-${c}`, listing, `SKU-${s}`, this.record(c, listing, 0));
            this.sql.exec("INSERT INTO demo (channel, listing, quantity, edited) VALUES (?, ?, 0, 0)", `channel-${c}`, listing);
          }
        }
      });
    }
  }

  record(c, listing, quantity) {
    return JSON.stringify({
      channel: `channel-${c}`, listing, sku: "SKU-0", pack: 1, ignore_sync: false,
      last_sent: quantity, pending: null, attempts: 0, last_error: null, acked_seq: this.seq,
    });
  }

  // An order's listing rows as the Ledger writes them: [channel, listing, sku, class, attempts, kvb, json].
  rows(klass, fresh = false) {
    const seq = this.seq++;
    const out = [];
    for (let c = 0; c < LISTINGS; c++) {
      const listing = fresh ? `N-${c}-${seq}` : `L-${c}-0`;
      out.push([`channel-${c}`, listing, "SKU-0", klass, 0, 5, this.record(c, listing, seq)]);
    }
    return out;
  }

  demo(rows) {
    this.sql.exec(DEMO_RECEIVED_MANY, JSON.stringify(rows.map((r) => [r[0], r[1], this.seq, this.seq])));
  }

  ledger(rows) {
    const text = JSON.stringify(rows);
    if (this.sql.exec(LISTINGS_IN_PLACE, text).rowsWritten !== rows.length) this.sql.exec(LISTINGS_MANY, text);
    this.demo(rows);
  }

  async fetch(request) {
    const { pathname } = new URL(request.url);
    const write = {
      "/none": () => {},
      "/upsert-all": () => {
        const rows = this.rows(2);
        this.sql.exec(UPSERT_ALL, JSON.stringify(rows));
        this.demo(rows);
      },
      "/upsert-all-class": () => {
        const rows = this.rows(this.seq % 2 ? 2 : 3);
        this.sql.exec(UPSERT_ALL, JSON.stringify(rows));
        this.demo(rows);
      },
      "/upsert-all-new": () => this.sql.exec(UPSERT_ALL, JSON.stringify(this.rows(2, true))),
      "/ledger-new": () => {
        const text = JSON.stringify(this.rows(2, true));
        if (this.sql.exec(LISTINGS_IN_PLACE, text).rowsWritten !== LISTINGS) this.sql.exec(LISTINGS_MANY, text);
      },
      "/ledger": () => this.ledger(this.rows(2)),
      "/ledger-class": () => this.ledger(this.rows(this.seq % 2 ? 2 : 3)),
      "/rows": () => {
        const rows = this.rows(2);
        for (const r of rows) this.sql.exec("UPDATE listings SET json = ? WHERE channel = ? AND listing = ?", r[6], r[0], r[1]);
        for (const r of rows) {
          this.sql.exec(
            "INSERT INTO demo (channel, listing, quantity, recv_quantity, recv_seq, edited) VALUES (?, ?, ?, ?, ?, 0) " +
              "ON CONFLICT (channel, listing) DO UPDATE SET quantity = excluded.quantity, recv_quantity = excluded.recv_quantity, " +
              "recv_seq = excluded.recv_seq, edited = 0 WHERE demo.recv_seq IS NULL OR demo.recv_seq < excluded.recv_seq",
            r[0], r[1], this.seq, this.seq, this.seq);
        }
      },
    }[pathname];
    if (!write) return new Response(`no route ${pathname}`, { status: 404 });
    this.ctx.storage.transactionSync(() => {
      for (let i = 0; i < REPS; i++) write();
    });
    return new Response("ok");
  }
}
