//! Everything that can happen to the hub. Each HTTP route builds one of these; scenario files
//! and previews are lists of them.

use alloc::string::String;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use crate::ids::{ChannelId, ListingId, LocationId, OrderRef, Sku};
use crate::model::{Adjust, Channel, ItemBody, Location, Mapping, PlaceOrder};
use crate::qty::Qty;

/// Serialized as an object tagged by `"type"`. Deserialized by hand in [`crate::tagged`], so
/// a wasm build holds one deserializer per field type instead of serde's buffered copy too.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// `PUT /v1/locations/{id}`
    LocationPut { id: LocationId, location: Location },
    /// `PUT /v1/items/{sku}`: set on-hand levels, or define a composite.
    ItemPut { sku: Sku, item: ItemBody },
    /// `POST /v1/items/{sku}/adjust`
    StockAdjusted { sku: Sku, adjust: Adjust },
    /// `PUT /v1/channels/{id}`
    ChannelPut { id: ChannelId, channel: Channel },
    /// `PUT /v1/mappings`
    MappingsPut { mappings: Vec<Mapping> },
    /// `DELETE /v1/mappings/{channel}/{listing}`
    MappingDeleted {
        channel: ChannelId,
        listing: ListingId,
    },
    /// A channel's catalogue names these listings (discovery, SPEC §9): each one the hub does
    /// not know becomes a known, explicitly unlinked listing, so `GET /v1/sync` shows the
    /// merchant what is left to map; known listings are left as they are. Shells that read a
    /// catalogue make it; it has no JSON form.
    #[cfg(feature = "backed")]
    #[cfg_attr(feature = "ts", ts(skip))]
    ListingsSeen {
        channel: ChannelId,
        listings: Vec<ListingId>,
    },
    /// `POST /v1/orders`
    OrderPlaced { order: PlaceOrder },
    /// `POST /v1/orders/{channel}/{order}/cancel`
    OrderCancelled { channel: ChannelId, order: OrderRef },
    /// `POST /v1/orders/{channel}/{order}/ship`
    OrderShipped { channel: ChannelId, order: OrderRef },
    /// The channel acknowledged push `seq` of `quantity` (from the delivery loop).
    PushDelivered {
        channel: ChannelId,
        listing: ListingId,
        seq: u64,
        quantity: Qty,
    },
    /// Attempt number `attempt` (1-based) of delivering push `seq` failed (from the delivery
    /// loop). The attempt number makes a duplicated report count once.
    PushFailed {
        channel: ChannelId,
        listing: ListingId,
        seq: u64,
        attempt: u32,
        error: String,
    },
    /// `POST /v1/sync/resync`: resend every eligible listing (of one channel, or all).
    Resync {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "ts", ts(optional))]
        channel: Option<ChannelId>,
    },
}

/// `POST /v1/sync/resync`'s body.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct ResyncBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub channel: Option<ChannelId>,
}

/// `POST /v1/preview`'s body: hypothetical events applied in order to a copy of the hub.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct PreviewRequest {
    pub events: Vec<Event>,
}

/// `PUT /v1/demo/{channel}/{listing}`'s body: an edit made directly on the channel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct DemoEdit {
    pub quantity: Qty,
}
