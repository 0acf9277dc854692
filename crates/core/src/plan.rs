//! What the hub decides: the pushes it plans, the listings it skips and why, and the
//! explanation of every number.

use alloc::string::String;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use crate::ids::{AdjustRef, ChannelId, ListingId, ListingKey, LocationId, OrderRef, Sku};
use crate::model::{Component, OrderStatus, Pooling};

/// One planned push: the outbox row the worker stores and delivers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Push {
    pub channel: ChannelId,
    pub listing: ListingId,
    pub sku: Sku,
    pub quantity: i64,
    /// What the channel last acknowledged (none if it never received anything).
    pub previous: Option<i64>,
    /// Hub-wide, strictly increasing; a listing's newer push always has a larger seq.
    pub seq: u64,
    pub explain: Explain,
}

/// The body a webhook channel receives for one push (SPEC §5). `seq` rises with every newer
/// number for the listing, so a receiver can drop an older one that arrives late.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct WebhookPush {
    pub channel: ChannelId,
    pub listing: ListingId,
    pub sku: Option<Sku>,
    pub quantity: i64,
    pub seq: u64,
    /// When it was sent, ISO 8601 UTC (the delivery loop's clock; the core has none).
    pub sent_at: String,
}

/// The body of a batched webhook call (a target with `"batch": true`): at most
/// [`WEBHOOK_BATCH_MAX`] pushes, each with the idempotency key it would have had alone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct WebhookBatch {
    pub pushes: Vec<WebhookBatchItem>,
}

/// One push of a [`WebhookBatch`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct WebhookBatchItem {
    #[serde(flatten)]
    #[cfg_attr(feature = "ts", ts(flatten))]
    pub push: WebhookPush,
    /// `{channel}:{listing}:{seq}`, as the `Idempotency-Key` header of a single push.
    pub idempotency_key: String,
}

/// The most pushes one batched webhook call carries.
pub const WEBHOOK_BATCH_MAX: usize = 100;

/// Why a listing receives nothing (SPEC §2.2), checked in this order.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    ChannelDisabled,
    Unlinked,
    IgnoreSync,
    NoLocations,
}

impl SkipReason {
    pub fn describe(self) -> &'static str {
        match self {
            SkipReason::ChannelDisabled => "the channel is disabled",
            SkipReason::Unlinked => "the listing is not linked to a hub item",
            SkipReason::IgnoreSync => "the listing is set to ignore sync",
            SkipReason::NoLocations => "the channel has no locations selected",
        }
    }
}

/// A listing an event touched that receives nothing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Skipped {
    pub channel: ChannelId,
    pub listing: ListingId,
    pub sku: Option<Sku>,
    pub reason: SkipReason,
}

/// Stock at one location as a number started from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StockLine {
    pub sku: Sku,
    pub location: LocationId,
    pub on_hand: i64,
    pub reserved: i64,
    pub available: i64,
}

/// Composite kits: per location (`location` set) or one component's pooled count.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct KitLine {
    /// The location the kits are built at (per-location pooling).
    pub location: Option<LocationId>,
    /// The component pooled across locations (across-locations pooling).
    pub component: Option<Sku>,
    /// Units of the component summed over the channel's locations (across-locations pooling).
    pub component_pool: Option<i64>,
    pub kits: i64,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    Buffer,
    EndWhen,
    Percent,
    Pack,
    MaxListed,
    Clamp,
}

/// Where a rule's value came from.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum RuleSource {
    Channel,
    Listing,
    Default,
}

/// One step of the rule pipeline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Step {
    pub rule: Rule,
    /// The rule's parameter (none for `clamp`, or for `max_listed` without a cap).
    pub value: Option<i64>,
    pub source: RuleSource,
    pub before: i64,
    pub after: i64,
}

/// Why a listing's number is what it is (SPEC §2.11).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Explain {
    pub sku: Sku,
    /// The channel's locations the pool is summed over, in the channel's order.
    pub locations: Vec<LocationId>,
    /// On hand, reserved and available per location: of the sku, or of each component.
    pub stock: Vec<StockLine>,
    /// A composite's components (empty for a stock item).
    pub components: Vec<Component>,
    /// A composite's pooling mode (none for a stock item).
    pub pooling: Option<Pooling>,
    /// How the composite's kits were counted (empty for a stock item).
    pub kits: Vec<KitLine>,
    pub pool: i64,
    pub steps: Vec<Step>,
    pub quantity: i64,
}

/// One order line as the hub answers it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LineReceipt {
    pub listing: Option<ListingId>,
    pub sku: Option<Sku>,
    pub qty: i64,
    pub linked: bool,
    /// Units beyond what was available when the order arrived.
    pub oversold: i64,
}

/// The order part of `POST /v1/orders` and of cancel / ship answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct OrderReceipt {
    pub order: OrderRef,
    pub channel: ChannelId,
    pub location: LocationId,
    pub status: OrderStatus,
    /// True when this exact order was already recorded: nothing more was reserved.
    pub duplicate: bool,
    /// Whether this request changed the order: false for a duplicate `POST /v1/orders` and
    /// for a repeated cancel or ship (SPEC §5.1), true otherwise.
    pub changed: bool,
    /// True when any line sold more than was available.
    pub oversold: bool,
    pub lines: Vec<LineReceipt>,
}

/// Rows an event changed, so a store can write just those (the worker's SQLite tables). Each
/// list may name a row more than once ([`crate::Hub::rows`] writes it once): marking is a push,
/// which keeps a resync of a million listings cheap and the wasm builds small.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Dirty {
    /// Everything changed (an import): rewrite the whole store.
    pub all: bool,
    pub locations: Vec<LocationId>,
    pub items: Vec<Sku>,
    pub channels: Vec<ChannelId>,
    pub listings: Vec<ListingKey>,
    pub orders: Vec<(ChannelId, OrderRef)>,
    pub adjustments: Vec<AdjustRef>,
    pub meta: bool,
}

impl Dirty {
    pub fn is_empty(&self) -> bool {
        !self.all
            && !self.meta
            && self.locations.is_empty()
            && self.items.is_empty()
            && self.channels.is_empty()
            && self.listings.is_empty()
            && self.orders.is_empty()
            && self.adjustments.is_empty()
    }

    pub fn merge(&mut self, other: Dirty) {
        self.all |= other.all;
        self.locations.extend(other.locations);
        self.items.extend(other.items);
        self.channels.extend(other.channels);
        self.listings.extend(other.listings);
        self.orders.extend(other.orders);
        self.adjustments.extend(other.adjustments);
        self.meta |= other.meta;
    }
}

/// Everything one event caused.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Outcome {
    /// For order events: the order as recorded (its fields are inlined in the JSON).
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    // ts-rs cannot flatten an `Option`; the web crate's TypeScript generator declares
    // `Outcome` as these fields `& Partial<OrderReceipt>`.
    #[cfg_attr(feature = "ts", ts(skip))]
    pub receipt: Option<OrderReceipt>,
    /// One per listing whose number changed (every eligible listing on resync).
    pub pushes: Vec<Push>,
    /// Listings the event touched that receive nothing, and why.
    pub skipped: Vec<Skipped>,
    /// Stock the event touched that is now below zero available (oversold).
    pub oversold_stock: Vec<StockLine>,
    #[serde(skip)]
    #[cfg_attr(feature = "ts", ts(skip))]
    pub dirty: Dirty,
    /// On a backed hub: channel-wide planning this event left to the shell.
    #[serde(skip)]
    #[cfg_attr(feature = "ts", ts(skip))]
    pub recompute: Option<crate::store::Recompute>,
}

/// Stock one open order holds: `qty` of `sku` at `location`. The reservations behind a
/// `reserved` number (SPEC §2.3), for showing which orders make it up.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Hold {
    pub channel: ChannelId,
    pub order: OrderRef,
    pub location: LocationId,
    pub sku: Sku,
    pub qty: i64,
}

/// A listing as `GET /v1/sync` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ListingStatus {
    pub channel: ChannelId,
    pub listing: ListingId,
    pub sku: Option<Sku>,
    /// The number the hub wants the listing to show (none when not eligible).
    pub wanted: Option<i64>,
    pub last_sent: Option<i64>,
    /// The number waiting to be delivered, if any.
    pub pending: Option<i64>,
    pub status: SyncStatus,
    /// Why the listing is not eligible.
    pub reason: Option<SkipReason>,
    pub attempts: u32,
    pub last_error: Option<String>,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum SyncStatus {
    InSync,
    Pending,
    Failing,
    NotEligible,
}

/// `GET /v1/items/{sku}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ItemView {
    pub sku: Sku,
    /// Per location. For a composite: kits buildable from on hand and from available.
    pub locations: alloc::collections::BTreeMap<LocationId, LevelView>,
    pub components: Vec<Component>,
    pub listings: Vec<ListingView>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LevelView {
    pub on_hand: i64,
    pub reserved: i64,
    pub available: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ListingView {
    pub channel: ChannelId,
    pub listing: ListingId,
    /// The number the hub wants now (none when not eligible).
    pub quantity: Option<i64>,
    pub last_sent: Option<i64>,
    pub reason: Option<SkipReason>,
    pub explain: Option<Explain>,
}
