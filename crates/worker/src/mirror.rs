//! The Workers KV mirror of channel configuration and listing mappings (SPEC §4).
//!
//! The Durable Object is the only writer and keeps the copy every decision uses; KV is a
//! read-only copy for reads served at the edge (`GET /v1/channels`, `GET /v1/mappings/{c}/{l}`).
//! A change marks its KV keys dirty in the same transaction as the change itself
//! (`kv_dirty`), then the object writes them and clears the marks; a failed write stays marked
//! and the alarm retries it. Secrets never reach KV.
//!
//! Mappings are mirrored in **buckets**, not one key per listing: a channel's listings are
//! spread over [`BUCKETS`] keys by a fixed hash of the listing id ([`bucket`]), and each key
//! holds every linked listing of its bucket. A million-listing load then costs at most
//! `BUCKETS` KV writes per channel instead of a million (KV allows ~1 write per second per key
//! and ~1,000 operations per invocation, and every write is billed), and marks coalesce: a
//! bucket changed many times before it is flushed is written once. The Ledger finds a bucket's
//! listings through the partial index `listings_by_bucket (channel, kvb)`.
//!
//! Keys (every id part percent-encodes `%` and `:`, so keys are unambiguous):
//! - `{tenant}:channels` → `[{"id", ...channel with its secret removed}]`
//! - `{tenant}:mappings:{channel}:{bucket}` → `{"<listing>": <Mapping JSON>, ...}` in listing
//!   order; deleted when the bucket has no linked listing. A key that would pass KV's 512-byte
//!   limit uses the channel's SHA-256 (hex) in place of its id: `{tenant}:mappings#{hex}:{bucket}`.

use sha2::{Digest, Sha256};
use stocksync_core::{wire, Hub, ListingKey, ListingRecord};
use worker::kv::KvStore;
use worker::{SqlStorage, SqlStorageValue};

/// Mirror marks (the `kv_dirty` keys): the channel list, or one bucket of a channel's
/// mappings (written if it holds a linked listing, deleted from KV if not, so a replaced hub's
/// old mappings go too).
pub const CHANNELS: &str = "channels";
const BUCKET: &str = "bucket:";

/// Mapping buckets per channel. Part of the stored and mirrored format: changing it orphans
/// every mirrored bucket key.
pub const BUCKETS: u32 = 1024;

const KV_KEY_LIMIT: usize = 512;

/// A listing's bucket: FNV-1a (32 bit) of its id, modulo [`BUCKETS`]. Stable across builds and
/// platforms, so the edge and the Ledger agree.
pub fn bucket(listing: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in listing.as_bytes() {
        h ^= u32::from(*b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h % BUCKETS
}

/// The marks of the buckets holding these listings' mappings, each once.
pub fn listing_marks<'a>(keys: impl IntoIterator<Item = &'a ListingKey>) -> Vec<String> {
    let set: std::collections::BTreeSet<String> = keys.into_iter().map(listing_mark).collect();
    set.into_iter().collect()
}

/// The mark for the bucket holding one listing's mapping.
pub fn listing_mark(key: &ListingKey) -> String {
    bucket_mark(key.channel.as_str(), bucket(key.listing.as_str()))
}

fn bucket_mark(channel: &str, b: u32) -> String {
    format!("{BUCKET}{}", wire::to_json(&(channel, b)))
}

/// The SQL expression of a listing row's mark, for marks written inside SQLite (an import's
/// wipe marks every bucket the replaced hub mirrored, with no list of them in memory).
pub const MARK_SQL: &str = "'bucket:' || json_array(channel, kvb)";

fn enc(part: &str) -> String {
    part.replace('%', "%25").replace(':', "%3A")
}

pub fn channels_key(tenant: &str) -> String {
    format!("{}:channels", enc(tenant))
}

/// The KV key of a channel's mapping bucket.
pub fn bucket_key(tenant: &str, channel: &str, b: u32) -> String {
    let key = format!("{}:mappings:{}:{b}", enc(tenant), enc(channel));
    if key.len() <= KV_KEY_LIMIT {
        return key;
    }
    let digest = Sha256::digest(channel.as_bytes());
    format!("{}:mappings#{}:{b}", enc(tenant), hex::encode(digest))
}

/// The mapping of `listing` in a bucket's mirrored text, as the JSON `GET
/// /v1/mappings/{c}/{l}` answers.
pub fn mapping_in_bucket(text: &str, listing: &str) -> Option<String> {
    let mut bucket: serde_json::Map<String, serde_json::Value> = serde_json::from_str(text).ok()?;
    bucket.remove(listing).map(|m| m.to_string())
}

/// `GET /v1/channels`'s body: every channel with its id, secrets removed.
pub fn channels_json(hub: &Hub) -> String {
    let list: Vec<serde_json::Value> = hub
        .channels()
        .map(|(id, c)| {
            let mut c = c.clone();
            c.target = c.target.redacted();
            let mut obj = serde_json::Map::new();
            obj.insert("id".into(), serde_json::Value::String(id.to_string()));
            if let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(&c) {
                obj.extend(fields);
            }
            serde_json::Value::Object(obj)
        })
        .collect();
    wire::to_json(&list)
}

/// The marks of an import: everything is rewritten, one mark per bucket, so a large
/// merchant's mirror is written over several invocations (KV allows ~1000 operations each).
pub fn import_marks(hub: &Hub) -> Vec<String> {
    // The replaced hub's buckets are marked by the wipe itself (`store::Batch::write`).
    let mut marks = listing_marks(hub.listing_keys());
    marks.push(CHANNELS.to_string());
    marks
}

/// One KV write.
#[derive(Clone, Debug)]
pub enum Op {
    Put(String, String),
    Delete(String),
}

/// The KV write that brings a mark up to date, and what building it cost: the mappings read
/// (the drain's slices are bounded by these, not only by a clock that does not advance
/// while the object computes).
#[derive(Debug)]
pub struct Built {
    pub op: Op,
    pub mappings: usize,
}

/// The query of one bucket's linked listings. `INDEXED BY`: without statistics SQLite takes
/// the primary key's `channel = ?` prefix over the partial index (the primary key covers
/// `json`, the index does not) and reads **every listing of the channel** for each bucket:
/// 1,000,000 rows for one bucket of `c0` at a million skus (96 % of the isolate's time in a
/// V8 profile of the drain, 5 buckets a second). Through the index it reads the bucket's ~300.
/// (`INDEXED BY` also makes the query fail, not crawl, if the index ever goes.)
pub const BUCKET_SQL: &str = "SELECT json FROM listings INDEXED BY listings_by_bucket \
     WHERE channel = ? AND kvb = ? AND sku IS NOT NULL";

/// The KV write that brings `mark` up to date with what is stored, read now (synchronously),
/// so it describes one state even if the hub changes while it is written. A bucket is read
/// straight from SQLite (the partial index on `(channel, kvb)`): it never passes through the
/// working set.
pub fn op(hub: &Hub, sql: &SqlStorage, tenant: &str, mark: &str) -> Result<Option<Built>, String> {
    if mark == CHANNELS {
        return Ok(Some(Built {
            op: Op::Put(channels_key(tenant), channels_json(hub)),
            mappings: 0,
        }));
    }
    let Some(at) = mark.strip_prefix(BUCKET) else {
        return Ok(None); // an unknown mark (an older format's): nothing to write
    };
    let Ok((channel, b)) = serde_json::from_str::<(String, u32)>(at) else {
        return Ok(None);
    };
    let key = bucket_key(tenant, &channel, b);
    let mut records: Vec<ListingRecord> = crate::store::json_list(
        sql,
        BUCKET_SQL,
        vec![SqlStorageValue::from(channel.as_str()), i64::from(b).into()],
    )
    .map_err(|e| e.to_string())?;
    let mappings = records.len();
    records.sort_by(|a, b| a.listing.as_str().cmp(b.listing.as_str()));
    let mut text = String::from("{");
    for record in records {
        let Some(m) = record.mapping() else { continue };
        if text.len() > 1 {
            text.push(',');
        }
        text.push_str(&wire::to_json(&m.listing.as_str()));
        text.push(':');
        text.push_str(&wire::to_json(&m));
    }
    text.push('}');
    let op = if text.len() > 2 {
        Op::Put(key, text)
    } else {
        Op::Delete(key)
    };
    Ok(Some(Built { op, mappings }))
}

/// Runs one KV write. The value goes over as bytes: `KvStore::put` with a `String` takes
/// workers-rs's `Serialize` path, which makes a JS string of it and then copies that string
/// back into wasm only to check that it is one (14 % of the isolate's time while the drain
/// wrote 35–150 KB buckets). KV stores the same UTF-8 bytes either way.
pub async fn run(kv: &KvStore, op: Op) -> Result<(), String> {
    match op {
        Op::Put(k, v) => kv
            .put_bytes(&k, v.as_bytes())
            .map_err(|e| e.to_string())?
            .execute()
            .await
            .map_err(|e| format!("KV put {k}: {e}")),
        Op::Delete(k) => kv
            .delete(&k)
            .await
            .map_err(|e| format!("KV delete {k}: {e}")),
    }
}
