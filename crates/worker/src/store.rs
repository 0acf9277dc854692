//! The Ledger's SQLite tables, and the one write path: a [`Batch`] committed in a single
//! `storage().transaction`, so an event's rows (reservation, idempotency record, outbox), its
//! delivery schedule and its KV-mirror intents are stored together or not at all.
//!
//! | table | holds |
//! | --- | --- |
//! | `rows(tbl, key, json)` | the hub itself, as the core's [`Row`]s ([`Hub::rows`] / [`Hub::from_rows`]) |
//! | `schedule(key, due_ms)` | listings with a push waiting, and when to try next |
//! | `demo(channel, listing, …)` | the demo marketplace's own copy of its listings |
//! | `kv_dirty(key, gen)` | KV mirror keys not yet written (retried by the alarm) |
//! | `meta(k, v)` | the tenant name, for the alarm (which has no request to read it from) |

use serde::Deserialize;
use stocksync_core::{Hub, Row};
use worker::{SqlStorage, SqlStorageValue, Storage};

pub const SCHEMA: &str = "\
CREATE TABLE IF NOT EXISTS rows (tbl TEXT NOT NULL, key TEXT NOT NULL, json TEXT NOT NULL, PRIMARY KEY (tbl, key));
CREATE TABLE IF NOT EXISTS schedule (key TEXT PRIMARY KEY, due_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS demo (channel TEXT NOT NULL, listing TEXT NOT NULL, quantity INTEGER NOT NULL, recv_quantity INTEGER, recv_seq INTEGER, edited INTEGER NOT NULL, PRIMARY KEY (channel, listing));
CREATE TABLE IF NOT EXISTS kv_dirty (key TEXT PRIMARY KEY, gen INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);";

#[derive(Debug, Deserialize)]
struct StoredRow {
    tbl: String,
    key: String,
    json: String,
}

/// Loads the whole hub (the core checks it as carefully as the events that built it).
pub fn load_hub(sql: &SqlStorage) -> Result<Hub, String> {
    let rows: Vec<StoredRow> = sql
        .exec("SELECT tbl, key, json FROM rows", None)
        .and_then(|c| c.to_array())
        .map_err(|e| format!("reading rows: {e}"))?;
    Hub::from_rows(
        rows.iter()
            .map(|r| (r.tbl.as_str(), r.key.as_str(), r.json.as_str())),
    )
    .map_err(|e| format!("stored rows do not load: {e}"))
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

/// Everything one step writes, committed atomically by [`commit`].
#[derive(Debug, Default)]
pub struct Batch {
    /// Replace the whole hub (an import): rows and schedule are emptied first.
    pub wipe: bool,
    pub rows: Vec<Row>,
    /// Listing keys (the core's listing row keys) to deliver at `due_ms`.
    pub due: Vec<(String, i64)>,
    /// Listing keys with nothing left to deliver (or that gave up).
    pub undue: Vec<String>,
    pub demo: Vec<DemoWrite>,
    /// KV mirror keys to (re)write after the commit.
    pub kv: Vec<String>,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        !self.wipe
            && self.rows.is_empty()
            && self.due.is_empty()
            && self.undue.is_empty()
            && self.demo.is_empty()
            && self.kv.is_empty()
    }

    fn write(self, sql: &SqlStorage) -> worker::Result<()> {
        if self.wipe {
            sql.exec("DELETE FROM rows", None)?;
            sql.exec("DELETE FROM schedule", None)?;
        }
        for row in self.rows {
            sql.exec(
                "INSERT INTO rows (tbl, key, json) VALUES (?, ?, ?) \
                 ON CONFLICT (tbl, key) DO UPDATE SET json = excluded.json",
                vec![row.table.name().into(), row.key.into(), row.json.into()],
            )?;
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
        Ok(())
    }
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

#[derive(Debug, Deserialize)]
struct KeyRow {
    key: String,
}

/// Listing keys due at `now_ms`, earliest first, at most `limit`.
pub fn due(sql: &SqlStorage, now_ms: i64, limit: i64) -> worker::Result<Vec<String>> {
    let rows: Vec<KeyRow> = sql
        .exec(
            "SELECT key FROM schedule WHERE due_ms <= ? ORDER BY due_ms, key LIMIT ?",
            vec![now_ms.into(), limit.into()],
        )?
        .to_array()?;
    Ok(rows.into_iter().map(|r| r.key).collect())
}

#[derive(Debug, Deserialize)]
struct NextRow {
    next: Option<f64>,
}

/// When the alarm is next needed: the earliest delivery, or `kv_retry_ms` from now when KV
/// mirror writes are waiting.
pub fn next_wakeup(sql: &SqlStorage, now_ms: i64, kv_retry_ms: i64) -> worker::Result<Option<i64>> {
    let row: NextRow = sql
        .exec("SELECT MIN(due_ms) AS next FROM schedule", None)?
        .one()?;
    let mut next = row.next.map(|n| n as i64);
    if !kv_dirty(sql)?.is_empty() {
        let kv = now_ms + kv_retry_ms;
        next = Some(next.map_or(kv, |n| n.min(kv)));
    }
    Ok(next)
}

#[derive(Debug, Deserialize)]
pub struct DirtyKey {
    pub key: String,
    pub gen: i64,
}

pub fn kv_dirty(sql: &SqlStorage) -> worker::Result<Vec<DirtyKey>> {
    sql.exec("SELECT key, gen FROM kv_dirty ORDER BY key", None)?
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

#[derive(Debug, Deserialize)]
struct MetaRow {
    v: String,
}

pub fn meta_get(sql: &SqlStorage, k: &str) -> worker::Result<Option<String>> {
    let rows: Vec<MetaRow> = sql
        .exec("SELECT v FROM meta WHERE k = ?", vec![k.into()])?
        .to_array()?;
    Ok(rows.into_iter().next().map(|r| r.v))
}

pub fn meta_set(sql: &SqlStorage, k: &str, v: &str) -> worker::Result<()> {
    sql.exec(
        "INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v",
        vec![SqlStorageValue::from(k), v.into()],
    )?;
    Ok(())
}
