//! The Workers KV mirror of channel configuration and listing mappings (SPEC §4).
//!
//! The Durable Object is the only writer and keeps the copy every decision uses; KV is a
//! read-only copy for reads served at the edge (`GET /v1/channels`, `GET /v1/mappings/{c}/{l}`).
//! A change marks its KV keys dirty in the same transaction as the change itself
//! (`kv_dirty`), then the object writes them and clears the marks; a failed write stays marked
//! and the alarm retries it. Secrets never reach KV.
//!
//! Keys (every id part percent-encodes `%` and `:`, so keys are unambiguous):
//! - `{tenant}:channels` → `[{"id", ...channel with its secret removed}]`
//! - `{tenant}:mapping:{channel}:{listing}` → the [`Mapping`] JSON; deleted on unlink. A key
//!   that would pass KV's 512-byte limit becomes `{tenant}:mapping#{sha256 hex}` instead.

use sha2::{Digest, Sha256};
use stocksync_core::{listing_row_key, wire, ChannelId, Hub, ListingKey};
use worker::kv::KvStore;

/// Mirror marks (the `kv_dirty` keys): the channel list, or one listing (written if it is
/// linked, deleted from KV if not, so a replaced hub's old mappings go too).
pub const CHANNELS: &str = "channels";
const LISTING: &str = "listing:";

const KV_KEY_LIMIT: usize = 512;

/// The mark for one listing's mapping.
pub fn listing_mark(key: &ListingKey) -> String {
    format!("{LISTING}{}", listing_row_key(key))
}

fn enc(part: &str) -> String {
    part.replace('%', "%25").replace(':', "%3A")
}

pub fn channels_key(tenant: &str) -> String {
    format!("{}:channels", enc(tenant))
}

fn mapping_prefix(tenant: &str) -> String {
    format!("{}:mapping", enc(tenant))
}

pub fn mapping_key(tenant: &str, channel: &str, listing: &str) -> String {
    let key = format!(
        "{}:{}:{}",
        mapping_prefix(tenant),
        enc(channel),
        enc(listing)
    );
    if key.len() <= KV_KEY_LIMIT {
        return key;
    }
    let digest = Sha256::digest(format!("{}\n{}", channel, listing).as_bytes());
    format!("{}#{}", mapping_prefix(tenant), hex::encode(digest))
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

/// The marks of an import: everything is rewritten, one small mark per key, so a large
/// merchant's mirror is written over several invocations (KV allows ~1000 operations each).
pub fn import_marks(hub: &Hub) -> Vec<String> {
    // The replaced hub's mappings are marked by the wipe itself (`store::Batch::write`).
    let mut marks = vec![CHANNELS.to_string()];
    marks.extend(hub.listing_keys().map(listing_mark));
    marks
}

/// One KV write.
#[derive(Clone, Debug)]
pub enum Op {
    Put(String, String),
    Delete(String),
}

/// The KV writes that bring `mark` up to date with the hub, read now (synchronously, the
/// listing prefetched into the working set), so they describe one state even if the hub
/// changes while they are written.
pub fn ops(
    hub: &mut Hub,
    st: &mut crate::store::SqlStore<'_>,
    tenant: &str,
    mark: &str,
) -> Result<Vec<Op>, crate::http::ApiError> {
    if mark == CHANNELS {
        return Ok(vec![Op::Put(channels_key(tenant), channels_json(hub))]);
    }
    let Some(row_key) = mark.strip_prefix(LISTING) else {
        return Ok(Vec::new()); // an unknown mark: nothing to write
    };
    let Ok((channel, listing)) = serde_json::from_str::<(String, String)>(row_key) else {
        return Ok(Vec::new());
    };
    let k = mapping_key(tenant, &channel, &listing);
    let key = ChannelId::new(channel.as_str()).and_then(|c| {
        Ok(ListingKey::new(
            c,
            stocksync_core::ListingId::new(listing.as_str())?,
        ))
    });
    let Ok(key) = key else {
        return Ok(vec![Op::Delete(k)]);
    };
    hub.prefetch_listing(&key, st)?;
    Ok(match hub.mapping(&key) {
        Some(m) => vec![Op::Put(k, wire::to_json(&m))],
        None => vec![Op::Delete(k)],
    })
}

/// Runs one KV write.
pub async fn run(kv: &KvStore, op: Op) -> Result<(), String> {
    match op {
        Op::Put(k, v) => kv
            .put(&k, v)
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
