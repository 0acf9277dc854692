//! The page's read-only view of one hub: locations, items with on hand / reserved / available,
//! channels with their configuration, and every listing with what it was last sent, what the
//! hub wants now and why. It is assembled from the core's own views ([`Hub::item_view`],
//! [`Hub::listing_status`], [`Hub::wanted`], [`Hub::snapshot`]); nothing is computed here.

use serde::Serialize;
use stocksync_core::{
    Channel, ChannelId, Explain, Hold, Hub, ItemView, ListingKey, ListingStatus, LocationId, Order,
    RetryPolicy, RuleOverrides,
};

/// The whole state as the preview page shows it.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct HubView {
    pub locations: Vec<LocationView>,
    /// Every item, as `GET /v1/items/{sku}` shows it.
    pub items: Vec<ItemView>,
    /// Every channel (secrets removed).
    pub channels: Vec<ChannelView>,
    /// Every listing the hub knows, linked or not.
    pub listings: Vec<ListingRow>,
    /// Every recorded order.
    pub orders: Vec<Order>,
    /// The stock each open order holds: what a `reserved` number is made of.
    pub holds: Vec<Hold>,
}

#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LocationView {
    pub id: LocationId,
    /// A display name; the id when empty.
    pub name: String,
}

#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ChannelView {
    pub id: ChannelId,
    #[serde(flatten)]
    #[cfg_attr(feature = "ts", ts(flatten))]
    pub channel: Channel,
}

/// One listing: its sync line (`GET /v1/sync`), its link, and the explanation of its number.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ListingRow {
    #[serde(flatten)]
    #[cfg_attr(feature = "ts", ts(flatten))]
    pub status: ListingStatus,
    /// Hub units per listing unit (1 when unlinked).
    pub pack: i64,
    pub ignore_sync: bool,
    /// The listing's overrides of its channel's rules.
    pub rules: RuleOverrides,
    /// Why the listing receives nothing, in words (none when eligible).
    pub reason_text: Option<String>,
    /// How `wanted` is computed (none when not eligible).
    pub explain: Option<Explain>,
}

impl HubView {
    pub fn of(hub: &Hub) -> HubView {
        let snapshot = hub.snapshot().redacted();
        let policy = RetryPolicy::default();
        let listings = snapshot
            .listings
            .iter()
            .filter_map(|r| {
                let key = ListingKey::new(r.channel.clone(), r.listing.clone());
                let status = hub.listing_status(&key, &policy)?;
                let wanted = hub.wanted(&key);
                Some(ListingRow {
                    reason_text: status.reason.map(|r| r.describe().to_string()),
                    status,
                    pack: r.pack.get(),
                    ignore_sync: r.ignore_sync,
                    rules: r.rules.clone(),
                    explain: wanted.ok(),
                })
            })
            .collect();
        let holds = hub.holds();
        HubView {
            locations: snapshot
                .locations
                .iter()
                .map(|(id, l)| LocationView {
                    id: id.clone(),
                    name: l.name.clone(),
                })
                .collect(),
            items: hub.skus().filter_map(|s| hub.item_view(s)).collect(),
            channels: snapshot
                .channels
                .into_iter()
                .map(|(id, channel)| ChannelView { id, channel })
                .collect(),
            listings,
            orders: snapshot.orders,
            holds,
        }
    }
}
