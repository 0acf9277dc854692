//! The whole state as one JSON document (`GET /v1/export`, `POST /v1/import`, the browser
//! preview's input), and the same records as rows, which is how the worker stores them.
//!
//! Reserved stock is not stored: it is rebuilt from the open orders on load, so the two can
//! never disagree (SPEC §7.2).

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::String;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use crate::error::{err, Error, ErrorCode};
use crate::events::Event;
use crate::hub::{AdjustRecord, Hub, Item};
use crate::ids::{ChannelId, ListingId, ListingKey, LocationId, Sku};
use crate::model::{
    Adjust, Channel, ItemBody, Listing, Location, Mapping, Order, OrderStatus, Pending,
    RuleOverrides,
};
use crate::plan::{Dirty, Outcome};
use crate::qty::Qty;
use crate::wire;

/// The snapshot format this build writes and reads.
pub const SNAPSHOT_VERSION: u32 = 1;

/// One listing: its link (when `sku` is set) and its sync state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct ListingRecord {
    pub channel: ChannelId,
    pub listing: ListingId,
    /// The linked sku; none for an explicitly unlinked listing.
    #[serde(default)]
    pub sku: Option<Sku>,
    #[serde(default = "one")]
    pub pack: Qty,
    #[serde(default)]
    pub ignore_sync: bool,
    // ts-rs makes `default` + `skip_serializing_if` fields optional (`rules?:`) by itself;
    // `ts(optional)` is only for `Option` fields.
    #[serde(default, skip_serializing_if = "RuleOverrides::is_empty")]
    pub rules: RuleOverrides,
    #[serde(default)]
    pub last_sent: Option<Qty>,
    #[serde(default)]
    pub pending: Option<Pending>,
    #[serde(default)]
    pub attempts: u32,
    #[serde(default)]
    pub last_error: Option<String>,
    #[serde(default)]
    pub acked_seq: u64,
}

fn one() -> Qty {
    Qty::ONE
}

impl ListingRecord {
    /// The mapping this record links, as `GET /v1/mappings/{channel}/{listing}` shows it; none
    /// for an unlinked listing.
    pub fn mapping(&self) -> Option<Mapping> {
        Some(Mapping {
            channel: self.channel.clone(),
            listing: self.listing.clone(),
            sku: self.sku.clone()?,
            pack: (self.pack != Qty::ONE).then_some(self.pack),
            ignore_sync: self.ignore_sync,
            rules: self.rules.clone(),
        })
    }
}

/// A stored adjustment reference.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct AdjustmentRecord {
    pub sku: Sku,
    pub adjust: Adjust,
}

/// The whole state of one merchant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct Snapshot {
    pub version: u32,
    #[serde(default)]
    pub locations: BTreeMap<LocationId, Location>,
    /// On hand per location, or components.
    #[serde(default)]
    pub items: BTreeMap<Sku, ItemBody>,
    #[serde(default)]
    pub channels: BTreeMap<ChannelId, Channel>,
    #[serde(default)]
    pub listings: Vec<ListingRecord>,
    #[serde(default)]
    pub orders: Vec<Order>,
    #[serde(default)]
    pub adjustments: Vec<AdjustmentRecord>,
    #[serde(default = "first_seq")]
    pub next_seq: u64,
}

fn first_seq() -> u64 {
    1
}

impl Default for Snapshot {
    fn default() -> Snapshot {
        Snapshot {
            version: SNAPSHOT_VERSION,
            locations: BTreeMap::new(),
            items: BTreeMap::new(),
            channels: BTreeMap::new(),
            listings: Vec::new(),
            orders: Vec::new(),
            adjustments: Vec::new(),
            next_seq: 1,
        }
    }
}

impl Snapshot {
    /// The same snapshot with every channel secret removed, for showing.
    pub fn redacted(mut self) -> Snapshot {
        for c in self.channels.values_mut() {
            c.target = c.target.redacted();
        }
        self
    }
}

impl Hub {
    /// The whole state.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            version: SNAPSHOT_VERSION,
            locations: self.locations.clone(),
            items: self
                .items
                .iter()
                .map(|(s, i)| (s.clone(), item_body(i)))
                .collect(),
            channels: self.channels.clone(),
            listings: self
                .listing_keys()
                .filter_map(|k| self.listings.get(k).map(|l| listing_record(k, l)))
                .collect(),
            orders: {
                let mut orders: Vec<&Order> = self.orders.values().collect();
                orders.sort_unstable_by(|a, b| (&a.channel, &a.order).cmp(&(&b.channel, &b.order)));
                orders.into_iter().cloned().collect()
            },
            adjustments: self
                .adjustments
                .values()
                .map(|a| AdjustmentRecord {
                    sku: a.sku.clone(),
                    adjust: a.adjust.clone(),
                })
                .collect(),
            next_seq: self.next_seq,
        }
    }

    /// Builds a hub from a snapshot, checking it as carefully as the events that would have
    /// built it: a snapshot cannot smuggle in state that events could not make.
    pub fn from_snapshot(s: Snapshot) -> Result<Hub, Error> {
        if s.version != SNAPSHOT_VERSION {
            return err(
                ErrorCode::UnsupportedVersion,
                alloc::format!(
                    "snapshot version {} (this build reads {SNAPSHOT_VERSION})",
                    s.version
                ),
            );
        }
        let mut hub = Hub::new();
        let mut scratch = Outcome::default();
        let apply = |hub: &mut Hub, e: Event| hub.apply(e).map(drop);
        for (id, location) in s.locations {
            apply(&mut hub, Event::LocationPut { id, location })?;
        }
        // Stock items first, then composites (which name them).
        let (composites, stock): (Vec<_>, Vec<_>) = s
            .items
            .into_iter()
            .partition(|(_, b)| b.components.is_some());
        // Levels are restored as recorded: on hand may be below zero after an oversold order
        // shipped, which no stock count could set but the ledger must keep.
        for (sku, item) in stock {
            let mut levels: crate::sorted::VecMap<LocationId, crate::hub::Level> =
                Default::default();
            for (loc, on_hand) in item.levels.unwrap_or_default() {
                hub.check_location(&loc)?;
                levels.get_or_default(hub.location_id(&loc)).on_hand = on_hand.get();
            }
            hub.items.insert(
                sku,
                Item {
                    components: Vec::new(),
                    levels,
                },
            );
        }
        for (sku, item) in composites {
            apply(&mut hub, Event::ItemPut { sku, item })?;
        }
        for (id, channel) in s.channels {
            // A redacted export has no secrets; the preview reads it as it is.
            hub.put_channel(id, channel, false, &mut scratch)?;
        }
        let mut max_seq = 0;
        for r in s.listings {
            let key = ListingKey::new(r.channel.clone(), r.listing.clone());
            if !hub.channels.contains_key(&key.channel) {
                return err(
                    ErrorCode::UnknownChannel,
                    alloc::format!("listing {key}: no channel \"{}\"", key.channel),
                );
            }
            if let Some(sku) = &r.sku {
                hub.check_mapping(&Mapping {
                    channel: r.channel.clone(),
                    listing: r.listing.clone(),
                    sku: sku.clone(),
                    pack: Some(r.pack),
                    ignore_sync: r.ignore_sync,
                    rules: r.rules.clone(),
                })?;
            }
            if let Some(q) = r.last_sent {
                q.at_least(0, &alloc::format!("listing {key} last_sent"))?;
            }
            max_seq = max_seq
                .max(r.acked_seq)
                .max(r.pending.as_ref().map_or(0, |p| p.seq));
            let (_, listing) = crate::hub::listing_from_record(r);
            if hub.insert_listing(key.clone(), listing).is_some() {
                return err(
                    ErrorCode::MappingConflict,
                    alloc::format!("listing {key} appears twice"),
                );
            }
        }
        let mut seen = BTreeSet::new();
        for o in s.orders {
            hub.restore_order(o, &mut seen)?;
        }
        for a in s.adjustments {
            let r = a.adjust.reference.clone().ok_or_else(|| {
                Error::new(
                    ErrorCode::MissingField,
                    "a stored adjustment needs its \"ref\"",
                )
            })?;
            hub.adjustments.insert(
                r,
                AdjustRecord {
                    sku: a.sku,
                    adjust: a.adjust,
                },
            );
        }
        if s.next_seq <= max_seq {
            return err(
                ErrorCode::InvalidRequest,
                alloc::format!(
                    "next_seq {} must be above every stored seq ({max_seq})",
                    s.next_seq
                ),
            );
        }
        hub.next_seq = s.next_seq;
        Ok(hub)
    }

    /// Replaces the whole state with a snapshot (`POST /v1/import`), then plans every listing
    /// whose number differs from what its channel last received. A webhook channel whose
    /// secret the snapshot leaves out (a redacted export) keeps the secret it has here.
    pub fn import(&mut self, mut s: Snapshot) -> Result<Outcome, Error> {
        for (id, c) in &mut s.channels {
            c.target
                .keep_secrets(self.channels.get(id).map(|c| &c.target));
        }
        if let Some((id, _)) = s
            .channels
            .iter()
            .find(|(_, c)| matches!(c.target, crate::model::Target::Webhook { secret: None, .. }))
        {
            return err(ErrorCode::InvalidRequest, alloc::format!("channel \"{id}\": a webhook target needs a \"secret\" (this hub has none to keep)"));
        }
        let mut hub = Hub::from_snapshot(s)?;
        let mut out = Outcome::default();
        let keys: Vec<ListingKey> = hub.listing_keys().cloned().collect();
        for key in keys {
            hub.plan_changed(key, &mut out);
        }
        // Listings that are fine need no entry; keep only the pushes and real skips.
        out.dirty = Dirty {
            all: true,
            ..Dirty::default()
        };
        *self = hub;
        Ok(out)
    }

    /// The stored rows an outcome changed. A store that writes these after every event holds
    /// exactly the hub: a backed hub reads them back through [`crate::Store`].
    pub fn rows(&self, dirty: &Dirty) -> Vec<Row> {
        if dirty.all {
            return self.all_rows();
        }
        let mut rows = Vec::new();
        for id in unique(&dirty.locations) {
            if let Some(l) = self.locations.get(id) {
                rows.push(Row::Location {
                    id: id.clone(),
                    json: wire::to_json(l),
                });
            }
        }
        for sku in unique(&dirty.items) {
            if let Some(i) = self.items.get(sku) {
                rows.push(Row::Item {
                    sku: sku.clone(),
                    json: wire::to_json(&item_record(i)),
                    components: i.components.iter().map(|c| c.sku.clone()).collect(),
                });
            }
        }
        for id in unique(&dirty.channels) {
            if let Some(c) = self.channels.get(id) {
                rows.push(Row::Channel {
                    id: id.clone(),
                    json: wire::to_json(c),
                });
            }
        }
        for key in unique(&dirty.listings) {
            if let Some(l) = self.listings.get(key) {
                let record = listing_record(key, l);
                rows.push(Row::Listing {
                    key: key.clone(),
                    sku: record.sku.clone(),
                    class: crate::store::ListingClass::of(&record),
                    attempts: record.attempts,
                    json: wire::to_json(&record),
                });
            }
        }
        for key in unique(&dirty.orders) {
            if let Some(o) = self.orders.get(key) {
                rows.push(Row::Order {
                    channel: key.0.clone(),
                    order: key.1.clone(),
                    json: wire::to_json(o),
                });
            }
        }
        for r in unique(&dirty.adjustments) {
            if let Some(a) = self.adjustments.get(r) {
                rows.push(Row::Adjustment {
                    reference: r.clone(),
                    json: wire::to_json(&AdjustmentRecord {
                        sku: a.sku.clone(),
                        adjust: a.adjust.clone(),
                    }),
                });
            }
        }
        if dirty.meta {
            rows.push(Row::Meta {
                next_seq: self.next_seq,
            });
        }
        rows
    }

    /// Every row of the hub in memory.
    pub fn all_rows(&self) -> Vec<Row> {
        let dirty = Dirty {
            all: false,
            locations: self.locations.keys().cloned().collect(),
            items: self.items.keys().cloned().collect(),
            channels: self.channels.keys().cloned().collect(),
            listings: self.listings.keys().cloned().collect(),
            orders: self.orders.keys().cloned().collect(),
            adjustments: self.adjustments.keys().cloned().collect(),
            meta: true,
        };
        self.rows(&dirty)
    }

    pub(crate) fn restore_order(
        &mut self,
        o: Order,
        seen: &mut BTreeSet<(ChannelId, crate::ids::OrderRef)>,
    ) -> Result<(), Error> {
        if !self.channels.contains_key(&o.channel) {
            return err(
                ErrorCode::UnknownChannel,
                alloc::format!("order \"{}\": no channel \"{}\"", o.order, o.channel),
            );
        }
        if !self.locations.contains_key(&o.location) {
            return err(
                ErrorCode::UnknownLocation,
                alloc::format!("order \"{}\": no location \"{}\"", o.order, o.location),
            );
        }
        let key = (o.channel.clone(), o.order.clone());
        if !seen.insert(key.clone()) {
            return err(
                ErrorCode::OrderConflict,
                alloc::format!("order \"{}\" appears twice", o.order),
            );
        }
        if o.status == OrderStatus::Open {
            for r in o.lines.iter().flat_map(|l| &l.reservations) {
                r.qty.at_least(1, "reservation qty")?;
                let item = self.items.get_mut(&r.sku).ok_or_else(|| {
                    Error::new(
                        ErrorCode::UnknownSku,
                        alloc::format!("order \"{}\" reserves missing item \"{}\"", o.order, r.sku),
                    )
                })?;
                item.levels.get_or_default(o.location.clone()).reserved += r.qty.get();
            }
        }
        self.orders.insert(key, o);
        Ok(())
    }
}

/// One stored record, with the columns a store indexes it by. The JSON is the record's own
/// shape: the snapshot's for locations, channels, listings, orders and adjustments; an
/// [`ItemRecord`](crate::store::ItemRecord) (on hand and reserved) for items.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Row {
    Location {
        id: LocationId,
        json: String,
    },
    Item {
        sku: Sku,
        json: String,
        /// The component skus of a composite (the store's parents index).
        components: Vec<Sku>,
    },
    Channel {
        id: ChannelId,
        json: String,
    },
    Listing {
        key: ListingKey,
        /// The linked sku (the store's by-sku index).
        sku: Option<Sku>,
        /// The sync class and attempts, for filtering and counting by status.
        class: crate::store::ListingClass,
        attempts: u32,
        json: String,
    },
    Order {
        channel: ChannelId,
        order: crate::ids::OrderRef,
        json: String,
    },
    Adjustment {
        reference: crate::ids::AdjustRef,
        json: String,
    },
    Meta {
        next_seq: u64,
    },
}

/// Each element once, in order: a dirty list may name a row several times.
fn unique<T: Ord>(list: &[T]) -> Vec<&T> {
    let mut refs: Vec<&T> = list.iter().collect();
    refs.sort_unstable();
    refs.dedup();
    refs
}

/// The stored key of a listing row: `["channel","listing"]` (ids may hold any character).
pub fn listing_row_key(key: &ListingKey) -> String {
    wire::to_json(&[key.channel.as_str(), key.listing.as_str()])
}

pub(crate) fn item_record(i: &Item) -> crate::store::ItemRecord {
    crate::store::ItemRecord {
        levels: i
            .levels
            .into_iter()
            .map(|(l, v)| (l.clone(), [v.on_hand, v.reserved]))
            .collect(),
        components: i.components.clone(),
    }
}

pub(crate) fn item_body(i: &Item) -> ItemBody {
    if i.components.is_empty() {
        ItemBody {
            levels: Some(
                i.levels
                    .into_iter()
                    .map(|(l, v)| (l.clone(), Qty::new(v.on_hand).unwrap_or(Qty::ZERO)))
                    .collect(),
            ),
            components: None,
        }
    } else {
        ItemBody {
            levels: None,
            components: Some(i.components.clone()),
        }
    }
}

pub(crate) fn listing_record(key: &ListingKey, l: &Listing) -> ListingRecord {
    ListingRecord {
        channel: key.channel.clone(),
        listing: key.listing.clone(),
        sku: l.link.as_ref().map(|k| k.sku.clone()),
        pack: l
            .link
            .as_ref()
            .map_or(Qty::ONE, |k| Qty::new(k.pack).unwrap_or(Qty::ONE)),
        ignore_sync: l.link.as_ref().is_some_and(|k| k.ignore_sync),
        rules: l.link.as_ref().map(|k| k.rules.clone()).unwrap_or_default(),
        last_sent: l.sync.last_sent.and_then(|q| Qty::new(q).ok()),
        pending: l.sync.pending.clone(),
        attempts: l.sync.attempts,
        last_error: l.sync.last_error.clone(),
        acked_seq: l.sync.acked_seq,
    }
}
