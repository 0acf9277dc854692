//! The Ledger's SQLite tables, laid out for lookups by what events touch, the core's
//! [`Store`] over them (synchronous: `sql.exec` is), and the one write path: a [`Batch`]
//! committed in a single `storage().transaction`, so an event's rows (reservation, idempotency
//! record, outbox), its delivery schedule, job progress and KV-mirror intents are stored
//! together or not at all.
//!
//! | table | holds | looked up by |
//! | --- | --- | --- |
//! | `locations(id, json)`, `channels(id, json)` | configuration, loaded whole when the object wakes | — |
//! | `items(sku, json)` | on hand *and reserved* per location, or components ([`ItemRecord`]) | sku |
//! | `parts(component, composite)` | which composites name a component | component |
//! | `listings(channel, listing, sku, class, attempts, json)` | link and sync state ([`ListingRecord`]) | (channel, listing): paging; `sku`: a sku's listings; `(channel, class, attempts)`: status filters |
//! | `listing_counts(channel, class, attempts, n)` | listings per sync class, kept by triggers | `GET /v1/sync`'s counts |
//! | `orders(channel, ord, open, json)`, `adjustments(ref, json)` | idempotency records | key |
//! | `schedule(key, due_ms)` | listings with a push waiting, and when to try next | due time |
//! | `jobs(id, …)` | background recomputes and their cursors | id; state |
//! | `demo(channel, listing, …)` | the demo marketplace's own copy of its listings | key |
//! | `kv_dirty(key, gen)` | KV mirror keys not yet written (retried by the alarm) | — |
//! | `meta(k, v)` | the tenant name, `next_seq`, the job counter | k |

use serde::Deserialize;
use stocksync_core::{
    wire, AdjustRef, AdjustmentRecord, ChannelId, Error as CoreError, Hub, ItemRecord, ListingKey,
    ListingRecord, LocationId, Order, OrderRef, Row, Sku, Store,
};
use worker::{SqlStorage, SqlStorageValue, Storage};

pub const SCHEMA: &str = "\
CREATE TABLE IF NOT EXISTS locations (id TEXT PRIMARY KEY, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS channels (id TEXT PRIMARY KEY, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (sku TEXT PRIMARY KEY, json TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS parts (component TEXT NOT NULL, composite TEXT NOT NULL, PRIMARY KEY (component, composite)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS listings (channel TEXT NOT NULL, listing TEXT NOT NULL, sku TEXT, class INTEGER NOT NULL, attempts INTEGER NOT NULL, json TEXT NOT NULL, PRIMARY KEY (channel, listing)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS listings_by_sku ON listings (sku) WHERE sku IS NOT NULL;
CREATE INDEX IF NOT EXISTS listings_by_class ON listings (channel, class, attempts, listing);
CREATE TABLE IF NOT EXISTS listing_counts (channel TEXT NOT NULL, class INTEGER NOT NULL, attempts INTEGER NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (channel, class, attempts)) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS listing_counts_ins AFTER INSERT ON listings BEGIN
  INSERT INTO listing_counts (channel, class, attempts, n) VALUES (new.channel, new.class, new.attempts, 1)
    ON CONFLICT (channel, class, attempts) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER IF NOT EXISTS listing_counts_del AFTER DELETE ON listings BEGIN
  UPDATE listing_counts SET n = n - 1 WHERE channel = old.channel AND class = old.class AND attempts = old.attempts;
END;
CREATE TRIGGER IF NOT EXISTS listing_counts_upd AFTER UPDATE OF class, attempts ON listings
  WHEN old.class != new.class OR old.attempts != new.attempts BEGIN
  UPDATE listing_counts SET n = n - 1 WHERE channel = old.channel AND class = old.class AND attempts = old.attempts;
  INSERT INTO listing_counts (channel, class, attempts, n) VALUES (new.channel, new.class, new.attempts, 1)
    ON CONFLICT (channel, class, attempts) DO UPDATE SET n = n + 1;
END;
CREATE TABLE IF NOT EXISTS orders (channel TEXT NOT NULL, ord TEXT NOT NULL, open INTEGER NOT NULL, json TEXT NOT NULL, PRIMARY KEY (channel, ord)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS adjustments (ref TEXT PRIMARY KEY, json TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS schedule (key TEXT PRIMARY KEY, due_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS schedule_by_due ON schedule (due_ms, key);
CREATE TABLE IF NOT EXISTS jobs (id TEXT PRIMARY KEY, kind TEXT NOT NULL, state TEXT NOT NULL, channels TEXT NOT NULL, resync INTEGER NOT NULL, at_channel INTEGER NOT NULL, after TEXT, done INTEGER NOT NULL, total INTEGER NOT NULL, error TEXT, created_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS demo (channel TEXT NOT NULL, listing TEXT NOT NULL, quantity INTEGER NOT NULL, recv_quantity INTEGER, recv_seq INTEGER, edited INTEGER NOT NULL, PRIMARY KEY (channel, listing));
CREATE TABLE IF NOT EXISTS kv_dirty (key TEXT PRIMARY KEY, gen INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);";

fn core_err(e: worker::Error) -> CoreError {
    CoreError::storage(e)
}

/// Every row of a query's first column, as text.
fn texts(sql: &SqlStorage, query: &str, args: Vec<SqlStorageValue>) -> worker::Result<Vec<String>> {
    let mut out = Vec::new();
    for row in sql.exec(query, args)?.raw() {
        if let Some(SqlStorageValue::String(s)) = row?.into_iter().next() {
            out.push(s);
        }
    }
    Ok(out)
}

fn text(
    sql: &SqlStorage,
    query: &str,
    args: Vec<SqlStorageValue>,
) -> worker::Result<Option<String>> {
    Ok(texts(sql, query, args)?.into_iter().next())
}

fn int(sql: &SqlStorage, query: &str, args: Vec<SqlStorageValue>) -> worker::Result<i64> {
    let first = sql.exec(query, args)?.raw().next().transpose()?;
    Ok(match first.and_then(|row| row.into_iter().next()) {
        Some(SqlStorageValue::Integer(n)) => n,
        Some(SqlStorageValue::Float(f)) => f as i64,
        _ => 0,
    })
}

fn parse<T: serde::de::DeserializeOwned>(json: &str) -> Result<T, CoreError> {
    wire::from_json(json)
        .map_err(|e| CoreError::storage(format!("a stored row does not parse: {e}")))
}

/// The core's [`Store`] over the Ledger's tables.
#[derive(Debug)]
pub struct SqlStore<'a> {
    pub sql: &'a SqlStorage,
}

impl Store for SqlStore<'_> {
    fn item(&mut self, sku: &Sku) -> Result<Option<ItemRecord>, CoreError> {
        text(
            self.sql,
            "SELECT json FROM items WHERE sku = ?",
            vec![sku.as_str().into()],
        )
        .map_err(core_err)?
        .map(|j| parse(&j))
        .transpose()
    }

    fn parents(&mut self, sku: &Sku) -> Result<Vec<Sku>, CoreError> {
        texts(
            self.sql,
            "SELECT composite FROM parts WHERE component = ? ORDER BY composite",
            vec![sku.as_str().into()],
        )
        .map_err(core_err)?
        .into_iter()
        .map(|s| Sku::new(s).map_err(|e| CoreError::storage(e.message)))
        .collect()
    }

    fn listings_of(&mut self, sku: &Sku) -> Result<Vec<ListingRecord>, CoreError> {
        texts(
            self.sql,
            "SELECT json FROM listings WHERE sku = ? ORDER BY channel, listing",
            vec![sku.as_str().into()],
        )
        .map_err(core_err)?
        .iter()
        .map(|j| parse(j))
        .collect()
    }

    fn listing(&mut self, key: &ListingKey) -> Result<Option<ListingRecord>, CoreError> {
        text(
            self.sql,
            "SELECT json FROM listings WHERE channel = ? AND listing = ?",
            vec![key.channel.as_str().into(), key.listing.as_str().into()],
        )
        .map_err(core_err)?
        .map(|j| parse(&j))
        .transpose()
    }

    fn order(&mut self, channel: &ChannelId, order: &OrderRef) -> Result<Option<Order>, CoreError> {
        text(
            self.sql,
            "SELECT json FROM orders WHERE channel = ? AND ord = ?",
            vec![channel.as_str().into(), order.as_str().into()],
        )
        .map_err(core_err)?
        .map(|j| parse(&j))
        .transpose()
    }

    fn adjustment(&mut self, r: &AdjustRef) -> Result<Option<AdjustmentRecord>, CoreError> {
        text(
            self.sql,
            "SELECT json FROM adjustments WHERE ref = ?",
            vec![r.as_str().into()],
        )
        .map_err(core_err)?
        .map(|j| parse(&j))
        .transpose()
    }
}

/// Opens the backed hub: configuration and `next_seq` only, whatever the catalogue's size.
pub fn open_hub(sql: &SqlStorage) -> Result<Hub, String> {
    let pairs = |table: &str| -> worker::Result<Vec<(String, String)>> {
        let mut out = Vec::new();
        for row in sql
            .exec(&format!("SELECT id, json FROM {table} ORDER BY id"), None)?
            .raw()
        {
            let mut row = row?.into_iter();
            if let (Some(SqlStorageValue::String(k)), Some(SqlStorageValue::String(v))) =
                (row.next(), row.next())
            {
                out.push((k, v));
            }
        }
        Ok(out)
    };
    let locations = pairs("locations").map_err(|e| format!("reading locations: {e}"))?;
    let channels = pairs("channels").map_err(|e| format!("reading channels: {e}"))?;
    let next_seq = meta_get(sql, "next_seq")
        .map_err(|e| e.to_string())?
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let locations = locations
        .iter()
        .map(|(k, v)| Ok((LocationId::new(k.as_str())?, v.as_str())))
        .collect::<Result<Vec<_>, CoreError>>()
        .map_err(|e| e.to_string())?;
    let channels = channels
        .iter()
        .map(|(k, v)| Ok((ChannelId::new(k.as_str())?, v.as_str())))
        .collect::<Result<Vec<_>, CoreError>>()
        .map_err(|e| e.to_string())?;
    Hub::open(locations, channels, next_seq)
        .map_err(|e| format!("stored configuration does not load: {e}"))
}

/// One page of a channel's listings, in id order, after `after` (exclusive).
pub fn channel_page(
    sql: &SqlStorage,
    channel: &ChannelId,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<ListingRecord>, CoreError> {
    texts(
        sql,
        "SELECT json FROM listings WHERE channel = ? AND listing > ? ORDER BY listing LIMIT ?",
        vec![
            channel.as_str().into(),
            after.unwrap_or("").into(),
            (limit as i64).into(),
        ],
    )
    .map_err(core_err)?
    .iter()
    .map(|j| parse(j))
    .collect()
}

/// How many listings a channel has (from the trigger-kept counts: no scan).
pub fn channel_listing_count(sql: &SqlStorage, channel: Option<&ChannelId>) -> worker::Result<i64> {
    match channel {
        Some(c) => int(
            sql,
            "SELECT COALESCE(SUM(n), 0) FROM listing_counts WHERE channel = ?",
            vec![c.as_str().into()],
        ),
        None => int(
            sql,
            "SELECT COALESCE(SUM(n), 0) FROM listing_counts",
            vec![],
        ),
    }
}

/// `(channel, class, attempts, n)` groups of the trigger-kept counts.
pub fn count_groups(sql: &SqlStorage) -> worker::Result<Vec<(String, i64, i64, i64)>> {
    let mut out = Vec::new();
    for row in sql
        .exec(
            "SELECT channel, class, attempts, n FROM listing_counts WHERE n != 0",
            None,
        )?
        .raw()
    {
        let row = row?;
        if let [SqlStorageValue::String(c), a, b, n] = row.as_slice() {
            let i = |v: &SqlStorageValue| match v {
                SqlStorageValue::Integer(n) => *n,
                SqlStorageValue::Float(f) => *f as i64,
                _ => 0,
            };
            out.push((c.clone(), i(a), i(b), i(n)));
        }
    }
    Ok(out)
}

/// Rows of a free query as raw values (the paged sync view builds its own `WHERE`).
pub fn query(
    sql: &SqlStorage,
    q: &str,
    args: Vec<SqlStorageValue>,
) -> worker::Result<Vec<Vec<SqlStorageValue>>> {
    sql.exec(q, args)?.raw().collect()
}

pub fn count(sql: &SqlStorage, q: &str, args: Vec<SqlStorageValue>) -> worker::Result<i64> {
    int(sql, q, args)
}

/// One change to the demo marketplace's own copy of a listing.
#[derive(Clone, Debug)]
pub enum DemoWrite {
    /// The hub delivered push `seq`: the listing now shows `quantity`. An older seq than the
    /// one it already has is ignored, as a real channel keyed on the idempotency key would.
    Received {
        channel: String,
        listing: String,
        quantity: i64,
        seq: i64,
    },
    /// An edit made directly on the channel; the hub is not told.
    Edited {
        channel: String,
        listing: String,
        quantity: i64,
    },
}

/// A background job's progress, as stored.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JobRow {
    pub id: String,
    pub kind: String,
    pub state: String,
    /// The channels to walk, in order (JSON array of ids).
    pub channels: Vec<String>,
    pub resync: bool,
    /// Index into `channels` of the channel being walked.
    pub at_channel: i64,
    /// The last listing id done in that channel.
    pub after: Option<String>,
    pub done: i64,
    pub total: i64,
    pub error: Option<String>,
    pub created_ms: i64,
}

/// Everything one step writes, committed atomically by [`commit`].
#[derive(Debug, Default)]
pub struct Batch {
    /// Replace the whole hub (the first chunk of a restore): every hub table is emptied first.
    pub wipe: bool,
    pub rows: Vec<Row>,
    /// Listing keys (the core's listing row keys) to deliver at `due_ms`.
    pub due: Vec<(String, i64)>,
    /// Listing keys with nothing left to deliver (or that gave up).
    pub undue: Vec<String>,
    pub demo: Vec<DemoWrite>,
    /// KV mirror keys to (re)write after the commit.
    pub kv: Vec<String>,
    /// Jobs created or advanced.
    pub jobs: Vec<JobRow>,
    /// `meta` rows to set (a preview job's state).
    pub meta: Vec<(String, String)>,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        !self.wipe
            && self.rows.is_empty()
            && self.due.is_empty()
            && self.undue.is_empty()
            && self.demo.is_empty()
            && self.kv.is_empty()
            && self.jobs.is_empty()
            && self.meta.is_empty()
    }

    pub fn write(self, sql: &SqlStorage) -> worker::Result<()> {
        if self.wipe {
            // Every mapping the hub being replaced mirrored gets a mark, written inside SQLite
            // (no list of them in memory, whatever their number): flushed against the new hub,
            // each is rewritten or deleted from KV.
            sql.exec(
                "INSERT INTO kv_dirty (key, gen) \
                 SELECT 'listing:' || json_array(channel, listing), 1 FROM listings WHERE sku IS NOT NULL \
                 ON CONFLICT (key) DO UPDATE SET gen = gen + 1",
                None,
            )?;
            for t in [
                "locations",
                "channels",
                "items",
                "parts",
                "listings",
                "listing_counts",
                "orders",
                "adjustments",
                "schedule",
                "jobs",
            ] {
                sql.exec(&format!("DELETE FROM {t}"), None)?;
            }
            sql.exec(
                "DELETE FROM meta WHERE k = 'next_seq' OR k LIKE 'preview:%'",
                None,
            )?;
        }
        for row in self.rows {
            write_row(sql, row)?;
        }
        for key in self.undue {
            sql.exec("DELETE FROM schedule WHERE key = ?", vec![key.into()])?;
        }
        for (key, due_ms) in self.due {
            sql.exec(
                "INSERT INTO schedule (key, due_ms) VALUES (?, ?) \
                 ON CONFLICT (key) DO UPDATE SET due_ms = excluded.due_ms",
                vec![key.into(), due_ms.into()],
            )?;
        }
        for d in self.demo {
            match d {
                DemoWrite::Received { channel, listing, quantity, seq } => sql.exec(
                    "INSERT INTO demo (channel, listing, quantity, recv_quantity, recv_seq, edited) \
                     VALUES (?, ?, ?, ?, ?, 0) \
                     ON CONFLICT (channel, listing) DO UPDATE SET quantity = excluded.quantity, \
                     recv_quantity = excluded.recv_quantity, recv_seq = excluded.recv_seq, edited = 0 \
                     WHERE demo.recv_seq IS NULL OR demo.recv_seq < excluded.recv_seq",
                    vec![channel.into(), listing.into(), quantity.into(), quantity.into(), seq.into()],
                )?,
                DemoWrite::Edited { channel, listing, quantity } => sql.exec(
                    "INSERT INTO demo (channel, listing, quantity, edited) VALUES (?, ?, ?, 1) \
                     ON CONFLICT (channel, listing) DO UPDATE SET quantity = excluded.quantity, edited = 1",
                    vec![channel.into(), listing.into(), quantity.into()],
                )?,
            };
        }
        for key in self.kv {
            sql.exec(
                "INSERT INTO kv_dirty (key, gen) VALUES (?, 1) \
                 ON CONFLICT (key) DO UPDATE SET gen = gen + 1",
                vec![key.into()],
            )?;
        }
        for (k, v) in self.meta {
            meta_set(sql, &k, &v)?;
        }
        for j in self.jobs {
            sql.exec(
                "INSERT OR REPLACE INTO jobs (id, kind, state, channels, resync, at_channel, after, done, total, error, created_ms) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                vec![
                    j.id.into(),
                    j.kind.into(),
                    j.state.into(),
                    wire::to_json(&j.channels).into(),
                    (j.resync as i64).into(),
                    j.at_channel.into(),
                    j.after.into(),
                    j.done.into(),
                    j.total.into(),
                    j.error.into(),
                    j.created_ms.into(),
                ],
            )?;
        }
        Ok(())
    }
}

fn write_row(sql: &SqlStorage, row: Row) -> worker::Result<()> {
    match row {
        Row::Location { id, json } => sql.exec(
            "INSERT OR REPLACE INTO locations (id, json) VALUES (?, ?)",
            vec![id.as_str().into(), json.into()],
        )?,
        Row::Channel { id, json } => sql.exec(
            "INSERT OR REPLACE INTO channels (id, json) VALUES (?, ?)",
            vec![id.as_str().into(), json.into()],
        )?,
        Row::Item { sku, json, components } => {
            if !components.is_empty() {
                // A composite's component list may have changed (a stock item never becomes
                // one while it has parts, so stock items skip this).
                sql.exec("DELETE FROM parts WHERE composite = ?", vec![sku.as_str().into()])?;
                for c in components {
                    sql.exec(
                        "INSERT OR IGNORE INTO parts (component, composite) VALUES (?, ?)",
                        vec![c.as_str().into(), sku.as_str().into()],
                    )?;
                }
            }
            sql.exec(
                "INSERT INTO items (sku, json) VALUES (?, ?) \
                 ON CONFLICT (sku) DO UPDATE SET json = excluded.json",
                vec![sku.as_str().into(), json.into()],
            )?
        }
        Row::Listing { key, sku, class, attempts, json } => sql.exec(
            "INSERT INTO listings (channel, listing, sku, class, attempts, json) VALUES (?, ?, ?, ?, ?, ?) \
             ON CONFLICT (channel, listing) DO UPDATE SET sku = excluded.sku, class = excluded.class, \
             attempts = excluded.attempts, json = excluded.json",
            vec![
                key.channel.as_str().into(),
                key.listing.as_str().into(),
                sku.map(|s| s.as_str().to_string()).into(),
                class.code().into(),
                i64::from(attempts).into(),
                json.into(),
            ],
        )?,
        Row::Order { channel, order, json } => {
            let open = json.contains("\"status\":\"open\"");
            sql.exec(
                "INSERT INTO orders (channel, ord, open, json) VALUES (?, ?, ?, ?) \
                 ON CONFLICT (channel, ord) DO UPDATE SET open = excluded.open, json = excluded.json",
                vec![channel.as_str().into(), order.as_str().into(), (open as i64).into(), json.into()],
            )?
        }
        Row::Adjustment { reference, json } => sql.exec(
            "INSERT OR REPLACE INTO adjustments (ref, json) VALUES (?, ?)",
            vec![reference.as_str().into(), json.into()],
        )?,
        Row::Meta { next_seq } => sql.exec(
            "INSERT INTO meta (k, v) VALUES ('next_seq', ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v",
            vec![next_seq.to_string().into()],
        )?,
    };
    Ok(())
}

/// Writes `batch` in one transaction: all of it or, on any error, none of it.
pub async fn commit(storage: &Storage, batch: Batch) -> worker::Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    let sql = storage.sql();
    storage
        .transaction(move |_txn| async move { batch.write(&sql) })
        .await
}

/// Listing keys due at `now_ms`, earliest first, at most `limit`.
pub fn due(sql: &SqlStorage, now_ms: i64, limit: i64) -> worker::Result<Vec<String>> {
    texts(
        sql,
        "SELECT key FROM schedule WHERE due_ms <= ? ORDER BY due_ms, key LIMIT ?",
        vec![now_ms.into(), limit.into()],
    )
}

/// When the alarm is next needed: the earliest delivery, now when a job is running, or
/// `kv_retry_ms` from now when KV mirror writes are waiting.
pub fn next_wakeup(sql: &SqlStorage, now_ms: i64, kv_retry_ms: i64) -> worker::Result<Option<i64>> {
    let mut next = None;
    for row in sql.exec("SELECT MIN(due_ms) FROM schedule", None)?.raw() {
        next = match row?.into_iter().next() {
            Some(SqlStorageValue::Integer(n)) => Some(n),
            Some(SqlStorageValue::Float(f)) => Some(f as i64),
            _ => None,
        };
    }
    let soonest = |next: Option<i64>, at: i64| Some(next.map_or(at, |n: i64| n.min(at)));
    if int(
        sql,
        "SELECT COUNT(*) FROM jobs WHERE state = 'running'",
        vec![],
    )? > 0
    {
        next = soonest(next, now_ms);
    }
    if int(sql, "SELECT COUNT(*) FROM kv_dirty", vec![])? > 0 {
        next = soonest(next, now_ms + kv_retry_ms);
    }
    Ok(next)
}

#[derive(Debug, Deserialize)]
pub struct DirtyKey {
    pub key: String,
    pub gen: i64,
}

/// KV marks to write, at most `limit`.
pub fn kv_dirty(sql: &SqlStorage, limit: usize) -> worker::Result<Vec<DirtyKey>> {
    sql.exec(
        "SELECT key, gen FROM kv_dirty ORDER BY key LIMIT ?",
        vec![(limit as i64).into()],
    )?
    .to_array()
}

/// Clears a KV intent, unless it was marked again (a newer `gen`) while being written.
pub fn kv_done(sql: &SqlStorage, d: &DirtyKey) -> worker::Result<()> {
    sql.exec(
        "DELETE FROM kv_dirty WHERE key = ? AND gen = ?",
        vec![d.key.as_str().into(), d.gen.into()],
    )?;
    Ok(())
}

/// The demo marketplace's copy of one listing.
#[derive(Debug, Deserialize)]
pub struct DemoRow {
    pub quantity: i64,
    pub recv_quantity: Option<i64>,
    pub recv_seq: Option<i64>,
    pub edited: i64,
}

pub fn demo_get(sql: &SqlStorage, channel: &str, listing: &str) -> worker::Result<Option<DemoRow>> {
    let rows: Vec<DemoRow> = sql
        .exec(
            "SELECT quantity, recv_quantity, recv_seq, edited FROM demo WHERE channel = ? AND listing = ?",
            vec![channel.into(), listing.into()],
        )?
        .to_array()?;
    Ok(rows.into_iter().next())
}

pub fn meta_get(sql: &SqlStorage, k: &str) -> worker::Result<Option<String>> {
    text(sql, "SELECT v FROM meta WHERE k = ?", vec![k.into()])
}

pub fn meta_set(sql: &SqlStorage, k: &str, v: &str) -> worker::Result<()> {
    sql.exec(
        "INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v",
        vec![SqlStorageValue::from(k), v.into()],
    )?;
    Ok(())
}

#[derive(Debug, Deserialize)]
struct StoredJob {
    id: String,
    kind: String,
    state: String,
    channels: String,
    resync: i64,
    at_channel: i64,
    after: Option<String>,
    done: i64,
    total: i64,
    error: Option<String>,
    created_ms: i64,
}

fn job_rows(sql: &SqlStorage, q: &str, args: Vec<SqlStorageValue>) -> worker::Result<Vec<JobRow>> {
    let rows: Vec<StoredJob> = sql.exec(q, args)?.to_array()?;
    Ok(rows
        .into_iter()
        .map(|j| JobRow {
            id: j.id,
            kind: j.kind,
            state: j.state,
            channels: serde_json::from_str(&j.channels).unwrap_or_default(),
            resync: j.resync != 0,
            at_channel: j.at_channel,
            after: j.after,
            done: j.done,
            total: j.total,
            error: j.error,
            created_ms: j.created_ms,
        })
        .collect())
}

pub fn job_get(sql: &SqlStorage, id: &str) -> worker::Result<Option<JobRow>> {
    Ok(
        job_rows(sql, "SELECT * FROM jobs WHERE id = ?", vec![id.into()])?
            .into_iter()
            .next(),
    )
}

/// The oldest running job, if any; recomputes (which deliver) before summary previews (which
/// only count), so a what-if never delays a real change's pushes.
pub fn job_running(sql: &SqlStorage) -> worker::Result<Option<JobRow>> {
    Ok(job_rows(
        sql,
        "SELECT * FROM jobs WHERE state = 'running' ORDER BY kind = 'preview', created_ms, id LIMIT 1",
        vec![],
    )?
    .into_iter()
    .next())
}

/// A new job id, unique in this tenant.
pub fn next_job_id(sql: &SqlStorage) -> worker::Result<String> {
    let n = meta_get(sql, "job_counter")?
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0)
        + 1;
    meta_set(sql, "job_counter", &n.to_string())?;
    Ok(format!("job-{n}"))
}
