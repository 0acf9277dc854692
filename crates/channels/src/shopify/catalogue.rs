//! Discovery: the shop's variants, 250 a page, by cursor.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use serde_json::{json, Value};

use super::{envelope, gid_number, INVENTORY_ITEM_GID, VARIANT_GID};
use crate::http::{Headers, Request};
use crate::listing::{sku_of, DiscoveredListing, ListingAddress};
use crate::push::CallFailure;
use crate::target::ShopifyApi;

/// Variants per page: the largest `first` a connection takes.
pub const VARIANTS_PAGE_SIZE: u32 = 250;

/// The points a page is expected to cost: a connection of `first` objects costs `2 + first`
/// (shopify.dev "Rate limits"); Shopify refunds what was not read, after the call.
pub const VARIANTS_PAGE_COST: f64 = 2.0 + VARIANTS_PAGE_SIZE as f64;

const VARIANTS_QUERY: &str = "query StocksyncVariants($first: Int!, $after: String) {\n  productVariants(first: $first, after: $after) {\n    nodes { id sku inventoryItem { id } }\n    pageInfo { hasNextPage endCursor }\n  }\n}";

/// The page after `cursor` (`None`: the first page).
pub fn build_variants_page(api: &ShopifyApi, cursor: Option<&str>) -> Request {
    super::graphql(
        api,
        VARIANTS_QUERY,
        json!({ "first": VARIANTS_PAGE_SIZE, "after": cursor }),
    )
}

/// One page of the catalogue.
#[derive(Clone, Debug, PartialEq)]
pub struct VariantsPage {
    pub listings: Vec<DiscoveredListing>,
    /// The cursor of the next page, `None` on the last.
    pub next_cursor: Option<String>,
    /// Variants on the page that could not be read (a missing id or inventory item).
    pub skipped: usize,
    /// The bucket after this call, to pace the next page.
    pub cost: Option<super::QueryCost>,
}

pub fn parse_variants_page(
    status: u16,
    headers: &(impl Headers + ?Sized),
    body: &[u8],
) -> Result<VariantsPage, CallFailure> {
    let env = envelope(status, headers, body)?;
    let conn = env
        .data
        .get("productVariants")
        .ok_or_else(|| CallFailure::Malformed("no productVariants in data".into()))?;
    let nodes = conn
        .get("nodes")
        .and_then(Value::as_array)
        .ok_or_else(|| CallFailure::Malformed("no nodes in productVariants".into()))?;
    let mut listings = Vec::with_capacity(nodes.len());
    let mut skipped = 0;
    for n in nodes {
        let variant = n
            .get("id")
            .and_then(Value::as_str)
            .and_then(|g| gid_number(g, VARIANT_GID));
        let item = n
            .pointer("/inventoryItem/id")
            .and_then(Value::as_str)
            .and_then(|g| gid_number(g, INVENTORY_ITEM_GID));
        match (variant, item) {
            (Some(v), Some(i)) => listings.push(DiscoveredListing {
                listing: v.to_string(),
                sku: sku_of(n.get("sku").and_then(Value::as_str)),
                address: ListingAddress::ShopifyItem {
                    inventory_item_id: i,
                },
            }),
            _ => skipped += 1,
        }
    }
    let has_next = conn
        .pointer("/pageInfo/hasNextPage")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let next_cursor = if has_next {
        Some(
            conn.pointer("/pageInfo/endCursor")
                .and_then(Value::as_str)
                .ok_or_else(|| CallFailure::Malformed("hasNextPage without endCursor".into()))?
                .to_string(),
        )
    } else {
        None
    };
    Ok(VariantsPage {
        listings,
        next_cursor,
        skipped,
        cost: env.cost,
    })
}
