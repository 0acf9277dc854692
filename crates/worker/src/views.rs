//! Read views that page through SQLite: `GET /v1/sync` (filtered, paged, with per-status counts)
//! and `GET /v1/stats`. Which stored class shows as which status is the core's call
//! ([`Hub::status_of_class`]); this module turns those answers into SQL.

use std::collections::BTreeMap;

use serde::Serialize;
use stocksync_core::{
    wire, ChannelId, ErrorCode, Hub, ListingClass, ListingId, ListingRecord, ListingStatus,
    Resident, RetryPolicy, Sku, SyncStatus,
};
use worker::{SqlStorage, SqlStorageValue, Url};

use crate::http::ApiError;
use crate::store::{self, SqlStore};

pub const DEFAULT_LIMIT: usize = 100;
pub const MAX_LIMIT: usize = 1_000;

/// `GET /v1/sync`'s query.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncQuery {
    pub channel: Option<ChannelId>,
    pub status: Option<SyncStatus>,
    pub sku: Option<Sku>,
    pub listing: Option<ListingId>,
    pub limit: usize,
    /// Listings after this (channel, listing), exclusive.
    pub cursor: Option<(String, String)>,
}

fn bad(message: String) -> ApiError {
    ApiError::core(ErrorCode::InvalidRequest, message)
}

impl SyncQuery {
    pub fn parse(url: &Url) -> Result<SyncQuery, ApiError> {
        let mut q = SyncQuery {
            limit: DEFAULT_LIMIT,
            ..SyncQuery::default()
        };
        for (k, v) in url.query_pairs() {
            let v = v.into_owned();
            match k.as_ref() {
                "channel" => q.channel = Some(ChannelId::new(v)?),
                "sku" => q.sku = Some(Sku::new(v)?),
                "listing" => q.listing = Some(ListingId::new(v)?),
                "status" => {
                    q.status = Some(
                        wire::from_json(&wire::to_json(&v))
                            .map_err(|_| bad(format!("status {v:?} is not one of in_sync, pending, failing, not_eligible")))?,
                    )
                }
                "limit" => {
                    q.limit = v
                        .parse()
                        .ok()
                        .filter(|n| (1..=MAX_LIMIT).contains(n))
                        .ok_or_else(|| bad(format!("limit {v:?} is not a whole number from 1 to {MAX_LIMIT}")))?
                }
                "cursor" => {
                    q.cursor = Some(
                        serde_json::from_str::<(String, String)>(&v)
                            .map_err(|_| bad(format!("cursor {v:?} is not a next_cursor this API gave")))?,
                    )
                }
                other => {
                    return Err(ApiError::core(
                        ErrorCode::UnknownField,
                        format!("unknown query parameter {other:?}; known: channel, status, sku, listing, limit, cursor"),
                    ))
                }
            }
        }
        Ok(q)
    }
}

/// A page of `GET /v1/sync`.
#[derive(Debug, Serialize)]
pub struct SyncPage {
    pub listings: Vec<ListingStatus>,
    /// Pass as `cursor` for the next page; none on the last.
    pub next_cursor: Option<String>,
    /// Listings per status for the same filter (all pages).
    pub counts: BTreeMap<&'static str, i64>,
}

fn status_name(s: SyncStatus) -> &'static str {
    match s {
        SyncStatus::InSync => "in_sync",
        SyncStatus::Pending => "pending",
        SyncStatus::Failing => "failing",
        SyncStatus::NotEligible => "not_eligible",
    }
}

/// A SQL string literal (ids have no control characters; `'` doubles).
fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The SQL condition for "shows as `status`": for each channel, the classes (and attempt
/// ranges) the core maps to it.
fn status_condition(hub: &Hub, status: SyncStatus, policy: &RetryPolicy) -> String {
    let f = policy.failing_threshold();
    let mut ors = Vec::new();
    for (channel, _) in hub.channels() {
        for class in ListingClass::ALL {
            let below = hub.status_of_class(channel, class, 0, policy) == status;
            let from = hub.status_of_class(channel, class, f, policy) == status;
            let attempts = match (below, from) {
                (false, false) => continue,
                (true, true) => String::new(),
                (true, false) => format!(" AND attempts < {f}"),
                (false, true) => format!(" AND attempts >= {f}"),
            };
            ors.push(format!(
                "(channel = {} AND class = {}{attempts})",
                lit(channel.as_str()),
                class.code()
            ));
        }
    }
    if ors.is_empty() {
        "0".into()
    } else {
        format!("({})", ors.join(" OR "))
    }
}

fn class_of(code: i64) -> ListingClass {
    ListingClass::ALL
        .into_iter()
        .find(|c| c.code() == code)
        .unwrap_or(ListingClass::Unlinked)
}

fn int(v: &SqlStorageValue) -> i64 {
    match v {
        SqlStorageValue::Integer(n) => *n,
        SqlStorageValue::Float(f) => *f as i64,
        _ => 0,
    }
}

/// One page of `GET /v1/sync`, in (channel, listing) order: a client walking the pages while
/// orders arrive sees every listing once (a listing's key never changes).
pub fn sync_page(
    hub: &mut Hub,
    st: &mut SqlStore<'_>,
    sql: &SqlStorage,
    q: &SyncQuery,
    policy: &RetryPolicy,
) -> Result<SyncPage, ApiError> {
    let mut filter = Vec::new();
    let mut args: Vec<SqlStorageValue> = Vec::new();
    if let Some(c) = &q.channel {
        filter.push("channel = ?".to_string());
        args.push(c.as_str().into());
    }
    if let Some(s) = &q.sku {
        filter.push("sku = ?".to_string());
        args.push(s.as_str().into());
    }
    if let Some(l) = &q.listing {
        filter.push("listing = ?".to_string());
        args.push(l.as_str().into());
    }
    // Counts for the same filter, by the core's status of each stored class.
    let mut counts: BTreeMap<&'static str, i64> = ["in_sync", "pending", "failing", "not_eligible"]
        .into_iter()
        .map(|s| (s, 0))
        .collect();
    let mut add = |channel: &str, class: i64, attempts: i64, n: i64| {
        if let Ok(c) = ChannelId::new(channel) {
            let s = hub.status_of_class(&c, class_of(class), attempts as u32, policy);
            *counts.entry(status_name(s)).or_default() += n;
        }
    };
    if q.sku.is_none() && q.listing.is_none() {
        // The trigger-kept counts: no scan, whatever the catalogue's size.
        for (channel, class, attempts, n) in store::count_groups(sql)? {
            if q.channel.as_ref().is_none_or(|c| c.as_str() == channel) {
                add(&channel, class, attempts, n);
            }
        }
    } else {
        let where_ = format!("WHERE {}", filter.join(" AND "));
        let rows = store::query(
            sql,
            &format!("SELECT channel, class, attempts, COUNT(*) FROM listings {where_} GROUP BY channel, class, attempts"),
            args.clone(),
        )?;
        for row in rows {
            if let [SqlStorageValue::String(c), class, attempts, n] = row.as_slice() {
                add(c, int(class), int(attempts), int(n));
            }
        }
    }
    let mut page_filter = filter.clone();
    let mut page_args = args;
    if let Some(s) = q.status {
        page_filter.push(status_condition(hub, s, policy));
    }
    if let Some((c, l)) = &q.cursor {
        // A row value, which SQLite seeks to in the primary key; the equivalent OR of two
        // comparisons scanned from the channel's start (225 ms a page deep in 1M listings).
        page_filter.push("(channel, listing) > (?, ?)".into());
        page_args.push(c.as_str().into());
        page_args.push(l.as_str().into());
    }
    page_args.push(((q.limit + 1) as i64).into());
    let where_ = if page_filter.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", page_filter.join(" AND "))
    };
    let rows = store::query(
        sql,
        &format!("SELECT json FROM listings {where_} ORDER BY channel, listing LIMIT ?"),
        page_args,
    )?;
    let mut records: Vec<ListingRecord> = Vec::with_capacity(rows.len());
    for row in rows {
        if let Some(SqlStorageValue::String(j)) = row.first() {
            records.push(
                wire::from_json(j)
                    .map_err(|e| ApiError::internal(format!("a stored listing: {e}")))?,
            );
        }
    }
    let more = records.len() > q.limit;
    records.truncate(q.limit);
    let keys = hub.prefetch_listings(records, st)?;
    let next_cursor = if more {
        keys.last()
            .map(|k| wire::to_json(&[k.channel.as_str(), k.listing.as_str()]))
    } else {
        None
    };
    let listings = keys
        .iter()
        .filter_map(|k| hub.listing_status(k, policy))
        .collect();
    Ok(SyncPage {
        listings,
        next_cursor,
        counts,
    })
}

/// `GET /v1/stats`.
#[derive(Debug, Serialize)]
pub struct Stats {
    pub skus: i64,
    pub listings: i64,
    pub open_orders: i64,
    pub pending_pushes: i64,
    pub running_jobs: i64,
    /// KV mirror keys waiting to be written (a bulk load marks every bucket it touches; the
    /// alarm writes them in slices).
    pub kv_backlog: i64,
    /// Rows of each kind in the Ledger's working set now.
    pub resident: Resident,
    pub resident_rows: usize,
    /// The Ledger's wasm linear memory, in bytes (it grows, never shrinks: the peak so far).
    pub wasm_memory_bytes: u64,
    pub sqlite_bytes: u64,
    /// The channels as the Ledger has them now, secrets redacted (what `GET /v1/channels`
    /// shows once the KV mirror has caught up): a page reads its configuration and its
    /// counts from one consistent answer.
    pub channels: serde_json::Value,
}

pub fn stats(
    sql: &SqlStorage,
    resident: Resident,
    channels: serde_json::Value,
) -> Result<Stats, ApiError> {
    let n = |q: &str| store::count(sql, q, vec![]);
    Ok(Stats {
        skus: store::row_count(sql, "items")?,
        listings: store::channel_listing_count(sql, None)?,
        open_orders: store::row_count(sql, "open_orders")?,
        pending_pushes: store::row_count(sql, "schedule")?,
        running_jobs: n("SELECT COUNT(*) FROM jobs WHERE state = 'running'")?,
        kv_backlog: n("SELECT COUNT(*) FROM kv_dirty")?,
        resident_rows: resident.rows(),
        resident,
        wasm_memory_bytes: wasm_memory_bytes(),
        sqlite_bytes: sql.database_size() as u64,
        channels,
    })
}

#[cfg(target_arch = "wasm32")]
fn wasm_memory_bytes() -> u64 {
    core::arch::wasm32::memory_size(0) as u64 * 65_536
}

#[cfg(not(target_arch = "wasm32"))]
fn wasm_memory_bytes() -> u64 {
    0
}
