// An app using the package, type-checked (never run) against www/pkg/stocksync_web.d.ts by
// tests/web/package.test.mjs: the generated types are valid TypeScript, type every method,
// and reject what the core would reject by type (the @ts-expect-error lines must stay errors).
import init, { Hub, describeSkipReason } from "../../www/pkg/stocksync_web.js";
import type { ErrorCode, Event, Explain, HubView, Outcome, Preview, Snapshot, StocksyncError } from "../../www/pkg/stocksync_web.js";

export async function whatIf(exportJson: string): Promise<string[]> {
  await init();
  const hub: Hub = Hub.fromJson(exportJson);
  const events: Event[] = [
    { type: "item_put", sku: "TEST_SS7052", item: { levels: { LONDON: 0 } } },
    { type: "order_placed", order: { channel: "shop", order: "X-1", lines: [{ listing: "SHOP-7052", qty: 1 }] } },
    { type: "mappings_put", mappings: [{ channel: "shop", listing: "SHOP-1", sku: "A", ignore_sync: false, pack: 6 }] },
    { type: "mapping_deleted", channel: "shop", listing: "SHOP-1" },
    { type: "order_cancelled", channel: "shop", order: "X-1" },
    {
      type: "channel_put",
      id: "shop",
      channel: {
        name: "Own shop",
        enabled: false,
        locations: ["LONDON"],
        rules: { buffer: 1, end_when: 0, percent: 100, max_listed: null, bundle_pooling: "per_location" },
        target: { kind: "webhook", url: "https://example.invalid/hook" },
      },
    },
  ];
  const preview: Preview = hub.preview(events);
  const lines = preview.changes.map((c) => `${c.channel}/${c.listing}: ${c.before ?? "-"} -> ${c.after ?? "-"} ${c.reason ? describeSkipReason(c.reason) : ""}`);
  const why: Explain | null = preview.changes[0]?.explain ?? null;
  if (why) lines.push(...why.steps.map((s) => `${s.rule} ${s.value ?? ""}: ${s.before} -> ${s.after}`));
  lines.push(...preview.warnings.map((w) => `${w.code} ${w.count}: ${w.message}`));

  const after: Hub = hub.fork(events.slice(0, 1));
  const view: HubView = after.view();
  lines.push(...view.items.map((i) => `${i.sku}: ${Object.values(i.locations).map((l) => l.available).join(",")}`));
  const outcome: Outcome = after.apply(events[1]);
  if (outcome.order !== undefined) lines.push(`${outcome.order} ${outcome.status} oversold=${outcome.oversold}`);
  lines.push(...after.deliverAll().map((d) => `${d.channel}/${d.listing} <- ${d.quantity}`));
  const snapshot: Snapshot = after.snapshot();
  lines.push(String(snapshot.next_seq), String(Hub.fromSnapshot(snapshot).sync().length));
  after.free();

  try {
    hub.apply({ type: "item_put", sku: "", item: { levels: { LONDON: 1 } } });
  } catch (e) {
    const err = e as StocksyncError;
    const code: ErrorCode = err.code;
    lines.push(`${err.name} ${code}: ${err.message}`);
  }
  hub.free();
  return lines;
}

// @ts-expect-error a quantity is a number, not a string
export const stringQuantity: Event = { type: "item_put", sku: "A", item: { levels: { L: "3" } } };
// @ts-expect-error there is no such event
export const unknownEvent: Event = { type: "item_deleted", sku: "A" };
// @ts-expect-error a skip reason is one of the core's codes
export const unknownReason = describeSkipReason("sold_out");
// @ts-expect-error an error code is one of the API's codes
export const unknownCode: ErrorCode = "not_a_code";
