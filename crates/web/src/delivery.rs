//! A simulated channel that acknowledges every planned push, as the worker's delivery loop does
//! when every channel answers. The story step-through and the scenario tests use it to move the
//! hub from "planned" to "sent"; a preview never delivers anything.

use serde::Serialize;
use stocksync_core::{ChannelId, Error, Event, Hub, ListingId};

/// One push delivered to (and acknowledged by) the simulated channel.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Delivery {
    pub channel: ChannelId,
    pub listing: ListingId,
    pub quantity: i64,
    pub seq: u64,
}

/// Delivers the outbox, oldest push first, reporting each as acknowledged to the core.
pub fn deliver_all(hub: &mut Hub) -> Result<Vec<Delivery>, Error> {
    let mut delivered = Vec::new();
    for (key, pending, _attempts) in hub.outbox() {
        hub.apply(Event::PushDelivered {
            channel: key.channel.clone(),
            listing: key.listing.clone(),
            seq: pending.seq,
            quantity: pending.quantity,
        })?;
        delivered.push(Delivery {
            channel: key.channel,
            listing: key.listing,
            quantity: pending.quantity.get(),
            seq: pending.seq,
        });
    }
    Ok(delivered)
}
