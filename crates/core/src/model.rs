//! The hub's configuration and records, in the JSON shapes of the HTTP API (SPEC §5). These
//! types are the one definition of that JSON: the worker and the browser package use them as
//! they are.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use crate::ids::{AdjustRef, ChannelId, ListingId, LocationId, OrderRef, Sku};
use crate::qty::Qty;

/// `PUT /v1/locations/{id}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct Location {
    /// A display name; the id when empty.
    #[serde(default)]
    pub name: String,
}

/// One component of a composite item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct Component {
    pub sku: Sku,
    /// Units of the component per composite unit (at least 1).
    pub qty: Qty,
}

/// `PUT /v1/items/{sku}`: exactly one of `levels` (on hand per location; locations not named
/// keep their level) or `components` (the item becomes or stays a composite).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct ItemBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub levels: Option<BTreeMap<LocationId, Qty>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub components: Option<Vec<Component>>,
}

/// `POST /v1/items/{sku}/adjust`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct Adjust {
    pub location: LocationId,
    /// Units added (positive) or removed (negative); never zero.
    pub delta: Qty,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub reason: Option<String>,
    /// An optional idempotency reference: the same reference applied twice adjusts once.
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub reference: Option<AdjustRef>,
}

/// How a composite's pool is built from its components' stock.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Pooling {
    /// Kits are built per location, then summed: parts split across warehouses make no kit.
    #[default]
    PerLocation,
    /// Components are pooled across the channel's locations first.
    AcrossLocations,
}

/// A channel's quantity rules, applied in SPEC §2.5's fixed order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields, default)]
pub struct Rules {
    /// Units held back: `q = pool − buffer` (≥ 0).
    pub buffer: Qty,
    /// `if q ≤ end_when { q = 0 }` (≥ 0).
    pub end_when: Qty,
    /// `q = floor(q × percent / 100)` (0–100).
    pub percent: Qty,
    /// `q = min(q, max_listed)` (≥ 0), or no cap.
    pub max_listed: Option<Qty>,
    /// How composites pool their components.
    pub bundle_pooling: Pooling,
}

impl Default for Rules {
    fn default() -> Rules {
        Rules {
            buffer: Qty::ZERO,
            end_when: Qty::ZERO,
            percent: Qty::new(100).unwrap_or(Qty::ZERO),
            max_listed: None,
            bundle_pooling: Pooling::PerLocation,
        }
    }
}

/// A listing link's overrides of its channel's rules; a field left out takes the channel's.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields, default)]
pub struct RuleOverrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub buffer: Option<Qty>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub end_when: Option<Qty>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub percent: Option<Qty>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub max_listed: Option<Qty>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub bundle_pooling: Option<Pooling>,
}

impl RuleOverrides {
    pub fn is_empty(&self) -> bool {
        *self == RuleOverrides::default()
    }
}

/// Where a channel's pushes go. Tagged by `"kind"`; serialized and deserialized by hand in
/// [`crate::tagged`] (serde's derive for a tagged enum costs the browser package kilobytes).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(tag = "kind", rename_all = "snake_case"))]
pub enum Target {
    /// The built-in simulated marketplace (`/v1/demo/{channel}/{listing}`).
    Demo,
    /// A signed JSON webhook.
    Webhook {
        url: String,
        /// Signs what is sent and verifies order triggers this channel signs. Never echoed by
        /// `GET /v1/channels`; left out of a `PUT`, the channel keeps the secret it had.
        #[cfg_attr(feature = "ts", ts(optional))]
        secret: Option<String>,
        /// `true`: pushes go out up to 100 per call as `{"pushes": [...]}` (README: "Webhook
        /// batches"); absent or `false`: one call per push.
        #[cfg_attr(feature = "ts", ts(as = "Option<bool>", optional))]
        batch: bool,
    },
    /// A Shopify store (SPEC §9): `shop`, `location_id`, `api_version`, `access_token`,
    /// `webhook_secret`, `endpoint`.
    Shopify(AdapterFields),
    /// A WooCommerce shop (SPEC §9): `site`, `consumer_key`, `consumer_secret`,
    /// `webhook_secret`, `endpoint`.
    Woocommerce(AdapterFields),
}

/// A real channel's target fields, as the core knows them: names and text values, sorted by
/// name. The core checks only that the names are the kind's and the required ones are there;
/// what the values mean (a shop domain, an address the outbound guard allows) is the worker's
/// to check with `stocksync-channels`, which the core and the browser package do not link
/// (ARCHITECTURE.md, "Adapter targets in the core"). The core redacts, keeps and compares the
/// secrets by name ([`SECRET_FIELDS`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AdapterFields(
    #[cfg_attr(feature = "ts", ts(type = "Record<string, string>"))] pub Vec<(String, String)>,
);

/// Adapter target fields that are secrets: never echoed, never in KV, redacted in exports.
pub const SECRET_FIELDS: &[&str] = &[
    "access_token",
    "consumer_key",
    "consumer_secret",
    "webhook_secret",
];

/// The fields a Shopify target may carry, sorted by name; `SHOPIFY_REQUIRED` of them must.
pub const SHOPIFY_FIELDS: &[&str] = &[
    "access_token",
    "api_version",
    "endpoint",
    "location_id",
    "shop",
    "webhook_secret",
];
pub const SHOPIFY_REQUIRED: &[&str] = &["api_version", "location_id", "shop"];
/// The fields a WooCommerce target may carry, sorted by name; `site` must.
pub const WOO_FIELDS: &[&str] = &[
    "consumer_key",
    "consumer_secret",
    "endpoint",
    "site",
    "webhook_secret",
];
pub const WOO_REQUIRED: &[&str] = &["site"];

impl AdapterFields {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Without feature `backed` (the browser package, which only ever holds redacted
    /// exports) this is a copy: a quarter of a kilobyte of its size budget.
    fn without_secrets(&self) -> AdapterFields {
        #[cfg(feature = "backed")]
        let f = AdapterFields(
            self.0
                .iter()
                .filter(|(k, _)| !SECRET_FIELDS.contains(&k.as_str()))
                .cloned()
                .collect(),
        );
        #[cfg(not(feature = "backed"))]
        let f = self.clone();
        f
    }

    /// Takes every secret this target leaves out from `old`, keeping the fields sorted by name
    /// (by insertion: a sort would cost the browser package a kilobyte). Only the worker's hub
    /// holds secrets to keep (feature `backed`).
    #[cfg(feature = "backed")]
    fn keep(&mut self, old: &AdapterFields) {
        for (k, v) in &old.0 {
            if SECRET_FIELDS.contains(&k.as_str()) && self.get(k).is_none() {
                let at = self.0.iter().take_while(|(n, _)| n < k).count();
                self.0.insert(at, (k.clone(), v.clone()));
            }
        }
    }
}

impl Target {
    /// The secret that signs and verifies `X-Stocksync-Signature` (webhook targets only).
    pub fn secret(&self) -> Option<&str> {
        match self {
            Target::Webhook { secret, .. } => secret.as_deref(),
            _ => None,
        }
    }

    /// A real channel's fields.
    pub fn adapter(&self) -> Option<&AdapterFields> {
        match self {
            Target::Shopify(f) | Target::Woocommerce(f) => Some(f),
            _ => None,
        }
    }

    /// The same target with its secrets removed, for showing.
    pub fn redacted(&self) -> Target {
        match self {
            Target::Webhook { url, batch, .. } => Target::Webhook {
                url: url.clone(),
                secret: None,
                batch: *batch,
            },
            Target::Demo => Target::Demo,
            Target::Shopify(f) => Target::Shopify(f.without_secrets()),
            Target::Woocommerce(f) => Target::Woocommerce(f.without_secrets()),
        }
    }

    /// Fills every secret this target leaves out from `old`, the channel's current target,
    /// when it is of the same kind: a `PUT` of a fetched (redacted) channel, or the import of a
    /// redacted export, keeps the secrets the hub has.
    pub fn keep_secrets(&mut self, old: Option<&Target>) {
        match (self, old) {
            (
                Target::Webhook {
                    secret: s @ None, ..
                },
                Some(Target::Webhook { secret, .. }),
            ) => s.clone_from(secret),
            #[cfg(feature = "backed")]
            (Target::Shopify(f), Some(Target::Shopify(o)))
            | (Target::Woocommerce(f), Some(Target::Woocommerce(o))) => f.keep(o),
            _ => {}
        }
    }
}

fn yes() -> bool {
    true
}

/// `PUT /v1/channels/{id}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct Channel {
    /// A display name; the id when empty.
    #[serde(default)]
    pub name: String,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The locations this channel sells from, in order (the first is an order's default).
    #[serde(default)]
    pub locations: Vec<LocationId>,
    #[serde(default)]
    pub rules: Rules,
    pub target: Target,
}

/// One row of `PUT /v1/mappings`: links a channel listing to a hub sku.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    pub channel: ChannelId,
    pub listing: ListingId,
    pub sku: Sku,
    /// Hub units per listing unit (at least 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub pack: Option<Qty>,
    #[serde(default)]
    pub ignore_sync: bool,
    // ts-rs makes `default` + `skip_serializing_if` fields optional (`rules?:`) by itself;
    // `ts(optional)` is only for `Option` fields.
    #[serde(default, skip_serializing_if = "RuleOverrides::is_empty")]
    pub rules: RuleOverrides,
}

/// A listing's link to a hub item (the stored form of a [`Mapping`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    pub sku: Sku,
    pub pack: i64,
    pub ignore_sync: bool,
    pub rules: RuleOverrides,
}

/// One line of `POST /v1/orders`: names a `listing` of the order's channel or a hub `sku`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct OrderLineIn {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub listing: Option<ListingId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub sku: Option<Sku>,
    pub qty: Qty,
}

/// `POST /v1/orders`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct PlaceOrder {
    pub channel: ChannelId,
    pub order: OrderRef,
    /// The fulfilment location; the channel's first location when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub location: Option<LocationId>,
    pub lines: Vec<OrderLineIn>,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    Open,
    Cancelled,
    Shipped,
}

/// Stock one order line holds at the order's location.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct Reservation {
    pub sku: Sku,
    pub qty: Qty,
}

/// One order line as the hub recorded it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct OrderLine {
    /// The listing the channel named, if it named one.
    pub listing: Option<ListingId>,
    /// The hub sku the line resolved to (none when unlinked).
    pub sku: Option<Sku>,
    pub qty: Qty,
    pub linked: bool,
    /// Units of this line beyond what was available when it arrived.
    pub oversold: Qty,
    /// What the line reserves: the sku itself, or a composite's components.
    pub reservations: Vec<Reservation>,
}

/// A stored order: the idempotency record and the reservation in one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct Order {
    pub channel: ChannelId,
    pub order: OrderRef,
    pub location: LocationId,
    pub status: OrderStatus,
    /// The lines as they arrived, to tell a duplicate from a conflicting reuse.
    pub request: Vec<OrderLineIn>,
    pub lines: Vec<OrderLine>,
}

impl Order {
    pub fn oversold(&self) -> bool {
        self.lines.iter().any(|l| l.oversold.get() > 0)
    }
}

/// A push planned and not yet acknowledged: the outbox row of one listing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct Pending {
    pub quantity: Qty,
    /// Hub-wide, strictly increasing: a later push always has a larger seq.
    pub seq: u64,
}

/// What the hub knows of a listing's delivery.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncState {
    pub last_sent: Option<i64>,
    pub pending: Option<Pending>,
    /// Failed attempts of the current pending push.
    pub attempts: u32,
    pub last_error: Option<String>,
    /// The newest seq acknowledged; older acknowledgements are stale and ignored.
    pub acked_seq: u64,
}

/// A listing known to the hub: linked or explicitly unlinked, with its sync state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Listing {
    pub link: Option<Link>,
    pub sync: SyncState,
}
