//! Bulk loads inside one transaction, in bounded chunks: `PUT /v1/items` and `PUT /v1/mappings`
//! (up to 100,000 rows), and `POST /v1/import` of an NDJSON backup chunk. Each chunk is
//! prefetched, applied by the core, written and evicted before the next, so memory stays within
//! the working set's budget; the caller runs the whole load in one `storage().transaction`, so
//! one bad row rolls everything back and the answer names its row.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use stocksync_core::{
    wire, BackupLine, ChannelId, Error as CoreError, Event, Hub, ListingId, Mapping, Outcome,
    Target,
};
use worker::SqlStorage;

use crate::http::ApiError;
use crate::mirror;
use crate::routes::Place;
use crate::store::{Batch, SqlStore, WarmStore};

/// A bulk route's answer (SPEC §5.1): what changed, never one entry per listing.
#[derive(Debug, Default, Serialize)]
pub struct Summary {
    /// Rows (or backup lines) read.
    pub rows: u64,
    /// Distinct rows written, by kind.
    pub items: u64,
    pub listings: u64,
    pub orders: u64,
    /// Pushes planned.
    pub pushes: u64,
    /// Listings touched that receive nothing, by reason.
    pub skipped: BTreeMap<String, u64>,
}

impl Summary {
    fn add(&mut self, out: &Outcome) {
        self.pushes += out.pushes.len() as u64;
        for s in &out.skipped {
            let reason = wire::to_json(&s.reason).trim_matches('"').to_string();
            *self.skipped.entry(reason).or_default() += 1;
        }
    }
}

fn located(e: CoreError, where_: String) -> ApiError {
    ApiError::core(e.code, format!("{where_}: {}", e.message))
}

/// KV mirror marks a load collects, one per bucket whatever the number of listings in it,
/// written once at the end of the load.
#[derive(Debug, Default)]
struct Marks(BTreeSet<String>);

impl Marks {
    fn add(&mut self, out: &Outcome) {
        for key in &out.dirty.listings {
            self.0.insert(mirror::listing_mark(key));
        }
    }

    fn write(self, sql: &SqlStorage, channels: bool) -> Result<(), ApiError> {
        let mut kv: Vec<String> = self.0.into_iter().collect();
        if channels {
            kv.push(mirror::CHANNELS.to_string());
        }
        Batch {
            kv,
            ..Batch::default()
        }
        .write(sql)?;
        Ok(())
    }
}

/// Writes one outcome ([`crate::delivery::planned`]: the demo channel's pushes delivered at
/// once, the rest scheduled) and counts what it wrote.
fn write(
    hub: &mut Hub,
    sql: &SqlStorage,
    out: &mut Outcome,
    now: i64,
    s: &mut Summary,
) -> Result<(), ApiError> {
    s.add(out);
    let batch = crate::delivery::planned(hub, out, now);
    for r in &batch.rows {
        match r {
            stocksync_core::Row::Item { .. } => s.items += 1,
            stocksync_core::Row::Listing { .. } => s.listings += 1,
            stocksync_core::Row::Order { .. } => s.orders += 1,
            _ => {}
        }
    }
    batch.write(sql)?;
    Ok(())
}

/// Discovery's unmatched listings, recorded as known and unlinked ([`Event::ListingsSeen`]),
/// inside the caller's transaction. Answers how many were new.
pub fn unlinked(
    hub: &mut Hub,
    sql: &SqlStorage,
    channel: &ChannelId,
    listings: Vec<ListingId>,
    max_rows: usize,
    now: i64,
) -> Result<u64, ApiError> {
    let event = Event::ListingsSeen {
        channel: channel.clone(),
        listings,
    };
    hub.prefetch(&event, &mut WarmStore::new(sql))?;
    let mut out = hub.apply(event)?;
    let mut s = Summary::default();
    write(hub, sql, &mut out, now, &mut s)?;
    hub.evict(max_rows);
    Ok(s.listings)
}

/// Hands each mapping of a source to the loader, with its place; answers how many there were.
pub type Each<'a> = &'a mut dyn FnMut(Place, Mapping) -> Result<(), ApiError>;

/// Mappings already in memory (discovery's links), as [`mappings`] reads them.
pub fn listed(rows: Vec<Mapping>) -> impl FnOnce(Each<'_>) -> Result<usize, ApiError> {
    move |each| {
        let n = rows.len();
        for (i, m) in rows.into_iter().enumerate() {
            each(Place::Element(i), m)?;
        }
        Ok(n)
    }
}

/// `PUT /v1/mappings`: the body read a row at a time ([`crate::routes::each_mapping`]) and applied in
/// chunks of `chunk` mappings, each one core event, as it is read: neither the parsed body nor
/// all its mappings are ever in memory at once, only the text and one chunk. A bad row
/// anywhere fails the load (the caller's transaction rolls back every chunk applied).
pub fn mappings(
    hub: &mut Hub,
    sql: &SqlStorage,
    read: impl FnOnce(Each<'_>) -> Result<usize, ApiError>,
    chunk: usize,
    max_rows: usize,
    now: i64,
) -> Result<Summary, ApiError> {
    let mut s = Summary::default();
    let mut st = WarmStore::new(sql);
    let mut marks = Marks::default();
    let mut apply = |part: &mut Vec<Mapping>, places: &mut Vec<Place>| -> Result<(), ApiError> {
        if part.is_empty() {
            return Ok(());
        }
        let event = Event::MappingsPut {
            mappings: std::mem::take(part),
        };
        hub.prefetch(&event, &mut st)?;
        st.cool();
        let mut out = hub.apply(event).map_err(|e| {
            // The core names the mapping within the chunk ("mapping 3: …").
            let (index, message) = e
                .message
                .strip_prefix("mapping ")
                .and_then(|m| m.split_once(": "))
                .and_then(|(i, rest)| Some((i.parse::<usize>().ok()? - 1, rest.to_string())))
                .unwrap_or((0, e.message.clone()));
            let place = places.get(index).or(places.first());
            located(
                CoreError::new(e.code, message),
                place.map_or_else(String::new, Place::to_string),
            )
        })?;
        places.clear();
        marks.add(&out);
        write(hub, sql, &mut out, now, &mut s)?;
        hub.evict(max_rows);
        Ok(())
    };
    let mut part = Vec::with_capacity(chunk);
    let mut places = Vec::with_capacity(chunk);
    let rows = read(&mut |place, m| {
        part.push(m);
        places.push(place);
        if part.len() >= chunk {
            apply(&mut part, &mut places)?;
        }
        Ok(())
    })?;
    apply(&mut part, &mut places)?;
    s.rows = rows as u64;
    marks.write(sql, false)?;
    Ok(s)
}

/// `PUT /v1/items`: one core event per sku, in sku order; an error names the sku's CSV line or
/// array index.
pub fn items(
    hub: &mut Hub,
    sql: &SqlStorage,
    bulk: crate::bulk::BulkItems,
    chunk: usize,
    max_rows: usize,
    now: i64,
) -> Result<Summary, ApiError> {
    let mut s = Summary {
        rows: bulk.rows as u64,
        ..Summary::default()
    };
    let mut st = SqlStore { sql };
    for (i, (sku, item, origin)) in bulk.items().enumerate() {
        let event = Event::ItemPut { sku, item };
        hub.prefetch(&event, &mut st)?;
        let mut out = hub.apply(event).map_err(|e| located(e, origin))?;
        write(hub, sql, &mut out, now, &mut s)?;
        if (i + 1) % chunk == 0 {
            hub.evict(max_rows);
        }
    }
    Ok(s)
}

/// How an NDJSON restore checks its `channel` lines, as `PUT /v1/channels/{id}` checks a
/// target ([`crate::adapters::check_target`]).
pub struct ChannelCheck {
    /// The deployment's `ALLOW_PRIVATE_TARGETS`.
    pub allow_private: bool,
    /// The targets of the hub a `?first=true` restore replaces: a redacted backup's channel
    /// keeps their secrets, as a redacted JSON import keeps the hub's.
    pub replaced: BTreeMap<ChannelId, Target>,
}

/// `POST /v1/import` of NDJSON: each line a [`BackupLine`], restored in order, `chunk` lines
/// at a time: a chunk is parsed, prefetched whole (one query per table), then restored and
/// written line by line, and the working set evicted before the next. A `channel` line is
/// checked as a `PUT` of that channel is (its secrets kept from the hub's channel first): a
/// bad target is `400 invalid_target` naming the line, and the caller's transaction rolls the
/// whole request back.
#[allow(clippy::too_many_arguments)] // the load's inputs, each used once
pub fn backup(
    hub: &mut Hub,
    sql: &SqlStorage,
    body: &[u8],
    chunk: usize,
    max_rows: usize,
    now: i64,
    check: &ChannelCheck,
) -> Result<Summary, ApiError> {
    let mut s = Summary::default();
    let mut st = WarmStore::new(sql);
    let mut marks = Marks::default();
    let mut channels = false;
    let mut lines = body.split(|b| *b == b'\n').enumerate().peekable();
    let mut at: Vec<usize> = Vec::with_capacity(chunk);
    let mut part: Vec<BackupLine> = Vec::with_capacity(chunk);
    while lines.peek().is_some() {
        for (i, raw) in lines.by_ref() {
            let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            if raw.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let text = std::str::from_utf8(raw).map_err(|_| {
                ApiError::core(
                    stocksync_core::ErrorCode::MalformedJson,
                    format!("line {}: not UTF-8", i + 1),
                )
            })?;
            let mut line: BackupLine =
                wire::from_json(text).map_err(|e| located(e, format!("line {}", i + 1)))?;
            if let BackupLine::Channel { id, channel } = &mut line {
                let current = hub
                    .channel(id)
                    .map(|c| c.target.clone())
                    .or_else(|| check.replaced.get(id).cloned());
                channel.target.keep_secrets(current.as_ref());
                crate::adapters::check_target(channel, None, check.allow_private).map_err(|e| {
                    ApiError::new(
                        e.status,
                        &e.code,
                        format!("line {}: channel {id:?}: {}", i + 1, e.message),
                    )
                })?;
            }
            channels |= matches!(line, BackupLine::Channel { .. });
            at.push(i);
            part.push(line);
            if part.len() == chunk {
                break;
            }
        }
        hub.prefetch_lines(&part, &mut st)?;
        st.cool();
        for (i, line) in at.drain(..).zip(part.drain(..)) {
            let mut out = hub
                .restore_line(line)
                .map_err(|e| located(e, format!("line {}", i + 1)))?;
            marks.add(&out);
            write(hub, sql, &mut out, now, &mut s)?;
            s.rows += 1;
        }
        hub.evict(max_rows);
    }
    marks.write(sql, channels)?;
    Ok(s)
}
