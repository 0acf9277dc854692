//! The hub: all state of one merchant, and the one function that changes it, [`Hub::apply`].
//!
//! `apply` validates an event completely before it changes anything, so a rejected event leaves
//! the hub exactly as it was. Work follows what the event touches: an order for one sku looks up
//! that sku, its components' composites and their listings through indexes, never the whole
//! catalogue.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::error::{err, Error, ErrorCode};
use crate::events::Event;
use crate::ids::{check_text, AdjustRef, ChannelId, ListingKey, LocationId, OrderRef, Sku};
use crate::limits;
use crate::model::{
    Adjust, Channel, Component, ItemBody, Link, Listing, Location, Mapping, Order, OrderLine,
    OrderStatus, Pending, PlaceOrder, Pooling, Reservation, SyncState, Target,
};
use crate::plan::{
    Explain, Hold, ItemView, KitLine, LevelView, LineReceipt, ListingStatus, ListingView,
    OrderReceipt, Outcome, Push, SkipReason, Skipped, StockLine, SyncStatus,
};
use crate::qty::{self, Qty, MAX_QTY};
use crate::rules;
use crate::sorted::{SortedVec, VecMap};

/// Stock of one item at one location.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Level {
    pub on_hand: i64,
    /// Σ open order lines here (SPEC §7.2), kept incrementally and checked by
    /// [`Hub::check_invariants`].
    pub reserved: i64,
}

impl Level {
    fn available(self) -> i64 {
        qty::sub(self.on_hand, self.reserved)
    }
}

/// An inventory item: a stock item (no components) or a composite (no levels of its own).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Item {
    pub components: Vec<Component>,
    pub levels: VecMap<LocationId, Level>,
}

impl Item {
    fn is_composite(&self) -> bool {
        !self.components.is_empty()
    }
}

/// A stored adjustment reference, so a retried adjustment applies once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AdjustRecord {
    pub sku: Sku,
    pub adjust: Adjust,
}

/// Delivery retry policy: exponential backoff with jitter, a bound on attempts.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The delay before the second attempt.
    pub base_delay_ms: u64,
    /// No delay is longer than this.
    pub max_delay_ms: u64,
    /// After this many failed attempts the listing shows as `failing` (and always once
    /// `max_attempts` stopped the retries, whatever this says).
    pub failing_after: u32,
    /// After this many failed attempts automatic retries stop until the hub's number changes
    /// again or the listing is resynced.
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            base_delay_ms: 2_000,
            max_delay_ms: 600_000,
            failing_after: 5,
            max_attempts: 12,
        }
    }
}

impl RetryPolicy {
    /// The delay before retrying after `attempts` failures, given a uniformly random `jitter`:
    /// "equal jitter", half fixed and half random, so retries of many listings spread out but
    /// never come back sooner than half the backoff.
    pub fn delay_ms(&self, attempts: u32, jitter: u32) -> u64 {
        let exp = attempts.saturating_sub(1).min(40);
        let full = self
            .base_delay_ms
            .saturating_mul(1u64 << exp)
            .min(self.max_delay_ms);
        let half = full / 2;
        half + (u64::from(jitter) % (full - half + 1))
    }

    /// Whether the delivery loop should try again after `attempts` failures.
    pub fn should_retry(&self, attempts: u32) -> bool {
        attempts < self.max_attempts
    }
}

/// A hash map with a fixed seed: lookups cost the same on 1,000 skus as on 1,000,000, and runs
/// are reproducible. Nothing iterates one of these where order shows: views and snapshots sort.
pub(crate) type Map<K, V> = hashbrown::HashMap<K, V, foldhash::fast::FixedState>;

/// One merchant's whole state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Hub {
    pub(crate) locations: BTreeMap<LocationId, Location>,
    pub(crate) items: Map<Sku, Item>,
    pub(crate) channels: BTreeMap<ChannelId, Channel>,
    pub(crate) listings: Map<ListingKey, Listing>,
    pub(crate) orders: Map<(ChannelId, OrderRef), Order>,
    pub(crate) adjustments: BTreeMap<AdjustRef, AdjustRecord>,
    /// Linked listings per sku.
    pub(crate) by_sku: Map<Sku, SortedVec<ListingKey>>,
    /// Every known listing per channel, in order: resync and channel changes walk these.
    pub(crate) by_channel: BTreeMap<ChannelId, BTreeSet<ListingKey>>,
    /// Composites per component sku.
    pub(crate) parents: Map<Sku, SortedVec<Sku>>,
    /// The seq the next planned push gets; seqs start at 1.
    pub(crate) next_seq: u64,
}

/// Whether a pass over listings resends what is already in sync.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Force {
    /// Push only numbers that differ from the last planned one.
    Changed,
    /// Push every eligible listing (resync).
    All,
}

impl Hub {
    pub fn new() -> Hub {
        Hub {
            next_seq: 1,
            ..Hub::default()
        }
    }

    /// Applies one event. On `Err` nothing changed.
    pub fn apply(&mut self, event: Event) -> Result<Outcome, Error> {
        let mut out = Outcome::default();
        match event {
            Event::LocationPut { id, location } => self.put_location(id, location, &mut out)?,
            Event::ItemPut { sku, item } => self.put_item(sku, item, &mut out)?,
            Event::StockAdjusted { sku, adjust } => self.adjust(sku, adjust, &mut out)?,
            Event::ChannelPut { id, channel } => self.put_channel(id, channel, true, &mut out)?,
            Event::MappingsPut { mappings } => self.put_mappings(mappings, &mut out)?,
            Event::MappingDeleted { channel, listing } => {
                self.delete_mapping(ListingKey::new(channel, listing), &mut out)?
            }
            Event::OrderPlaced { order } => self.place_order(order, &mut out)?,
            Event::OrderCancelled { channel, order } => {
                self.close_order(channel, order, OrderStatus::Cancelled, &mut out)?
            }
            Event::OrderShipped { channel, order } => {
                self.close_order(channel, order, OrderStatus::Shipped, &mut out)?
            }
            Event::PushDelivered {
                channel,
                listing,
                seq,
                quantity,
            } => self.push_delivered(ListingKey::new(channel, listing), seq, quantity, &mut out)?,
            Event::PushFailed {
                channel,
                listing,
                seq,
                attempt,
                error,
            } => self.push_failed(
                ListingKey::new(channel, listing),
                seq,
                attempt,
                error,
                &mut out,
            )?,
            Event::Resync { channel } => self.resync(channel, &mut out)?,
        }
        Ok(out)
    }

    // ----- configuration -------------------------------------------------------------------

    fn put_location(
        &mut self,
        id: LocationId,
        location: Location,
        out: &mut Outcome,
    ) -> Result<(), Error> {
        check_text("location name", &location.name)?;
        self.locations.insert(id.clone(), location);
        out.dirty.locations.push(id);
        Ok(())
    }

    /// The hub's own copy of a location id, so a million levels share one allocation of
    /// "LONDON" instead of holding a million.
    pub(crate) fn location_id(&self, id: &LocationId) -> LocationId {
        self.locations
            .get_key_value(id)
            .map_or_else(|| id.clone(), |(k, _)| k.clone())
    }

    /// The hub's own copy of a listing key's channel id, shared the same way.
    fn interned(&self, key: ListingKey) -> ListingKey {
        match self.channels.get_key_value(&key.channel) {
            Some((c, _)) => ListingKey {
                channel: c.clone(),
                listing: key.listing,
            },
            None => key,
        }
    }

    pub(crate) fn check_location(&self, id: &LocationId) -> Result<(), Error> {
        if !self.locations.contains_key(id) {
            return err(
                ErrorCode::UnknownLocation,
                alloc::format!("no location \"{id}\"; create it with PUT /v1/locations/{id}"),
            );
        }
        Ok(())
    }

    fn put_item(&mut self, sku: Sku, body: ItemBody, out: &mut Outcome) -> Result<(), Error> {
        match (body.levels, body.components) {
            (Some(levels), None) => self.set_levels(sku, levels, out),
            (None, Some(components)) => self.set_components(sku, components, out),
            _ => err(
                ErrorCode::InvalidRequest,
                "an item body names exactly one of \"levels\" (on hand per location) or \"components\" (a composite)",
            ),
        }
    }

    fn set_levels(
        &mut self,
        sku: Sku,
        levels: BTreeMap<LocationId, Qty>,
        out: &mut Outcome,
    ) -> Result<(), Error> {
        if levels.len() > limits::MAX_LEVELS_PER_REQUEST {
            return err(
                ErrorCode::TooMany,
                alloc::format!(
                    "at most {} levels per request",
                    limits::MAX_LEVELS_PER_REQUEST
                ),
            );
        }
        if self.items.get(&sku).is_some_and(Item::is_composite) {
            return err(ErrorCode::ItemKindConflict, alloc::format!("\"{sku}\" is a composite: it holds no stock of its own; set its components' levels"));
        }
        for (loc, q) in &levels {
            self.check_location(loc)?;
            q.at_least(0, &alloc::format!("on hand at {loc}"))?;
        }
        let levels: Vec<(LocationId, i64)> = levels
            .into_iter()
            .map(|(loc, q)| (self.location_id(&loc), q.get()))
            .collect();
        let item = self.items.entry(sku.clone()).or_default();
        for (loc, q) in levels {
            item.levels.get_or_default(loc).on_hand = q;
        }
        out.dirty.items.push(sku.clone());
        self.plan_skus([sku], out);
        Ok(())
    }

    fn set_components(
        &mut self,
        sku: Sku,
        components: Vec<Component>,
        out: &mut Outcome,
    ) -> Result<(), Error> {
        if components.is_empty() {
            return err(
                ErrorCode::InvalidComponent,
                "a composite needs at least one component",
            );
        }
        if components.len() > limits::MAX_COMPONENTS {
            return err(
                ErrorCode::TooMany,
                alloc::format!(
                    "at most {} components per composite",
                    limits::MAX_COMPONENTS
                ),
            );
        }
        let mut seen = BTreeSet::new();
        for c in &components {
            c.qty
                .at_least(1, &alloc::format!("component {} qty", c.sku))?;
            if c.sku == sku {
                return err(
                    ErrorCode::InvalidComponent,
                    alloc::format!("\"{sku}\" cannot be a component of itself"),
                );
            }
            if !seen.insert(&c.sku) {
                return err(
                    ErrorCode::InvalidComponent,
                    alloc::format!("component \"{}\" is listed twice", c.sku),
                );
            }
            match self.items.get(&c.sku) {
                None => {
                    return err(
                        ErrorCode::UnknownSku,
                        alloc::format!("component \"{}\" is not a hub item", c.sku),
                    )
                }
                Some(i) if i.is_composite() => {
                    return err(
                        ErrorCode::InvalidComponent,
                        alloc::format!(
                            "component \"{}\" is itself a composite; composites do not nest",
                            c.sku
                        ),
                    )
                }
                Some(_) => {}
            }
        }
        if let Some(existing) = self.items.get(&sku) {
            if !existing.is_composite() {
                if existing
                    .levels
                    .values()
                    .any(|l| l.on_hand != 0 || l.reserved != 0)
                {
                    return err(
                        ErrorCode::ItemKindConflict,
                        alloc::format!(
                            "\"{sku}\" holds stock or reservations; it cannot become a composite"
                        ),
                    );
                }
                if self.parents.get(&sku).is_some_and(|p| !p.is_empty()) {
                    return err(
                        ErrorCode::ItemKindConflict,
                        alloc::format!(
                            "\"{sku}\" is a component of another composite; it cannot become one"
                        ),
                    );
                }
            }
        }
        let item = self.items.entry(sku.clone()).or_default();
        for old in core::mem::take(&mut item.components) {
            if let Some(p) = self.parents.get_mut(&old.sku) {
                p.remove(&sku);
            }
        }
        item.levels.clear();
        for c in &components {
            self.parents
                .entry(c.sku.clone())
                .or_default()
                .insert(sku.clone());
        }
        if let Some(item) = self.items.get_mut(&sku) {
            item.components = components;
        }
        out.dirty.items.push(sku.clone());
        self.plan_skus([sku], out);
        Ok(())
    }

    fn adjust(&mut self, sku: Sku, adjust: Adjust, out: &mut Outcome) -> Result<(), Error> {
        if let Some(r) = &adjust.reference {
            if let Some(prev) = self.adjustments.get(r) {
                if prev.sku == sku && prev.adjust == adjust {
                    return Ok(()); // already applied: a retried request
                }
                return err(
                    ErrorCode::AdjustmentConflict,
                    alloc::format!(
                        "adjustment reference \"{r}\" was already used for a different adjustment"
                    ),
                );
            }
        }
        let Some(item) = self.items.get(&sku) else {
            return err(ErrorCode::UnknownSku, alloc::format!("no item \"{sku}\""));
        };
        if item.is_composite() {
            return err(
                ErrorCode::ItemKindConflict,
                alloc::format!("\"{sku}\" is a composite: adjust its components"),
            );
        }
        self.check_location(&adjust.location)?;
        if let Some(reason) = &adjust.reason {
            check_text("reason", reason)?;
        }
        let delta = adjust.delta.get();
        if delta == 0 {
            return err(ErrorCode::InvalidQuantity, "delta must not be zero");
        }
        let on_hand = item.levels.get(&adjust.location).map_or(0, |l| l.on_hand);
        let after = on_hand + delta; // both within ±2^53: no overflow
        if delta < 0 && after < 0 {
            return err(
                ErrorCode::NegativeStock,
                alloc::format!(
                    "{sku} has {on_hand} on hand at {}; removing {} would leave {after}",
                    adjust.location,
                    -delta
                ),
            );
        }
        if after > MAX_QTY {
            return err(
                ErrorCode::InvalidQuantity,
                alloc::format!("on hand would exceed 2^53−1 ({after})"),
            );
        }
        let location = self.location_id(&adjust.location);
        if let Some(item) = self.items.get_mut(&sku) {
            item.levels.get_or_default(location).on_hand = after;
        }
        if let Some(r) = adjust.reference.clone() {
            self.adjustments.insert(
                r.clone(),
                AdjustRecord {
                    sku: sku.clone(),
                    adjust,
                },
            );
            out.dirty.adjustments.push(r);
        }
        out.dirty.items.push(sku.clone());
        self.plan_skus([sku], out);
        Ok(())
    }

    /// `require_secret` is false only when loading a snapshot, which may be a redacted export.
    pub(crate) fn put_channel(
        &mut self,
        id: ChannelId,
        mut channel: Channel,
        require_secret: bool,
        out: &mut Outcome,
    ) -> Result<(), Error> {
        check_text("channel name", &channel.name)?;
        if channel.locations.len() > limits::MAX_CHANNEL_LOCATIONS {
            return err(
                ErrorCode::TooMany,
                alloc::format!(
                    "at most {} locations per channel",
                    limits::MAX_CHANNEL_LOCATIONS
                ),
            );
        }
        let mut seen = BTreeSet::new();
        for loc in &channel.locations {
            self.check_location(loc)?;
            if !seen.insert(loc) {
                return err(
                    ErrorCode::InvalidRequest,
                    alloc::format!("location \"{loc}\" is listed twice"),
                );
            }
        }
        rules::validate(&channel.rules)?;
        if let Target::Webhook { url, secret } = &mut channel.target {
            check_url(url)?;
            if secret.is_none() {
                // A PUT that leaves the secret out keeps the one the channel has (the secret is
                // never shown, so an edit of a fetched channel could not resend it).
                *secret = self
                    .channels
                    .get(&id)
                    .and_then(|c| c.target.secret())
                    .map(ToString::to_string);
            }
            match secret {
                None if !require_secret => {}
                None => {
                    return err(
                        ErrorCode::InvalidRequest,
                        "a webhook target needs a \"secret\" to sign what it sends",
                    )
                }
                Some(s)
                    if s.len() < limits::MIN_SECRET_BYTES || s.len() > limits::MAX_SECRET_BYTES =>
                {
                    return err(
                        ErrorCode::InvalidRequest,
                        alloc::format!(
                            "a webhook secret is {}–{} bytes",
                            limits::MIN_SECRET_BYTES,
                            limits::MAX_SECRET_BYTES
                        ),
                    )
                }
                Some(s) => check_text("secret", s)?,
            }
        }
        channel.locations = channel
            .locations
            .iter()
            .map(|l| self.location_id(l))
            .collect();
        self.channels.insert(id.clone(), channel);
        out.dirty.channels.push(id.clone());
        let keys = self.channel_listings(&id);
        self.plan(keys, Force::Changed, out);
        Ok(())
    }

    fn channel_listings(&self, channel: &ChannelId) -> Vec<ListingKey> {
        self.by_channel
            .get(channel)
            .into_iter()
            .flatten()
            .cloned()
            .collect()
    }

    /// Adds a listing the hub did not know, keeping the channel index in step.
    pub(crate) fn insert_listing(
        &mut self,
        key: ListingKey,
        mut listing: Listing,
    ) -> Option<Listing> {
        let key = self.interned(key);
        if let Some(link) = &mut listing.link {
            if let Some((sku, _)) = self.items.get_key_value(&link.sku) {
                link.sku = sku.clone();
            }
        }
        self.by_channel
            .entry(key.channel.clone())
            .or_default()
            .insert(key.clone());
        let previous = self.listings.insert(key.clone(), listing);
        self.index_link(&key);
        previous
    }

    /// Adds a linked listing to its sku's index, sharing the stored key and sku.
    fn index_link(&mut self, key: &ListingKey) {
        if let Some((
            key,
            Listing {
                link: Some(link), ..
            },
        )) = self.listings.get_key_value(key)
        {
            self.by_sku
                .entry(link.sku.clone())
                .or_default()
                .insert(key.clone());
        }
    }

    pub(crate) fn check_mapping(&self, m: &Mapping) -> Result<(), Error> {
        if !self.channels.contains_key(&m.channel) {
            return err(
                ErrorCode::UnknownChannel,
                alloc::format!("no channel \"{}\"", m.channel),
            );
        }
        if !self.items.contains_key(&m.sku) {
            return err(
                ErrorCode::UnknownSku,
                alloc::format!("no item \"{}\"", m.sku),
            );
        }
        if let Some(p) = m.pack {
            p.at_least(1, "pack")?;
        }
        rules::validate_overrides(&m.rules)?;
        let key = ListingKey::new(m.channel.clone(), m.listing.clone());
        if let Some(link) = self.listings.get(&key).and_then(|l| l.link.as_ref()) {
            if link.sku != m.sku {
                return err(
                    ErrorCode::MappingConflict,
                    alloc::format!(
                        "listing {key} is linked to \"{}\"; unlink it before linking it to \"{}\"",
                        link.sku,
                        m.sku
                    ),
                );
            }
        }
        Ok(())
    }

    fn put_mappings(&mut self, mappings: Vec<Mapping>, out: &mut Outcome) -> Result<(), Error> {
        if mappings.len() > limits::MAX_MAPPINGS_PER_REQUEST {
            return err(
                ErrorCode::TooMany,
                alloc::format!(
                    "at most {} mappings per request",
                    limits::MAX_MAPPINGS_PER_REQUEST
                ),
            );
        }
        let mut batch: BTreeMap<ListingKey, &Sku> = BTreeMap::new();
        for (i, m) in mappings.iter().enumerate() {
            self.check_mapping(m).map_err(|e| {
                Error::new(e.code, alloc::format!("mapping {}: {}", i + 1, e.message))
            })?;
            let key = ListingKey::new(m.channel.clone(), m.listing.clone());
            if let Some(other) = batch.insert(key.clone(), &m.sku) {
                if *other != m.sku {
                    return err(
                        ErrorCode::MappingConflict,
                        alloc::format!(
                            "mapping {}: listing {key} is named twice, for \"{other}\" and \"{}\"",
                            i + 1,
                            m.sku
                        ),
                    );
                }
            }
        }
        let mut keys = Vec::with_capacity(mappings.len());
        for m in mappings {
            let key = ListingKey::new(m.channel, m.listing);
            let link = Link {
                sku: m.sku.clone(),
                pack: m.pack.map_or(1, Qty::get),
                ignore_sync: m.ignore_sync,
                rules: m.rules,
            };
            match self.listings.get_mut(&key) {
                Some(l) => {
                    l.link = Some(link);
                    self.index_link(&key);
                }
                None => {
                    self.insert_listing(
                        key.clone(),
                        Listing {
                            link: Some(link),
                            sync: SyncState::default(),
                        },
                    );
                }
            }
            out.dirty.listings.push(key.clone());
            keys.push(key);
        }
        self.plan(keys, Force::Changed, out);
        Ok(())
    }

    fn delete_mapping(&mut self, key: ListingKey, out: &mut Outcome) -> Result<(), Error> {
        if !self.channels.contains_key(&key.channel) {
            return err(
                ErrorCode::UnknownChannel,
                alloc::format!("no channel \"{}\"", key.channel),
            );
        }
        let Some(listing) = self.listings.get_mut(&key) else {
            return err(
                ErrorCode::UnknownListing,
                alloc::format!("listing {key} is not known to the hub"),
            );
        };
        // Unlinking an unlinked listing succeeds and changes nothing, so a retried DELETE is safe.
        let Some(link) = listing.link.take() else {
            out.skipped.push(Skipped {
                channel: key.channel,
                listing: key.listing,
                sku: None,
                reason: SkipReason::Unlinked,
            });
            return Ok(());
        };
        if let Some(set) = self.by_sku.get_mut(&link.sku) {
            set.remove(&key);
            if set.is_empty() {
                self.by_sku.remove(&link.sku);
            }
        }
        out.dirty.listings.push(key.clone());
        self.plan([key], Force::Changed, out);
        Ok(())
    }

    // ----- orders --------------------------------------------------------------------------

    fn place_order(&mut self, po: PlaceOrder, out: &mut Outcome) -> Result<(), Error> {
        let Some(channel) = self.channels.get(&po.channel) else {
            return err(
                ErrorCode::UnknownChannel,
                alloc::format!("no channel \"{}\"", po.channel),
            );
        };
        if po.lines.is_empty() {
            return err(ErrorCode::EmptyOrder, "an order needs at least one line");
        }
        if po.lines.len() > limits::MAX_ORDER_LINES {
            return err(
                ErrorCode::TooMany,
                alloc::format!("at most {} lines per order", limits::MAX_ORDER_LINES),
            );
        }
        for (i, line) in po.lines.iter().enumerate() {
            if line.listing.is_some() == line.sku.is_some() {
                return err(
                    ErrorCode::InvalidRequest,
                    alloc::format!("line {} names exactly one of \"listing\" or \"sku\"", i + 1),
                );
            }
            line.qty
                .at_least(1, &alloc::format!("line {} qty", i + 1))?;
        }
        let location = match (&po.location, channel.locations.first()) {
            (Some(l), _) => l.clone(),
            (None, Some(l)) => l.clone(),
            (None, None) => {
                return err(
                    ErrorCode::MissingLocation,
                    alloc::format!(
                        "the order names no location and channel \"{}\" has none to default to",
                        po.channel
                    ),
                )
            }
        };
        self.check_location(&location)?;
        let location = self.location_id(&location);

        let order_key = (po.channel.clone(), po.order.clone());
        if let Some(existing) = self.orders.get(&order_key) {
            let same_location = po.location.as_ref().is_none_or(|l| *l == existing.location);
            if existing.request == po.lines && same_location {
                out.receipt = Some(receipt(existing, true));
                return Ok(());
            }
            return err(
                ErrorCode::OrderConflict,
                alloc::format!(
                    "order \"{}\" of channel \"{}\" was already recorded with other lines",
                    po.order,
                    po.channel
                ),
            );
        }

        // Resolve every line and check the reservations fit before changing anything.
        let mut lines = Vec::with_capacity(po.lines.len());
        let mut adds: BTreeMap<Sku, i64> = BTreeMap::new();
        for (i, line) in po.lines.iter().enumerate() {
            // A listing line sells listing units: a 6-pack listing's unit is 6 hub units.
            let (sku, pack) = match (&line.listing, &line.sku) {
                (Some(listing), _) => self
                    .listings
                    .get(&ListingKey::new(po.channel.clone(), listing.clone()))
                    .and_then(|l| l.link.as_ref())
                    .map_or((None, 1), |l| (Some(l.sku.clone()), l.pack)),
                (None, Some(sku)) => (self.items.contains_key(sku).then(|| sku.clone()), 1),
                (None, None) => (None, 1),
            };
            let units = |per: i64, what: &Sku| {
                line.qty
                    .get()
                    .checked_mul(pack)
                    .and_then(|u| u.checked_mul(per))
                    .filter(|u| *u <= MAX_QTY)
                    .ok_or_else(|| {
                        Error::new(
                            ErrorCode::InvalidQuantity,
                            alloc::format!(
                                "line {}: {} units of {what} exceed 2^53−1",
                                i + 1,
                                line.qty
                            ),
                        )
                    })
            };
            let mut reservations = Vec::new();
            if let Some(sku) = &sku {
                let item = &self.items[sku];
                if item.is_composite() {
                    for c in &item.components {
                        reservations.push(Reservation {
                            sku: c.sku.clone(),
                            qty: Qty::new(units(c.qty.get(), &c.sku)?)?,
                        });
                    }
                } else {
                    reservations.push(Reservation {
                        sku: sku.clone(),
                        qty: Qty::new(units(1, sku)?)?,
                    });
                }
            }
            for r in &reservations {
                let add = adds.entry(r.sku.clone()).or_default();
                *add += r.qty.get();
                let reserved = self.level(&r.sku, &location).reserved;
                if reserved + *add > MAX_QTY {
                    return err(
                        ErrorCode::InvalidQuantity,
                        alloc::format!(
                            "line {}: reservations of {} at {location} would exceed 2^53−1",
                            i + 1,
                            r.sku
                        ),
                    );
                }
            }
            lines.push((
                OrderLine {
                    listing: line.listing.clone(),
                    linked: sku.is_some(),
                    sku,
                    qty: line.qty,
                    oversold: Qty::ZERO,
                    reservations,
                },
                pack,
            ));
        }

        // Record: each line sees what the lines before it already took.
        let mut touched = BTreeSet::new();
        for (line, pack) in &mut lines {
            let Some(sku) = &line.sku else {
                if let Some(listing) = &line.listing {
                    let key = ListingKey::new(po.channel.clone(), listing.clone());
                    if !self.listings.contains_key(&key) {
                        // An unlinked listing that sells becomes a known, explicitly unlinked
                        // listing, so GET /v1/sync shows the merchant what to map.
                        self.insert_listing(key.clone(), Listing::default());
                        out.dirty.listings.push(key.clone());
                    }
                    out.skipped.push(Skipped {
                        channel: key.channel,
                        listing: key.listing,
                        sku: None,
                        reason: SkipReason::Unlinked,
                    });
                }
                continue;
            };
            // Oversold is counted in the line's own units (listing units for a listing line).
            let sellable = self.sellable_at(sku, &location).max(0) / *pack;
            line.oversold = Qty::new((line.qty.get() - sellable).max(0))?;
            for r in &line.reservations {
                let item = self
                    .items
                    .get_mut(&r.sku)
                    .ok_or_else(|| Error::new(ErrorCode::UnknownSku, "component vanished"))?;
                item.levels.get_or_default(location.clone()).reserved += r.qty.get();
                out.dirty.items.push(r.sku.clone());
                touched.insert(r.sku.clone());
            }
        }
        let order = Order {
            channel: po.channel,
            order: po.order,
            location: location.clone(),
            status: OrderStatus::Open,
            request: po.lines,
            lines: lines.into_iter().map(|(l, _)| l).collect(),
        };
        out.receipt = Some(receipt(&order, false));
        out.dirty.orders.push(order_key.clone());
        self.orders.insert(order_key, order);
        self.report_oversold(&touched, &location, out);
        self.plan_skus(touched, out);
        Ok(())
    }

    fn close_order(
        &mut self,
        channel: ChannelId,
        order: OrderRef,
        to: OrderStatus,
        out: &mut Outcome,
    ) -> Result<(), Error> {
        let key = (channel, order);
        let Some(o) = self.orders.get(&key) else {
            return err(
                ErrorCode::UnknownOrder,
                alloc::format!("no order \"{}\" of channel \"{}\"", key.1, key.0),
            );
        };
        match (o.status, to) {
            (OrderStatus::Open, _) => {}
            // The same operation again (a second cancel, a second ship) changes nothing.
            (now, to) if now == to => {
                out.receipt = Some(OrderReceipt {
                    changed: false,
                    ..receipt(o, false)
                });
                return Ok(());
            }
            // The other one after the first (SPEC §5.1): it did not happen, say so.
            (OrderStatus::Shipped, _) => {
                return err(
                    ErrorCode::OrderShipped,
                    alloc::format!(
                        "order \"{}\" of channel \"{}\" was shipped; it can no longer be cancelled",
                        key.1,
                        key.0
                    ),
                )
            }
            (OrderStatus::Cancelled, _) => {
                return err(
                    ErrorCode::OrderCancelled,
                    alloc::format!(
                        "order \"{}\" of channel \"{}\" was cancelled; it can no longer be shipped",
                        key.1,
                        key.0
                    ),
                )
            }
        }
        let location = o.location.clone();
        let reservations: Vec<Reservation> = o
            .lines
            .iter()
            .flat_map(|l| l.reservations.iter().cloned())
            .collect();
        if to == OrderStatus::Shipped {
            for r in &reservations {
                let on_hand = self.level(&r.sku, &location).on_hand;
                if on_hand - r.qty.get() < -MAX_QTY {
                    return err(
                        ErrorCode::InvalidQuantity,
                        "on hand would go below −(2^53−1)",
                    );
                }
            }
        }
        let mut touched = BTreeSet::new();
        for r in &reservations {
            if let Some(level) = self
                .items
                .get_mut(&r.sku)
                .and_then(|i| i.levels.get_mut(&location))
            {
                level.reserved -= r.qty.get();
                if to == OrderStatus::Shipped {
                    // Shipping takes the units out of on hand and out of the reservation
                    // together: available is unchanged, so nothing is pushed.
                    level.on_hand -= r.qty.get();
                }
            }
            out.dirty.items.push(r.sku.clone());
            touched.insert(r.sku.clone());
        }
        if let Some(o) = self.orders.get_mut(&key) {
            o.status = to;
            out.receipt = Some(receipt(o, false));
        }
        out.dirty.orders.push(key);
        if to == OrderStatus::Cancelled {
            self.plan_skus(touched, out);
        }
        Ok(())
    }

    fn report_oversold(&self, skus: &BTreeSet<Sku>, location: &LocationId, out: &mut Outcome) {
        for sku in skus {
            let level = self.level(sku, location);
            if level.available() < 0 {
                out.oversold_stock.push(stock_line(sku, location, level));
            }
        }
    }

    // ----- delivery ------------------------------------------------------------------------

    fn push_delivered(
        &mut self,
        key: ListingKey,
        seq: u64,
        quantity: Qty,
        out: &mut Outcome,
    ) -> Result<(), Error> {
        if seq == 0 || seq >= self.next_seq {
            return err(
                ErrorCode::UnknownPush,
                alloc::format!("push {seq} was never planned"),
            );
        }
        quantity.at_least(0, "a delivered quantity")?;
        let Some(listing) = self.listings.get_mut(&key) else {
            return err(
                ErrorCode::UnknownListing,
                alloc::format!("no listing {key}"),
            );
        };
        let sync = &mut listing.sync;
        if seq <= sync.acked_seq {
            return Ok(()); // a duplicate or a stale acknowledgement
        }
        sync.acked_seq = seq;
        sync.last_sent = Some(quantity.get());
        if sync.pending.as_ref().is_some_and(|p| p.seq == seq) {
            sync.pending = None;
            sync.attempts = 0;
            sync.last_error = None;
        }
        out.dirty.listings.push(key.clone());
        // A push that was cancelled while in flight (its listing stopped being eligible, then
        // came back) may still land; the channel now shows it, so correct it if it is wrong.
        if self
            .listings
            .get(&key)
            .is_some_and(|l| l.sync.pending.is_none())
        {
            self.plan_listing(key, Force::Changed, out);
        }
        Ok(())
    }

    fn push_failed(
        &mut self,
        key: ListingKey,
        seq: u64,
        attempt: u32,
        error: String,
        out: &mut Outcome,
    ) -> Result<(), Error> {
        if seq == 0 || seq >= self.next_seq {
            return err(
                ErrorCode::UnknownPush,
                alloc::format!("push {seq} was never planned"),
            );
        }
        let Some(listing) = self.listings.get_mut(&key) else {
            return err(
                ErrorCode::UnknownListing,
                alloc::format!("no listing {key}"),
            );
        };
        let sync = &mut listing.sync;
        // Only the report of the next attempt of the waiting push counts: a duplicated or
        // stale report changes nothing.
        if sync.pending.as_ref().is_some_and(|p| p.seq == seq)
            && attempt == sync.attempts.saturating_add(1)
        {
            sync.attempts = attempt;
            sync.last_error = Some(truncate_error(error));
            out.dirty.listings.push(key);
        }
        Ok(())
    }

    fn resync(&mut self, channel: Option<ChannelId>, out: &mut Outcome) -> Result<(), Error> {
        let keys = match &channel {
            Some(c) if !self.channels.contains_key(c) => {
                return err(
                    ErrorCode::UnknownChannel,
                    alloc::format!("no channel \"{c}\""),
                )
            }
            Some(c) => self.channel_listings(c),
            None => self.listing_keys().cloned().collect::<Vec<_>>(),
        };
        // Sized up front: a resync of a million listings would otherwise grow (and copy) its
        // push list and dirty set twenty times over.
        out.pushes.reserve(keys.len());
        out.dirty.listings.reserve(keys.len());
        self.plan(keys, Force::All, out);
        Ok(())
    }

    // ----- planning ------------------------------------------------------------------------

    /// Plans the listings of `skus` and of every composite built from them.
    fn plan_skus(&mut self, skus: impl IntoIterator<Item = Sku>, out: &mut Outcome) {
        let mut keys = BTreeSet::new();
        for sku in skus {
            if let Some(parents) = self.parents.get(&sku) {
                for p in parents {
                    keys.extend(self.by_sku.get(p).into_iter().flatten().cloned());
                }
            }
            keys.extend(self.by_sku.get(&sku).into_iter().flatten().cloned());
        }
        self.plan(keys, Force::Changed, out);
    }

    /// Plans one listing if its number changed.
    pub(crate) fn plan_changed(&mut self, key: ListingKey, out: &mut Outcome) {
        self.plan_listing(key, Force::Changed, out);
    }

    fn plan(
        &mut self,
        keys: impl IntoIterator<Item = ListingKey>,
        force: Force,
        out: &mut Outcome,
    ) {
        for key in keys {
            self.plan_listing(key, force, out);
        }
    }

    fn plan_listing(&mut self, key: ListingKey, force: Force, out: &mut Outcome) {
        let Some(listing) = self.listings.get(&key) else {
            return;
        };
        let decision = match self.eligibility(&key, listing) {
            Err(reason) => Err((reason, listing.link.as_ref().map(|l| l.sku.clone()))),
            Ok((channel, link)) => Ok(self.explain(channel, link)),
        };
        let next_seq = self.next_seq;
        let Some(listing) = self.listings.get_mut(&key) else {
            return;
        };
        let sync = &mut listing.sync;
        match decision {
            Err((reason, sku)) => {
                // A listing that stops being eligible gets nothing more, not even what was
                // waiting in its outbox.
                if sync.pending.take().is_some() {
                    sync.attempts = 0;
                    sync.last_error = None;
                    out.dirty.listings.push(key.clone());
                }
                out.skipped.push(Skipped {
                    channel: key.channel,
                    listing: key.listing,
                    sku,
                    reason,
                });
            }
            Ok(explain) => {
                let planned = sync
                    .pending
                    .as_ref()
                    .map(|p| p.quantity.get())
                    .or(sync.last_sent);
                if force == Force::All || planned != Some(explain.quantity) {
                    let quantity = explain.quantity;
                    sync.pending = Some(Pending {
                        quantity: Qty::new(quantity).unwrap_or(Qty::ZERO),
                        seq: next_seq,
                    });
                    sync.attempts = 0;
                    sync.last_error = None;
                    out.pushes.push(Push {
                        channel: key.channel.clone(),
                        listing: key.listing.clone(),
                        sku: explain.sku.clone(),
                        quantity,
                        previous: sync.last_sent,
                        seq: next_seq,
                        explain,
                    });
                    out.dirty.listings.push(key);
                    out.dirty.meta = true;
                    self.next_seq += 1;
                }
            }
        }
    }

    /// SPEC §2.2's preconditions, in order.
    fn eligibility<'a>(
        &'a self,
        key: &ListingKey,
        listing: &'a Listing,
    ) -> Result<(&'a Channel, &'a Link), SkipReason> {
        let channel = self
            .channels
            .get(&key.channel)
            .ok_or(SkipReason::ChannelDisabled)?;
        if !channel.enabled {
            return Err(SkipReason::ChannelDisabled);
        }
        let link = listing.link.as_ref().ok_or(SkipReason::Unlinked)?;
        if link.ignore_sync {
            return Err(SkipReason::IgnoreSync);
        }
        if channel.locations.is_empty() {
            return Err(SkipReason::NoLocations);
        }
        Ok((channel, link))
    }

    pub(crate) fn level(&self, sku: &Sku, location: &LocationId) -> Level {
        self.items
            .get(sku)
            .and_then(|i| i.levels.get(location))
            .copied()
            .unwrap_or_default()
    }

    /// Units of `sku` one location can still sell (kits for a composite).
    fn sellable_at(&self, sku: &Sku, location: &LocationId) -> i64 {
        let item = &self.items[sku];
        if !item.is_composite() {
            return self.level(sku, location).available();
        }
        item.components
            .iter()
            .map(|c| {
                self.level(&c.sku, location)
                    .available()
                    .max(0)
                    .div_euclid(c.qty.get())
            })
            .min()
            .unwrap_or(0)
    }

    /// The number a listing should show, and why (SPEC §2.3–2.5). This runs once per touched
    /// listing, so it looks each item up once and sizes every list up front.
    fn explain(&self, channel: &Channel, link: &Link) -> Explain {
        let rules = rules::effective(&channel.rules, &link.rules);
        let locations = &channel.locations;
        let level_of = |item: Option<&Item>, loc: &LocationId| {
            item.and_then(|i| i.levels.get(loc))
                .copied()
                .unwrap_or_default()
        };
        let item = self.items.get(&link.sku);
        let components: &[Component] = item.map_or(&[], |i| &i.components);
        let mut stock = Vec::with_capacity(locations.len() * components.len().max(1));
        let mut kits = Vec::new();
        let pool = if components.is_empty() {
            let mut pool = 0;
            for loc in locations {
                let level = level_of(item, loc);
                pool = qty::add(pool, level.available());
                stock.push(stock_line(&link.sku, loc, level));
            }
            pool
        } else {
            // Each component's level at each of the channel's locations, in component order.
            let parts: Vec<(&Component, Vec<Level>)> = components
                .iter()
                .map(|c| {
                    let part = self.items.get(&c.sku);
                    (c, locations.iter().map(|loc| level_of(part, loc)).collect())
                })
                .collect();
            for (c, levels) in &parts {
                for (loc, level) in locations.iter().zip(levels) {
                    stock.push(stock_line(&c.sku, loc, *level));
                }
            }
            match rules.pooling {
                Pooling::PerLocation => {
                    kits.reserve(locations.len());
                    let mut pool = 0;
                    for (i, loc) in locations.iter().enumerate() {
                        let at = parts
                            .iter()
                            .map(|(c, levels)| levels[i].available().div_euclid(c.qty.get()))
                            .min()
                            .unwrap_or(0);
                        kits.push(KitLine {
                            location: Some(loc.clone()),
                            component: None,
                            component_pool: None,
                            kits: at,
                        });
                        pool = qty::add(pool, at);
                    }
                    pool
                }
                Pooling::AcrossLocations => {
                    kits.reserve(parts.len());
                    let mut pool = i64::MAX;
                    for (c, levels) in &parts {
                        let units = levels.iter().fold(0, |acc, l| qty::add(acc, l.available()));
                        let k = units.div_euclid(c.qty.get());
                        kits.push(KitLine {
                            location: None,
                            component: Some(c.sku.clone()),
                            component_pool: Some(units),
                            kits: k,
                        });
                        pool = pool.min(k);
                    }
                    pool
                }
            }
        };
        let (quantity, steps) = rules::shape(pool, &rules, link.pack);
        Explain {
            sku: link.sku.clone(),
            locations: locations.clone(),
            stock,
            pooling: (!components.is_empty()).then_some(rules.pooling),
            components: components.to_vec(),
            kits,
            pool,
            steps,
            quantity,
        }
    }

    /// The number the hub wants a listing to show now, or why it shows nothing.
    pub fn wanted(&self, key: &ListingKey) -> Result<Explain, SkipReason> {
        let listing = self.listings.get(key).ok_or(SkipReason::Unlinked)?;
        let (channel, link) = self.eligibility(key, listing)?;
        Ok(self.explain(channel, link))
    }

    // ----- views ---------------------------------------------------------------------------

    /// `GET /v1/items/{sku}`.
    pub fn item_view(&self, sku: &Sku) -> Option<ItemView> {
        let item = self.items.get(sku)?;
        let mut locations = BTreeMap::new();
        if item.is_composite() {
            for loc in self.locations.keys() {
                let kits = |f: &dyn Fn(Level) -> i64| {
                    item.components
                        .iter()
                        .map(|c| f(self.level(&c.sku, loc)).div_euclid(c.qty.get()))
                        .min()
                        .unwrap_or(0)
                };
                let on_hand = kits(&|l| l.on_hand);
                let available = kits(&|l| l.available());
                locations.insert(
                    loc.clone(),
                    LevelView {
                        on_hand,
                        reserved: on_hand - available,
                        available,
                    },
                );
            }
        } else {
            for (loc, level) in &item.levels {
                locations.insert(
                    loc.clone(),
                    LevelView {
                        on_hand: level.on_hand,
                        reserved: level.reserved,
                        available: level.available(),
                    },
                );
            }
        }
        let listings = self
            .by_sku
            .get(sku)
            .into_iter()
            .flatten()
            .map(|key| {
                let wanted = self.wanted(key);
                ListingView {
                    channel: key.channel.clone(),
                    listing: key.listing.clone(),
                    quantity: wanted.as_ref().ok().map(|e| e.quantity),
                    last_sent: self.listings.get(key).and_then(|l| l.sync.last_sent),
                    reason: wanted.as_ref().err().copied(),
                    explain: wanted.ok(),
                }
            })
            .collect();
        Some(ItemView {
            sku: sku.clone(),
            locations,
            components: item.components.clone(),
            listings,
        })
    }

    /// One listing's line of `GET /v1/sync`.
    pub fn listing_status(&self, key: &ListingKey, policy: &RetryPolicy) -> Option<ListingStatus> {
        let listing = self.listings.get(key)?;
        let wanted = self.wanted(key);
        let sync = &listing.sync;
        let status = match (&wanted, &sync.pending) {
            (Err(_), _) => SyncStatus::NotEligible,
            (Ok(_), Some(_)) if sync.attempts >= policy.failing_after.min(policy.max_attempts) => {
                SyncStatus::Failing
            }
            (Ok(_), Some(_)) => SyncStatus::Pending,
            (Ok(_), None) => SyncStatus::InSync,
        };
        Some(ListingStatus {
            channel: key.channel.clone(),
            listing: key.listing.clone(),
            sku: listing.link.as_ref().map(|l| l.sku.clone()),
            wanted: wanted.as_ref().ok().map(|e| e.quantity),
            last_sent: sync.last_sent,
            pending: sync.pending.as_ref().map(|p| p.quantity.get()),
            status,
            reason: wanted.err(),
            attempts: sync.attempts,
            last_error: sync.last_error.clone(),
        })
    }

    /// `GET /v1/sync`: every listing the hub knows.
    pub fn sync_status(&self, policy: &RetryPolicy) -> Vec<ListingStatus> {
        self.listing_keys()
            .filter_map(|k| self.listing_status(k, policy))
            .collect()
    }

    /// Listings with a push waiting: the outbox, oldest seq first.
    pub fn outbox(&self) -> Vec<(ListingKey, Pending, u32)> {
        let mut rows: Vec<_> = self
            .listings
            .iter()
            .filter_map(|(k, l)| {
                l.sync
                    .pending
                    .clone()
                    .map(|p| (k.clone(), p, l.sync.attempts))
            })
            .collect();
        rows.sort_unstable_by_key(|(_, p, _)| p.seq);
        rows
    }

    /// The pending push of one listing, if any, with its failed attempts so far.
    pub fn pending(&self, key: &ListingKey) -> Option<(Pending, u32)> {
        let l = self.listings.get(key)?;
        l.sync.pending.clone().map(|p| (p, l.sync.attempts))
    }

    /// A listing's link as the mapping that made it (none when unlinked or unknown).
    pub fn mapping(&self, key: &ListingKey) -> Option<Mapping> {
        let link = self.listings.get(key)?.link.as_ref()?;
        Some(Mapping {
            channel: key.channel.clone(),
            listing: key.listing.clone(),
            sku: link.sku.clone(),
            pack: (link.pack != 1).then(|| Qty::new(link.pack).unwrap_or(Qty::ONE)),
            ignore_sync: link.ignore_sync,
            rules: link.rules.clone(),
        })
    }

    pub fn channel(&self, id: &ChannelId) -> Option<&Channel> {
        self.channels.get(id)
    }

    pub fn channels(&self) -> impl Iterator<Item = (&ChannelId, &Channel)> {
        self.channels.iter()
    }

    pub fn locations(&self) -> impl Iterator<Item = (&LocationId, &Location)> {
        self.locations.iter()
    }

    /// What every open order holds, by channel and order: the reservations that `reserved`
    /// numbers add up (SPEC §7.2 keeps the two equal).
    pub fn holds(&self) -> Vec<Hold> {
        let mut open: Vec<&Order> = self
            .orders
            .values()
            .filter(|o| o.status == OrderStatus::Open)
            .collect();
        open.sort_unstable_by(|a, b| (&a.channel, &a.order).cmp(&(&b.channel, &b.order)));
        open.into_iter()
            .flat_map(|o| {
                o.lines
                    .iter()
                    .flat_map(|l| &l.reservations)
                    .map(move |r| Hold {
                        channel: o.channel.clone(),
                        order: o.order.clone(),
                        location: o.location.clone(),
                        sku: r.sku.clone(),
                        qty: r.qty.get(),
                    })
            })
            .collect()
    }

    pub fn order(&self, channel: &ChannelId, order: &OrderRef) -> Option<&Order> {
        self.orders.get(&(channel.clone(), order.clone()))
    }

    /// On hand, reserved and available of one stock item at one location.
    pub fn stock(&self, sku: &Sku, location: &LocationId) -> LevelView {
        let l = self.level(sku, location);
        LevelView {
            on_hand: l.on_hand,
            reserved: l.reserved,
            available: l.available(),
        }
    }

    pub fn last_sent(&self, key: &ListingKey) -> Option<i64> {
        self.listings.get(key).and_then(|l| l.sync.last_sent)
    }

    /// Every listing the hub knows, by channel and listing.
    pub fn listing_keys(&self) -> impl Iterator<Item = &ListingKey> {
        self.by_channel.values().flatten()
    }

    /// Every sku, in order.
    pub fn skus(&self) -> impl Iterator<Item = &Sku> {
        let mut skus: Vec<&Sku> = self.items.keys().collect();
        skus.sort_unstable();
        skus.into_iter()
    }

    pub fn sku_count(&self) -> usize {
        self.items.len()
    }

    pub fn listing_count(&self) -> usize {
        self.listings.len()
    }

    // ----- invariants ----------------------------------------------------------------------

    /// Checks SPEC §7's invariants that hold within one hub, and the core's own indexes. Costs
    /// a pass over everything: for tests and debug checks, not for every request.
    pub fn check_invariants(&self) -> Result<(), String> {
        // 2. Reservations add up.
        let mut reserved: BTreeMap<(&Sku, &LocationId), i64> = BTreeMap::new();
        for o in self
            .orders
            .values()
            .filter(|o| o.status == OrderStatus::Open)
        {
            for r in o.lines.iter().flat_map(|l| &l.reservations) {
                *reserved.entry((&r.sku, &o.location)).or_default() += r.qty.get();
            }
        }
        for (sku, item) in &self.items {
            for (loc, level) in &item.levels {
                let want = reserved.remove(&(sku, loc)).unwrap_or(0);
                if level.reserved != want {
                    return Err(alloc::format!(
                        "reserved({sku}, {loc}) = {} but open orders hold {want}",
                        level.reserved
                    ));
                }
            }
        }
        if let Some(((sku, loc), n)) = reserved.into_iter().find(|(_, n)| *n != 0) {
            return Err(alloc::format!(
                "open orders hold {n} of {sku} at {loc} but the item has no level there"
            ));
        }
        // Indexes match the data they index.
        let mut by_sku: BTreeMap<Sku, BTreeSet<ListingKey>> = BTreeMap::new();
        for (key, l) in &self.listings {
            if let Some(link) = &l.link {
                by_sku
                    .entry(link.sku.clone())
                    .or_default()
                    .insert(key.clone());
                if !self.items.contains_key(&link.sku) {
                    return Err(alloc::format!("{key} links to missing item {}", link.sku));
                }
            }
            if !self.channels.contains_key(&key.channel) {
                return Err(alloc::format!("{key} belongs to missing channel"));
            }
        }
        by_sku.retain(|_, v| !v.is_empty());
        let have: BTreeMap<Sku, BTreeSet<ListingKey>> = self
            .by_sku
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k.clone(), v.iter().cloned().collect()))
            .collect();
        if by_sku != have {
            return Err("by_sku index out of step with links".into());
        }
        let indexed: usize = self.by_channel.values().map(BTreeSet::len).sum();
        if indexed != self.listings.len()
            || self.listing_keys().any(|k| !self.listings.contains_key(k))
        {
            return Err("by_channel index out of step with listings".into());
        }
        let mut parents: BTreeMap<Sku, BTreeSet<Sku>> = BTreeMap::new();
        for (sku, item) in &self.items {
            for c in &item.components {
                parents
                    .entry(c.sku.clone())
                    .or_default()
                    .insert(sku.clone());
                match self.items.get(&c.sku) {
                    Some(i) if !i.is_composite() => {}
                    _ => {
                        return Err(alloc::format!(
                            "{sku} has a component {} that is not a stock item",
                            c.sku
                        ))
                    }
                }
            }
            if item.is_composite() && !item.levels.is_empty() {
                return Err(alloc::format!("composite {sku} holds levels"));
            }
        }
        let have: BTreeMap<Sku, BTreeSet<Sku>> = self
            .parents
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k.clone(), v.iter().cloned().collect()))
            .collect();
        if parents != have {
            return Err("parents index out of step with composites".into());
        }
        // Every eligible listing is in sync or has its number waiting in the outbox.
        for (key, l) in &self.listings {
            if l.sync
                .pending
                .as_ref()
                .is_some_and(|p| p.seq >= self.next_seq)
                || l.sync.acked_seq >= self.next_seq
            {
                return Err(alloc::format!("{key} has a seq from the future"));
            }
            match self.wanted(key) {
                Ok(e) => {
                    let planned = l
                        .sync
                        .pending
                        .as_ref()
                        .map(|p| p.quantity.get())
                        .or(l.sync.last_sent);
                    if planned != Some(e.quantity) {
                        return Err(alloc::format!(
                            "{key} wants {} but {planned:?} is planned",
                            e.quantity
                        ));
                    }
                    if e.quantity < 0 || e.quantity > e.pool.max(0) {
                        return Err(alloc::format!(
                            "{key} would list {} from a pool of {}",
                            e.quantity,
                            e.pool
                        ));
                    }
                }
                Err(_) => {
                    if l.sync.pending.is_some() {
                        return Err(alloc::format!(
                            "{key} is not eligible but has a push waiting"
                        ));
                    }
                }
            }
        }
        for (id, c) in &self.channels {
            if let Some(loc) = c
                .locations
                .iter()
                .find(|l| !self.locations.contains_key(*l))
            {
                return Err(alloc::format!(
                    "channel {id} sells from missing location {loc}"
                ));
            }
        }
        Ok(())
    }
}

fn stock_line(sku: &Sku, location: &LocationId, level: Level) -> StockLine {
    StockLine {
        sku: sku.clone(),
        location: location.clone(),
        on_hand: level.on_hand,
        reserved: level.reserved,
        available: level.available(),
    }
}

fn receipt(order: &Order, duplicate: bool) -> OrderReceipt {
    OrderReceipt {
        order: order.order.clone(),
        channel: order.channel.clone(),
        location: order.location.clone(),
        status: order.status,
        duplicate,
        changed: !duplicate,
        oversold: order.oversold(),
        lines: order
            .lines
            .iter()
            .map(|l| LineReceipt {
                listing: l.listing.clone(),
                sku: l.sku.clone(),
                qty: l.qty.get(),
                linked: l.linked,
                oversold: l.oversold.get(),
            })
            .collect(),
    }
}

fn check_url(url: &str) -> Result<(), Error> {
    let ok_scheme = url.starts_with("https://") || url.starts_with("http://");
    if !ok_scheme
        || url.len() > limits::MAX_URL_BYTES
        || url.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return err(
            ErrorCode::InvalidRequest,
            alloc::format!(
                "webhook url must be an http(s) URL of at most {} bytes without spaces",
                limits::MAX_URL_BYTES
            ),
        );
    }
    Ok(())
}

fn truncate_error(mut e: String) -> String {
    if e.len() > limits::MAX_ERROR_BYTES {
        let mut cut = limits::MAX_ERROR_BYTES;
        while !e.is_char_boundary(cut) {
            cut -= 1;
        }
        e.truncate(cut);
    }
    e.retain(|c| !c.is_control());
    e
}
