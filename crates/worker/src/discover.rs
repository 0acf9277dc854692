//! Discovery (SPEC §9): `POST /v1/channels/{id}/discover` reads a Shopify or WooCommerce
//! catalogue page by page, keeps each listing's channel address (Shopify's inventory item, a
//! WooCommerce variation's parent) in `channel_facts`, links every listing whose channel SKU is
//! a hub sku and that is not linked yet, and reports the rest as unlinked.
//!
//! The first page is read inside the request. A catalogue of one page is applied there and
//! answered with its summary (`200`). A bigger one answers `202` with a `discover` job, which
//! the alarm advances one page per step: the page is read (no storage transaction is open
//! during the fetch), then applied in **one** storage transaction with the job's new cursor
//! (`jobs.after`: Shopify's `endCursor`, or a WooCommerce walk's stored position) and its
//! counters (`meta` `discover:{job}`), so a restart resumes at the page after the last one
//! applied, and a page is never half applied.
//!
//! Rate limits are waited for, not failed on: before each Shopify page the channel's cost
//! bucket, as its last answer showed it, says whether the page's points have restored
//! ([`adapters::paced`]); a `THROTTLED` answer, or a `429` / `Retry-After`, moves the job's
//! `wake_ms` to when the channel allows the call. An outage (5xx, no answer) is retried under
//! the delivery retry policy and fails the job when that gives up; a refusal that retrying
//! cannot mend (401/403, another 4xx) fails it at once, with the channel's reason.
//!
//! One discovery per channel at a time: a request while one runs answers `202` with the
//! running job's id (a client that retries its request finds its job again) rather than `409`.

use serde::{Deserialize, Serialize};
use stocksync_channels::listing::{DiscoveredListing, ListingAddress};
use stocksync_channels::push::CallFailure;
use stocksync_channels::shopify;
use stocksync_channels::woo::{CatalogueWalk, WalkPosition};
use stocksync_core::{ChannelId, Hub, ListingId, Mapping, Sku, Target};
use worker::{SqlStorage, SqlStorageValue};

use crate::adapters::{self, facts_get, facts_put, invalid, send, send_shopify};
use crate::http::ApiError;
use crate::ledger::Limits;
use crate::load;
use crate::store::{Batch, JobRow};

/// Unlinked listings a summary shows (their count is always whole).
pub const UNLINKED_SHOWN: usize = 1_000;
/// The longest the request waits for a throttled channel before the first page, in all;
/// beyond it the discovery becomes a job that starts when the channel allows.
pub const INLINE_WAIT_MS: u64 = 5_000;

/// A discovery's counters: the in-request answer, a job's progress, and a done job's result.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Progress {
    pub channel: String,
    /// Catalogue pages read and applied.
    pub pages: u64,
    /// Listings read (Shopify variants; WooCommerce products and variations).
    pub listings: u64,
    /// Entries of the catalogue that could not be read (no id or inventory item).
    pub skipped: u64,
    /// Listings linked to the hub sku their channel SKU names.
    pub linked: u64,
    /// Listings left unlinked: no SKU, or one the hub does not have (already linked ones are
    /// neither linked nor unlinked).
    pub unmatched: u64,
    /// The first [`UNLINKED_SHOWN`] of them, to map.
    pub unmatched_listings: Vec<Unlinked>,
    /// The whole catalogue was read.
    pub complete: bool,
    /// Outages in a row while a job waits to read its next page (0 once a page is read).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub retries: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Unlinked {
    pub listing: String,
    pub sku: Option<String>,
}

impl Progress {
    pub fn new(channel: &ChannelId) -> Progress {
        Progress {
            channel: channel.to_string(),
            ..Progress::default()
        }
    }
}

/// Where a job keeps its [`Progress`].
pub fn state_key(job: &str) -> String {
    format!("discover:{job}")
}

/// A new discovery job for `channel`, its next page at `after`, not before `wake_ms`.
pub fn new_job(
    id: String,
    channel: &ChannelId,
    after: Option<String>,
    now: i64,
    wake_ms: i64,
) -> JobRow {
    JobRow {
        id,
        kind: "discover".into(),
        state: "running".into(),
        channels: vec![channel.to_string()],
        resync: false,
        at_channel: 0,
        after,
        done: 0,
        total: 0,
        error: None,
        created_ms: now,
        wake_ms,
    }
}

/// What reading one page gave.
pub enum Read {
    /// A page: its listings, and where the next one is (`None`: this was the last).
    Page {
        listings: Vec<DiscoveredListing>,
        skipped: usize,
        next: Option<String>,
    },
    /// The channel's rate limit: read the same page after `ms`, nothing counted.
    Wait { ms: u64 },
    /// An outage (5xx, no answer, a garbled one): try again under the retry policy.
    Outage {
        why: String,
        retry_after_ms: Option<u64>,
    },
    /// A refusal that retrying will not mend (401/403, another 4xx): the discovery fails.
    Refused { why: String },
}

impl Read {
    fn from_failure(f: &CallFailure) -> Read {
        let why = adapters::why(f);
        match f {
            CallFailure::Throttled { wait_ms } => Read::Wait {
                ms: (*wait_ms).max(1),
            },
            CallFailure::InProgress => Read::Wait { ms: 1_000 },
            CallFailure::Unavailable { retry_after_ms, .. } => Read::Outage {
                why,
                retry_after_ms: *retry_after_ms,
            },
            CallFailure::Malformed(_) => Read::Outage {
                why,
                retry_after_ms: None,
            },
            CallFailure::Unauthorized { .. }
            | CallFailure::Rejected { .. }
            | CallFailure::NewKeyNeeded { .. } => Read::Refused { why },
        }
    }
}

/// Refuses a channel whose kind has no catalogue (before anything is read).
pub fn check_kind(target: &Target) -> Result<(), ApiError> {
    match target {
        Target::Shopify(_) | Target::Woocommerce(_) => Ok(()),
        _ => Err(ApiError::new(
            400,
            "invalid_request",
            "only Shopify and WooCommerce channels have a catalogue to discover",
        )),
    }
}

/// Reads the page at `at` (`None`: the first) of a real channel's catalogue.
pub async fn read_page(
    target: &Target,
    allow: bool,
    sql: &SqlStorage,
    channel: &str,
    at: Option<&str>,
) -> Result<Read, ApiError> {
    check_kind(target)?;
    match target {
        Target::Shopify(f) => {
            let api = adapters::shopify(f)?
                .api(allow)
                .map_err(|e| invalid(format!("shopify target: {}", e.message())))?;
            if let Some((ms, _)) = adapters::paced(sql, channel, shopify::VARIANTS_PAGE_COST) {
                return Ok(Read::Wait { ms });
            }
            let req = shopify::build_variants_page(&api, at);
            let a = match send_shopify(sql, channel, &req).await {
                Ok(a) => a,
                Err(why) => return Ok(outage(why)),
            };
            Ok(
                match shopify::parse_variants_page(a.status, a.headers.as_slice(), &a.body) {
                    Ok(page) => Read::Page {
                        listings: page.listings,
                        skipped: page.skipped,
                        next: page.next_cursor,
                    },
                    Err(f) => Read::from_failure(&f),
                },
            )
        }
        Target::Woocommerce(f) => {
            let api = adapters::woo(f)?
                .api(allow)
                .map_err(|e| invalid(format!("woocommerce target: {}", e.message())))?;
            let mut walk = match at {
                None => CatalogueWalk::new(api),
                Some(text) => {
                    let at: WalkPosition = serde_json::from_str(text).map_err(|e| {
                        ApiError::internal(format!("a stored catalogue position: {e}"))
                    })?;
                    CatalogueWalk::resume(api, at)
                }
            };
            let Some(req) = walk.next_request() else {
                return Ok(Read::Page {
                    listings: Vec::new(),
                    skipped: 0,
                    next: None,
                });
            };
            let a = match send(&req).await {
                Ok(a) => a,
                Err(why) => return Ok(outage(why)),
            };
            Ok(match walk.handle(a.status, a.headers.as_slice(), &a.body) {
                Ok(page) => Read::Page {
                    listings: page.listings,
                    skipped: page.skipped,
                    next: (!walk.is_done())
                        .then(|| serde_json::to_string(&walk.position()).unwrap_or_default()),
                },
                Err(f) => Read::from_failure(&f),
            })
        }
        _ => Ok(Read::Refused {
            why: "this channel has no catalogue".into(),
        }),
    }
}

fn outage(why: String) -> Read {
    Read::Outage {
        why,
        retry_after_ms: None,
    }
}

/// Applies one page inside the caller's storage transaction: each listing's channel address
/// kept, the links made (one `MappingsPut` in chunks, as `PUT /v1/mappings` does, its pushes
/// scheduled), the counters moved. Answers whether pushes were planned.
#[allow(clippy::too_many_arguments)] // one page's inputs, each used once
pub fn apply_page(
    hub: &mut Hub,
    sql: &SqlStorage,
    channel: &ChannelId,
    listings: &[DiscoveredListing],
    skipped: usize,
    progress: &mut Progress,
    limits: &Limits,
    now: i64,
) -> Result<bool, ApiError> {
    let (links, unmatched) = plan_links(sql, channel, listings)?;
    progress.pages += 1;
    progress.listings += listings.len() as u64;
    progress.skipped += skipped as u64;
    progress.linked += links.len() as u64;
    progress.unmatched += unmatched.len() as u64;
    let room = UNLINKED_SHOWN.saturating_sub(progress.unmatched_listings.len());
    // Every listing of the catalogue is recorded: the unmatched ones the hub does not know yet
    // become known, unlinked listings (`GET /v1/sync?status=not_eligible` shows them to map).
    let seen: Vec<ListingId> = unmatched
        .iter()
        .filter_map(|u| ListingId::new(u.listing.clone()).ok())
        .collect();
    if !seen.is_empty() {
        load::unlinked(hub, sql, channel, seen, limits.max_rows, now)?;
    }
    progress
        .unmatched_listings
        .extend(unmatched.into_iter().take(room));
    if links.is_empty() {
        return Ok(false);
    }
    let summary = load::mappings(
        hub,
        sql,
        load::listed(links),
        limits.chunk,
        limits.max_rows,
        now,
    )?;
    Ok(summary.pushes > 0)
}

/// The writes of a job step: its row and its progress.
pub fn job_batch(job: JobRow, progress: &Progress) -> Batch {
    Batch {
        meta: vec![(state_key(&job.id), stocksync_core::wire::to_json(progress))],
        jobs: vec![job],
        ..Batch::default()
    }
}

/// Keeps each discovered listing's channel address (Shopify's inventory item, a WooCommerce
/// variation's parent) and chooses the links to make: a listing whose channel SKU is a hub
/// sku and that is not linked yet. Answers (mappings to apply, unmatched listings).
pub fn plan_links(
    sql: &SqlStorage,
    channel: &ChannelId,
    found: &[DiscoveredListing],
) -> worker::Result<(Vec<Mapping>, Vec<Unlinked>)> {
    for d in found {
        let item = match d.address {
            ListingAddress::ShopifyItem { inventory_item_id } => Some(inventory_item_id),
            ListingAddress::WooVariation { parent_id } => Some(parent_id),
            ListingAddress::WooProduct => None,
        };
        let mut f = facts_get(sql, channel.as_str(), &d.listing);
        if f.item != item {
            f.item = item;
            facts_put(sql, channel.as_str(), &d.listing, &f);
        }
    }
    let mut links = Vec::new();
    let mut unmatched = Vec::new();
    for chunk in found.chunks(500) {
        let skus: Vec<&str> = chunk.iter().filter_map(|d| d.sku.as_deref()).collect();
        let ids: Vec<&str> = chunk.iter().map(|d| d.listing.as_str()).collect();
        let known: std::collections::HashSet<String> = column(
            sql,
            "SELECT sku FROM items WHERE sku IN (SELECT value FROM json_each(?))",
            vec![serde_json::to_string(&skus).unwrap_or_default().into()],
        )?;
        let linked: std::collections::HashSet<String> = column(
            sql,
            "SELECT listing FROM listings WHERE channel = ? AND sku IS NOT NULL AND listing IN (SELECT value FROM json_each(?))",
            vec![
                channel.as_str().into(),
                serde_json::to_string(&ids).unwrap_or_default().into(),
            ],
        )?;
        for d in chunk {
            if linked.contains(&d.listing) {
                continue;
            }
            let link = d.sku.as_ref().filter(|s| known.contains(*s)).and_then(|s| {
                Some((
                    Sku::new(s.clone()).ok()?,
                    ListingId::new(d.listing.clone()).ok()?,
                ))
            });
            match link {
                Some((sku, listing)) => links.push(Mapping {
                    channel: channel.clone(),
                    listing,
                    sku,
                    pack: None,
                    ignore_sync: false,
                    rules: Default::default(),
                }),
                None => unmatched.push(Unlinked {
                    listing: d.listing.clone(),
                    sku: d.sku.clone(),
                }),
            }
        }
    }
    Ok((links, unmatched))
}

fn column(
    sql: &SqlStorage,
    query: &str,
    args: Vec<SqlStorageValue>,
) -> worker::Result<std::collections::HashSet<String>> {
    let mut out = std::collections::HashSet::new();
    for row in sql.exec(query, args)?.raw() {
        if let Some(SqlStorageValue::String(s)) = row?.into_iter().next() {
            out.insert(s);
        }
    }
    Ok(out)
}
