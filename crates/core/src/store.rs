//! The hub backed by storage: the core reads what an event touches through [`Store`], a small
//! synchronous trait, and keeps only a bounded working set in memory.
//!
//! The shape is TigerBeetle's *prefetch, then execute*: [`Hub::prefetch`] names and loads every
//! row an event can read (its skus, the composites built from them and their components, their
//! listings, the order, the adjustment reference) before [`Hub::apply`] runs against memory
//! exactly as it does for a hub held whole. The core decides what to read; the store only
//! answers lookups by key or index, so no domain rule lives in the shell. Synchronous, because
//! Durable Object SQLite (`sql.exec`) is, and because a prefetch that awaited would let another
//! request interleave between reading and applying.
//!
//! The working set holds *sku units*: an item (or the fact that it does not exist), every
//! listing linked to it and the composites that name it. A linked listing is in memory only with
//! its sku's unit; unlinked listings, orders and adjustment references are loaded one by one.
//! Locations and channels (configuration: small) are always in memory. Memory and store agree
//! whenever a prefetch runs (the shell writes [`Hub::rows`] of every outcome before the next
//! event), so a unit read from the store is complete, and [`Hub::evict`] may drop any of it.
//!
//! Work over a whole channel or the whole hub (a channel's rules, locations or enabled flag; a
//! resync) does not plan inside `apply` on a backed hub: the change commits and the outcome asks
//! for a [`Recompute`], which the shell runs page by page ([`Hub::prefetch_listings`],
//! [`Hub::replan`]), inline for a small channel or as a background job for a big one.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::ids::{AdjustRef, ChannelId, ListingKey, LocationId, OrderRef, Sku};
use crate::model::{Component, Order};
use crate::snapshot::{AdjustmentRecord, ListingRecord};

/// What a backed hub reads from storage. Every method answers from what was last written with
/// [`Hub::rows`]; an `Err` is a storage failure (the event then fails and changes nothing).
pub trait Store {
    /// An item's stored record.
    fn item(&mut self, sku: &Sku) -> Result<Option<ItemRecord>, Error>;
    /// The composites that name `sku` as a component.
    fn parents(&mut self, sku: &Sku) -> Result<Vec<Sku>, Error>;
    /// Every listing linked to `sku`.
    fn listings_of(&mut self, sku: &Sku) -> Result<Vec<ListingRecord>, Error>;
    /// One listing, linked or not.
    fn listing(&mut self, key: &ListingKey) -> Result<Option<ListingRecord>, Error>;
    fn order(&mut self, channel: &ChannelId, order: &OrderRef) -> Result<Option<Order>, Error>;
    fn adjustment(&mut self, reference: &AdjustRef) -> Result<Option<AdjustmentRecord>, Error>;

    /// A hint, given before a batch of prefetches and before anything is written, that the
    /// reads which follow will ask for these skus' units ([`Store::item`], [`Store::parents`],
    /// [`Store::listings_of`]) and these listings ([`Store::listing`]). A store may read them
    /// in bulk now (a query per table instead of one per key) and answer those reads from what
    /// it read. The default reads nothing ahead.
    fn warm(&mut self, skus: &[Sku], listings: &[ListingKey]) -> Result<(), Error> {
        let _ = (skus, listings);
        Ok(())
    }
}

/// An item as stored: on hand *and reserved* per location (a backed hub cannot rebuild
/// reservations from every open order on load), or the components of a composite.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemRecord {
    /// `[on_hand, reserved]` per location.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub levels: BTreeMap<LocationId, [i64; 2]>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<Component>,
}

/// Channel-wide work an event left to the shell on a backed hub.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recompute {
    /// The channel whose listings to plan; `None` for every channel, in id order.
    pub channel: Option<ChannelId>,
    /// Resend every eligible listing (a resync), not only those whose number changed.
    pub resync: bool,
}

/// A listing's sync class as stored beside its row, so `GET /v1/sync` can filter and count
/// a channel's listings by status without reading them: combined with the channel's own
/// eligibility by [`crate::Hub::status_of_class`].
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ListingClass {
    /// Not linked to a hub item.
    Unlinked,
    /// Linked, set to ignore sync.
    Ignored,
    /// Linked, nothing waiting.
    Idle,
    /// Linked, a push waiting (failing once its attempts reach the policy's bound).
    Waiting,
}

impl ListingClass {
    pub const ALL: [ListingClass; 4] = [
        ListingClass::Unlinked,
        ListingClass::Ignored,
        ListingClass::Idle,
        ListingClass::Waiting,
    ];

    pub fn code(self) -> i64 {
        self as i64
    }

    pub fn of(record: &ListingRecord) -> ListingClass {
        match (&record.sku, record.ignore_sync, &record.pending) {
            (None, _, _) => ListingClass::Unlinked,
            (Some(_), true, _) => ListingClass::Ignored,
            (Some(_), false, None) => ListingClass::Idle,
            (Some(_), false, Some(_)) => ListingClass::Waiting,
        }
    }
}

/// A [`Store`] over ordered maps: what the tests, the simulation and the browser use to run the
/// backed path exactly as the worker does, without SQLite.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemStore {
    pub locations: BTreeMap<LocationId, String>,
    pub channels: BTreeMap<ChannelId, String>,
    pub items: BTreeMap<Sku, String>,
    pub parts: BTreeMap<(Sku, Sku), ()>,
    pub listings: BTreeMap<ListingKey, (Option<Sku>, String)>,
    pub by_sku: BTreeMap<(Sku, ListingKey), ()>,
    pub orders: BTreeMap<(ChannelId, OrderRef), String>,
    pub adjustments: BTreeMap<AdjustRef, String>,
    pub next_seq: u64,
    /// Lookups answered, for tests that check a prefetch reads only what an event touches.
    pub reads: u64,
}

impl MemStore {
    /// Writes rows as the worker does: an upsert per row, indexes kept in step.
    pub fn write(&mut self, rows: Vec<crate::snapshot::Row>) {
        use crate::snapshot::Row;
        for row in rows {
            match row {
                Row::Location { id, json } => {
                    self.locations.insert(id, json);
                }
                Row::Channel { id, json } => {
                    self.channels.insert(id, json);
                }
                Row::Item {
                    sku,
                    json,
                    components,
                } => {
                    self.parts.retain(|(_, composite), _| *composite != sku);
                    for c in components {
                        self.parts.insert((c, sku.clone()), ());
                    }
                    self.items.insert(sku, json);
                }
                Row::Listing { key, sku, json, .. } => {
                    if let Some((Some(old), _)) = self.listings.get(&key) {
                        self.by_sku.remove(&(old.clone(), key.clone()));
                    }
                    if let Some(s) = &sku {
                        self.by_sku.insert((s.clone(), key.clone()), ());
                    }
                    self.listings.insert(key, (sku, json));
                }
                Row::Order {
                    channel,
                    order,
                    json,
                } => {
                    self.orders.insert((channel, order), json);
                }
                Row::Adjustment { reference, json } => {
                    self.adjustments.insert(reference, json);
                }
                Row::Meta { next_seq } => self.next_seq = next_seq,
            }
        }
    }

    /// The configuration a backed hub opens with: locations, channels and `next_seq`.
    pub fn open(&self) -> Result<crate::Hub, Error> {
        crate::Hub::open(
            self.locations
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str()))
                .collect(),
            self.channels
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str()))
                .collect(),
            self.next_seq.max(1),
        )
    }

    /// A channel's listings after `after`, in id order, at most `limit` (the worker's paged
    /// query, over maps).
    pub fn channel_page(
        &self,
        channel: &ChannelId,
        after: Option<&ListingKey>,
        limit: usize,
    ) -> Result<Vec<ListingRecord>, Error> {
        self.listings
            .iter()
            .filter(|(k, _)| k.channel == *channel && after.is_none_or(|a| *k > a))
            .take(limit)
            .map(|(_, (_, json))| crate::wire::from_json(json))
            .collect()
    }
}

impl Store for MemStore {
    fn item(&mut self, sku: &Sku) -> Result<Option<ItemRecord>, Error> {
        self.reads += 1;
        self.items
            .get(sku)
            .map(|j| crate::wire::from_json(j))
            .transpose()
    }

    fn parents(&mut self, sku: &Sku) -> Result<Vec<Sku>, Error> {
        self.reads += 1;
        Ok(self
            .parts
            .keys()
            .filter(|(c, _)| c == sku)
            .map(|(_, p)| p.clone())
            .collect())
    }

    fn listings_of(&mut self, sku: &Sku) -> Result<Vec<ListingRecord>, Error> {
        self.reads += 1;
        self.by_sku
            .keys()
            .filter(|(s, _)| s == sku)
            .map(|(_, k)| crate::wire::from_json(&self.listings[k].1))
            .collect()
    }

    fn listing(&mut self, key: &ListingKey) -> Result<Option<ListingRecord>, Error> {
        self.reads += 1;
        self.listings
            .get(key)
            .map(|(_, j)| crate::wire::from_json(j))
            .transpose()
    }

    fn order(&mut self, channel: &ChannelId, order: &OrderRef) -> Result<Option<Order>, Error> {
        self.reads += 1;
        self.orders
            .get(&(channel.clone(), order.clone()))
            .map(|j| crate::wire::from_json(j))
            .transpose()
    }

    fn adjustment(&mut self, reference: &AdjustRef) -> Result<Option<AdjustmentRecord>, Error> {
        self.reads += 1;
        self.adjustments
            .get(reference)
            .map(|j| crate::wire::from_json(j))
            .transpose()
    }
}

impl ItemRecord {
    /// The item as a snapshot shows it: on hand only (reserved is rebuilt from open orders).
    pub fn body(&self) -> crate::model::ItemBody {
        if self.components.is_empty() {
            crate::model::ItemBody {
                levels: Some(
                    self.levels
                        .iter()
                        .map(|(l, [on_hand, _])| {
                            (
                                l.clone(),
                                crate::Qty::new(*on_hand).unwrap_or(crate::Qty::ZERO),
                            )
                        })
                        .collect(),
                ),
                components: None,
            }
        } else {
            crate::model::ItemBody {
                levels: None,
                components: Some(self.components.clone()),
            }
        }
    }
}
