//! Delivery acknowledgements and resync.

use alloc::string::String;
use alloc::vec::Vec;

use super::*;
use crate::error::{err, Error, ErrorCode};
use crate::ids::{ChannelId, ListingKey};
use crate::plan::Outcome;
use crate::qty::Qty;

impl Hub {
    pub(super) fn push_delivered(
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

    pub(super) fn push_failed(
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

    pub(super) fn resync(
        &mut self,
        channel: Option<ChannelId>,
        out: &mut Outcome,
    ) -> Result<(), Error> {
        let keys = match &channel {
            Some(c) if !self.channels.contains_key(c) => {
                return err(
                    ErrorCode::UnknownChannel,
                    alloc::format!("no channel \"{c}\""),
                )
            }
            _ if self.backed.is_some() => {
                out.recompute = Some(crate::store::Recompute {
                    channel,
                    resync: true,
                });
                return Ok(());
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
}
