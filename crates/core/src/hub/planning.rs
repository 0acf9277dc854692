//! Planning: which listings an event touches, their eligibility (SPEC §2.2) and the number each should show, with its explanation (SPEC §2.3–2.5).

use alloc::collections::BTreeSet;
use alloc::vec::Vec;

use super::*;
use crate::ids::{ListingKey, LocationId, Sku};
use crate::model::{Channel, Component, Link, Listing, Pending, Pooling};
use crate::plan::{Explain, KitLine, Outcome, Push, SkipReason, Skipped};
use crate::qty::{self, Qty};
use crate::rules;

impl Hub {
    /// Plans the listings of `skus` and of every composite built from them.
    pub(super) fn plan_skus(&mut self, skus: impl IntoIterator<Item = Sku>, out: &mut Outcome) {
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

    pub(super) fn plan(
        &mut self,
        keys: impl IntoIterator<Item = ListingKey>,
        force: Force,
        out: &mut Outcome,
    ) {
        for key in keys {
            self.plan_listing(key, force, out);
        }
    }

    pub(super) fn plan_listing(&mut self, key: ListingKey, force: Force, out: &mut Outcome) {
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
    pub(crate) fn eligibility<'a>(
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
    pub(super) fn sellable_at(&self, sku: &Sku, location: &LocationId) -> i64 {
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
    pub(crate) fn explain(&self, channel: &Channel, link: &Link) -> Explain {
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
}
