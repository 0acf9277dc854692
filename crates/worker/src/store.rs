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
//! | `listings(channel, listing, sku, class, attempts, kvb, json)` | link and sync state ([`ListingRecord`]); `kvb` its KV mirror bucket | (channel, listing): paging; `sku`: a sku's listings; `(channel, class, attempts)`: status filters; `(channel, kvb)`: a mirror bucket |
//! | `listing_counts(channel, class, attempts, n)` | listings per sync class, kept by triggers | `GET /v1/sync`'s counts |
//! | `orders(channel, ord, open, json)`, `adjustments(ref, json)` | idempotency records | key |
//! | `schedule(key, due_ms)` | listings with a push waiting, and when to try next | due time |
//! | `jobs(id, …)` | background recomputes and their cursors | id; state |
//! | `demo(channel, listing, …)` | the demo marketplace's own copy of its listings | key |
//! | `kv_dirty(key, gen)` | KV mirror keys not yet written (retried by the alarm) | — |
//! | `meta(k, v)` | the tenant name, `next_seq`, the job counter | k |
//! | `row_counts(tbl, n)` | rows of `items`, `orders`, open orders, `schedule`, kept by triggers | tbl |

use std::collections::HashMap;

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
CREATE TABLE IF NOT EXISTS listings (channel TEXT NOT NULL, listing TEXT NOT NULL, sku TEXT, class INTEGER NOT NULL, attempts INTEGER NOT NULL, kvb INTEGER NOT NULL, json TEXT NOT NULL, PRIMARY KEY (channel, listing)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS listings_by_sku ON listings (sku) WHERE sku IS NOT NULL;
CREATE INDEX IF NOT EXISTS listings_by_bucket ON listings (channel, kvb) WHERE sku IS NOT NULL;
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
CREATE TABLE IF NOT EXISTS jobs (id TEXT PRIMARY KEY, kind TEXT NOT NULL, state TEXT NOT NULL, channels TEXT NOT NULL, resync INTEGER NOT NULL, at_channel INTEGER NOT NULL, after TEXT, done INTEGER NOT NULL, total INTEGER NOT NULL, error TEXT, created_ms INTEGER NOT NULL, wake_ms INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS demo (channel TEXT NOT NULL, listing TEXT NOT NULL, quantity INTEGER NOT NULL, recv_quantity INTEGER, recv_seq INTEGER, edited INTEGER NOT NULL, PRIMARY KEY (channel, listing));
CREATE TABLE IF NOT EXISTS kv_dirty (key TEXT PRIMARY KEY, gen INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS row_counts (tbl TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS items_count_ins AFTER INSERT ON items BEGIN
  INSERT INTO row_counts (tbl, n) VALUES ('items', 1) ON CONFLICT (tbl) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER IF NOT EXISTS items_count_del AFTER DELETE ON items BEGIN
  UPDATE row_counts SET n = n - 1 WHERE tbl = 'items';
END;
CREATE TRIGGER IF NOT EXISTS orders_count_ins AFTER INSERT ON orders BEGIN
  INSERT INTO row_counts (tbl, n) VALUES ('orders', 1) ON CONFLICT (tbl) DO UPDATE SET n = n + 1;
  INSERT INTO row_counts (tbl, n) VALUES ('open_orders', new.open) ON CONFLICT (tbl) DO UPDATE SET n = n + new.open;
END;
CREATE TRIGGER IF NOT EXISTS orders_count_del AFTER DELETE ON orders BEGIN
  UPDATE row_counts SET n = n - 1 WHERE tbl = 'orders';
  UPDATE row_counts SET n = n - old.open WHERE tbl = 'open_orders';
END;
CREATE TRIGGER IF NOT EXISTS orders_count_upd AFTER UPDATE OF open ON orders WHEN old.open != new.open BEGIN
  UPDATE row_counts SET n = n + new.open - old.open WHERE tbl = 'open_orders';
END;
CREATE TRIGGER IF NOT EXISTS schedule_count_ins AFTER INSERT ON schedule BEGIN
  INSERT INTO row_counts (tbl, n) VALUES ('schedule', 1) ON CONFLICT (tbl) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER IF NOT EXISTS schedule_count_del AFTER DELETE ON schedule BEGIN
  UPDATE row_counts SET n = n - 1 WHERE tbl = 'schedule';
END;";

/// Rows of a table as the triggers on it keep them (`items`, `orders`, `open_orders`,
/// `schedule`): constant time whatever the catalogue, where `COUNT(*)` read every row (2.4 s
/// for a million skus, holding the object).
pub fn row_count(sql: &SqlStorage, what: &str) -> worker::Result<i64> {
    int(
        sql,
        "SELECT COALESCE(MAX(n), 0) FROM row_counts WHERE tbl = ?",
        vec![what.into()],
    )
}

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

/// A stored row: written by this code, so read straight into its type (the strict reader of
/// request bodies, which goes through a `Value`, is for input).
fn parse<T: serde::de::DeserializeOwned>(json: &str) -> Result<T, CoreError> {
    serde_json::from_str(json)
        .map_err(|e| CoreError::storage(format!("a stored row does not parse: {e}")))
}

/// The `json` column of every row of `inner`, as one list: SQLite joins the rows into one text
/// (`group_concat`), so a page crosses from SQLite into the Worker once instead of row by row
/// (a V8 profile of a recompute had half its time in the per-row cursor). The order of the
/// list is not defined: callers sort what needs an order.
pub fn json_list<T: serde::de::DeserializeOwned>(
    sql: &SqlStorage,
    inner: &str,
    args: Vec<SqlStorageValue>,
) -> Result<Vec<T>, CoreError> {
    let q = format!("SELECT '[' || coalesce(group_concat(json, ','), '') || ']' FROM ({inner})");
    match text(sql, &q, args).map_err(core_err)? {
        Some(t) => parse(&t),
        None => Ok(Vec::new()),
    }
}

fn by_key(a: &ListingRecord, b: &ListingRecord) -> std::cmp::Ordering {
    (a.channel.as_str(), a.listing.as_str()).cmp(&(b.channel.as_str(), b.listing.as_str()))
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
        let mut list: Vec<ListingRecord> = json_list(
            self.sql,
            "SELECT json FROM listings WHERE sku = ?",
            vec![sku.as_str().into()],
        )?;
        list.sort_by(by_key);
        Ok(list)
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

/// The core's [`Store`] for bulk loads: told what a chunk will read ([`Store::warm`]), it reads
/// those rows with one query per table (the keys passed as one JSON array, `json_each`), then
/// answers each of those reads once from what it read; anything else, or a second read, goes
/// to SQLite. The core warms a chunk before anything of it is written (`Hub::prefetch_lines`),
/// so what was read ahead is what a read would have found.
#[derive(Debug)]
pub struct WarmStore<'a> {
    sql: &'a SqlStorage,
    items: HashMap<String, Option<ItemRecord>>,
    parents: HashMap<String, Vec<String>>,
    listings_of: HashMap<String, Vec<ListingRecord>>,
    listing: HashMap<(String, String), Option<ListingRecord>>,
}

impl<'a> WarmStore<'a> {
    pub fn new(sql: &'a SqlStorage) -> Self {
        WarmStore {
            sql,
            items: HashMap::new(),
            parents: HashMap::new(),
            listings_of: HashMap::new(),
            listing: HashMap::new(),
        }
    }

    /// Forgets what was read ahead (call it before writing).
    pub fn cool(&mut self) {
        self.items.clear();
        self.parents.clear();
        self.listings_of.clear();
        self.listing.clear();
    }

    fn plain(&mut self) -> SqlStore<'a> {
        SqlStore { sql: self.sql }
    }
}

/// `(first, second)` text columns of every row of a query.
fn text_pairs(
    sql: &SqlStorage,
    query: &str,
    args: Vec<SqlStorageValue>,
) -> worker::Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for row in sql.exec(query, args)?.raw() {
        let mut row = row?.into_iter();
        if let (Some(SqlStorageValue::String(a)), Some(SqlStorageValue::String(b))) =
            (row.next(), row.next())
        {
            out.push((a, b));
        }
    }
    Ok(out)
}

impl Store for WarmStore<'_> {
    fn item(&mut self, sku: &Sku) -> Result<Option<ItemRecord>, CoreError> {
        match self.items.remove(sku.as_str()) {
            Some(item) => Ok(item),
            None => self.plain().item(sku),
        }
    }

    fn parents(&mut self, sku: &Sku) -> Result<Vec<Sku>, CoreError> {
        match self.parents.remove(sku.as_str()) {
            Some(list) => list
                .into_iter()
                .map(|s| Sku::new(s).map_err(|e| CoreError::storage(e.message)))
                .collect(),
            None => self.plain().parents(sku),
        }
    }

    fn listings_of(&mut self, sku: &Sku) -> Result<Vec<ListingRecord>, CoreError> {
        match self.listings_of.remove(sku.as_str()) {
            Some(list) => Ok(list),
            None => self.plain().listings_of(sku),
        }
    }

    fn listing(&mut self, key: &ListingKey) -> Result<Option<ListingRecord>, CoreError> {
        let k = (key.channel.to_string(), key.listing.to_string());
        match self.listing.remove(&k) {
            Some(record) => Ok(record),
            None => self.plain().listing(key),
        }
    }

    fn order(&mut self, channel: &ChannelId, order: &OrderRef) -> Result<Option<Order>, CoreError> {
        self.plain().order(channel, order)
    }

    fn adjustment(&mut self, r: &AdjustRef) -> Result<Option<AdjustmentRecord>, CoreError> {
        self.plain().adjustment(r)
    }

    fn warm(&mut self, skus: &[Sku], listings: &[ListingKey]) -> Result<(), CoreError> {
        if !skus.is_empty() {
            let names: Vec<&str> = skus.iter().map(Sku::as_str).collect();
            let arg = || vec![SqlStorageValue::from(wire::to_json(&names))];
            for s in &names {
                self.items.insert((*s).to_string(), None);
                self.parents.insert((*s).to_string(), Vec::new());
                self.listings_of.insert((*s).to_string(), Vec::new());
            }
            let items = text(
                self.sql,
                "SELECT '{' || coalesce(group_concat(json_quote(sku) || ':' || json, ','), '') || '}' \
                 FROM items WHERE sku IN (SELECT value FROM json_each(?))",
                arg(),
            )
            .map_err(core_err)?;
            if let Some(items) = items {
                for (sku, item) in parse::<HashMap<String, ItemRecord>>(&items)? {
                    self.items.insert(sku, Some(item));
                }
            }
            for (component, composite) in text_pairs(
                self.sql,
                "SELECT component, composite FROM parts WHERE component IN (SELECT value FROM json_each(?)) \
                 ORDER BY component, composite",
                arg(),
            )
            .map_err(core_err)?
            {
                self.parents.entry(component).or_default().push(composite);
            }
            let linked: Vec<ListingRecord> = json_list(
                self.sql,
                "SELECT json FROM listings WHERE sku IN (SELECT value FROM json_each(?))",
                arg(),
            )?;
            for r in linked {
                if let Some(sku) = &r.sku {
                    self.listings_of.entry(sku.to_string()).or_default().push(r);
                }
            }
            for list in self.listings_of.values_mut() {
                list.sort_by(by_key);
            }
        }
        if !listings.is_empty() {
            let keys: Vec<(&str, &str)> = listings
                .iter()
                .map(|k| (k.channel.as_str(), k.listing.as_str()))
                .collect();
            for (c, l) in &keys {
                self.listing
                    .insert(((*c).to_string(), (*l).to_string()), None);
            }
            let found: Vec<ListingRecord> = json_list(
                self.sql,
                "SELECT json FROM listings WHERE (channel, listing) IN \
                 (SELECT value ->> 0, value ->> 1 FROM json_each(?))",
                vec![SqlStorageValue::from(wire::to_json(&keys))],
            )?;
            for r in found {
                self.listing
                    .insert((r.channel.to_string(), r.listing.to_string()), Some(r));
            }
        }
        Ok(())
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
    let mut page: Vec<ListingRecord> = json_list(
        sql,
        "SELECT json FROM listings WHERE channel = ? AND listing > ? ORDER BY listing LIMIT ?",
        vec![
            channel.as_str().into(),
            after.unwrap_or("").into(),
            (limit as i64).into(),
        ],
    )?;
    page.sort_by(by_key);
    Ok(page)
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
    /// Not advanced before this time (ms since the epoch): a discovery job waiting for the
    /// channel's rate limit. 0 for a job that runs at once.
    pub wake_ms: i64,
}

impl JobRow {
    /// Ends the job as `failed`, with the reason `GET /v1/jobs/{id}` shows.
    pub fn fail(&mut self, why: impl Into<String>) {
        self.state = "failed".into();
        self.error = Some(why.into());
    }
}

/// Databases created before `jobs.wake_ms` existed get the column (a no-op once it is there).
pub fn migrate(sql: &SqlStorage) -> worker::Result<()> {
    if sql.exec("SELECT wake_ms FROM jobs LIMIT 0", None).is_err() {
        sql.exec(
            "ALTER TABLE jobs ADD COLUMN wake_ms INTEGER NOT NULL DEFAULT 0",
            None,
        )?;
    }
    Ok(())
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
    /// `(channel, listing, units)` of a new order from a real channel: the stale rule's holds
    /// they pay (`channel_facts`), stored with the order.
    pub heard: Vec<(String, String, i64)>,
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
            && self.heard.is_empty()
    }

    pub fn write(self, sql: &SqlStorage) -> worker::Result<()> {
        if self.wipe {
            // Every bucket the hub being replaced mirrored gets a mark, written inside SQLite
            // (no list of them in memory, whatever their number): flushed against the new hub,
            // each is rewritten or deleted from KV.
            sql.exec(
                &format!(
                    "INSERT INTO kv_dirty (key, gen) \
                     SELECT DISTINCT {}, 1 FROM listings WHERE sku IS NOT NULL \
                     ON CONFLICT (key) DO UPDATE SET gen = gen + 1",
                    crate::mirror::MARK_SQL
                ),
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
                "DELETE FROM meta WHERE k = 'next_seq' OR k LIKE 'preview:%' OR k LIKE 'discover:%'",
                None,
            )?;
        }
        // Listings, and stock items, in one statement per kind and chunk (`json_each`; listings
        // in up to two, [`LISTINGS_IN_PLACE`]): a statement per row crossed into JS and SQLite
        // once per row, which was most of a bulk load's and a delivery round's time (V8
        // profile, BENCHMARKS.md).
        let mut listings = Many::new(Stmt::Listings);
        let mut items = Many::new(Stmt::One(ITEMS_MANY));
        for row in self.rows {
            match row {
                Row::Listing {
                    key,
                    sku,
                    class,
                    attempts,
                    json,
                } => listings.push(
                    sql,
                    &(
                        key.channel.as_str(),
                        key.listing.as_str(),
                        sku.as_ref().map(Sku::as_str),
                        class.code(),
                        attempts,
                        crate::mirror::bucket(key.listing.as_str()),
                        json,
                    ),
                )?,
                Row::Item {
                    sku,
                    json,
                    components,
                } if components.is_empty() => items.push(sql, &(sku.as_str(), json))?,
                row => write_row(sql, row)?,
            }
        }
        listings.flush(sql)?;
        items.flush(sql)?;
        let mut undue = Many::new(Stmt::One(UNDUE_MANY));
        for key in self.undue {
            undue.push(sql, &key)?;
        }
        undue.flush(sql)?;
        let mut due = Many::new(Stmt::One(DUE_MANY));
        for (key, due_ms) in self.due {
            due.push(sql, &(key, due_ms))?;
        }
        due.flush(sql)?;
        let mut received = Many::new(Stmt::One(DEMO_RECEIVED_MANY));
        for d in self.demo {
            match d {
                DemoWrite::Received {
                    channel,
                    listing,
                    quantity,
                    seq,
                } => received.push(sql, &(channel, listing, quantity, seq))?,
                edit => edit.write(sql)?,
            }
        }
        received.flush(sql)?;
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
        for (channel, listing, units) in self.heard {
            crate::adapters::heard_line(sql, &channel, &listing, units);
        }
        for j in self.jobs {
            sql.exec(
                "INSERT OR REPLACE INTO jobs (id, kind, state, channels, resync, at_channel, after, done, total, error, created_ms, wake_ms) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
                    j.wake_ms.into(),
                ],
            )?;
        }
        Ok(())
    }
}

/// Listing rows are written over one JSON array
/// (`[[channel, listing, sku, class, attempts, kvb, json], ...]`) by up to two statements:
/// [`LISTINGS_IN_PLACE`] rewrites the record of every listing whose indexed columns (sku, class,
/// attempts) are unchanged, the common case of a push planned and acknowledged in one event,
/// without touching an index or a trigger; [`LISTINGS_MANY`] then inserts new listings and
/// rewrites those whose indexed columns changed, and is skipped when the first wrote every row.
/// SQLite rewrites an index entry for every column an upsert sets, changed or not: one upsert
/// setting every column cost an order's writes 0.23–0.31 ms of runtime CPU, these 0.13–0.17 ms;
/// a class change costs 10–30 % more, ten new listings 12–15 % more
/// (`scripts/bench/sql-writes.sh`; BENCHMARKS.md, "The Worker's own cost, fourth session").
///
/// The skip counts on the cursor's `rowsWritten`, which counts index entries and trigger writes
/// as well as rows: exact here only because this statement sets nothing but `json`, which no
/// index and no trigger of `listings` reads. Keep it so.
const LISTINGS_IN_PLACE: &str = "UPDATE listings SET json = j.value ->> 6 FROM json_each(?) AS j \
     WHERE listings.channel = j.value ->> 0 AND listings.listing = j.value ->> 1 \
     AND listings.sku IS j.value ->> 2 AND listings.class = j.value ->> 3 \
     AND listings.attempts = j.value ->> 4";
/// The listings [`LISTINGS_IN_PLACE`] did not write: inserted, or updated whole where an
/// indexed column changed (a row it wrote has them equal, so it is left as it is).
const LISTINGS_MANY: &str = "INSERT INTO listings (channel, listing, sku, class, attempts, kvb, json) \
     SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, value ->> 6 \
     FROM json_each(?) WHERE true \
     ON CONFLICT (channel, listing) DO UPDATE SET sku = excluded.sku, class = excluded.class, \
     attempts = excluded.attempts, json = excluded.json \
     WHERE listings.sku IS NOT excluded.sku OR listings.class != excluded.class \
     OR listings.attempts != excluded.attempts";
/// Upserts of many stock items: `[[sku, json], ...]`.
const ITEMS_MANY: &str =
    "INSERT INTO items (sku, json) SELECT value ->> 0, value ->> 1 FROM json_each(?) WHERE true \
     ON CONFLICT (sku) DO UPDATE SET json = excluded.json";
const UNDUE_MANY: &str = "DELETE FROM schedule WHERE key IN (SELECT value FROM json_each(?))";
const DUE_MANY: &str = "INSERT INTO schedule (key, due_ms) SELECT value ->> 0, value ->> 1 FROM json_each(?) WHERE true \
     ON CONFLICT (key) DO UPDATE SET due_ms = excluded.due_ms";
/// What the demo marketplace received: `[[channel, listing, quantity, seq], ...]`; an older seq
/// than the one it has is ignored, as a channel keyed on the idempotency key would.
const DEMO_RECEIVED_MANY: &str = "INSERT INTO demo (channel, listing, quantity, recv_quantity, recv_seq, edited) \
     SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 2, value ->> 3, 0 FROM json_each(?) WHERE true \
     ON CONFLICT (channel, listing) DO UPDATE SET quantity = excluded.quantity, \
     recv_quantity = excluded.recv_quantity, recv_seq = excluded.recv_seq, edited = 0 \
     WHERE demo.recv_seq IS NULL OR demo.recv_seq < excluded.recv_seq";

/// Rows for one multi-row statement, sent in parts of at most [`MANY_BYTES`] of JSON.
struct Many {
    stmt: Stmt,
    json: Vec<u8>,
    n: usize,
}

/// What a [`Many`] runs over its rows.
#[derive(Clone, Copy)]
enum Stmt {
    One(&'static str),
    /// [`LISTINGS_IN_PLACE`], then [`LISTINGS_MANY`] unless the first wrote every row.
    Listings,
}

const MANY_BYTES: usize = 256 * 1024;

impl Many {
    fn new(stmt: Stmt) -> Many {
        Many {
            stmt,
            json: Vec::new(),
            n: 0,
        }
    }

    /// Adds a row (a tuple, written as a JSON array straight into the buffer).
    fn push(&mut self, sql: &SqlStorage, row: &impl serde::Serialize) -> worker::Result<()> {
        self.json.push(if self.n == 0 { b'[' } else { b',' });
        serde_json::to_writer(&mut self.json, row)
            .map_err(|e| worker::Error::RustError(e.to_string()))?;
        self.n += 1;
        if self.json.len() >= MANY_BYTES {
            self.flush(sql)?;
        }
        Ok(())
    }

    fn flush(&mut self, sql: &SqlStorage) -> worker::Result<()> {
        if self.n == 0 {
            return Ok(());
        }
        let n = std::mem::take(&mut self.n);
        self.json.push(b']');
        let text = String::from_utf8(std::mem::take(&mut self.json))
            .map_err(|e| worker::Error::RustError(e.to_string()))?;
        match self.stmt {
            Stmt::One(stmt) => {
                sql.exec(stmt, vec![text.into()])?;
            }
            Stmt::Listings => {
                let in_place = sql.exec(LISTINGS_IN_PLACE, vec![text.as_str().into()])?;
                if in_place.rows_written() != n {
                    sql.exec(LISTINGS_MANY, vec![text.into()])?;
                }
            }
        }
        Ok(())
    }
}

impl DemoWrite {
    /// One change, on its own (edits are rare; deliveries go many at a time).
    fn write(self, sql: &SqlStorage) -> worker::Result<()> {
        match self {
            DemoWrite::Received {
                channel,
                listing,
                quantity,
                seq,
            } => sql.exec(
                DEMO_RECEIVED_MANY,
                vec![serde_json::json!([[channel, listing, quantity, seq]])
                    .to_string()
                    .into()],
            )?,
            DemoWrite::Edited {
                channel,
                listing,
                quantity,
            } => sql.exec(
                "INSERT INTO demo (channel, listing, quantity, edited) VALUES (?, ?, ?, 1) \
                 ON CONFLICT (channel, listing) DO UPDATE SET quantity = excluded.quantity, edited = 1",
                vec![channel.into(), listing.into(), quantity.into()],
            )?,
        };
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
            "INSERT INTO listings (channel, listing, sku, class, attempts, kvb, json) VALUES (?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (channel, listing) DO UPDATE SET sku = excluded.sku, class = excluded.class, \
             attempts = excluded.attempts, json = excluded.json",
            vec![
                key.channel.as_str().into(),
                key.listing.as_str().into(),
                sku.map(|s| s.as_str().to_string()).into(),
                class.code().into(),
                i64::from(attempts).into(),
                i64::from(crate::mirror::bucket(key.listing.as_str())).into(),
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
    commit_sync(storage, batch)
}

/// Writes a batch in one `transactionSync` (all or nothing): synchronous, so no other event
/// runs between its statements, and no promise, microtask or closure-to-future hop per commit
/// as the asynchronous `transaction()` of workers-rs costs (issue #11; PLATFORM.md: workers-rs
/// has no binding for it, so it is called on the raw storage object).
fn commit_sync(storage: &Storage, batch: Batch) -> worker::Result<()> {
    use wasm_bindgen::{closure::Closure, JsCast, JsValue};
    let raw: &JsValue = storage.as_raw().as_ref();
    let run = worker::js_sys::Reflect::get(raw, &JsValue::from_str("transactionSync"))?
        .dyn_into::<worker::js_sys::Function>()
        .map_err(|_| worker::Error::RustError("storage has no transactionSync".into()))?;
    let sql = storage.sql();
    let failed = std::rc::Rc::new(std::cell::RefCell::new(None));
    let failure = failed.clone();
    let body = Closure::once(move || -> Result<(), JsValue> {
        batch.write(&sql).map_err(|e| {
            let message = e.to_string();
            *failure.borrow_mut() = Some(message.clone());
            JsValue::from_str(&message)
        })
    });
    match run.call1(raw, body.as_ref()) {
        Ok(_) => Ok(()),
        Err(e) => Err(worker::Error::RustError(
            failed
                .borrow_mut()
                .take()
                .unwrap_or_else(|| format!("{e:?}")),
        )),
    }
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
    // One statement for the three questions: this runs after every delivery round.
    let row = sql
        .exec(
            "SELECT (SELECT MIN(due_ms) FROM schedule), \
             (SELECT MIN(wake_ms) FROM jobs WHERE state = 'running'), \
             EXISTS (SELECT 1 FROM kv_dirty)",
            None,
        )?
        .raw()
        .next()
        .transpose()?
        .unwrap_or_default();
    let number = |v: Option<&SqlStorageValue>| match v {
        Some(SqlStorageValue::Integer(n)) => Some(*n),
        Some(SqlStorageValue::Float(f)) => Some(*f as i64),
        _ => None,
    };
    let mut next = number(row.first());
    let soonest = |next: Option<i64>, at: i64| Some(next.map_or(at, |n: i64| n.min(at)));
    // A job waiting for a channel's rate limit wakes the alarm when it may go on.
    if let Some(wake) = number(row.get(1)) {
        next = soonest(next, wake.max(now_ms));
    }
    if number(row.get(2)).unwrap_or(0) > 0 {
        next = soonest(next, now_ms + kv_retry_ms);
    }
    Ok(next)
}

#[derive(Debug, Deserialize)]
pub struct DirtyKey {
    pub key: String,
    pub gen: i64,
}

/// KV marks to write (of `only`, if given), at most `limit`.
pub fn kv_dirty(
    sql: &SqlStorage,
    only: Option<&[String]>,
    limit: usize,
) -> worker::Result<Vec<DirtyKey>> {
    match only {
        Some(keys) => sql.exec(
            "SELECT key, gen FROM kv_dirty WHERE key IN (SELECT value FROM json_each(?)) ORDER BY key LIMIT ?",
            vec![wire::to_json(&keys).into(), (limit as i64).into()],
        ),
        None => sql.exec(
            "SELECT key, gen FROM kv_dirty ORDER BY key LIMIT ?",
            vec![(limit as i64).into()],
        ),
    }?
    .to_array()
}

/// Clears KV intents, each unless it was marked again (a newer `gen`) while being written:
/// one statement for a group of writes.
pub fn kv_done<'a>(
    sql: &SqlStorage,
    done: impl IntoIterator<Item = &'a DirtyKey>,
) -> worker::Result<()> {
    let pairs: Vec<(&str, i64)> = done.into_iter().map(|d| (d.key.as_str(), d.gen)).collect();
    if pairs.is_empty() {
        return Ok(());
    }
    sql.exec(
        "DELETE FROM kv_dirty WHERE (key, gen) IN (SELECT value ->> 0, value ->> 1 FROM json_each(?))",
        vec![wire::to_json(&pairs).into()],
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
    #[serde(default)]
    wake_ms: i64,
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
            wake_ms: j.wake_ms,
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

/// The oldest running job that may go on at `now_ms`, if any; recomputes (which deliver)
/// before summary previews (which only count), so a what-if never delays a real change's
/// pushes.
pub fn job_running(sql: &SqlStorage, now_ms: i64) -> worker::Result<Option<JobRow>> {
    Ok(job_rows(
        sql,
        "SELECT * FROM jobs WHERE state = 'running' AND wake_ms <= ? ORDER BY kind = 'preview', created_ms, id LIMIT 1",
        vec![now_ms.into()],
    )?
    .into_iter()
    .next())
}

/// The running discovery job of `channel`, if any (one at a time per channel).
pub fn discovery_running(sql: &SqlStorage, channel: &str) -> worker::Result<Option<JobRow>> {
    Ok(job_rows(
        sql,
        "SELECT * FROM jobs WHERE state = 'running' AND kind = 'discover' AND channels = ? LIMIT 1",
        vec![wire::to_json(&[channel]).into()],
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
