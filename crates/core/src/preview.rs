//! What-if: the same planning applied to hypothetical events on a copy of the hub.

use alloc::collections::BTreeSet;
use alloc::string::String;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorCode};
use crate::events::Event;
use crate::hub::Hub;
use crate::ids::{ChannelId, ListingId, ListingKey, Sku};
use crate::limits;
use crate::plan::{Explain, Outcome, SkipReason};

/// One listing whose number the hypothetical events change or whose eligibility they change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ListingChange {
    pub channel: ChannelId,
    pub listing: ListingId,
    pub sku: Option<Sku>,
    /// The number the hub wants now (none when not eligible now).
    pub before: Option<i64>,
    /// The number it would want after the events (none when not eligible then).
    pub after: Option<i64>,
    pub last_sent: Option<i64>,
    /// Why the listing would receive nothing after the events.
    pub reason: Option<SkipReason>,
    /// How `after` is computed.
    pub explain: Option<Explain>,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum WarningCode {
    /// Listings that show stock now would be sent 0 (they end on most channels).
    SendsZero,
    /// Listings that receive updates now would stop receiving them.
    StopsSync,
    /// Stock would be oversold (available below zero).
    Oversold,
}

/// Something a merchant should see before applying a change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Warning {
    pub code: WarningCode,
    pub count: u64,
    pub message: String,
}

/// `POST /v1/preview`'s answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Preview {
    /// Per event, what applying it would cause.
    pub steps: Vec<Outcome>,
    /// Per touched listing, its number before and after all the events.
    pub changes: Vec<ListingChange>,
    pub warnings: Vec<Warning>,
}

impl Hub {
    /// Applies `events` to a copy and reports what would be sent. Changes nothing. An invalid
    /// event rejects the whole preview with that event's error, naming its position.
    pub fn preview(&self, events: Vec<Event>) -> Result<Preview, Error> {
        if events.len() > limits::MAX_PREVIEW_EVENTS {
            return Err(Error::new(
                ErrorCode::TooMany,
                alloc::format!("at most {} events per preview", limits::MAX_PREVIEW_EVENTS),
            ));
        }
        let mut after = self.clone();
        let mut steps = Vec::with_capacity(events.len());
        let mut touched: BTreeSet<ListingKey> = BTreeSet::new();
        let mut oversold: BTreeSet<(Sku, crate::ids::LocationId)> = BTreeSet::new();
        for (i, e) in events.into_iter().enumerate() {
            let mut out = after.apply(e).map_err(|err| {
                Error::new(err.code, alloc::format!("event {}: {}", i + 1, err.message))
            })?;
            // A backed hub leaves channel-wide planning to its shell; a preview plans the
            // listings in memory, which the shell prefetched for it.
            if let Some(rc) = out.recompute.take() {
                let keys: Vec<ListingKey> = match &rc.channel {
                    Some(c) => after.channel_listings(c),
                    None => after.listing_keys().cloned().collect(),
                };
                let step = after.replan(keys, rc.resync);
                out.pushes.extend(step.pushes);
                out.skipped.extend(step.skipped);
                out.dirty.merge(step.dirty);
            }
            touched.extend(
                out.pushes
                    .iter()
                    .map(|p| ListingKey::new(p.channel.clone(), p.listing.clone())),
            );
            touched.extend(
                out.skipped
                    .iter()
                    .map(|s| ListingKey::new(s.channel.clone(), s.listing.clone())),
            );
            touched.extend(out.dirty.listings.iter().cloned());
            oversold.extend(
                out.oversold_stock
                    .iter()
                    .map(|s| (s.sku.clone(), s.location.clone())),
            );
            steps.push(out);
        }
        let mut changes = Vec::new();
        let (mut zeroed, mut stopped) = (0u64, 0u64);
        for key in touched {
            let before = self.wanted(&key).ok().map(|e| e.quantity);
            let now = after.wanted(&key);
            let after_q = now.as_ref().ok().map(|e| e.quantity);
            let shown = before.or(self.last_sent(&key)).unwrap_or(0);
            if after_q == Some(0) && shown > 0 {
                zeroed += 1;
            }
            if before.is_some() && after_q.is_none() {
                stopped += 1;
            }
            let last_sent = self.last_sent_of(&after, &key);
            changes.push(ListingChange {
                sku: after
                    .listings
                    .get(&key)
                    .and_then(|l| l.link.as_ref())
                    .map(|l| l.sku.clone()),
                channel: key.channel,
                listing: key.listing,
                before,
                after: after_q,
                last_sent,
                reason: now.as_ref().err().copied(),
                explain: now.ok(),
            });
        }
        let mut warnings = Vec::new();
        if zeroed > 0 {
            warnings.push(Warning {
                code: WarningCode::SendsZero,
                count: zeroed,
                message: alloc::format!(
                    "this change sends 0 to {zeroed} listing{} that show stock now",
                    plural(zeroed)
                ),
            });
        }
        if stopped > 0 {
            warnings.push(Warning {
                code: WarningCode::StopsSync,
                count: stopped,
                message: alloc::format!(
                    "{stopped} listing{} would stop receiving stock updates",
                    plural(stopped)
                ),
            });
        }
        let still_oversold = oversold
            .iter()
            .filter(|(s, l)| after.stock(s, l).available < 0)
            .count() as u64;
        if still_oversold > 0 {
            warnings.push(Warning {
                code: WarningCode::Oversold,
                count: still_oversold,
                message: alloc::format!(
                    "{still_oversold} stock level{} would be oversold (available below zero)",
                    plural(still_oversold)
                ),
            });
        }
        Ok(Preview {
            steps,
            changes,
            warnings,
        })
    }

    fn last_sent_of(&self, after: &Hub, key: &ListingKey) -> Option<i64> {
        after.last_sent(key).or(self.last_sent(key))
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
