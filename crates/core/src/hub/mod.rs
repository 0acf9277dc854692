//! The hub: all state of one merchant, and the one function that changes it, [`Hub::apply`].
//!
//! `apply` validates an event completely before it changes anything, so a rejected event leaves
//! the hub exactly as it was. Work follows what the event touches: an order for one sku looks up
//! that sku, its components' composites and their listings through indexes, never the whole
//! catalogue.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::String;
use alloc::vec::Vec;

use crate::error::{err, Error, ErrorCode};
use crate::events::Event;
use crate::ids::{AdjustRef, ChannelId, ListingKey, LocationId, OrderRef, Sku};
use crate::limits;
use crate::model::{Adjust, Channel, Component, Listing, Location, Order, OrderStatus};
use crate::plan::{LineReceipt, OrderReceipt, Outcome, StockLine};
use crate::qty::{self};
use crate::sorted::{SortedVec, VecMap};

mod backed;
pub(crate) use backed::listing_from_record;
pub use backed::Resident;
mod config;
mod delivery;
mod invariants;
mod orders;
mod planning;
mod views;

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

    /// From this many failed attempts a waiting listing shows as `failing`.
    pub fn failing_threshold(&self) -> u32 {
        self.failing_after.min(self.max_attempts)
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
    /// Set when the hub is backed by a [`crate::Store`] and holds only a working set.
    pub(crate) backed: Option<Backed>,
}

/// What a backed hub knows about its working set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Backed {
    /// Skus whose unit is in memory: the item (or its absence), every listing linked to it and
    /// the composites that name it.
    pub units: Units,
}

/// The set of loaded sku units. Only a storage-backed hub has one; the browser package (built
/// without the `backed` feature) never opens such a hub, so it carries an empty stand-in and
/// none of the set's code (about 1.5 KB gzip of a 150 KB budget).
#[cfg(feature = "backed")]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Units(Map<Sku, ()>);

#[cfg(feature = "backed")]
impl Units {
    /// Whether `sku` was not loaded yet (and now counts as loaded).
    pub fn insert(&mut self, sku: Sku) -> bool {
        self.0.insert(sku, ()).is_none()
    }

    pub fn contains(&self, sku: &Sku) -> bool {
        self.0.contains_key(sku)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }
}

#[cfg(not(feature = "backed"))]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Units;

#[cfg(not(feature = "backed"))]
impl Units {
    pub fn insert(&mut self, _sku: Sku) -> bool {
        true
    }

    pub fn contains(&self, _sku: &Sku) -> bool {
        false
    }

    pub fn len(&self) -> usize {
        0
    }
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
            #[cfg(feature = "backed")]
            Event::ListingsSeen { channel, listings } => {
                self.see_listings(channel, listings, &mut out)?
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
