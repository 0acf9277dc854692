//! Channel-wide what-ifs for channels of any size (`POST /v1/preview?summary=true`): what a
//! hypothetical configuration (a channel's rules, locations or enabled flag) would make each
//! listing's number, page by page, aggregated into counts and the biggest drops.
//!
//! The shell pages through the affected channels' listings (prefetching each page into the
//! working set, as a recompute does) and asks [`Hub::what_if`] about each page; every number is
//! computed by the same eligibility and rules code that plans real pushes
//! ([`Hub::wanted`]). Nothing here changes the hub.

use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorCode};
use crate::events::Event;
use crate::hub::Hub;
use crate::ids::{ChannelId, ListingId, ListingKey, Sku};
use crate::limits;

/// How many drops [`PreviewSummary::biggest_drops`] keeps.
pub const BIGGEST_DROPS: usize = 10;

/// One listing under a hypothetical configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WhatIf {
    pub key: ListingKey,
    pub sku: Option<Sku>,
    /// What the listing has now: the number the hub computes for it now or, when it gets
    /// nothing now, the number it was last sent (what the channel shows); none if neither.
    pub from: Option<i64>,
    /// The number the hub would compute after the change; none when it would get nothing.
    pub to: Option<i64>,
    /// Whether it gets a number now (so `to == None` means it would stop receiving updates).
    pub synced_now: bool,
}

/// One of the biggest drops.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BiggestDrop {
    pub channel: ChannelId,
    pub listing: ListingId,
    pub sku: Option<Sku>,
    pub from: i64,
    pub to: i64,
}

/// The answer of `POST /v1/preview?summary=true`, built one listing at a time.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviewSummary {
    /// Listings looked at (every listing of the affected channels).
    pub listings: u64,
    /// Listings whose computed number (or whether they get one) would change.
    pub changed: u64,
    /// Listings that show stock now and would be sent 0.
    pub to_zero: u64,
    /// Listings that would be sent more than they have now.
    pub increased: u64,
    /// Listings that would be sent less than they have now.
    pub decreased: u64,
    /// Listings that get numbers now and would stop receiving them.
    pub stops_sync: u64,
    /// At most [`BIGGEST_DROPS`], the largest `from − to` first, ties in (channel, listing)
    /// order.
    pub biggest_drops: Vec<BiggestDrop>,
}

impl PreviewSummary {
    /// Counts one listing in.
    pub fn add(&mut self, w: &WhatIf) {
        self.listings += 1;
        let now = if w.synced_now { w.from } else { None };
        if now != w.to {
            self.changed += 1;
        }
        if w.synced_now && w.to.is_none() {
            self.stops_sync += 1;
        }
        let (Some(from), Some(to)) = (w.from, w.to) else {
            return;
        };
        if to == 0 && from > 0 {
            self.to_zero += 1;
        }
        if to > from {
            self.increased += 1;
        }
        if to >= from {
            return;
        }
        self.decreased += 1;
        let drop = BiggestDrop {
            channel: w.key.channel.clone(),
            listing: w.key.listing.clone(),
            sku: w.sku.clone(),
            from,
            to,
        };
        let rank = |d: &BiggestDrop| {
            (
                core::cmp::Reverse(d.from.saturating_sub(d.to)),
                d.channel.clone(),
                d.listing.clone(),
            )
        };
        let key = rank(&drop);
        let at = self.biggest_drops.partition_point(|d| rank(d) < key);
        if at < BIGGEST_DROPS {
            self.biggest_drops.insert(at, drop);
            self.biggest_drops.truncate(BIGGEST_DROPS);
        }
    }
}

impl Hub {
    /// The channels whose listings `events` (channel-wide events only) could change, in
    /// order, each once: a `channel_put`'s channel, a resync's channel (or every channel).
    pub fn what_if_channels(&self, events: &[Event]) -> Vec<ChannelId> {
        let mut out: Vec<ChannelId> = Vec::new();
        for e in events {
            let named: Vec<ChannelId> = match e {
                Event::ChannelPut { id, .. } => alloc::vec![id.clone()],
                Event::Resync { channel: Some(c) } => alloc::vec![c.clone()],
                Event::Resync { channel: None } => self.channels.keys().cloned().collect(),
                _ => Vec::new(),
            };
            for c in named {
                if !out.contains(&c) {
                    out.push(c);
                }
            }
        }
        out
    }

    /// A configuration-only copy (locations, channels) with `events` applied: the hypothetical
    /// configuration [`Hub::what_if`] compares against. Only channel-wide events are taken
    /// (`channel_put`, `resync`); any other is `invalid_request`, an invalid one its own
    /// error, naming its position.
    pub fn config_after(&self, events: &[Event]) -> Result<Hub, Error> {
        if events.len() > limits::MAX_PREVIEW_EVENTS {
            return Err(Error::new(
                ErrorCode::TooMany,
                alloc::format!("at most {} events per preview", limits::MAX_PREVIEW_EVENTS),
            ));
        }
        let mut config = Hub::new();
        config.locations = self.locations.clone();
        config.channels = self.channels.clone();
        // Backed: a channel change on it names its recompute instead of planning.
        config.backed = Some(Default::default());
        for (i, e) in events.iter().enumerate() {
            if !matches!(e, Event::ChannelPut { .. } | Event::Resync { .. }) {
                return Err(Error::new(
                    ErrorCode::InvalidRequest,
                    alloc::format!(
                        "event {}: a summary preview takes channel-wide events (channel_put, \
                         resync); preview other events without ?summary=true",
                        i + 1
                    ),
                ));
            }
            config.apply(e.clone()).map_err(|err| {
                Error::new(err.code, alloc::format!("event {}: {}", i + 1, err.message))
            })?;
        }
        Ok(config)
    }

    /// Each of `keys` (already in the working set, e.g. by [`Hub::prefetch_listings`]) with the
    /// number it has now and the number it would have under `config`'s channels
    /// ([`Hub::config_after`]). Keys not in memory are left out. Changes nothing.
    pub fn what_if(&self, config: &Hub, keys: &[ListingKey]) -> Vec<WhatIf> {
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            let Some(listing) = self.listings.get(key) else {
                continue;
            };
            let now = self.wanted(key).ok().map(|e| e.quantity);
            let to = config
                .eligibility(key, listing)
                .ok()
                .map(|(channel, link)| self.explain(channel, link).quantity);
            out.push(WhatIf {
                key: key.clone(),
                sku: listing.link.as_ref().map(|l| l.sku.clone()),
                from: now.or(listing.sync.last_sent),
                to,
                synced_now: now.is_some(),
            });
        }
        out
    }
}
