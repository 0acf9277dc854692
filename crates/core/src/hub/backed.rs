//! A hub backed by a [`Store`]: opening with configuration only, prefetching what an event
//! touches, channel-wide planning page by page, and eviction (see [`crate::store`]).

use alloc::vec::Vec;

use super::*;
use crate::error::Error;
use crate::ids::{AdjustRef, ChannelId, ListingKey, LocationId, OrderRef, Sku};
use crate::model::{Channel, Link, Listing, Location, SyncState};
use crate::plan::{Outcome, SyncStatus};
use crate::qty::Qty;
use crate::snapshot::ListingRecord;
use crate::store::{ListingClass, Store};
use crate::wire;

/// How many of each kind of row a hub holds in memory.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Resident {
    pub items: usize,
    pub listings: usize,
    pub orders: usize,
    pub adjustments: usize,
    pub units: usize,
}

impl Resident {
    pub fn rows(&self) -> usize {
        self.items + self.listings + self.orders + self.adjustments + self.units
    }
}

impl Hub {
    /// A backed hub holding only configuration: locations, channels (JSON as stored) and the
    /// next push seq. Everything else is read from the store as events touch it.
    pub fn open(
        locations: Vec<(LocationId, &str)>,
        channels: Vec<(ChannelId, &str)>,
        next_seq: u64,
    ) -> Result<Hub, Error> {
        let mut hub = Hub::new();
        for (id, json) in locations {
            let location: Location = wire::from_json(json)?;
            hub.locations.insert(id, location);
        }
        for (id, json) in channels {
            let mut channel: Channel = wire::from_json(json)?;
            channel.locations = channel
                .locations
                .iter()
                .map(|l| hub.location_id(l))
                .collect();
            hub.channels.insert(id, channel);
        }
        hub.next_seq = next_seq.max(1);
        hub.backed = Some(Backed::default());
        Ok(hub)
    }

    /// Whether this hub reads through a store (and holds only a working set).
    pub fn is_backed(&self) -> bool {
        self.backed.is_some()
    }

    /// Rows in memory now.
    pub fn resident(&self) -> Resident {
        Resident {
            items: self.items.len(),
            listings: self.listings.len(),
            orders: self.orders.len(),
            adjustments: self.adjustments.len(),
            units: self.backed.as_ref().map_or(0, |b| b.units.len()),
        }
    }

    /// Drops the working set (all of it: memory and store agree after every commit) when it
    /// holds more than `max_rows`. Configuration stays. Call it only after the last outcome's
    /// rows were written. Returns whether it evicted.
    pub fn evict(&mut self, max_rows: usize) -> bool {
        if self.backed.is_none() || self.resident().rows() <= max_rows {
            return false;
        }
        // Fresh maps, not `clear()`: a cleared table keeps its capacity.
        self.items = Map::default();
        self.listings = Map::default();
        self.orders = Map::default();
        self.adjustments = BTreeMap::new();
        self.by_sku = Map::default();
        self.by_channel = BTreeMap::new();
        self.parents = Map::default();
        self.backed = Some(Backed::default());
        true
    }

    /// Loads into memory every row `event` can read. A no-op for a hub held whole.
    pub fn prefetch(&mut self, event: &Event, store: &mut dyn Store) -> Result<(), Error> {
        if self.backed.is_none() {
            return Ok(());
        }
        match event {
            Event::LocationPut { .. } | Event::ChannelPut { .. } | Event::Resync { .. } => {}
            Event::ItemPut { sku, item } => {
                self.load_closure(sku, store)?;
                for c in item.components.iter().flatten() {
                    self.load_closure(&c.sku, store)?;
                }
            }
            Event::StockAdjusted { sku, adjust } => {
                if let Some(r) = &adjust.reference {
                    self.load_adjustment(r, store)?;
                }
                self.load_closure(sku, store)?;
            }
            Event::MappingsPut { mappings } => {
                if mappings.len() > 1 {
                    let skus: Vec<Sku> = mappings.iter().map(|m| m.sku.clone()).collect();
                    let keys: Vec<ListingKey> = mappings
                        .iter()
                        .map(|m| ListingKey::new(m.channel.clone(), m.listing.clone()))
                        .collect();
                    store.warm(&skus, &keys)?;
                }
                for m in mappings {
                    self.load_listing(
                        &ListingKey::new(m.channel.clone(), m.listing.clone()),
                        store,
                    )?;
                    self.load_closure(&m.sku, store)?;
                }
            }
            Event::MappingDeleted { channel, listing } => {
                self.load_listing(&ListingKey::new(channel.clone(), listing.clone()), store)?;
            }
            #[cfg(feature = "backed")]
            Event::ListingsSeen { channel, listings } => {
                let keys: Vec<ListingKey> = listings
                    .iter()
                    .map(|l| ListingKey::new(channel.clone(), l.clone()))
                    .collect();
                store.warm(&[], &keys)?;
                for key in &keys {
                    self.load_listing(key, store)?;
                }
            }
            Event::OrderPlaced { order } => {
                self.load_order(&order.channel, &order.order, store)?;
                for line in &order.lines {
                    match (&line.listing, &line.sku) {
                        (Some(l), _) => self.load_listing(
                            &ListingKey::new(order.channel.clone(), l.clone()),
                            store,
                        )?,
                        (None, Some(s)) => self.load_closure(s, store)?,
                        (None, None) => {}
                    }
                }
            }
            Event::OrderCancelled { channel, order } | Event::OrderShipped { channel, order } => {
                self.load_order(channel, order, store)?;
                let skus: Vec<Sku> = self
                    .orders
                    .get(&(channel.clone(), order.clone()))
                    .into_iter()
                    .flat_map(|o| o.lines.iter().flat_map(|l| &l.reservations))
                    .map(|r| r.sku.clone())
                    .collect();
                for s in skus {
                    self.load_closure(&s, store)?;
                }
            }
            Event::PushDelivered {
                channel, listing, ..
            }
            | Event::PushFailed {
                channel, listing, ..
            } => {
                self.load_listing(&ListingKey::new(channel.clone(), listing.clone()), store)?;
            }
        }
        Ok(())
    }

    /// Loads what planning or showing `sku` reads (`GET /v1/items/{sku}`).
    pub fn prefetch_sku(&mut self, sku: &Sku, store: &mut dyn Store) -> Result<(), Error> {
        if self.backed.is_some() {
            self.load_closure(sku, store)?;
        }
        Ok(())
    }

    /// Loads what planning or showing one listing reads.
    pub fn prefetch_listing(
        &mut self,
        key: &ListingKey,
        store: &mut dyn Store,
    ) -> Result<(), Error> {
        if self.backed.is_some() {
            self.load_listing(key, store)?;
        }
        Ok(())
    }

    /// Loads a page of listing records the shell read from its store (a channel's listings in
    /// order, for a recompute or `GET /v1/sync`), with what planning them reads. Returns their
    /// keys, in the page's order.
    pub fn prefetch_listings(
        &mut self,
        records: Vec<ListingRecord>,
        store: &mut dyn Store,
    ) -> Result<Vec<ListingKey>, Error> {
        let mut keys = Vec::with_capacity(records.len());
        if let Some(backed) = &self.backed {
            let mut skus: Vec<Sku> = records
                .iter()
                .filter_map(|r| r.sku.clone())
                .filter(|s| !backed.units.contains(s))
                .collect();
            skus.sort_unstable();
            skus.dedup();
            if skus.len() > 1 {
                store.warm(&skus, &[])?;
            }
        }
        for r in records {
            let key = ListingKey::new(r.channel.clone(), r.listing.clone());
            if self.backed.is_some() {
                match &r.sku {
                    Some(sku) => self.load_closure(sku, store)?,
                    None => {
                        if !self.listings.contains_key(&key) {
                            let (k, l) = listing_from_record(r);
                            self.insert_listing(k, l);
                        }
                    }
                }
            }
            keys.push(key);
        }
        Ok(keys)
    }

    /// Loads what planning or showing each of `keys` reads, reading ahead in two rounds (the
    /// listings, then their skus: [`Store::warm`]) rather than key by key: a delivery batch.
    pub fn prefetch_keys(
        &mut self,
        keys: &[ListingKey],
        store: &mut dyn Store,
    ) -> Result<(), Error> {
        if self.backed.is_none() {
            return Ok(());
        }
        let missing: Vec<ListingKey> = keys
            .iter()
            .filter(|k| !self.listings.contains_key(*k))
            .cloned()
            .collect();
        if missing.len() > 1 {
            store.warm(&[], &missing)?;
        }
        let mut records = Vec::with_capacity(missing.len());
        for k in &missing {
            records.extend(store.listing(k)?);
        }
        self.prefetch_listings(records, store)?;
        for k in keys {
            self.load_listing(k, store)?;
        }
        Ok(())
    }

    /// Plans `keys` (prefetched): the step a [`crate::Recompute`] is run in. Every push is
    /// computed from the state now.
    pub fn replan(&mut self, keys: Vec<ListingKey>, resync: bool) -> Outcome {
        let mut out = Outcome::default();
        let force = if resync { Force::All } else { Force::Changed };
        out.pushes.reserve(keys.len());
        self.plan(keys, force, &mut out);
        out
    }

    /// The status `GET /v1/sync` shows for a stored listing of `channel` in `class` with
    /// `attempts` failed attempts: what [`Hub::listing_status`] says, without loading it.
    pub fn status_of_class(
        &self,
        channel: &ChannelId,
        class: ListingClass,
        attempts: u32,
        policy: &RetryPolicy,
    ) -> SyncStatus {
        let eligible = self
            .channels
            .get(channel)
            .is_some_and(|c| c.enabled && !c.locations.is_empty());
        match class {
            _ if !eligible => SyncStatus::NotEligible,
            ListingClass::Unlinked | ListingClass::Ignored => SyncStatus::NotEligible,
            ListingClass::Idle => SyncStatus::InSync,
            ListingClass::Waiting if attempts >= policy.failing_threshold() => SyncStatus::Failing,
            ListingClass::Waiting => SyncStatus::Pending,
        }
    }

    // ----- loading ---------------------------------------------------------------------------

    /// Everything planning `sku`'s listings and its composites' listings reads: its unit, its
    /// components' units, and for each composite built from it, that composite's unit and its
    /// components' units.
    fn load_closure(&mut self, sku: &Sku, store: &mut dyn Store) -> Result<(), Error> {
        self.load_unit(sku, store)?;
        let mut next: Vec<Sku> = self.components_of(sku);
        let parents: Vec<Sku> = self
            .parents
            .get(sku)
            .map(|p| p.iter().cloned().collect())
            .unwrap_or_default();
        for p in parents {
            self.load_unit(&p, store)?;
            next.extend(self.components_of(&p));
        }
        for c in next {
            self.load_unit(&c, store)?;
        }
        Ok(())
    }

    fn components_of(&self, sku: &Sku) -> Vec<Sku> {
        self.items
            .get(sku)
            .map(|i| i.components.iter().map(|c| c.sku.clone()).collect())
            .unwrap_or_default()
    }

    fn load_unit(&mut self, sku: &Sku, store: &mut dyn Store) -> Result<(), Error> {
        let Some(backed) = self.backed.as_mut() else {
            return Ok(());
        };
        if !backed.units.insert(sku.clone()) {
            return Ok(());
        }
        if let Some(rec) = store.item(sku)? {
            let mut levels: VecMap<LocationId, Level> = VecMap::default();
            for (loc, [on_hand, reserved]) in rec.levels {
                *levels.get_or_default(self.location_id(&loc)) = Level { on_hand, reserved };
            }
            self.items.insert(
                sku.clone(),
                Item {
                    components: rec.components,
                    levels,
                },
            );
        }
        let parents = store.parents(sku)?;
        if parents.is_empty() {
            self.parents.remove(sku);
        } else {
            let mut set = SortedVec::default();
            for p in parents {
                set.insert(p);
            }
            self.parents.insert(sku.clone(), set);
        }
        for rec in store.listings_of(sku)? {
            let (key, listing) = listing_from_record(rec);
            if !self.listings.contains_key(&key) {
                self.insert_listing(key, listing);
            }
        }
        Ok(())
    }

    fn load_listing(&mut self, key: &ListingKey, store: &mut dyn Store) -> Result<(), Error> {
        if let Some(l) = self.listings.get(key) {
            if let Some(sku) = l.link.as_ref().map(|l| l.sku.clone()) {
                self.load_closure(&sku, store)?;
            }
            return Ok(());
        }
        let Some(rec) = store.listing(key)? else {
            return Ok(());
        };
        match rec.sku.clone() {
            Some(sku) => self.load_closure(&sku, store)?,
            None => {
                let (k, l) = listing_from_record(rec);
                self.insert_listing(k, l);
            }
        }
        Ok(())
    }

    fn load_order(
        &mut self,
        channel: &ChannelId,
        order: &OrderRef,
        store: &mut dyn Store,
    ) -> Result<(), Error> {
        let key = (channel.clone(), order.clone());
        if self.orders.contains_key(&key) {
            return Ok(());
        }
        if let Some(o) = store.order(channel, order)? {
            self.orders.insert(key, o);
        }
        Ok(())
    }

    fn load_adjustment(&mut self, r: &AdjustRef, store: &mut dyn Store) -> Result<(), Error> {
        if self.adjustments.contains_key(r) {
            return Ok(());
        }
        if let Some(a) = store.adjustment(r)? {
            self.adjustments.insert(
                r.clone(),
                AdjustRecord {
                    sku: a.sku,
                    adjust: a.adjust,
                },
            );
        }
        Ok(())
    }
}

/// A stored listing record as the hub holds it.
pub(crate) fn listing_from_record(r: ListingRecord) -> (ListingKey, Listing) {
    let key = ListingKey::new(r.channel, r.listing);
    let link = r.sku.map(|sku| Link {
        sku,
        pack: r.pack.get(),
        ignore_sync: r.ignore_sync,
        rules: r.rules,
    });
    let sync = SyncState {
        last_sent: r.last_sent.map(Qty::get),
        pending: r.pending,
        attempts: r.attempts,
        last_error: r.last_error,
        acked_seq: r.acked_seq,
    };
    (key, Listing { link, sync })
}
