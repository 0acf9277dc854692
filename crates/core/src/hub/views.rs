//! Read-only views: items, sync status, the outbox, holds.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use super::*;
use crate::ids::{ChannelId, ListingKey, LocationId, OrderRef, Sku};
use crate::model::{Channel, Location, Mapping, Order, OrderStatus, Pending};
use crate::plan::{Hold, ItemView, LevelView, ListingStatus, ListingView, SyncStatus};
use crate::qty::Qty;

impl Hub {
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
            (Ok(_), Some(_)) if sync.attempts >= policy.failing_threshold() => SyncStatus::Failing,
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
}
