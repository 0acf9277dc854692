//! Backups: the single JSON snapshot of a small hub, read straight from the tables.

use stocksync_core::{
    wire, AdjustmentRecord, Channel, ChannelId, ErrorCode, ItemRecord, ListingRecord, Location,
    LocationId, Order, Sku, Snapshot, SNAPSHOT_VERSION,
};
use worker::{SqlStorage, SqlStorageValue};

use crate::http::ApiError;
use crate::store;

/// The most rows (items + listings + orders) the single JSON snapshot carries.
pub const MAX_SNAPSHOT_ROWS: i64 = 50_000;

fn pairs(sql: &SqlStorage, q: &str) -> Result<Vec<(String, String)>, ApiError> {
    let mut out = Vec::new();
    for row in store::query(sql, q, vec![])? {
        if let [SqlStorageValue::String(k), SqlStorageValue::String(v)] = row.as_slice() {
            out.push((k.clone(), v.clone()));
        }
    }
    Ok(out)
}

fn parse<T: serde::de::DeserializeOwned>(json: &str) -> Result<T, ApiError> {
    wire::from_json(json)
        .map_err(|e| ApiError::internal(format!("a stored row does not parse: {e}")))
}

/// `GET /v1/export` as one JSON document.
pub fn snapshot(sql: &SqlStorage) -> Result<Snapshot, ApiError> {
    let n = |q: &str| store::count(sql, q, vec![]);
    let rows = n("SELECT COUNT(*) FROM items")?
        + store::channel_listing_count(sql, None)?
        + n("SELECT COUNT(*) FROM orders")?;
    if rows > MAX_SNAPSHOT_ROWS {
        return Err(ApiError::core(
            ErrorCode::TooMany,
            format!(
                "the hub has {rows} rows; the single JSON snapshot carries at most {MAX_SNAPSHOT_ROWS}: \
                 export with Accept: application/x-ndjson"
            ),
        ));
    }
    let mut s = Snapshot {
        version: SNAPSHOT_VERSION,
        ..Snapshot::default()
    };
    for (id, json) in pairs(sql, "SELECT id, json FROM locations ORDER BY id")? {
        s.locations
            .insert(LocationId::new(id)?, parse::<Location>(&json)?);
    }
    for (id, json) in pairs(sql, "SELECT id, json FROM channels ORDER BY id")? {
        s.channels
            .insert(ChannelId::new(id)?, parse::<Channel>(&json)?);
    }
    for (sku, json) in pairs(sql, "SELECT sku, json FROM items ORDER BY sku")? {
        s.items
            .insert(Sku::new(sku)?, parse::<ItemRecord>(&json)?.body());
    }
    for (_, json) in pairs(
        sql,
        "SELECT listing, json FROM listings ORDER BY channel, listing",
    )? {
        s.listings.push(parse::<ListingRecord>(&json)?);
    }
    for (_, json) in pairs(sql, "SELECT ord, json FROM orders ORDER BY channel, ord")? {
        s.orders.push(parse::<Order>(&json)?);
    }
    for (_, json) in pairs(sql, "SELECT ref, json FROM adjustments ORDER BY ref")? {
        s.adjustments.push(parse::<AdjustmentRecord>(&json)?);
    }
    s.next_seq = store::meta_get(sql, "next_seq")?
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    Ok(s)
}
