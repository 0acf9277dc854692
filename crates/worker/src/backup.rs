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
    let rows = store::row_count(sql, "items")?
        + store::channel_listing_count(sql, None)?
        + store::row_count(sql, "orders")?;
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

/// Records per chunk of the NDJSON export stream.
const EXPORT_CHUNK: i64 = 500;

/// The stream's phases, in [`BackupLine`](stocksync_core::BackupLine) order.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Phase {
    Meta,
    Locations,
    Channels,
    Stock,
    Composites,
    Orders,
    Adjustments,
    Listings,
    End,
}

impl Phase {
    fn next(self) -> Phase {
        use Phase::*;
        match self {
            Meta => Locations,
            Locations => Channels,
            Channels => Stock,
            Stock => Composites,
            Composites => Orders,
            Orders => Adjustments,
            Adjustments => Listings,
            Listings | End => End,
        }
    }

    /// `(columns, table, extra filter, key columns)`.
    fn query(
        self,
    ) -> (
        &'static str,
        &'static str,
        &'static str,
        &'static [&'static str],
    ) {
        use Phase::*;
        match self {
            Locations => ("id, json", "locations", "", &["id"]),
            Channels => ("id, json", "channels", "", &["id"]),
            Stock => (
                "sku, json",
                "items",
                "json NOT LIKE '{\"components\"%'",
                &["sku"],
            ),
            Composites => (
                "sku, json",
                "items",
                "json LIKE '{\"components\"%'",
                &["sku"],
            ),
            Orders => ("channel, ord, json", "orders", "", &["channel", "ord"]),
            Adjustments => ("ref, json", "adjustments", "", &["ref"]),
            Listings => (
                "channel, listing, json",
                "listings",
                "",
                &["channel", "listing"],
            ),
            Meta | End => ("", "", "", &[]),
        }
    }
}

struct ExportState {
    sql: SqlStorage,
    phase: Phase,
    after: Option<Vec<String>>,
    secrets: bool,
    /// Records written so far, and whether the closing `end` line was.
    records: u64,
    ended: bool,
}

fn line_of(
    phase: Phase,
    key: &[String],
    json: &str,
) -> Result<stocksync_core::BackupLine, ApiError> {
    use stocksync_core::BackupLine as L;
    Ok(match phase {
        Phase::Locations => L::Location {
            id: LocationId::new(key[0].as_str())?,
            location: parse(json)?,
        },
        Phase::Channels => L::Channel {
            id: ChannelId::new(key[0].as_str())?,
            channel: parse(json)?,
        },
        Phase::Stock | Phase::Composites => L::Item {
            sku: Sku::new(key[0].as_str())?,
            item: parse::<ItemRecord>(json)?.body(),
        },
        Phase::Orders => L::Order {
            order: parse(json)?,
        },
        Phase::Adjustments => L::Adjustment {
            adjustment: parse(json)?,
        },
        Phase::Listings => L::Listing {
            listing: parse(json)?,
        },
        Phase::Meta | Phase::End => return Err(ApiError::internal("no rows in this phase")),
    })
}

impl ExportState {
    /// The next chunk of lines, or `None` at the end.
    fn chunk(&mut self) -> Result<Option<Vec<u8>>, ApiError> {
        let mut out = Vec::new();
        while out.is_empty() {
            match self.phase {
                Phase::End if self.ended => return Ok(None),
                Phase::End => {
                    let line = stocksync_core::BackupLine::End {
                        records: self.records,
                    };
                    out.extend_from_slice(wire::to_json(&line).as_bytes());
                    out.push(b'\n');
                    self.ended = true;
                }
                Phase::Meta => {
                    let next_seq = store::meta_get(&self.sql, "next_seq")?
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(1);
                    let line = stocksync_core::BackupLine::Meta {
                        version: SNAPSHOT_VERSION,
                        next_seq,
                    };
                    out.extend_from_slice(wire::to_json(&line).as_bytes());
                    out.push(b'\n');
                    self.records += 1;
                    self.phase = self.phase.next();
                }
                phase => {
                    let (cols, table, filter, keys) = phase.query();
                    let mut conds = Vec::new();
                    let mut args: Vec<SqlStorageValue> = Vec::new();
                    if !filter.is_empty() {
                        conds.push(filter.to_string());
                    }
                    if let Some(after) = &self.after {
                        if keys.len() == 1 {
                            conds.push(format!("{} > ?", keys[0]));
                            args.push(after[0].as_str().into());
                        } else {
                            // A row value: SQLite seeks to it in the primary key (an OR
                            // of two comparisons scanned from the table's start, so each
                            // chunk cost more than the last).
                            conds.push(format!("({}, {}) > (?, ?)", keys[0], keys[1]));
                            args.push(after[0].as_str().into());
                            args.push(after[1].as_str().into());
                        }
                    }
                    args.push(EXPORT_CHUNK.into());
                    let where_ = if conds.is_empty() {
                        String::new()
                    } else {
                        format!("WHERE {}", conds.join(" AND "))
                    };
                    let q = format!(
                        "SELECT {cols} FROM {table} {where_} ORDER BY {} LIMIT ?",
                        keys.join(", ")
                    );
                    let rows = store::query(&self.sql, &q, args)?;
                    if rows.len() < EXPORT_CHUNK as usize {
                        self.phase = self.phase.next();
                        self.after = None;
                    }
                    for row in &rows {
                        let texts: Vec<String> = row
                            .iter()
                            .map(|v| match v {
                                SqlStorageValue::String(s) => s.clone(),
                                _ => String::new(),
                            })
                            .collect();
                        let (key, json) = texts.split_at(texts.len() - 1);
                        let mut line = line_of(phase, key, &json[0])?;
                        if !self.secrets {
                            line = line.redacted();
                        }
                        out.extend_from_slice(wire::to_json(&line).as_bytes());
                        out.push(b'\n');
                        self.records += 1;
                        if rows.len() == EXPORT_CHUNK as usize {
                            self.after = Some(key.to_vec());
                        }
                    }
                }
            }
        }
        Ok(Some(out))
    }
}

/// `GET /v1/export` as NDJSON: a stream read in chunks of [`EXPORT_CHUNK`] records, so its
/// memory is constant whatever the hub's size. Each record is read as it stands when its chunk
/// is read: take a backup of a busy hub knowing that orders arriving meanwhile may be in it or
/// not (each record is whole either way).
pub fn ndjson_export(sql: SqlStorage, secrets: bool) -> worker::Result<worker::Response> {
    let state = ExportState {
        sql,
        phase: Phase::Meta,
        after: None,
        secrets,
        records: 0,
        ended: false,
    };
    let stream = futures_util::stream::unfold(state, |mut st| async move {
        // A turn of the event loop between chunks: reading a chunk needs no I/O, so without
        // it a fast reader pulls the whole export back to back and every other request of the
        // object (orders) waits for the end of it (a 1M-sku export held them ~76 s).
        worker::Delay::from(std::time::Duration::from_millis(0)).await;
        match st.chunk() {
            Ok(Some(bytes)) => Some((Ok::<Vec<u8>, worker::Error>(bytes), st)),
            Ok(None) => None,
            Err(e) => {
                // No `end` line: the reader sees the backup is not whole.
                st.phase = Phase::End;
                st.ended = true;
                Some((Err(worker::Error::RustError(e.message)), st))
            }
        }
    });
    let resp = worker::Response::from_stream(stream)?;
    resp.headers().set("Content-Type", "application/x-ndjson")?;
    Ok(resp)
}
