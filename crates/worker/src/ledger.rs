//! The `Ledger` Durable Object: one per tenant, the single writer of that tenant's state.
//!
//! It holds a *backed* [`Hub`]: configuration plus a bounded working set, never the whole
//! catalogue (SPEC §8). A mutating request is: parse → [`Event`] → [`Hub::prefetch`] (the core
//! names and reads from SQLite what the event touches) → [`Hub::apply`] → [`Hub::rows`] of what
//! changed, plus the delivery schedule, job progress and KV-mirror marks, written in one
//! transaction (no outbound I/O in between) → [`Hub::evict`] past the budget → answer. The
//! prefetch and the apply run with no `.await` between them, so no other request interleaves.
//! If the write fails the working set is dropped (reopened from what was stored) and the request
//! answers 500. Pushes are delivered afterwards by the alarm ([`crate::delivery`]); channel-wide
//! recomputes of more than `RECOMPUTE_INLINE_MAX` listings run there too, as jobs
//! ([`crate::jobs`]).

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use serde::Serialize;
use stocksync_core::{
    wire, ChannelId, DemoEdit, Dirty, ErrorCode, Event, Hub, ListingId, ListingKey, PreviewRequest,
    Snapshot, Target,
};
use worker::{
    durable_object, js_sys, wasm_bindgen, Date, Delay, DurableObject, Env, Request, Response,
    Result, ScheduledTime, SqlStorage, State, Url,
};

use crate::delivery::{self, Attempt, Next};
use crate::discover;
use crate::http::{self, ApiError, Body, Reply};
use crate::jobs;
use crate::load;
use crate::mirror;
use crate::routes::{self, Route};
use crate::signature;
use crate::store::{self, Batch, DemoWrite, SqlStore, WarmStore};
use crate::views;
use crate::{CONFIG_BINDING, SIGNATURE_HEADER};

/// After a failed KV mirror write, try again this much later.
const KV_RETRY_MS: i64 = 5_000;
/// KV writes a single change makes before it answers; the alarm writes the rest. KV allows
/// about 1000 operations per invocation.
const KV_OPS_PER_REQUEST: usize = 100;
/// Batches one alarm run delivers before it hands over to the next alarm.
const MAX_ROUNDS: usize = 20;
/// Listings a delivery round reads or records between two yields: what an order can wait
/// behind while a backlog drains (one batched webhook call's worth).
const ROUND_SLICE: usize = 100;

/// The Ledger's bounds, from vars (defaults for production; the tests set tiny ones so that
/// eviction, paging and jobs run on every test).
#[derive(Copy, Clone, Debug)]
pub struct Limits {
    /// Rows the working set may hold before it is evicted (`LEDGER_MAX_ROWS`).
    pub max_rows: usize,
    /// A channel-wide recompute of at most this many listings runs inside the request; more
    /// is a background job (`RECOMPUTE_INLINE_MAX`, SPEC §5.1: 1,000).
    pub inline_max: i64,
    /// Listings per page of a recompute, and per job step (`JOB_PAGE`).
    pub page: usize,
    /// Job steps one alarm run makes before it lets the next alarm continue (`JOB_STEPS`).
    pub job_steps: usize,
    /// Rows a bulk load applies between evictions (`BULK_CHUNK`).
    pub chunk: usize,
    /// Listings one delivery round takes (`DELIVERY_BATCH`, 500): its calls go out together
    /// (five batched webhook calls, a real channel's batches), and it is read and recorded in
    /// slices of [`ROUND_SLICE`] with a yield between, each slice's results one transaction,
    /// so an order waits behind one slice at most. (Demo pushes never wait for a round: they
    /// are delivered where they are planned, [`delivery::planned`].)
    pub delivery: usize,
    /// The alarm's KV mirror slices ([`KvSlice`]).
    pub kv: KvSlice,
}

/// How the alarm writes a KV mirror backlog (a bulk load marks up to 1,024 buckets per
/// channel): in slices, so it never holds the object, each bounded by work done — mappings
/// read and KV writes — and by wall time, with a gap after each in which nothing of the
/// mirror runs.
///
/// Work, not only time: inside workerd `Date.now()` moves only when I/O completes (deployed;
/// `wrangler dev` lets it run on), so a clock read after building buckets, with nothing but
/// zero-length timers since, has not moved. The clock is read after each group's writes.
#[derive(Copy, Clone, Debug)]
pub struct KvSlice {
    /// Writes in flight together (`KV_PARALLEL`). Each bucket is built when its group starts.
    pub parallel: usize,
    /// Writes per slice (`KV_SLICE_OPS`).
    pub ops: usize,
    /// Mappings read per slice (`KV_SLICE_ROWS`): a bucket holds ~300 at 3M listings, ~1,000
    /// on a channel listing every sku of a million.
    pub rows: usize,
    /// Wall time per slice (`KV_SLICE_MS`), checked when a group's writes come back.
    pub ms: i64,
    /// From the end of one slice to the start of the next (`KV_SLICE_GAP_MS`).
    pub gap_ms: i64,
}

impl Limits {
    pub fn from_env(env: &Env) -> Limits {
        let var = |name: &str, default: u64| -> u64 {
            env.var(name)
                .ok()
                .and_then(|v| v.to_string().trim().parse().ok())
                .unwrap_or(default)
        };
        Limits {
            max_rows: var("LEDGER_MAX_ROWS", 5_000) as usize,
            inline_max: var("RECOMPUTE_INLINE_MAX", 1_000) as i64,
            page: var("JOB_PAGE", 200).clamp(1, 5_000) as usize,
            job_steps: var("JOB_STEPS", 8).clamp(1, 1_000) as usize,
            chunk: var("BULK_CHUNK", 1_000).clamp(1, 100_000) as usize,
            delivery: var("DELIVERY_BATCH", 500).clamp(1, 5_000) as usize,
            kv: KvSlice {
                parallel: var("KV_PARALLEL", 8).clamp(1, 64) as usize,
                ops: var("KV_SLICE_OPS", 200).clamp(1, 1_000) as usize,
                rows: var("KV_SLICE_ROWS", 4_000).clamp(1, 1_000_000) as usize,
                ms: var("KV_SLICE_MS", 200).clamp(1, 30_000) as i64,
                gap_ms: var("KV_SLICE_GAP_MS", 50).clamp(0, 60_000) as i64,
            },
        }
    }
}

#[durable_object]
#[derive(Debug)]
pub struct Ledger {
    state: State,
    env: Env,
    hub: RefCell<Option<Hub>>,
    tenant: RefCell<Option<String>>,
    kv_flushing: Cell<bool>,
    /// The alarm's next KV slice is not before this (ms since the epoch).
    kv_next_ms: Cell<i64>,
    /// The alarm this object last set and that has not run yet, when known: an order then
    /// arms nothing (no `getAlarm` round trip per order). `None` means unknown: ask storage.
    alarm_ms: Cell<Option<i64>>,
    limits: Limits,
}

/// `GET` / `PUT /v1/demo/{channel}/{listing}`: the demo marketplace's own copy of a listing.
#[derive(Serialize)]
struct DemoView {
    channel: String,
    listing: String,
    /// What the listing shows on the channel now.
    quantity: i64,
    /// What the hub last delivered to it.
    last_received: Option<Received>,
    /// True when `quantity` was set directly on the channel since the last delivery.
    edited: bool,
}

#[derive(Serialize)]
struct Received {
    quantity: i64,
    seq: i64,
}

/// `202` for a change whose recompute runs in the background.
#[derive(Serialize)]
struct Accepted {
    job: String,
    listings: i64,
}

impl Ledger {
    pub fn sql(&self) -> SqlStorage {
        self.state.storage().sql()
    }

    async fn serve(&self, mut req: Request) -> Reply {
        if self.tenant.borrow().is_none() {
            // Named after its tenant by the Worker (`idFromName`).
            let tenant = self
                .state
                .id()
                .name()
                .ok_or_else(|| ApiError::internal("the ledger has no name (its tenant)"))?;
            self.remember_tenant(&tenant)?;
        }
        let method = req.method();
        let path = req.path();
        let auth =
            crate::authenticate(&method, &path, req.headers(), &crate::Config::of(&self.env))?;
        let route = routes::route(&method, &path)?;
        let url = req.url()?;
        let body = Body {
            content_type: req.headers().get("Content-Type")?,
            bytes: http::read_body(&mut req).await?,
        };
        self.ensure_loaded().await?;
        match auth {
            "bearer" => {}
            "channel" if matches!(route, Route::ChannelInbound(_)) => {}
            "signature" if route == Route::OrderPlace => {
                let header = req.headers().get(SIGNATURE_HEADER)?.unwrap_or_default();
                self.check_signature(&header, &body.bytes)?;
            }
            _ => {
                return Err(ApiError::unauthorized(
                    "this route needs Authorization: Bearer <API_KEY>",
                ))
            }
        }

        match &route {
            Route::ChannelInbound(channel) => {
                let target = self.with_hub(|hub| hub.channel(channel).map(|c| c.target.clone()))?;
                let headers: Vec<(String, String)> = req.headers().entries().collect();
                return match crate::adapters::inbound(
                    channel,
                    target.as_ref(),
                    &headers,
                    &body.bytes,
                )? {
                    crate::adapters::Inbound::Nothing(what) => {
                        http::ok(&serde_json::json!({ "ok": true, "changed": false, "what": what }))
                    }
                    crate::adapters::Inbound::Apply(event) => self.change(event).await,
                };
            }
            Route::ChannelDiscover(channel) => return self.discover(channel.clone()).await,
            Route::MappingsPut if !detail(&url) => {
                return self.bulk_mappings(body).await;
            }
            Route::ItemsBulk => {
                let bulk = routes::items_bulk(&body)?;
                return self.bulk_items(bulk).await;
            }
            Route::Import if body.media_type().as_deref() == Some("application/x-ndjson") => {
                return self.import_ndjson(body, &url).await;
            }
            _ => {}
        }
        if let Some(event) = routes::event(&route, &body)? {
            if let Event::ChannelPut { id, channel } = &event {
                let current = self.with_hub(|hub| hub.channel(id).map(|c| c.target.clone()))?;
                crate::adapters::check_channel(channel, current.as_ref(), &self.env)?;
            }
            if let Event::MappingsPut { mappings } = &event {
                if mappings.len() > DETAIL_MAX {
                    return Err(ApiError::core(
                        ErrorCode::TooMany,
                        format!("?detail=true answers each push for at most {DETAIL_MAX} mappings; leave it out for a summary"),
                    ));
                }
            }
            return self.change(event).await;
        }
        match route {
            Route::ItemGet(sku) => {
                let view = self.with_working_set(|hub, st| {
                    hub.prefetch_sku(&sku, st)?;
                    Ok(hub.item_view(&sku))
                })?;
                match view {
                    Some(v) => http::ok(&v),
                    None => Err(ApiError::not_found(format!("no item {sku:?}"))),
                }
            }
            Route::Sync => {
                let query = views::SyncQuery::parse(&url)?;
                let policy = delivery::policy(&self.env);
                let sql = self.sql();
                let page = self
                    .with_working_set(|hub, st| views::sync_page(hub, st, &sql, &query, &policy))?;
                http::ok(&page)
            }
            Route::Stats => {
                let sql = self.sql();
                let (resident, channels) = self.with_hub(|hub| {
                    let channels = serde_json::from_str(&mirror::channels_json(hub));
                    (hub.resident(), channels.unwrap_or_default())
                })?;
                http::ok(&views::stats(&sql, resident, channels)?)
            }
            Route::Job(id) => match store::job_get(&self.sql(), &id)? {
                Some(job) => {
                    let state = match job.kind.as_str() {
                        "preview" => self
                            .preview_state(&job.id)?
                            .map_or(jobs::JobState::None, jobs::JobState::Preview),
                        "discover" => self
                            .discovery_state(&job.id)?
                            .map_or(jobs::JobState::None, jobs::JobState::Discovery),
                        _ => jobs::JobState::None,
                    };
                    http::ok(&jobs::view(&job, &state))
                }
                None => Err(ApiError::not_found(format!("no job {id:?}"))),
            },
            Route::Preview if flag(&url, "summary") => {
                let request: PreviewRequest = body.json()?;
                self.preview_summary(request).await
            }
            Route::Preview => {
                let request: PreviewRequest = body.json()?;
                self.preview(request).map(|p| http::ok(&p))?
            }
            Route::Export => self.export(&url, req.headers().get("Accept")?),
            Route::Import => {
                let snapshot: Snapshot = body.json()?;
                // Targets are checked as a PUT checks them (with the secrets the hub keeps).
                for (id, channel) in &snapshot.channels {
                    let current = self.with_hub(|hub| hub.channel(id).map(|c| c.target.clone()))?;
                    crate::adapters::check_channel(channel, current.as_ref(), &self.env).map_err(
                        |e| {
                            ApiError::new(
                                e.status,
                                &e.code,
                                format!("channel {id:?}: {}", e.message),
                            )
                        },
                    )?;
                }
                self.import(snapshot).await
            }
            Route::DemoGet(channel, listing) => self.demo(channel, listing, None).await,
            Route::DemoPut(channel, listing) => {
                let edit: DemoEdit = body.json()?;
                self.demo(channel, listing, Some(edit)).await
            }
            // Served by the Worker from KV; reached here only if forwarded anyway.
            Route::ChannelsList | Route::MappingGet(..) => {
                Err(ApiError::not_found("this route is served at the edge"))
            }
            _ => Err(ApiError::internal("route without a handler")),
        }
    }

    /// The tenant this object serves (its name), kept for the alarm's KV writes.
    fn remember_tenant(&self, tenant: &str) -> Result<()> {
        if self.tenant.borrow().as_deref() == Some(tenant) {
            return Ok(());
        }
        let sql = self.sql();
        if store::meta_get(&sql, "tenant")?.as_deref() != Some(tenant) {
            store::meta_set(&sql, "tenant", tenant)?;
        }
        *self.tenant.borrow_mut() = Some(tenant.to_string());
        Ok(())
    }

    fn tenant(&self) -> Result<Option<String>> {
        if let Some(t) = self.tenant.borrow().clone() {
            return Ok(Some(t));
        }
        let t = store::meta_get(&self.sql(), "tenant")?;
        self.tenant.replace(t.clone());
        Ok(t)
    }

    /// Opens the hub (configuration only) if it is not in memory, and makes sure an alarm is
    /// set when work waits (after a restart the alarm may be gone while pushes or a job wait).
    async fn ensure_loaded(&self) -> std::result::Result<(), ApiError> {
        if self.hub.borrow().is_some() {
            return Ok(());
        }
        let hub = store::open_hub(&self.sql()).map_err(ApiError::internal)?;
        self.hub.replace(Some(hub));
        if self.state.storage().get_alarm().await?.is_none() {
            self.rearm().await?;
        }
        Ok(())
    }

    fn with_hub<T>(&self, f: impl FnOnce(&Hub) -> T) -> std::result::Result<T, ApiError> {
        let guard = self.hub.borrow();
        let hub = guard
            .as_ref()
            .ok_or_else(|| ApiError::internal("hub not loaded"))?;
        Ok(f(hub))
    }

    /// Runs `f` on the working set with the store to prefetch from, then evicts past the
    /// budget. For reads: nothing `f` does may leave the hub ahead of the store.
    fn with_working_set<T>(
        &self,
        f: impl FnOnce(&mut Hub, &mut SqlStore<'_>) -> std::result::Result<T, ApiError>,
    ) -> std::result::Result<T, ApiError> {
        let sql = self.sql();
        let mut guard = self.hub.borrow_mut();
        let hub = guard
            .as_mut()
            .ok_or_else(|| ApiError::internal("hub not loaded"))?;
        let result = f(hub, &mut SqlStore { sql: &sql });
        hub.evict(self.limits.max_rows);
        result
    }

    /// Applies an event: prefetch, apply and (for a channel-wide change) its recompute, inline
    /// or as a job; stores it with its schedule and mirror marks in one transaction, then arms
    /// delivery and writes the KV mirror. Answers the outcome, or `202` with the job.
    async fn change(&self, event: Event) -> Reply {
        let now = delivery::now_ms();
        let sql = self.sql();
        let (outcome, batch, job) = {
            let mut guard = self.hub.borrow_mut();
            let hub = guard
                .as_mut()
                .ok_or_else(|| ApiError::internal("hub not loaded"))?;
            let mut st = SqlStore { sql: &sql };
            let mirrored = mirrored(&event);
            let heard = heard_lines(hub, &event);
            hub.prefetch(&event, &mut st)?;
            let mut outcome = hub.apply(event)?;
            // A new order from a real channel pays the stale rule's holds of its listings, in
            // the order's own transaction (a duplicate, or a refused order, pays nothing).
            let heard = match &outcome.receipt {
                Some(r) if !r.duplicate => heard,
                _ => Vec::new(),
            };
            let mut job = None;
            if let Some(rc) = outcome.recompute.take() {
                match jobs::plan_recompute(hub, &mut st, &sql, &rc, &self.limits, now)? {
                    jobs::Recomputed::Inline(step) => {
                        outcome.pushes.extend(step.pushes);
                        outcome.skipped.extend(step.skipped);
                        outcome.dirty.merge(step.dirty);
                    }
                    jobs::Recomputed::Job(j) => job = Some(j),
                }
            }
            let kv = match mirrored {
                Mirrored::Nothing => Vec::new(),
                Mirrored::Channels => vec![mirror::CHANNELS.to_string()],
                Mirrored::Listings => mirror::listing_marks(&outcome.dirty.listings),
            };
            let batch = Batch {
                kv,
                jobs: job.iter().cloned().collect(),
                heard,
                ..delivery::planned(hub, &mut outcome, now)
            };
            (outcome, batch, job)
        };
        let deliver = !batch.due.is_empty() || job.is_some();
        let marks = batch.kv.clone();
        self.commit(batch).await?;
        self.evict();
        if deliver {
            self.arm_at(now).await?;
        }
        if !marks.is_empty() {
            // This change's own keys first, so a read at the edge soon sees it; a backlog
            // (a bulk load's buckets) is the alarm's.
            self.flush_kv(KvBudget::request(Some(marks), &self.limits.kv))
                .await;
        }
        match job {
            Some(j) => Ok(http::json(
                202,
                &Accepted {
                    job: j.id,
                    listings: j.total,
                },
            )?),
            None => http::ok(&outcome),
        }
    }

    fn evict(&self) {
        if let Some(hub) = self.hub.borrow_mut().as_mut() {
            hub.evict(self.limits.max_rows);
        }
    }

    /// `POST /v1/preview?summary=true`: counts of what channel-wide events would do to every
    /// listing of the channels they touch, inline up to `RECOMPUTE_INLINE_MAX` listings, else
    /// `202` with a `preview` job. Stores nothing but the job.
    async fn preview_summary(&self, request: PreviewRequest) -> Reply {
        let now = delivery::now_ms();
        let sql = self.sql();
        let limits = self.limits;
        let planned = self.with_working_set(|hub, st| {
            jobs::plan_summary(hub, st, &sql, request.events, &limits, now)
        })?;
        match planned {
            jobs::Summarised::Inline(summary) => {
                http::ok(&jobs::SummaryAnswer { summary: &summary })
            }
            jobs::Summarised::Job(job, state) => {
                let answer = Accepted {
                    job: job.id.clone(),
                    listings: job.total,
                };
                let batch = Batch {
                    meta: vec![(jobs::preview_key(&job.id), wire::to_json(&state))],
                    jobs: vec![job],
                    ..Batch::default()
                };
                self.commit(batch).await?;
                self.arm_at(now).await?;
                Ok(http::json(202, &answer)?)
            }
        }
    }

    /// A job's state kept in `meta` under `key` (a preview's counts, a discovery's counters),
    /// written by this code, so read straight into its type.
    fn job_state<T: serde::de::DeserializeOwned>(
        &self,
        key: &str,
    ) -> std::result::Result<Option<T>, ApiError> {
        store::meta_get(&self.sql(), key)?
            .map(|t| serde_json::from_str(&t).map_err(ApiError::internal))
            .transpose()
    }

    fn preview_state(
        &self,
        job: &str,
    ) -> std::result::Result<Option<jobs::PreviewState>, ApiError> {
        self.job_state(&jobs::preview_key(job))
    }

    fn discovery_state(
        &self,
        job: &str,
    ) -> std::result::Result<Option<discover::Progress>, ApiError> {
        self.job_state(&discover::state_key(job))
    }

    /// `POST /v1/channels/{id}/discover` ([`crate::discover`]): the first page read here; a
    /// one-page catalogue answered with its summary, a bigger one `202` with the job that reads
    /// the rest. While a discovery of the channel runs, `202` with that job.
    async fn discover(&self, channel: ChannelId) -> Reply {
        let target = self
            .with_hub(|hub| hub.channel(&channel).map(|c| c.target.clone()))?
            .ok_or_else(|| {
                ApiError::core(ErrorCode::UnknownChannel, format!("no channel {channel:?}"))
            })?;
        discover::check_kind(&target)?;
        let sql = self.sql();
        if let Some(job) = store::discovery_running(&sql, channel.as_str())? {
            let progress = self.discovery_state(&job.id)?.unwrap_or_default();
            return discovery_accepted(&job, &progress);
        }
        let allow = crate::adapters::allow_private(&self.env);
        let mut waited = 0;
        let read = loop {
            match discover::read_page(&target, allow, &sql, channel.as_str(), None).await? {
                discover::Read::Wait { ms } if waited + ms <= discover::INLINE_WAIT_MS => {
                    Delay::from(Duration::from_millis(ms)).await;
                    waited += ms;
                }
                read => break read,
            }
        };
        let now = delivery::now_ms();
        let (listings, skipped, next) = match read {
            discover::Read::Page {
                listings,
                skipped,
                next,
            } => (listings, skipped, next),
            // The channel asks for longer than a request should wait: the job reads from the
            // first page when it allows.
            discover::Read::Wait { ms } => {
                let ch = channel.clone();
                let (job, progress) = self
                    .transact(move |_, sql| {
                        if let Some(job) = store::discovery_running(sql, ch.as_str())? {
                            return Ok((job, discover::Progress::new(&ch)));
                        }
                        let id = store::next_job_id(sql)?;
                        let job = discover::new_job(id, &ch, None, now, now + ms as i64);
                        let progress = discover::Progress::new(&ch);
                        discover::job_batch(job.clone(), &progress).write(sql)?;
                        Ok((job, progress))
                    })
                    .await?;
                self.arm_at(job.wake_ms).await?;
                return discovery_accepted(&job, &progress);
            }
            discover::Read::Outage { why, .. } | discover::Read::Refused { why } => {
                return Err(ApiError::new(
                    502,
                    "channel_unavailable",
                    format!("reading the catalogue: {why}"),
                ))
            }
        };
        let limits = self.limits;
        let ch = channel.clone();
        let (progress, job, pushes) = self
            .transact(move |hub, sql| {
                let mut progress = discover::Progress::new(&ch);
                let pushes = discover::apply_page(
                    hub,
                    sql,
                    &ch,
                    &listings,
                    skipped,
                    &mut progress,
                    &limits,
                    now,
                )?;
                let job = match next {
                    None => {
                        progress.complete = true;
                        None
                    }
                    // A discovery started while this page was read: it reads the rest (this
                    // page, applied again, changed nothing it had not).
                    Some(_) if store::discovery_running(sql, ch.as_str())?.is_some() => {
                        store::discovery_running(sql, ch.as_str())?
                    }
                    Some(after) => {
                        let id = store::next_job_id(sql)?;
                        let mut job = discover::new_job(id, &ch, Some(after), now, 0);
                        job.done = progress.listings as i64;
                        job.total = job.done;
                        discover::job_batch(job.clone(), &progress).write(sql)?;
                        Some(job)
                    }
                };
                Ok((progress, job, pushes))
            })
            .await?;
        self.after_load(now, pushes || job.is_some()).await?;
        match job {
            Some(job) => discovery_accepted(&job, &progress),
            None => http::ok(&progress),
        }
    }

    /// One step of a discovery job: its next page read (no transaction open during the
    /// fetch), then applied with the job's cursor and counters in one transaction. A rate
    /// limit moves its `wake_ms`; an outage is retried under the retry policy; a refusal fails
    /// it with the channel's reason.
    async fn discover_step(&self, mut job: store::JobRow) -> std::result::Result<(), ApiError> {
        let sql = self.sql();
        let mut progress = self.discovery_state(&job.id)?.unwrap_or_default();
        let channel = ChannelId::new(job.channels.first().cloned().unwrap_or_default());
        let target = match &channel {
            Ok(c) => self.with_hub(|hub| hub.channel(c).map(|c| c.target.clone()))?,
            Err(_) => None,
        };
        let (Ok(channel), Some(target)) = (channel, target) else {
            job.fail("the channel was deleted");
            return self.commit_discovery(job, progress, None).await;
        };
        let allow = crate::adapters::allow_private(&self.env);
        let read =
            discover::read_page(&target, allow, &sql, channel.as_str(), job.after.as_deref()).await;
        let now = delivery::now_ms();
        let (listings, skipped, next) = match read {
            Ok(discover::Read::Page {
                listings,
                skipped,
                next,
            }) => (listings, skipped, next),
            Ok(discover::Read::Wait { ms }) => {
                job.wake_ms = now + ms as i64;
                return self.commit_discovery(job, progress, None).await;
            }
            Ok(discover::Read::Outage {
                why,
                retry_after_ms,
            }) => {
                let policy = delivery::policy(&self.env);
                progress.retries += 1;
                if policy.should_retry(progress.retries) {
                    let backoff = policy.delay_ms(progress.retries, delivery::jitter());
                    job.wake_ms = now + backoff.max(retry_after_ms.unwrap_or(0)) as i64;
                    job.error = Some(format!("retrying: {why}"));
                } else {
                    job.fail(format!("reading the catalogue: {why}"));
                }
                return self.commit_discovery(job, progress, None).await;
            }
            Ok(discover::Read::Refused { why }) => {
                job.fail(format!("reading the catalogue: {why}"));
                return self.commit_discovery(job, progress, None).await;
            }
            Err(e) => {
                job.fail(e.message);
                return self.commit_discovery(job, progress, None).await;
            }
        };
        progress.retries = 0;
        job.error = None;
        job.wake_ms = 0;
        job.after = next;
        if job.after.is_none() {
            job.state = "done".into();
            progress.complete = true;
        }
        self.commit_discovery(job, progress, Some((channel, listings, skipped)))
            .await
    }

    /// Stores a discovery step — its page applied, if it read one — in one transaction,
    /// unless the job stopped running while the page was read (an import replaced the hub).
    async fn commit_discovery(
        &self,
        mut job: store::JobRow,
        mut progress: discover::Progress,
        page: Option<(
            ChannelId,
            Vec<stocksync_channels::listing::DiscoveredListing>,
            usize,
        )>,
    ) -> std::result::Result<(), ApiError> {
        let now = delivery::now_ms();
        let limits = self.limits;
        let pushes = self
            .transact(move |hub, sql| {
                let running = store::job_get(sql, &job.id)?.is_some_and(|j| j.state == "running");
                if !running {
                    return Ok(false);
                }
                let mut pushes = false;
                if let Some((channel, listings, skipped)) = page {
                    pushes = discover::apply_page(
                        hub,
                        sql,
                        &channel,
                        &listings,
                        skipped,
                        &mut progress,
                        &limits,
                        now,
                    )?;
                    job.done = progress.listings as i64;
                    job.total = job.done;
                }
                discover::job_batch(job, &progress).write(sql)?;
                Ok(pushes)
            })
            .await?;
        if pushes {
            self.after_load(now, true).await?;
        }
        Ok(())
    }

    /// `POST /v1/preview`: the events' rows are prefetched into the working set (a
    /// channel-wide event: the channel's listings, up to the inline limit), then the core
    /// previews on a copy of the working set only, so the cost follows the events.
    fn preview(
        &self,
        request: PreviewRequest,
    ) -> std::result::Result<stocksync_core::Preview, ApiError> {
        let sql = self.sql();
        let limits = self.limits;
        self.with_working_set(|hub, st| {
            for e in &request.events {
                hub.prefetch(e, st)?;
                let channels: Vec<ChannelId> = match e {
                    Event::ChannelPut { id, .. } => vec![id.clone()],
                    Event::Resync { channel: Some(c) } => vec![c.clone()],
                    Event::Resync { channel: None } => {
                        hub.channels().map(|(c, _)| c.clone()).collect()
                    }
                    _ => Vec::new(),
                };
                for c in channels {
                    jobs::prefetch_channel(hub, st, &sql, &c, limits.inline_max)?;
                }
            }
            Ok(hub.preview(request.events)?)
        })
    }

    /// `GET /v1/export`: the NDJSON stream for any size (`Accept: application/x-ndjson` or
    /// `?format=ndjson`), or the single JSON snapshot for a small hub.
    fn export(&self, url: &Url, accept: Option<String>) -> Reply {
        let secrets = url
            .query_pairs()
            .any(|(k, v)| k == "include_secrets" && v == "true");
        let ndjson = url
            .query_pairs()
            .any(|(k, v)| k == "format" && v == "ndjson")
            || accept.is_some_and(|a| a.contains("application/x-ndjson"));
        if ndjson {
            return Ok(crate::backup::ndjson_export(self.sql(), secrets)?);
        }
        let snapshot = crate::backup::snapshot(&self.sql())?;
        http::ok(&if secrets {
            snapshot
        } else {
            snapshot.redacted()
        })
    }

    /// `POST /v1/import` of a JSON snapshot (a small hub): replaces the hub. The snapshot is
    /// checked whole by the core, then written as rows in one transaction.
    async fn import(&self, snapshot: Snapshot) -> Reply {
        let now = delivery::now_ms();
        let (outcome, batch) = {
            let guard = self.hub.borrow();
            let hub = guard
                .as_ref()
                .ok_or_else(|| ApiError::internal("hub not loaded"))?;
            // The current channels are in memory: a redacted snapshot keeps their secrets.
            let mut whole = hub.clone();
            let outcome = whole.import(snapshot)?;
            let settled = delivery::settle_outbox(&mut whole, now);
            let batch = Batch {
                wipe: true,
                rows: whole.all_rows(),
                kv: mirror::import_marks(&whole),
                due: settled.due,
                demo: settled.demo,
                ..Batch::default()
            };
            (outcome, batch)
        };
        let deliver = !batch.due.is_empty();
        self.commit(batch).await?;
        // Reopen: the whole snapshot was only needed to check and plan it.
        self.hub.replace(None);
        self.ensure_loaded().await?;
        if deliver {
            self.arm_at(now).await?;
        }
        self.flush_kv(KvBudget::request(None, &self.limits.kv))
            .await;
        http::ok(&outcome)
    }

    /// Runs `f` inside one storage transaction with the working set: what it writes with
    /// `sql.exec` commits together, and an `Err` rolls all of it back. The working set is
    /// reopened afterwards either way (it is only a cache).
    async fn transact<T: 'static>(
        &self,
        f: impl FnOnce(&mut Hub, &SqlStorage) -> std::result::Result<T, ApiError> + 'static,
    ) -> std::result::Result<T, ApiError> {
        let hub = self
            .hub
            .borrow_mut()
            .take()
            .ok_or_else(|| ApiError::internal("hub not loaded"))?;
        type Slot<T> = Rc<RefCell<(Option<Hub>, Option<std::result::Result<T, ApiError>>)>>;
        let slot: Slot<T> = Rc::new(RefCell::new((Some(hub), None)));
        let inner = slot.clone();
        let storage = self.state.storage();
        let sql = storage.sql();
        let committed = storage
            .transaction(move |_txn| async move {
                let mut g = inner.borrow_mut();
                let Some(mut hub) = g.0.take() else {
                    return Err(worker::Error::RustError("no working set".into()));
                };
                let result = f(&mut hub, &sql);
                let failed = result.is_err();
                g.1 = Some(result);
                if failed {
                    Err(worker::Error::RustError("rolled back".into()))
                } else {
                    Ok(())
                }
            })
            .await;
        let result = slot.borrow_mut().1.take();
        self.hub.replace(None);
        self.ensure_loaded().await?;
        match (committed, result) {
            (_, Some(Err(e))) => Err(e),
            (Ok(()), Some(Ok(v))) => Ok(v),
            (Err(e), _) => Err(ApiError::internal(format!(
                "storing the load failed, nothing was applied: {e}"
            ))),
            (Ok(()), None) => Err(ApiError::internal("the load did not run")),
        }
    }

    /// `PUT /v1/mappings` (JSON or CSV, up to 100,000 rows): all or nothing, a summary.
    async fn bulk_mappings(&self, body: http::Body) -> Reply {
        let now = delivery::now_ms();
        let limits = self.limits;
        let summary = self
            .transact(move |hub, sql| {
                load::mappings(
                    hub,
                    sql,
                    |each| routes::each_mapping(&body, each),
                    limits.chunk,
                    limits.max_rows,
                    now,
                )
            })
            .await?;
        self.after_load(now, summary.pushes > 0).await?;
        http::ok(&summary)
    }

    /// `PUT /v1/items` (CSV `sku,location,on_hand` or JSON, up to 100,000 rows): all or
    /// nothing, a summary.
    async fn bulk_items(&self, bulk: crate::bulk::BulkItems) -> Reply {
        let now = delivery::now_ms();
        let limits = self.limits;
        let summary = self
            .transact(move |hub, sql| {
                load::items(hub, sql, bulk, limits.chunk, limits.max_rows, now)
            })
            .await?;
        self.after_load(now, summary.pushes > 0).await?;
        http::ok(&summary)
    }

    /// `POST /v1/import` of an NDJSON backup chunk; `?first=true` replaces the hub first.
    async fn import_ndjson(&self, body: Body, url: &Url) -> Reply {
        let first = url.query_pairs().any(|(k, v)| k == "first" && v == "true");
        let now = delivery::now_ms();
        let limits = self.limits;
        let check = load::ChannelCheck {
            allow_private: crate::adapters::allow_private(&self.env),
            replaced: if first {
                self.with_hub(|hub| {
                    hub.channels()
                        .map(|(id, c)| (id.clone(), c.target.clone()))
                        .collect()
                })?
            } else {
                Default::default()
            },
        };
        let summary = self
            .transact(move |hub, sql| {
                if first {
                    Batch {
                        wipe: true,
                        kv: vec![mirror::CHANNELS.to_string()],
                        ..Batch::default()
                    }
                    .write(sql)?;
                    *hub = store::open_hub(sql).map_err(ApiError::internal)?;
                }
                load::backup(
                    hub,
                    sql,
                    &body.bytes,
                    limits.chunk,
                    limits.max_rows,
                    now,
                    &check,
                )
            })
            .await?;
        self.after_load(now, summary.pushes > 0).await?;
        http::ok(&summary)
    }

    /// After a bulk load: deliveries start now; its KV marks (up to a bucket per listing
    /// touched) are left to the alarm's slices rather than written before the answer.
    async fn after_load(&self, now: i64, deliver: bool) -> std::result::Result<(), ApiError> {
        self.arm_at(if deliver {
            now
        } else {
            now + self.limits.kv.gap_ms
        })
        .await?;
        Ok(())
    }

    /// Commits a batch; if it fails, forgets the working set so the next request reopens
    /// what was really stored.
    pub async fn commit(&self, batch: Batch) -> std::result::Result<(), ApiError> {
        if let Err(e) = store::commit(&self.state.storage(), batch).await {
            self.hub.replace(None);
            return Err(ApiError::internal(format!(
                "storing the change failed, nothing was applied: {e}"
            )));
        }
        Ok(())
    }

    /// Order triggers signed with the ordering channel's secret (SPEC §5).
    fn check_signature(&self, header: &str, body: &[u8]) -> std::result::Result<(), ApiError> {
        let channel = serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| {
                v.get("channel")
                    .and_then(|c| c.as_str())
                    .map(str::to_string)
            })
            .and_then(|c| ChannelId::new(c).ok());
        let secret = channel.and_then(|c| {
            self.with_hub(|hub| {
                hub.channel(&c)
                    .and_then(|ch| ch.target.secret().map(str::to_string))
            })
            .ok()
            .flatten()
        });
        let Some(secret) = secret else {
            return Err(ApiError::bad_signature(
                "the signature does not verify: the body names no channel with a signing secret",
            ));
        };
        let now_s = delivery::now_ms() / 1000;
        match signature::verify(&secret, header, body, now_s) {
            Ok(()) => Ok(()),
            Err(signature::Refused::Bad) => Err(ApiError::bad_signature(
                "X-Stocksync-Signature does not verify against the body with the channel's secret",
            )),
            Err(signature::Refused::Expired) => Err(ApiError::signature_expired(format!(
                "the signature's timestamp is more than {} s from now",
                signature::TOLERANCE_S
            ))),
        }
    }

    /// The demo marketplace's copy of a listing; with `edit`, changed directly on the channel
    /// first (the hub is not told: SPEC §2.6).
    async fn demo(&self, channel: ChannelId, listing: ListingId, edit: Option<DemoEdit>) -> Reply {
        let target = self.with_hub(|hub| hub.channel(&channel).map(|c| c.target.clone()))?;
        match target {
            None => {
                return Err(ApiError::core(
                    ErrorCode::UnknownChannel,
                    format!("no channel {channel:?}"),
                ))
            }
            Some(Target::Demo) => {}
            Some(_) => {
                return Err(ApiError::core(
                    ErrorCode::InvalidRequest,
                    format!("channel {channel:?} does not push to the demo marketplace"),
                ))
            }
        }
        if let Some(edit) = edit {
            if edit.quantity.get() < 0 {
                return Err(ApiError::core(
                    ErrorCode::InvalidQuantity,
                    "a listing cannot show a negative quantity",
                ));
            }
            let batch = Batch {
                demo: vec![DemoWrite::Edited {
                    channel: channel.to_string(),
                    listing: listing.to_string(),
                    quantity: edit.quantity.get(),
                }],
                ..Batch::default()
            };
            store::commit(&self.state.storage(), batch).await?;
        }
        let row = store::demo_get(&self.sql(), channel.as_str(), listing.as_str())?;
        let Some(row) = row else {
            return Err(ApiError::not_found(format!(
                "demo listing {channel}/{listing} has never received a quantity nor been edited"
            )));
        };
        http::ok(&DemoView {
            channel: channel.to_string(),
            listing: listing.to_string(),
            quantity: row.quantity,
            last_received: row
                .recv_quantity
                .zip(row.recv_seq)
                .map(|(quantity, seq)| Received { quantity, seq }),
            edited: row.edited != 0,
        })
    }

    // ----- alarm: delivery and the KV mirror ------------------------------------------------

    /// Sets the alarm for `at_ms` unless one is already set sooner.
    async fn arm_at(&self, at_ms: i64) -> Result<()> {
        if self.alarm_ms.get().is_some_and(|current| current <= at_ms) {
            return Ok(());
        }
        let storage = self.state.storage();
        if let Some(current) = storage.get_alarm().await? {
            if current <= at_ms {
                self.alarm_ms.set(Some(current));
                return Ok(());
            }
        }
        let when = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(at_ms as f64));
        storage.set_alarm(ScheduledTime::new(when)).await?;
        self.alarm_ms.set(Some(at_ms));
        Ok(())
    }

    /// Sets the alarm for the next thing waiting (a delivery or a KV write), if any.
    async fn rearm(&self) -> Result<()> {
        let now = delivery::now_ms();
        let kv_at = self.kv_next_ms.get().max(now + 1).min(now + KV_RETRY_MS);
        if let Some(next) = store::next_wakeup(&self.sql(), now, kv_at - now)? {
            self.arm_at(next.max(now)).await?;
        }
        Ok(())
    }

    async fn run_alarm(&self) -> std::result::Result<(), ApiError> {
        self.ensure_loaded().await?;
        self.run_jobs().await?;
        let policy = delivery::policy(&self.env);
        let sql = self.sql();
        for _ in 0..MAX_ROUNDS {
            let now = delivery::now_ms();
            let due = store::due(&sql, now, self.limits.delivery as i64)?;
            if due.is_empty() {
                break;
            }
            // The round's synchronous work (reading its pushes before the calls, recording the
            // answers after) goes in slices with a yield after each, so an order waits behind
            // one slice at most, while the round's calls still go out together.
            let mut attempts = Vec::new();
            let mut undue = Vec::new();
            for part in due.chunks(ROUND_SLICE) {
                self.with_working_set(|hub, _| {
                    let keys: Vec<(&String, Option<ListingKey>)> =
                        part.iter().map(|k| (k, parse_listing_key(k))).collect();
                    let wanted: Vec<ListingKey> =
                        keys.iter().filter_map(|(_, k)| k.clone()).collect();
                    hub.prefetch_keys(&wanted, &mut WarmStore::new(&sql))?;
                    for (row_key, key) in keys {
                        match key.and_then(|key| hub.pending(&key).map(|p| (key, p))) {
                            Some((key, (pending, failed))) => attempts.push(Attempt::new(
                                hub,
                                key,
                                row_key.clone(),
                                pending,
                                failed,
                            )),
                            None => undue.push(row_key.clone()),
                        }
                    }
                    Ok(())
                })?;
                yield_now().await;
            }
            // Other requests run while the pushes are out: the working set may be evicted, so
            // each result is prefetched again before the core records it.
            let results = delivery::deliver(&attempts, &self.env, &sql).await;
            let mut batch = Batch {
                undue,
                ..Batch::default()
            };
            for (part, results) in attempts
                .chunks(ROUND_SLICE)
                .zip(results.chunks(ROUND_SLICE))
            {
                let now = delivery::now_ms();
                self.with_working_set(|hub, st| {
                    let keys: Vec<ListingKey> = part.iter().map(|a| a.key.clone()).collect();
                    hub.prefetch_keys(&keys, &mut WarmStore::new(&sql))?;
                    let mut dirty = Dirty::default();
                    for (a, result) in part.iter().zip(results) {
                        if let Some(event) = a.result_event(result) {
                            hub.prefetch(&event, st)?;
                            match hub.apply(event) {
                                Ok(out) => dirty.merge(out.dirty),
                                Err(e) => {
                                    worker::console_error!("recording delivery of {}: {e}", a.key)
                                }
                            }
                        }
                        if matches!(result, delivery::Delivery::Done) && a.is_demo() {
                            batch.demo.push(DemoWrite::Received {
                                channel: a.key.channel.to_string(),
                                listing: a.key.listing.to_string(),
                                quantity: a.quantity.get(),
                                seq: a.seq as i64,
                            });
                        }
                        match delivery::next(hub, &a.key, a.seq, &policy, now, result) {
                            Next::Done | Next::GiveUp => batch.undue.push(a.row_key.clone()),
                            Next::At(t) => batch.due.push((a.row_key.clone(), t)),
                        }
                    }
                    batch.rows = hub.rows(&dirty);
                    Ok(())
                })
                .inspect_err(|_| {
                    // Recorded results were not stored: drop them with the working set.
                    self.hub.replace(None);
                })?;
                // Each slice's results are their own transaction: a listing's result stands
                // alone, and one not stored is delivered again (same idempotency key).
                self.commit(std::mem::take(&mut batch)).await?;
                self.evict();
                yield_now().await;
            }
            if !batch.is_empty() {
                self.commit(batch).await?;
            }
        }
        // The mirror last: pushes are waited for, KV is eventually consistent anyway.
        let now = delivery::now_ms();
        if now >= self.kv_next_ms.get() {
            let kv = self.limits.kv;
            self.flush_kv(KvBudget {
                ops: kv.ops,
                rows: kv.rows,
                deadline: Some(now + kv.ms),
                own: None,
                slice: true,
            })
            .await;
        }
        self.rearm().await?;
        Ok(())
    }

    /// Advances the running background jobs by a bounded number of steps, each its own
    /// transaction, so orders interleave between them.
    async fn run_jobs(&self) -> std::result::Result<(), ApiError> {
        let sql = self.sql();
        for _ in 0..self.limits.job_steps {
            let now = delivery::now_ms();
            let Some(mut job) = store::job_running(&sql, now)? else {
                return Ok(());
            };
            if job.kind == "discover" {
                self.discover_step(job).await?;
                yield_now().await;
                continue;
            }
            let batch = if job.kind == "preview" {
                self.preview_job_step(job)?
            } else {
                let mut guard = self.hub.borrow_mut();
                let hub = guard
                    .as_mut()
                    .ok_or_else(|| ApiError::internal("hub not loaded"))?;
                match jobs::step(hub, &sql, &mut job, &self.limits) {
                    Ok(mut out) => Batch {
                        jobs: vec![job],
                        ..delivery::planned(hub, &mut out, now)
                    },
                    Err(e) => {
                        // What the step changed in memory is not stored: forget it.
                        *guard = None;
                        job.fail(e.message);
                        Batch {
                            jobs: vec![job],
                            ..Batch::default()
                        }
                    }
                }
            };
            self.commit(batch).await?;
            self.ensure_loaded().await?;
            self.evict();
            yield_now().await;
        }
        Ok(())
    }

    /// One step of a `preview` job: a page counted into its stored state. It writes only the
    /// job row and that state (never listings or the schedule); a failure fails the job.
    fn preview_job_step(&self, mut job: store::JobRow) -> std::result::Result<Batch, ApiError> {
        let key = jobs::preview_key(&job.id);
        let step = match self.preview_state(&job.id)? {
            None => Err(ApiError::internal("the preview job's state is missing")),
            Some(mut state) => {
                let sql = self.sql();
                let limits = self.limits;
                self.with_working_set(|hub, st| {
                    jobs::preview_step(hub, st, &sql, &mut job, &mut state, &limits)
                })
                .map(|()| state)
            }
        };
        Ok(match step {
            Ok(state) => Batch {
                meta: vec![(key, wire::to_json(&state))],
                jobs: vec![job],
                ..Batch::default()
            },
            Err(e) => {
                job.fail(e.message);
                Batch {
                    jobs: vec![job],
                    ..Batch::default()
                }
            }
        })
    }

    /// Writes dirty KV mirror keys within `budget`; one writer at a time, so KV sees values in
    /// the order the hub had them. What is left, or failed, stays marked and the alarm writes
    /// it: after a slice of the alarm's, no sooner than the slice gap from now.
    async fn flush_kv(&self, budget: KvBudget) {
        for _ in 0..400 {
            if !self.kv_flushing.get() {
                break;
            }
            Delay::from(Duration::from_millis(5)).await;
        }
        if self.kv_flushing.replace(true) {
            return; // another flush is still running and will pick our marks up
        }
        let result = self.flush_kv_marks(&budget).await;
        self.kv_flushing.set(false);
        let now = delivery::now_ms();
        let retry_at = match result {
            Ok(Flushed { done: true, .. }) => return,
            // More than the slice: the next one after the gap.
            Ok(_) if budget.slice => now + self.limits.kv.gap_ms,
            // A change's own keys, more than it writes before answering: the alarm continues.
            Ok(_) => self.kv_next_ms.get().max(now + 1),
            Err(e) => {
                worker::console_error!("KV mirror: {e}; retrying from the alarm");
                now + KV_RETRY_MS
            }
        };
        if budget.slice || retry_at > self.kv_next_ms.get() {
            self.kv_next_ms.set(retry_at);
        }
        // A slice runs inside the alarm, which sets the next one from `kv_next_ms` as it ends.
        if !budget.slice {
            if let Err(e) = self.arm_at(retry_at).await {
                worker::console_error!("KV mirror: could not set the alarm: {e}");
            }
        }
    }

    /// Writes marks (of `budget.own`, if given) a group of [`KvSlice::parallel`] at a time
    /// until none is left or the budget is spent; each bucket is built (read from SQLite)
    /// just before its group is written, with a turn of the event loop between builds.
    async fn flush_kv_marks(&self, budget: &KvBudget) -> std::result::Result<Flushed, String> {
        let mut out = Flushed::default();
        let Some(tenant) = self.tenant().map_err(|e| e.to_string())? else {
            out.done = true;
            return Ok(out); // never served a request: nothing was ever marked
        };
        let kv = self.env.kv(CONFIG_BINDING).map_err(|e| e.to_string())?;
        let sql = self.sql();
        let parallel = self.limits.kv.parallel.max(1);
        loop {
            let marks = store::kv_dirty(&sql, budget.own.as_deref(), budget.ops.clamp(1, 256))
                .map_err(|e| e.to_string())?;
            if marks.is_empty() {
                out.done = true;
                return Ok(out);
            }
            let mut next = marks.iter();
            loop {
                // The clock is current here: the last thing awaited was I/O (or nothing yet).
                if out.ops >= budget.ops
                    || out.rows >= budget.rows
                    || budget.deadline.is_some_and(|d| delivery::now_ms() >= d)
                {
                    return Ok(out);
                }
                let mut group = Vec::with_capacity(parallel);
                while group.len() < parallel && out.rows < budget.rows {
                    let Some(mark) = next.next() else { break };
                    if !group.is_empty() {
                        // Building a bucket reads up to ~1,000 mappings: let waiting
                        // requests in between.
                        yield_now().await;
                    }
                    let built = self
                        .with_hub(|hub| mirror::op(hub, &sql, &tenant, &mark.key))
                        .map_err(|e| e.message)??;
                    out.rows += built.as_ref().map_or(0, |b| b.mappings);
                    group.push((mark, built.map(|b| b.op)));
                }
                if group.is_empty() {
                    break; // this list is written: read the marks again
                }
                out.ops += group.iter().filter(|(_, op)| op.is_some()).count();
                let results = futures_util::future::join_all(group.iter_mut().map(|(_, op)| {
                    let op = op.take();
                    let kv = &kv;
                    async move {
                        match op {
                            Some(op) => mirror::run(kv, op).await,
                            None => Ok(()),
                        }
                    }
                }))
                .await;
                let mut failed = None;
                let mut done = Vec::with_capacity(group.len());
                for ((mark, _), result) in group.iter().zip(results) {
                    match result {
                        Ok(()) => done.push(*mark),
                        Err(e) => failed = Some(e),
                    }
                }
                store::kv_done(&sql, done).map_err(|e| e.to_string())?;
                if let Some(e) = failed {
                    return Err(e);
                }
            }
        }
    }
}

/// What a flush of the KV mirror may do: KV writes, mappings read (bucket builds) and, for
/// the alarm's slices, a wall-clock deadline; `own`: only these marks (a change's own keys).
#[derive(Clone, Debug, Default)]
struct KvBudget {
    ops: usize,
    rows: usize,
    deadline: Option<i64>,
    own: Option<Vec<String>>,
    /// An alarm slice: what is left waits for the next slice, after the gap.
    slice: bool,
}

impl KvBudget {
    /// Before a change answers: its own keys (or every mark, after an import), at most
    /// [`KV_OPS_PER_REQUEST`] writes and a slice's mappings.
    fn request(own: Option<Vec<String>>, kv: &KvSlice) -> KvBudget {
        KvBudget {
            ops: KV_OPS_PER_REQUEST,
            rows: kv.rows,
            deadline: None,
            own,
            slice: false,
        }
    }
}

/// What a flush did: KV writes, mappings read, and whether no mark (of its own) is left.
#[derive(Debug, Default)]
struct Flushed {
    ops: usize,
    rows: usize,
    done: bool,
}

/// Gives the event loop a turn (a zero-length timer), so requests that arrived while the
/// alarm worked are served before its next step. Without it a run of steps whose storage calls
/// complete at once holds the object for the whole run.
async fn yield_now() {
    Delay::from(Duration::from_millis(0)).await;
}

/// The `(channel, listing, units)` an order placed on a Shopify or WooCommerce channel names:
/// what it pays of the stale rule's holds once stored (`adapters::heard_line`).
fn heard_lines(hub: &Hub, event: &Event) -> Vec<(String, String, i64)> {
    let Event::OrderPlaced { order } = event else {
        return Vec::new();
    };
    if hub
        .channel(&order.channel)
        .is_none_or(|c| c.target.adapter().is_none())
    {
        return Vec::new();
    }
    order
        .lines
        .iter()
        .filter_map(|l| {
            let listing = l.listing.as_ref()?;
            Some((order.channel.to_string(), listing.to_string(), l.qty.get()))
        })
        .collect()
}

/// `202` for a discovery that goes on in the background: its job and what it has read so far.
fn discovery_accepted(job: &store::JobRow, progress: &discover::Progress) -> Reply {
    Ok(http::json(
        202,
        &serde_json::json!({
            "job": job.id,
            "channel": progress.channel,
            "state": job.state,
            "progress": progress,
        }),
    )?)
}

/// Which KV keys an event can change.
enum Mirrored {
    Nothing,
    Channels,
    Listings,
}

fn mirrored(event: &Event) -> Mirrored {
    match event {
        Event::ChannelPut { .. } => Mirrored::Channels,
        Event::MappingsPut { .. } | Event::MappingDeleted { .. } => Mirrored::Listings,
        _ => Mirrored::Nothing,
    }
}

/// The most mappings `PUT /v1/mappings?detail=true` answers push by push.
const DETAIL_MAX: usize = 1_000;

fn detail(url: &Url) -> bool {
    flag(url, "detail")
}

/// Whether the query has `name=true`.
fn flag(url: &Url, name: &str) -> bool {
    url.query_pairs().any(|(k, v)| k == name && v == "true")
}

fn parse_listing_key(row_key: &str) -> Option<ListingKey> {
    let (channel, listing) = serde_json::from_str::<(String, String)>(row_key).ok()?;
    Some(ListingKey::new(
        ChannelId::new(channel).ok()?,
        ListingId::new(listing).ok()?,
    ))
}

impl DurableObject for Ledger {
    fn new(state: State, env: Env) -> Self {
        if let Err(e) = state.storage().sql().exec(store::SCHEMA, None) {
            worker::console_error!("Ledger schema: {e}");
        }
        if let Err(e) = state.storage().sql().exec(crate::adapters::SCHEMA, None) {
            worker::console_error!("channel_facts schema: {e}");
        }
        if let Err(e) = store::migrate(&state.storage().sql()) {
            worker::console_error!("Ledger schema migration: {e}");
        }
        let limits = Limits::from_env(&env);
        Self {
            state,
            env,
            hub: RefCell::new(None),
            tenant: RefCell::new(None),
            kv_flushing: Cell::new(false),
            kv_next_ms: Cell::new(0),
            alarm_ms: Cell::new(None),
            limits,
        }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        match self.serve(req).await {
            Ok(resp) => Ok(resp),
            Err(e) => e.response(),
        }
    }

    async fn alarm(&self) -> Result<Response> {
        // The alarm that was set is this one: from here on, ask storage before skipping.
        self.alarm_ms.set(None);
        // Errors are caught here and retried by our own alarm, so workerd's alarm retries
        // (which give up after six) never decide when deliveries stop.
        if let Err(e) = self.run_alarm().await {
            worker::console_error!("alarm: {}", e.message);
            let retry = Date::now().as_millis() as i64 + 1_000;
            let when = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(retry as f64));
            self.state
                .storage()
                .set_alarm(ScheduledTime::new(when))
                .await?;
            self.alarm_ms.set(Some(retry));
        }
        Response::ok("ok")
    }
}
