//! The `Ledger` Durable Object: one per tenant, the single writer of that tenant's state.
//!
//! It keeps the [`Hub`] in memory (loaded from SQLite on first use, never borrowed across an
//! `.await`). A mutating request is: parse → [`Event`] → [`Hub::apply`] → [`Hub::rows`] of what
//! changed, plus the delivery schedule and KV-mirror marks, written in one transaction (no
//! outbound I/O in between) → answer the [`stocksync_core::Outcome`]. If that write fails the
//! in-memory hub is dropped (it is reloaded from what was stored) and the request answers 500.
//! Pushes are delivered afterwards by the alarm ([`crate::delivery`]).

use std::cell::{Cell, RefCell};
use std::time::Duration;

use serde::Serialize;
use stocksync_core::{
    listing_row_key, ChannelId, DemoEdit, Dirty, ErrorCode, Event, Hub, ListingId, ListingKey,
    ListingStatus, PreviewRequest, Snapshot, Target,
};
use worker::{
    durable_object, js_sys, wasm_bindgen, Date, Delay, DurableObject, Env, Request, Response,
    Result, ScheduledTime, SqlStorage, State,
};

use crate::delivery::{self, Attempt, Next};
use crate::http::{self, ApiError, Body, Reply};
use crate::mirror;
use crate::routes::{self, Route};
use crate::signature;
use crate::store::{self, Batch, DemoWrite};
use crate::{AUTH_HEADER, CONFIG_BINDING, SIGNATURE_HEADER, TENANT_HEADER};

/// After a failed KV mirror write, try again this much later.
const KV_RETRY_MS: i64 = 5_000;
/// KV writes a request makes before it answers; the alarm writes the rest. KV allows about
/// 1000 operations per invocation.
const KV_OPS_PER_REQUEST: usize = 100;
const KV_OPS_PER_ALARM: usize = 800;
/// Batches one alarm run delivers before it hands over to the next alarm.
const MAX_ROUNDS: usize = 20;

#[durable_object]
#[derive(Debug)]
pub struct Ledger {
    state: State,
    env: Env,
    hub: RefCell<Option<Hub>>,
    tenant: RefCell<Option<String>>,
    kv_flushing: Cell<bool>,
}

/// A change to apply: an event, or a whole snapshot.
enum Change {
    Event(Event),
    Import(Snapshot),
}

/// `GET /v1/sync`.
#[derive(Serialize)]
struct SyncBody {
    listings: Vec<ListingStatus>,
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

impl Ledger {
    fn sql(&self) -> SqlStorage {
        self.state.storage().sql()
    }

    async fn serve(&self, mut req: Request) -> Reply {
        let tenant = req
            .headers()
            .get(TENANT_HEADER)?
            .ok_or_else(|| ApiError::internal("request reached the ledger without a tenant"))?;
        self.remember_tenant(&tenant)?;
        let auth = req.headers().get(AUTH_HEADER)?.unwrap_or_default();
        let route = routes::route(&req.method(), &req.path())?;
        let url = req.url()?;
        let body = Body {
            content_type: req.headers().get("Content-Type")?,
            bytes: http::read_body(&mut req).await?,
        };
        self.ensure_loaded().await?;
        match auth.as_str() {
            "bearer" => {}
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

        if let Some(event) = routes::event(&route, &body)? {
            return self.change(Change::Event(event)).await;
        }
        match route {
            Route::ItemGet(sku) => {
                let view = self.with_hub(|hub| hub.item_view(&sku))?;
                match view {
                    Some(v) => http::ok(&v),
                    None => Err(ApiError::not_found(format!("no item {sku:?}"))),
                }
            }
            Route::Sync => {
                let policy = delivery::policy(&self.env);
                http::ok(&SyncBody {
                    listings: self.with_hub(|hub| hub.sync_status(&policy))?,
                })
            }
            Route::Preview => {
                let request: PreviewRequest = body.json()?;
                http::ok(&self.with_hub(|hub| hub.preview(request.events))??)
            }
            Route::Export => {
                let secrets = url
                    .query_pairs()
                    .any(|(k, v)| k == "include_secrets" && v == "true");
                let snapshot = self.with_hub(Hub::snapshot)?;
                http::ok(&if secrets {
                    snapshot
                } else {
                    snapshot.redacted()
                })
            }
            Route::Import => self.change(Change::Import(body.json()?)).await,
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

    /// Loads the hub if it is not in memory, and makes sure an alarm is set when work waits.
    async fn ensure_loaded(&self) -> std::result::Result<(), ApiError> {
        if self.hub.borrow().is_some() {
            return Ok(());
        }
        let hub = store::load_hub(&self.sql()).map_err(ApiError::internal)?;
        self.hub.replace(Some(hub));
        // After a restart (or an eviction) the alarm may be gone while pushes still wait.
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

    /// Applies a change, stores it with its schedule and mirror marks in one transaction, then
    /// arms delivery and writes the KV mirror. Answers the outcome.
    async fn change(&self, change: Change) -> Reply {
        let now = delivery::now_ms();
        let (outcome, batch) = {
            let mut guard = self.hub.borrow_mut();
            let hub = guard
                .as_mut()
                .ok_or_else(|| ApiError::internal("hub not loaded"))?;
            let (outcome, kv) = match change {
                Change::Event(event) => {
                    let mirrored = mirrored(&event);
                    let outcome = hub.apply(event)?;
                    let kv = match mirrored {
                        Mirrored::Nothing => Vec::new(),
                        Mirrored::Channels => vec![mirror::CHANNELS.to_string()],
                        Mirrored::Listings => outcome
                            .dirty
                            .listings
                            .iter()
                            .map(mirror::listing_mark)
                            .collect(),
                    };
                    (outcome, kv)
                }
                Change::Import(snapshot) => {
                    let outcome = hub.import(snapshot)?;
                    (outcome, mirror::import_marks(hub))
                }
            };
            let mut batch = Batch {
                wipe: outcome.dirty.all,
                rows: hub.rows(&outcome.dirty),
                kv,
                ..Batch::default()
            };
            if outcome.dirty.all {
                // An import may bring pushes that were already waiting: schedule every one.
                batch.due = hub
                    .outbox()
                    .iter()
                    .map(|(k, _, _)| (listing_row_key(k), now))
                    .collect();
            } else {
                batch.due = outcome
                    .pushes
                    .iter()
                    .map(|p| {
                        (
                            listing_row_key(&ListingKey::new(p.channel.clone(), p.listing.clone())),
                            now,
                        )
                    })
                    .collect();
            }
            (outcome, batch)
        };
        let deliver = !batch.due.is_empty();
        let mirror = !batch.kv.is_empty();
        self.commit(batch).await?;
        if deliver {
            self.arm_at(now).await?;
        }
        if mirror {
            self.flush_kv(KV_OPS_PER_REQUEST).await;
        }
        http::ok(&outcome)
    }

    /// Commits a batch; if it fails, forgets the in-memory hub so the next request reloads
    /// what was really stored.
    async fn commit(&self, batch: Batch) -> std::result::Result<(), ApiError> {
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
        let storage = self.state.storage();
        if let Some(current) = storage.get_alarm().await? {
            if current <= at_ms {
                return Ok(());
            }
        }
        let when = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(at_ms as f64));
        storage.set_alarm(ScheduledTime::new(when)).await
    }

    /// Sets the alarm for the next thing waiting (a delivery or a KV write), if any.
    async fn rearm(&self) -> Result<()> {
        let now = delivery::now_ms();
        if let Some(next) = store::next_wakeup(&self.sql(), now, KV_RETRY_MS)? {
            self.arm_at(next.max(now)).await?;
        }
        Ok(())
    }

    async fn run_alarm(&self) -> std::result::Result<(), ApiError> {
        self.ensure_loaded().await?;
        self.flush_kv(KV_OPS_PER_ALARM).await;
        let policy = delivery::policy(&self.env);
        for _ in 0..MAX_ROUNDS {
            let now = delivery::now_ms();
            let due = store::due(&self.sql(), now, delivery::BATCH)?;
            if due.is_empty() {
                break;
            }
            let mut batch = Batch::default();
            let mut attempts = Vec::new();
            self.with_hub(|hub| {
                for row_key in due {
                    match parse_listing_key(&row_key) {
                        Some(key) => match hub.pending(&key) {
                            Some((pending, failed)) => {
                                attempts.push(Attempt::new(hub, key, row_key, pending, failed))
                            }
                            None => batch.undue.push(row_key),
                        },
                        None => batch.undue.push(row_key),
                    }
                }
            })?;
            let results = delivery::deliver(&attempts).await;
            let now = delivery::now_ms();
            {
                let mut guard = self.hub.borrow_mut();
                let hub = guard
                    .as_mut()
                    .ok_or_else(|| ApiError::internal("hub not loaded"))?;
                let mut dirty = Dirty::default();
                for (a, result) in attempts.iter().zip(&results) {
                    match hub.apply(a.result_event(result)) {
                        Ok(out) => dirty.merge(out.dirty),
                        Err(e) => worker::console_error!("recording delivery of {}: {e}", a.key),
                    }
                    if result.is_ok() && a.is_demo() {
                        batch.demo.push(DemoWrite::Received {
                            channel: a.key.channel.to_string(),
                            listing: a.key.listing.to_string(),
                            quantity: a.quantity.get(),
                            seq: a.seq as i64,
                        });
                    }
                    match delivery::next(hub, &a.key, a.seq, &policy, now) {
                        Next::Done | Next::GiveUp => batch.undue.push(a.row_key.clone()),
                        Next::At(t) => batch.due.push((a.row_key.clone(), t)),
                    }
                }
                batch.rows = hub.rows(&dirty);
            }
            self.commit(batch).await?;
        }
        self.rearm().await?;
        Ok(())
    }

    /// Writes dirty KV mirror keys, at most `budget` KV operations; one writer at a time, so
    /// KV sees values in the order the hub had them. What is left, or failed, stays marked and
    /// the alarm writes it.
    async fn flush_kv(&self, budget: usize) {
        for _ in 0..400 {
            if !self.kv_flushing.get() {
                break;
            }
            Delay::from(Duration::from_millis(5)).await;
        }
        if self.kv_flushing.replace(true) {
            return; // another flush is still running and will pick our marks up
        }
        let result = self.flush_kv_marks(budget).await;
        self.kv_flushing.set(false);
        let retry_at = match result {
            Ok(true) => return,
            Ok(false) => delivery::now_ms(), // more than the budget: continue in the alarm
            Err(e) => {
                worker::console_error!("KV mirror: {e}; retrying from the alarm");
                delivery::now_ms() + KV_RETRY_MS
            }
        };
        if let Err(e) = self.arm_at(retry_at).await {
            worker::console_error!("KV mirror: could not set the alarm: {e}");
        }
    }

    /// `Ok(true)` when no mark is left.
    async fn flush_kv_marks(&self, budget: usize) -> std::result::Result<bool, String> {
        let Some(tenant) = self.tenant().map_err(|e| e.to_string())? else {
            return Ok(true); // never served a request: nothing was ever marked
        };
        let kv = self.env.kv(CONFIG_BINDING).map_err(|e| e.to_string())?;
        let sql = self.sql();
        let mut spent = 0;
        loop {
            let marks = store::kv_dirty(&sql).map_err(|e| e.to_string())?;
            if marks.is_empty() {
                return Ok(true);
            }
            for mark in marks {
                if spent >= budget {
                    return Ok(false);
                }
                let ops = self
                    .with_hub(|hub| mirror::ops(hub, &tenant, &mark.key))
                    .map_err(|e| e.message)?;
                for op in ops {
                    spent += 1;
                    mirror::run(&kv, op).await?;
                }
                store::kv_done(&sql, &mark).map_err(|e| e.to_string())?;
            }
        }
    }
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
        Self {
            state,
            env,
            hub: RefCell::new(None),
            tenant: RefCell::new(None),
            kv_flushing: Cell::new(false),
        }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        match self.serve(req).await {
            Ok(resp) => Ok(resp),
            Err(e) => e.response(),
        }
    }

    async fn alarm(&self) -> Result<Response> {
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
        }
        Response::ok("ok")
    }
}
