//! Orders: placing one (idempotent, reserving per line), cancelling and shipping.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;

use super::*;
use crate::error::{err, Error, ErrorCode};
use crate::ids::{ChannelId, ListingKey, LocationId, OrderRef, Sku};
use crate::limits;
use crate::model::{Listing, Order, OrderLine, OrderStatus, PlaceOrder, Reservation};
use crate::plan::{OrderReceipt, Outcome, SkipReason, Skipped};
use crate::qty::{Qty, MAX_QTY};

impl Hub {
    pub(super) fn place_order(&mut self, po: PlaceOrder, out: &mut Outcome) -> Result<(), Error> {
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

    pub(super) fn close_order(
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

    pub(super) fn report_oversold(
        &self,
        skus: &BTreeSet<Sku>,
        location: &LocationId,
        out: &mut Outcome,
    ) {
        for sku in skus {
            let level = self.level(sku, location);
            if level.available() < 0 {
                out.oversold_stock.push(stock_line(sku, location, level));
            }
        }
    }
}
