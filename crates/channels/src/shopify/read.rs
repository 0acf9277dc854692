//! Reading the channel's current `available` numbers (after a stale compare): one query for up
//! to 250 inventory items at the target's location, through `nodes(ids:)`.

use alloc::vec::Vec;
use serde_json::{json, Value};

use super::{envelope, gid_number, inventory_item_gid, INVENTORY_ITEM_GID};
use crate::http::{Headers, Request};
use crate::push::CallFailure;
use crate::target::ShopifyApi;

/// Ids per read (Shopify's `nodes` takes at most 250).
pub const MAX_ITEMS_PER_READ: usize = 250;

const READ_QUERY: &str = "query StocksyncReadAvailable($ids: [ID!]!, $locationId: ID!) {\n  nodes(ids: $ids) {\n    ... on InventoryItem {\n      id\n      inventoryLevel(locationId: $locationId) { quantities(names: [\"available\"]) { name quantity } }\n    }\n  }\n}";

/// The query for these items' `available` at the target's location. More than
/// [`MAX_ITEMS_PER_READ`] ids are the caller's to split; extra ids are dropped.
pub fn build_read_available(api: &ShopifyApi, items: &[u64]) -> Request {
    let ids: Vec<_> = items
        .iter()
        .take(MAX_ITEMS_PER_READ)
        .map(|i| inventory_item_gid(*i))
        .collect();
    super::graphql(
        api,
        READ_QUERY,
        json!({ "ids": ids, "locationId": api.location_id }),
    )
}

/// One item's number at the location.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ItemLevel {
    pub inventory_item_id: u64,
    /// `None`: the item does not exist (a `null` node) or is not stocked at the location.
    /// May be negative: Shopify lets `available` go below 0 when it oversells.
    pub available: Option<i64>,
}

/// Reads the answer to [`build_read_available`], one [`ItemLevel`] per id asked, in order.
pub fn parse_read_available(
    status: u16,
    headers: &(impl Headers + ?Sized),
    body: &[u8],
    asked: &[u64],
) -> Result<Vec<ItemLevel>, CallFailure> {
    let env = envelope(status, headers, body)?;
    let nodes = env
        .data
        .get("nodes")
        .and_then(Value::as_array)
        .ok_or_else(|| CallFailure::Malformed("no nodes in data".into()))?;
    let mut out = Vec::with_capacity(asked.len());
    for id in asked.iter().take(MAX_ITEMS_PER_READ) {
        // Shopify answers nodes in the order of the ids; match by id all the same.
        let node = nodes.iter().find(|n| {
            n.get("id")
                .and_then(Value::as_str)
                .and_then(|g| gid_number(g, INVENTORY_ITEM_GID))
                == Some(*id)
        });
        let available = node
            .and_then(|n| n.pointer("/inventoryLevel/quantities"))
            .and_then(Value::as_array)
            .and_then(|qs| {
                qs.iter()
                    .find(|q| q.get("name").and_then(Value::as_str) == Some("available"))
            })
            .and_then(|q| q.get("quantity"))
            .and_then(Value::as_i64);
        out.push(ItemLevel {
            inventory_item_id: *id,
            available,
        });
    }
    Ok(out)
}

const VARIANT_ITEMS_QUERY: &str = "query StocksyncVariantItems($ids: [ID!]!) {\n  nodes(ids: $ids) {\n    ... on ProductVariant { id sku inventoryItem { id } }\n  }\n}";

/// The lookup of a listing's inventory item from its variant id (SPEC §9: "a lookup on first
/// push" for a listing linked by hand, before discovery has recorded its address). Up to
/// [`MAX_ITEMS_PER_READ`] variants per call.
pub fn build_variant_items(api: &ShopifyApi, variants: &[u64]) -> Request {
    let ids: Vec<_> = variants
        .iter()
        .take(MAX_ITEMS_PER_READ)
        .map(|v| alloc::format!("{}{v}", super::VARIANT_GID))
        .collect();
    super::graphql(api, VARIANT_ITEMS_QUERY, json!({ "ids": ids }))
}

/// One `(variant id, inventory item id)` per variant asked, in order; `None` for a variant
/// Shopify does not know (deleted: the listing's pushes then fail as permanent).
pub fn parse_variant_items(
    status: u16,
    headers: &(impl Headers + ?Sized),
    body: &[u8],
    asked: &[u64],
) -> Result<Vec<(u64, Option<u64>)>, CallFailure> {
    let env = envelope(status, headers, body)?;
    let nodes = env
        .data
        .get("nodes")
        .and_then(Value::as_array)
        .ok_or_else(|| CallFailure::Malformed("no nodes in data".into()))?;
    Ok(asked
        .iter()
        .take(MAX_ITEMS_PER_READ)
        .map(|v| {
            let item = nodes
                .iter()
                .find(|n| {
                    n.get("id")
                        .and_then(Value::as_str)
                        .and_then(|g| gid_number(g, super::VARIANT_GID))
                        == Some(*v)
                })
                .and_then(|n| n.pointer("/inventoryItem/id"))
                .and_then(Value::as_str)
                .and_then(|g| gid_number(g, INVENTORY_ITEM_GID));
            (*v, item)
        })
        .collect())
}
