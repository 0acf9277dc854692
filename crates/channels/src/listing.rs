//! A listing as discovery finds it on a channel, and what a push needs to address it.

use alloc::string::String;

/// What the channel needs to address a listing beyond its id (the "channel address" a mapping
/// must carry; README "Wiring").
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListingAddress {
    /// Shopify: quantities are set on the variant's inventory item (at the target's location).
    ShopifyItem { inventory_item_id: u64 },
    /// WooCommerce: a simple product, pushed through `/products/batch`.
    WooProduct,
    /// WooCommerce: a variation, pushed through `/products/{parent_id}/variations/batch`.
    WooVariation { parent_id: u64 },
}

/// One listing read from a channel's catalogue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiscoveredListing {
    /// The listing id the hub uses (SPEC §9 "Listing ids"): Shopify's numeric variant id;
    /// WooCommerce's variation id, or the product id of a simple product.
    pub listing: String,
    /// The channel's SKU, when set (empty SKUs are `None`): discovery links by it.
    pub sku: Option<String>,
    pub address: ListingAddress,
}

pub(crate) fn sku_of(v: Option<&str>) -> Option<String> {
    v.map(str::trim).filter(|s| !s.is_empty()).map(String::from)
}
