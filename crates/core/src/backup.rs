//! Backups of any size: the hub as a stream of records, one JSON object a line (NDJSON), and a
//! backed hub restoring such a stream record by record, in bounded chunks.
//!
//! A stream is written in this order, so each record only names what came before it and a
//! listing is planned only once the stock it depends on is final: `meta`, `location`s,
//! `channel`s, stock `item`s, composite `item`s, `order`s (open ones reserve), `adjustment`s,
//! `listing`s. Restoring it into an empty hub gives a hub equal to the exported one; its
//! listings are planned as an import plans them (a push only where the number differs from what
//! the channel last received).

use alloc::collections::BTreeSet;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use crate::error::{err, Error, ErrorCode};
use crate::hub::Hub;
use crate::ids::{ChannelId, ListingKey, LocationId, Sku};
use crate::model::{Channel, ItemBody, Link, Location, Mapping, Order};
use crate::plan::Outcome;
use crate::snapshot::{AdjustmentRecord, ListingRecord, SNAPSHOT_VERSION};
use crate::store::Store;

/// One line of an NDJSON backup.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum BackupLine {
    Meta {
        version: u32,
        next_seq: u64,
    },
    Location {
        id: LocationId,
        location: Location,
    },
    Channel {
        id: ChannelId,
        channel: Channel,
    },
    Item {
        sku: Sku,
        item: ItemBody,
    },
    Order {
        order: Order,
    },
    Adjustment {
        adjustment: AdjustmentRecord,
    },
    Listing {
        listing: ListingRecord,
    },
    /// The last line of a complete stream: how many records came before it. A stream cut
    /// short (a dropped connection, a reset object) lacks it, so a reader can tell a whole
    /// backup from a truncated one. Restoring it changes nothing.
    End {
        records: u64,
    },
}

impl BackupLine {
    /// The line with any channel secret removed.
    pub fn redacted(self) -> BackupLine {
        match self {
            BackupLine::Channel { id, mut channel } => {
                channel.target = channel.target.redacted();
                BackupLine::Channel { id, channel }
            }
            other => other,
        }
    }
}

impl Hub {
    /// Loads what restoring each of `lines` reads, before any of them is restored: the skus
    /// and listings they name are announced to the store first ([`Store::warm`]), so a store
    /// can read a whole chunk in a few queries. The working set then holds every line's rows;
    /// restore them in order with [`Hub::restore_line`] and evict only after the last.
    pub fn prefetch_lines(
        &mut self,
        lines: &[BackupLine],
        store: &mut dyn Store,
    ) -> Result<(), Error> {
        if !self.is_backed() {
            return Ok(());
        }
        let mut skus = Vec::new();
        let mut keys = Vec::new();
        for line in lines {
            match line {
                BackupLine::Item { sku, item } => {
                    skus.push(sku.clone());
                    skus.extend(item.components.iter().flatten().map(|c| c.sku.clone()));
                }
                BackupLine::Listing { listing } => {
                    keys.push(ListingKey::new(
                        listing.channel.clone(),
                        listing.listing.clone(),
                    ));
                    skus.extend(listing.sku.clone());
                }
                _ => {}
            }
        }
        if skus.len() + keys.len() > 1 {
            store.warm(&skus, &keys)?;
        }
        for line in lines {
            self.prefetch_line(line, store)?;
        }
        Ok(())
    }

    /// Loads what restoring `line` reads.
    pub fn prefetch_line(&mut self, line: &BackupLine, store: &mut dyn Store) -> Result<(), Error> {
        match line {
            BackupLine::Item { sku, item } => {
                self.prefetch_sku(sku, store)?;
                for c in item.components.iter().flatten() {
                    self.prefetch_sku(&c.sku, store)?;
                }
            }
            BackupLine::Order { order } => {
                self.prefetch(
                    &crate::Event::OrderCancelled {
                        channel: order.channel.clone(),
                        order: order.order.clone(),
                    },
                    store,
                )?;
                for r in order.lines.iter().flat_map(|l| &l.reservations) {
                    self.prefetch_sku(&r.sku, store)?;
                }
            }
            BackupLine::Listing { listing } => {
                let key = ListingKey::new(listing.channel.clone(), listing.listing.clone());
                self.prefetch_listing(&key, store)?;
                if let Some(sku) = &listing.sku {
                    self.prefetch_sku(sku, store)?;
                }
            }
            BackupLine::Adjustment { adjustment } => {
                if adjustment.adjust.reference.is_some() {
                    self.prefetch(
                        &crate::Event::StockAdjusted {
                            sku: adjustment.sku.clone(),
                            adjust: adjustment.adjust.clone(),
                        },
                        store,
                    )?;
                }
            }
            BackupLine::Meta { .. }
            | BackupLine::Location { .. }
            | BackupLine::Channel { .. }
            | BackupLine::End { .. } => {}
        }
        Ok(())
    }

    /// Restores one backup record into this hub (prefetched with [`Hub::prefetch_line`]),
    /// checked as carefully as the events that would have made it. On `Err` nothing changed.
    pub fn restore_line(&mut self, line: BackupLine) -> Result<Outcome, Error> {
        let mut out = Outcome::default();
        match line {
            BackupLine::End { .. } => {}
            BackupLine::Meta { version, next_seq } => {
                if version != SNAPSHOT_VERSION {
                    return err(
                        ErrorCode::UnsupportedVersion,
                        alloc::format!(
                            "backup version {version} (this build reads {SNAPSHOT_VERSION})"
                        ),
                    );
                }
                if next_seq > self.next_seq {
                    self.next_seq = next_seq;
                    out.dirty.meta = true;
                }
            }
            BackupLine::Location { id, location } => {
                out = self.apply(crate::Event::LocationPut { id, location })?;
            }
            BackupLine::Channel { id, mut channel } => {
                channel
                    .target
                    .keep_secrets(self.channels.get(&id).map(|c| &c.target));
                // Its listings come later in the stream and are planned one by one.
                self.put_channel(id, channel, false, &mut out)?;
                out.recompute = None;
            }
            BackupLine::Item { sku, item } => self.restore_item(sku, item, &mut out)?,
            BackupLine::Order { order } => {
                let key = (order.channel.clone(), order.order.clone());
                if self.orders.contains_key(&key) {
                    return err(
                        ErrorCode::OrderConflict,
                        alloc::format!(
                            "order \"{}\" of \"{}\" is already in the hub",
                            key.1,
                            key.0
                        ),
                    );
                }
                let skus: Vec<Sku> = order
                    .lines
                    .iter()
                    .flat_map(|l| &l.reservations)
                    .map(|r| r.sku.clone())
                    .collect();
                self.restore_order(order, &mut BTreeSet::new())?;
                out.dirty.items.extend(skus);
                out.dirty.orders.push(key);
            }
            BackupLine::Adjustment { adjustment } => {
                let Some(r) = adjustment.adjust.reference.clone() else {
                    return err(
                        ErrorCode::MissingField,
                        "a stored adjustment needs its \"ref\"",
                    );
                };
                self.adjustments.insert(
                    r.clone(),
                    crate::hub::AdjustRecord {
                        sku: adjustment.sku,
                        adjust: adjustment.adjust,
                    },
                );
                out.dirty.adjustments.push(r);
            }
            BackupLine::Listing { listing } => self.restore_listing(listing, &mut out)?,
        }
        Ok(out)
    }

    fn restore_item(&mut self, sku: Sku, item: ItemBody, out: &mut Outcome) -> Result<(), Error> {
        match (item.levels, item.components) {
            (Some(levels), None) => {
                if self
                    .items
                    .get(&sku)
                    .is_some_and(|i| !i.components.is_empty())
                {
                    return err(
                        ErrorCode::ItemKindConflict,
                        alloc::format!("\"{sku}\" is a composite"),
                    );
                }
                for loc in levels.keys() {
                    self.check_location(loc)?;
                }
                // On hand as recorded (it may be below zero after an oversold order shipped);
                // reserved stays what the open orders restored so far hold.
                let levels: Vec<(LocationId, i64)> = levels
                    .into_iter()
                    .map(|(l, q)| (self.location_id(&l), q.get()))
                    .collect();
                let entry = self.items.entry(sku.clone()).or_default();
                for (loc, q) in levels {
                    entry.levels.get_or_default(loc).on_hand = q;
                }
                out.dirty.items.push(sku);
                Ok(())
            }
            (levels, components) => {
                *out = self.apply(crate::Event::ItemPut {
                    sku,
                    item: ItemBody { levels, components },
                })?;
                Ok(())
            }
        }
    }

    fn restore_listing(&mut self, r: ListingRecord, out: &mut Outcome) -> Result<(), Error> {
        let key = ListingKey::new(r.channel.clone(), r.listing.clone());
        if !self.channels.contains_key(&key.channel) {
            return err(
                ErrorCode::UnknownChannel,
                alloc::format!("listing {key}: no channel \"{}\"", key.channel),
            );
        }
        if let Some(sku) = &r.sku {
            let m = Mapping {
                channel: r.channel.clone(),
                listing: r.listing.clone(),
                sku: sku.clone(),
                pack: Some(r.pack),
                ignore_sync: r.ignore_sync,
                rules: r.rules.clone(),
            };
            // A merge may relink: the old link is dropped first, so only the sku is checked.
            if !self.items.contains_key(sku) {
                return err(
                    ErrorCode::UnknownSku,
                    alloc::format!("listing {key}: no item \"{sku}\""),
                );
            }
            m.pack.map_or(Ok(()), |p| p.at_least(1, "pack").map(drop))?;
            crate::rules::validate_overrides(&m.rules)?;
        }
        if let Some(q) = r.last_sent {
            q.at_least(0, &alloc::format!("listing {key} last_sent"))?;
        }
        let top = r.acked_seq.max(r.pending.as_ref().map_or(0, |p| p.seq));
        if top >= self.next_seq {
            self.next_seq = top + 1;
            out.dirty.meta = true;
        }
        // Replace whatever the hub has for this listing (a merge chunk may carry a newer one).
        if let Some(old) = self.listings.get(&key).and_then(|l| l.link.clone()) {
            self.unindex_link(&key, &old);
        }
        let (key, listing) = crate::hub::listing_from_record(r);
        self.insert_listing(key.clone(), listing);
        out.dirty.listings.push(key.clone());
        self.plan_changed(key, out);
        Ok(())
    }

    pub(crate) fn unindex_link(&mut self, key: &ListingKey, link: &Link) {
        if let Some(set) = self.by_sku.get_mut(&link.sku) {
            set.remove(key);
            if set.is_empty() {
                self.by_sku.remove(&link.sku);
            }
        }
    }
}

impl crate::Snapshot {
    /// The snapshot as backup lines, in stream order.
    pub fn into_lines(self) -> Vec<BackupLine> {
        let mut lines = Vec::new();
        lines.push(BackupLine::Meta {
            version: self.version,
            next_seq: self.next_seq,
        });
        for (id, location) in self.locations {
            lines.push(BackupLine::Location { id, location });
        }
        for (id, channel) in self.channels {
            lines.push(BackupLine::Channel { id, channel });
        }
        let (composites, stock): (Vec<_>, Vec<_>) = self
            .items
            .into_iter()
            .partition(|(_, b)| b.components.is_some());
        for (sku, item) in stock.into_iter().chain(composites) {
            lines.push(BackupLine::Item { sku, item });
        }
        for order in self.orders {
            lines.push(BackupLine::Order { order });
        }
        for adjustment in self.adjustments {
            lines.push(BackupLine::Adjustment { adjustment });
        }
        for listing in self.listings {
            lines.push(BackupLine::Listing { listing });
        }
        lines.push(BackupLine::End {
            records: lines.len() as u64,
        });
        lines
    }
}
