//! SPEC §7 invariants within one hub, and the core's own indexes.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::String;

use super::*;
use crate::ids::{ListingKey, LocationId, Sku};
use crate::model::OrderStatus;

impl Hub {
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
