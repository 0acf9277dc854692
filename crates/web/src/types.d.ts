// Generated from the Rust types by crates/web/tests/typescript.rs (ts-rs). Do not edit:
// run `UPDATE_TYPES=1 cargo test -p stocksync-web --features ts --test typescript`.

/** The error codes of the HTTP API, which the package's errors carry too. */
export type ErrorCode = "malformed_json" | "invalid_type" | "missing_field" | "unknown_field" | "invalid_id" | "invalid_quantity" | "invalid_rule" | "invalid_request" | "empty_order" | "too_many" | "unknown_channel" | "unknown_location" | "unknown_sku" | "unknown_order" | "unknown_listing" | "mapping_conflict" | "order_conflict" | "item_kind_conflict" | "invalid_component" | "missing_location" | "negative_stock" | "adjustment_conflict" | "unknown_push" | "unsupported_version" | "storage_failed" | "order_shipped" | "order_cancelled";

/** What every method of the package throws for rejected input. */
export interface StocksyncError extends Error {
  name: "StocksyncError";
  code: ErrorCode;
}

/**
 * A real channel's target fields, as the core knows them: names and text values, sorted by
 * name. The core checks only that the names are the kind's and the required ones are there;
 * what the values mean (a shop domain, an address the outbound guard allows) is the worker's
 * to check with `stocksync-channels`, which the core and the browser package do not link
 * (ARCHITECTURE.md, "Adapter targets in the core"). The core redacts, keeps and compares the
 * secrets by name ([`SECRET_FIELDS`]).
 */
export type AdapterFields = Record<string, string>;

/**
 * `POST /v1/items/{sku}/adjust`.
 */
export type Adjust = { location: LocationId, 
/**
 * Units added (positive) or removed (negative); never zero.
 */
delta: Qty, reason?: string, 
/**
 * An optional idempotency reference: the same reference applied twice adjusts once.
 */
ref?: AdjustRef, };

/**
 * A caller's reference for a stock adjustment, making a retried adjustment apply once.
 */
export type AdjustRef = string;

/**
 * A stored adjustment reference.
 */
export type AdjustmentRecord = { sku: Sku, adjust: Adjust, };

/**
 * `PUT /v1/channels/{id}`.
 */
export type Channel = { 
/**
 * A display name; the id when empty.
 */
name: string, enabled: boolean, 
/**
 * The locations this channel sells from, in order (the first is an order's default).
 */
locations: Array<LocationId>, rules: Rules, target: Target, };

/**
 * A sales channel integration.
 */
export type ChannelId = string;

export type ChannelView = { id: ChannelId, 
/**
 * A display name; the id when empty.
 */
name: string, enabled: boolean, 
/**
 * The locations this channel sells from, in order (the first is an order's default).
 */
locations: Array<LocationId>, rules: Rules, target: Target, };

/**
 * One component of a composite item.
 */
export type Component = { sku: Sku, 
/**
 * Units of the component per composite unit (at least 1).
 */
qty: Qty, };

/**
 * One push delivered to (and acknowledged by) the simulated channel.
 */
export type Delivery = { channel: ChannelId, listing: ListingId, quantity: number, seq: number, };

/**
 * The error body every surface (HTTP, JS) shows.
 */
export type ErrorBody = { error: ErrorDetail, };

export type ErrorDetail = { code: string, message: string, };

/**
 * Serialized as an object tagged by `"type"`. Deserialized by hand in [`crate::tagged`], so
 * a wasm build holds one deserializer per field type instead of serde's buffered copy too.
 */
export type Event = { "type": "location_put", id: LocationId, location: Location, } | { "type": "item_put", sku: Sku, item: ItemBody, } | { "type": "stock_adjusted", sku: Sku, adjust: Adjust, } | { "type": "channel_put", id: ChannelId, channel: Channel, } | { "type": "mappings_put", mappings: Array<Mapping>, } | { "type": "mapping_deleted", channel: ChannelId, listing: ListingId, } | { "type": "order_placed", order: PlaceOrder, } | { "type": "order_cancelled", channel: ChannelId, order: OrderRef, } | { "type": "order_shipped", channel: ChannelId, order: OrderRef, } | { "type": "push_delivered", channel: ChannelId, listing: ListingId, seq: number, quantity: Qty, } | { "type": "push_failed", channel: ChannelId, listing: ListingId, seq: number, attempt: number, error: string, } | { "type": "resync", channel?: ChannelId, };

/**
 * Why a listing's number is what it is (SPEC §2.11).
 */
export type Explain = { sku: Sku, 
/**
 * The channel's locations the pool is summed over, in the channel's order.
 */
locations: Array<LocationId>, 
/**
 * On hand, reserved and available per location: of the sku, or of each component.
 */
stock: Array<StockLine>, 
/**
 * A composite's components (empty for a stock item).
 */
components: Array<Component>, 
/**
 * A composite's pooling mode (none for a stock item).
 */
pooling: Pooling | null, 
/**
 * How the composite's kits were counted (empty for a stock item).
 */
kits: Array<KitLine>, pool: number, steps: Array<Step>, quantity: number, };

/**
 * Stock one open order holds: `qty` of `sku` at `location`. The reservations behind a
 * `reserved` number (SPEC §2.3), for showing which orders make it up.
 */
export type Hold = { channel: ChannelId, order: OrderRef, location: LocationId, sku: Sku, qty: number, };

/**
 * The whole state as the preview page shows it.
 */
export type HubView = { locations: Array<LocationView>, 
/**
 * Every item, as `GET /v1/items/{sku}` shows it.
 */
items: Array<ItemView>, 
/**
 * Every channel (secrets removed).
 */
channels: Array<ChannelView>, 
/**
 * Every listing the hub knows, linked or not.
 */
listings: Array<ListingRow>, 
/**
 * Every recorded order.
 */
orders: Array<Order>, 
/**
 * The stock each open order holds: what a `reserved` number is made of.
 */
holds: Array<Hold>, };

/**
 * `PUT /v1/items/{sku}`: exactly one of `levels` (on hand per location; locations not named
 * keep their level) or `components` (the item becomes or stays a composite).
 */
export type ItemBody = { levels?: { [key in LocationId]: Qty }, components?: Array<Component>, };

/**
 * `GET /v1/items/{sku}`.
 */
export type ItemView = { sku: Sku, 
/**
 * Per location. For a composite: kits buildable from on hand and from available.
 */
locations: { [key in LocationId]: LevelView }, components: Array<Component>, listings: Array<ListingView>, };

/**
 * Composite kits: per location (`location` set) or one component's pooled count.
 */
export type KitLine = { 
/**
 * The location the kits are built at (per-location pooling).
 */
location: LocationId | null, 
/**
 * The component pooled across locations (across-locations pooling).
 */
component: Sku | null, 
/**
 * Units of the component summed over the channel's locations (across-locations pooling).
 */
component_pool: number | null, kits: number, };

export type LevelView = { on_hand: number, reserved: number, available: number, };

/**
 * One order line as the hub answers it.
 */
export type LineReceipt = { listing: ListingId | null, sku: Sku | null, qty: number, linked: boolean, 
/**
 * Units beyond what was available when the order arrived.
 */
oversold: number, };

/**
 * One listing whose number the hypothetical events change or whose eligibility they change.
 */
export type ListingChange = { channel: ChannelId, listing: ListingId, sku: Sku | null, 
/**
 * The number the hub wants now (none when not eligible now).
 */
before: number | null, 
/**
 * The number it would want after the events (none when not eligible then).
 */
after: number | null, last_sent: number | null, 
/**
 * Why the listing would receive nothing after the events.
 */
reason: SkipReason | null, 
/**
 * How `after` is computed.
 */
explain: Explain | null, };

/**
 * A channel's own listing id (its SKU or listing number).
 */
export type ListingId = string;

/**
 * One listing: its link (when `sku` is set) and its sync state.
 */
export type ListingRecord = { channel: ChannelId, listing: ListingId, 
/**
 * The linked sku; none for an explicitly unlinked listing.
 */
sku: Sku | null, pack: Qty, ignore_sync: boolean, rules?: RuleOverrides, last_sent: Qty | null, pending: Pending | null, attempts: number, last_error: string | null, acked_seq: number, };

/**
 * One listing: its sync line (`GET /v1/sync`), its link, and the explanation of its number.
 */
export type ListingRow = { 
/**
 * Hub units per listing unit (1 when unlinked).
 */
pack: number, ignore_sync: boolean, 
/**
 * The listing's overrides of its channel's rules.
 */
rules: RuleOverrides, 
/**
 * Why the listing receives nothing, in words (none when eligible).
 */
reason_text: string | null, 
/**
 * How `wanted` is computed (none when not eligible).
 */
explain: Explain | null, channel: ChannelId, listing: ListingId, sku: Sku | null, 
/**
 * The number the hub wants the listing to show (none when not eligible).
 */
wanted: number | null, last_sent: number | null, 
/**
 * The number waiting to be delivered, if any.
 */
pending: number | null, status: SyncStatus, 
/**
 * Why the listing is not eligible.
 */
reason: SkipReason | null, attempts: number, last_error: string | null, };

/**
 * A listing as `GET /v1/sync` shows it.
 */
export type ListingStatus = { channel: ChannelId, listing: ListingId, sku: Sku | null, 
/**
 * The number the hub wants the listing to show (none when not eligible).
 */
wanted: number | null, last_sent: number | null, 
/**
 * The number waiting to be delivered, if any.
 */
pending: number | null, status: SyncStatus, 
/**
 * Why the listing is not eligible.
 */
reason: SkipReason | null, attempts: number, last_error: string | null, };

export type ListingView = { channel: ChannelId, listing: ListingId, 
/**
 * The number the hub wants now (none when not eligible).
 */
quantity: number | null, last_sent: number | null, reason: SkipReason | null, explain: Explain | null, };

/**
 * `PUT /v1/locations/{id}`.
 */
export type Location = { 
/**
 * A display name; the id when empty.
 */
name: string, };

/**
 * A warehouse or other stock-holding place.
 */
export type LocationId = string;

export type LocationView = { id: LocationId, 
/**
 * A display name; the id when empty.
 */
name: string, };

/**
 * One row of `PUT /v1/mappings`: links a channel listing to a hub sku.
 */
export type Mapping = { channel: ChannelId, listing: ListingId, sku: Sku, 
/**
 * Hub units per listing unit (at least 1).
 */
pack?: Qty, ignore_sync: boolean, rules?: RuleOverrides, };

/**
 * A stored order: the idempotency record and the reservation in one.
 */
export type Order = { channel: ChannelId, order: OrderRef, location: LocationId, status: OrderStatus, 
/**
 * The lines as they arrived, to tell a duplicate from a conflicting reuse.
 */
request: Array<OrderLineIn>, lines: Array<OrderLine>, };

/**
 * One order line as the hub recorded it.
 */
export type OrderLine = { 
/**
 * The listing the channel named, if it named one.
 */
listing: ListingId | null, 
/**
 * The hub sku the line resolved to (none when unlinked).
 */
sku: Sku | null, qty: Qty, linked: boolean, 
/**
 * Units of this line beyond what was available when it arrived.
 */
oversold: Qty, 
/**
 * What the line reserves: the sku itself, or a composite's components.
 */
reservations: Array<Reservation>, };

/**
 * One line of `POST /v1/orders`: names a `listing` of the order's channel or a hub `sku`.
 */
export type OrderLineIn = { listing?: ListingId, sku?: Sku, qty: Qty, };

/**
 * The order part of `POST /v1/orders` and of cancel / ship answers.
 */
export type OrderReceipt = { order: OrderRef, channel: ChannelId, location: LocationId, status: OrderStatus, 
/**
 * True when this exact order was already recorded: nothing more was reserved.
 */
duplicate: boolean, 
/**
 * Whether this request changed the order: false for a duplicate `POST /v1/orders` and
 * for a repeated cancel or ship (SPEC §5.1), true otherwise.
 */
changed: boolean, 
/**
 * True when any line sold more than was available.
 */
oversold: boolean, lines: Array<LineReceipt>, };

/**
 * A channel's order reference.
 */
export type OrderRef = string;

export type OrderStatus = "open" | "cancelled" | "shipped";

/**
 * Everything one event caused.
 */
export type Outcome = { 
/**
 * One per listing whose number changed (every eligible listing on resync).
 */
pushes: Array<Push>, 
/**
 * Listings the event touched that receive nothing, and why.
 */
skipped: Array<Skipped>, 
/**
 * Stock the event touched that is now below zero available (oversold).
 */
oversold_stock: Array<StockLine>, } & Partial<OrderReceipt>;

/**
 * A push planned and not yet acknowledged: the outbox row of one listing.
 */
export type Pending = { quantity: Qty, 
/**
 * Hub-wide, strictly increasing: a later push always has a larger seq.
 */
seq: number, };

/**
 * `POST /v1/orders`.
 */
export type PlaceOrder = { channel: ChannelId, order: OrderRef, 
/**
 * The fulfilment location; the channel's first location when left out.
 */
location?: LocationId, lines: Array<OrderLineIn>, };

/**
 * How a composite's pool is built from its components' stock.
 */
export type Pooling = "per_location" | "across_locations";

/**
 * `POST /v1/preview`'s answer.
 */
export type Preview = { 
/**
 * Per event, what applying it would cause.
 */
steps: Array<Outcome>, 
/**
 * Per touched listing, its number before and after all the events.
 */
changes: Array<ListingChange>, warnings: Array<Warning>, };

/**
 * `POST /v1/preview`'s body: hypothetical events applied in order to a copy of the hub.
 */
export type PreviewRequest = { events: Array<Event>, };

/**
 * One planned push: the outbox row the worker stores and delivers.
 */
export type Push = { channel: ChannelId, listing: ListingId, sku: Sku, quantity: number, 
/**
 * What the channel last acknowledged (none if it never received anything).
 */
previous: number | null, 
/**
 * Hub-wide, strictly increasing; a listing's newer push always has a larger seq.
 */
seq: number, explain: Explain, };

/**
 * A whole number within ±[`MAX_QTY`]. Sign rules (at least 1, not negative, …) depend on the
 * field and are checked where the field is used.
 */
export type Qty = number;

/**
 * Stock one order line holds at the order's location.
 */
export type Reservation = { sku: Sku, qty: Qty, };

export type Rule = "buffer" | "end_when" | "percent" | "pack" | "max_listed" | "clamp";

/**
 * A listing link's overrides of its channel's rules; a field left out takes the channel's.
 */
export type RuleOverrides = { buffer?: Qty, end_when?: Qty, percent?: Qty, max_listed?: Qty, bundle_pooling?: Pooling, };

/**
 * Where a rule's value came from.
 */
export type RuleSource = "channel" | "listing" | "default";

/**
 * A channel's quantity rules, applied in SPEC §2.5's fixed order.
 */
export type Rules = { 
/**
 * Units held back: `q = pool − buffer` (≥ 0).
 */
buffer: Qty, 
/**
 * `if q ≤ end_when { q = 0 }` (≥ 0).
 */
end_when: Qty, 
/**
 * `q = floor(q × percent / 100)` (0–100).
 */
percent: Qty, 
/**
 * `q = min(q, max_listed)` (≥ 0), or no cap.
 */
max_listed: Qty | null, 
/**
 * How composites pool their components.
 */
bundle_pooling: Pooling, };

/**
 * Why a listing receives nothing (SPEC §2.2), checked in this order.
 */
export type SkipReason = "channel_disabled" | "unlinked" | "ignore_sync" | "no_locations";

/**
 * A listing an event touched that receives nothing.
 */
export type Skipped = { channel: ChannelId, listing: ListingId, sku: Sku | null, reason: SkipReason, };

/**
 * A hub inventory item's stock keeping unit.
 */
export type Sku = string;

/**
 * The whole state of one merchant.
 */
export type Snapshot = { version: number, locations: { [key in LocationId]: Location }, 
/**
 * On hand per location, or components.
 */
items: { [key in Sku]: ItemBody }, channels: { [key in ChannelId]: Channel }, listings: Array<ListingRecord>, orders: Array<Order>, adjustments: Array<AdjustmentRecord>, next_seq: number, };

/**
 * One step of the rule pipeline.
 */
export type Step = { rule: Rule, 
/**
 * The rule's parameter (none for `clamp`, or for `max_listed` without a cap).
 */
value: number | null, source: RuleSource, before: number, after: number, };

/**
 * Stock at one location as a number started from.
 */
export type StockLine = { sku: Sku, location: LocationId, on_hand: number, reserved: number, available: number, };

export type SyncStatus = "in_sync" | "pending" | "failing" | "not_eligible";

/**
 * Where a channel's pushes go. Tagged by `"kind"`; serialized and deserialized by hand in
 * [`crate::tagged`] (serde's derive for a tagged enum costs the browser package kilobytes).
 */
export type Target = { "kind": "demo" } | { "kind": "webhook", url: string, 
/**
 * Signs what is sent and verifies order triggers this channel signs. Never echoed by
 * `GET /v1/channels`; left out of a `PUT`, the channel keeps the secret it had.
 */
secret?: string, 
/**
 * `true`: pushes go out up to 100 per call as `{"pushes": [...]}` (README: "Webhook
 * batches"); absent or `false`: one call per push.
 */
batch?: boolean, } | { "kind": "shopify" } & AdapterFields | { "kind": "woocommerce" } & AdapterFields;

/**
 * Something a merchant should see before applying a change.
 */
export type Warning = { code: WarningCode, count: number, message: string, };

export type WarningCode = "sends_zero" | "stops_sync" | "oversold";

/**
 * The body a webhook channel receives for one push (SPEC §5). `seq` rises with every newer
 * number for the listing, so a receiver can drop an older one that arrives late.
 */
export type WebhookPush = { channel: ChannelId, listing: ListingId, sku: Sku | null, quantity: number, seq: number, 
/**
 * When it was sent, ISO 8601 UTC (the delivery loop's clock; the core has none).
 */
sent_at: string, };
