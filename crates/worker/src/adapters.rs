//! The real channels (Shopify, WooCommerce) in the worker: checking targets with
//! `stocksync-channels` before the core sees them, and the outbound-address guard on every
//! target that sends anything out (SPEC §9).

use stocksync_channels::guard;
use stocksync_channels::target::{ShopifyTarget, WooTarget};
use stocksync_core::{AdapterFields, Channel, Target};
use worker::Env;

use crate::http::ApiError;

/// `ALLOW_PRIVATE_TARGETS=1`: loopback, private and link-local targets are allowed (the local
/// demo and the HTTP tests, whose fakes listen on 127.0.0.1). Never in production.
pub fn allow_private(env: &Env) -> bool {
    env.var("ALLOW_PRIVATE_TARGETS")
        .map(|v| v.to_string().trim() == "1")
        .unwrap_or(false)
}

pub fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(400, "invalid_target", message)
}

fn fields_json(f: &AdapterFields) -> serde_json::Value {
    serde_json::Value::Object(
        f.0.iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect(),
    )
}

/// A Shopify target's fields as the channels crate's type.
pub fn shopify(f: &AdapterFields) -> Result<ShopifyTarget, ApiError> {
    serde_json::from_value(fields_json(f)).map_err(|e| invalid(format!("shopify target: {e}")))
}

/// A WooCommerce target's fields as the channels crate's type.
pub fn woo(f: &AdapterFields) -> Result<WooTarget, ApiError> {
    serde_json::from_value(fields_json(f)).map_err(|e| invalid(format!("woocommerce target: {e}")))
}

/// Checks a channel's target as it will be stored (its secrets already kept from the current
/// target): the real channels' fields and secrets must be complete and well formed, and every
/// address the hub would call must pass the outbound guard. `400 invalid_target` otherwise,
/// before anything changes.
pub fn check_channel(
    channel: &Channel,
    current: Option<&Target>,
    env: &Env,
) -> Result<(), ApiError> {
    check_target(channel, current, allow_private(env))
}

/// [`check_channel`] with the deployment's `ALLOW_PRIVATE_TARGETS` already read.
pub fn check_target(
    channel: &Channel,
    current: Option<&Target>,
    allow: bool,
) -> Result<(), ApiError> {
    let mut target = channel.target.clone();
    target.keep_secrets(current);
    match &target {
        Target::Demo => Ok(()),
        // The address is the guard's to refuse; a URL of the wrong shape (not http(s), not a
        // URL) is left to the core, which refuses it as `invalid_request` on every runtime.
        Target::Webhook { url, .. } => match guard::check_outbound(url, allow) {
            Err(e @ (guard::GuardError::PrivateAddress | guard::GuardError::Credentials)) => {
                Err(invalid(format!("url: {}", e.message())))
            }
            _ => Ok(()),
        },
        Target::Shopify(f) => {
            let t = shopify(f)?;
            t.api(allow)
                .map_err(|e| invalid(format!("shopify target: {}", e.message())))?;
            if t.webhook_secret.is_none() {
                return Err(invalid("shopify target: webhook_secret is required (it verifies the store's order webhooks)"));
            }
            Ok(())
        }
        Target::Woocommerce(f) => {
            let t = woo(f)?;
            t.api(allow)
                .map_err(|e| invalid(format!("woocommerce target: {}", e.message())))?;
            if t.webhook_secret.is_none() {
                return Err(invalid("woocommerce target: webhook_secret is required (it verifies the shop's order webhooks)"));
            }
            Ok(())
        }
    }
}

// ----- pushes -------------------------------------------------------------------------------

use std::time::Duration;

use futures_util::future::{select, Either};
use stocksync_channels::http::{retry_after_ms, Method as CMethod, Request as CRequest};
use stocksync_channels::push::{CallFailure, ItemResult};
use stocksync_channels::shopify::{
    self, CostBucket, SetQuantity, ThrottleStatus, MAX_ITEMS_PER_READ,
};
use stocksync_channels::woo::{self as woo_codec, StockUpdate};
use wasm_bindgen::JsValue;
use worker::{
    AbortController, Delay, Fetch, Headers, Method, Request, RequestInit, RequestRedirect,
};

use crate::delivery::{Attempt, Delivery, TIMEOUT_MS};

/// A channel's answer: status, headers, body.
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Sends a request the channels crate built, within [`TIMEOUT_MS`], redirects not followed.
pub async fn send(r: &CRequest) -> Result<Answer, String> {
    let headers = Headers::new();
    for (k, v) in &r.headers {
        headers.set(k, v).map_err(|e| e.to_string())?;
    }
    headers
        .set("User-Agent", "stocksync/0.1")
        .map_err(|e| e.to_string())?;
    let mut init = RequestInit::new();
    let method = match r.method {
        CMethod::Get => Method::Get,
        CMethod::Post => Method::Post,
    };
    init.with_method(method)
        .with_headers(headers)
        .with_redirect(RequestRedirect::Manual);
    if !r.body.is_empty() {
        let body = worker::js_sys::Uint8Array::from(r.body.as_slice());
        init.with_body(Some(JsValue::from(body)));
    }
    let req = Request::new_with_init(&r.url, &init).map_err(|e| format!("bad request: {e}"))?;
    let controller = AbortController::default();
    let signal = controller.signal();
    let fetch = Fetch::Request(req);
    let send = Box::pin(fetch.send_with_signal(&signal));
    let timeout = Box::pin(Delay::from(Duration::from_millis(TIMEOUT_MS)));
    let outcome = select(send, timeout).await;
    match outcome {
        Either::Left((Ok(mut resp), _)) => {
            let status = resp.status_code();
            let headers = resp.headers().entries().collect();
            let body = resp.bytes().await.unwrap_or_default();
            Ok(Answer {
                status,
                headers,
                body,
            })
        }
        Either::Left((Err(e), _)) => Err(format!("fetch failed: {e}")),
        Either::Right(((), _)) => {
            controller.abort();
            Err(format!("no answer within {TIMEOUT_MS} ms"))
        }
    }
}

// ----- Shopify's cost bucket: paced before each call, not learnt from THROTTLED ------------

/// A stale rule's hold, from `STALE_HOLD_MS` (default the core's [`stocksync_core::stale::HOLD_MS`],
/// an hour): how long units a Shopify listing lost without an order the hub has heard of are
/// held back before they are taken for a direct edit and the hub's number goes out.
pub fn hold_ms(env: &Env) -> u64 {
    env.var("STALE_HOLD_MS")
        .ok()
        .and_then(|v| v.to_string().trim().parse::<u64>().ok())
        .filter(|ms| *ms > 0)
        .unwrap_or(stocksync_core::stale::HOLD_MS)
}

#[derive(serde::Deserialize)]
struct CostRow {
    at_ms: i64,
    maximum: f64,
    available: f64,
    restore: f64,
}

/// The channel's cost bucket as its last answer showed it (empty when never seen: the first
/// call goes out and its answer tells).
pub fn bucket(sql: &SqlStorage, channel: &str) -> CostBucket {
    let rows: Vec<CostRow> = sql
        .exec(
            "SELECT at_ms, maximum, available, restore FROM channel_costs WHERE channel = ?",
            vec![channel.into()],
        )
        .and_then(|c| c.to_array())
        .unwrap_or_default();
    let mut b = CostBucket::default();
    if let Some(r) = rows.into_iter().next() {
        b.observe(
            r.at_ms.max(0) as u64,
            ThrottleStatus {
                maximum_available: r.maximum,
                currently_available: r.available,
                restore_rate: r.restore,
            },
        );
    }
    b
}

/// Records the bucket figures of a Shopify answer (every answer has them, a throttled one
/// too), stamped with the time the answer arrived: an estimate that can only be low, since
/// the bucket kept filling while the answer travelled.
fn observe_cost(sql: &SqlStorage, channel: &str, body: &[u8]) {
    let Some(cost) = shopify::cost_of(body) else {
        return;
    };
    let s = cost.throttle_status;
    let r = sql.exec(
        "INSERT INTO channel_costs (channel, at_ms, maximum, available, restore) VALUES (?, ?, ?, ?, ?) \
         ON CONFLICT (channel) DO UPDATE SET at_ms = excluded.at_ms, maximum = excluded.maximum, \
         available = excluded.available, restore = excluded.restore",
        vec![
            channel.into(),
            crate::delivery::now_ms().into(),
            s.maximum_available.into(),
            s.currently_available.into(),
            s.restore_rate.into(),
        ],
    );
    if let Err(e) = r {
        worker::console_error!("channel_costs {channel}: {e}");
    }
}

/// How long to wait before a call of `cost` points to this channel, by the bucket as last
/// seen and restored since at its restore rate: `Some((ms, why))` when the points are not
/// there yet, so the call is not sent (and answered `THROTTLED`) but made when they are.
pub fn paced(sql: &SqlStorage, channel: &str, cost: f64) -> Option<(u64, String)> {
    let now = crate::delivery::now_ms().max(0) as u64;
    let ms = bucket(sql, channel).delay_ms(now, cost);
    (ms > 0).then(|| {
        (
            ms,
            format!(
                "paced: Shopify's cost bucket has not restored the {cost} points of the call yet"
            ),
        )
    })
}

/// Sends a Shopify call and records its answer's bucket figures.
pub async fn send_shopify(sql: &SqlStorage, channel: &str, r: &CRequest) -> Result<Answer, String> {
    let a = send(r).await?;
    observe_cost(sql, channel, &a.body);
    Ok(a)
}

fn later(wait_ms: u64, why: &str) -> Delivery {
    Delivery::Later {
        wait_ms,
        why: why.to_string(),
    }
}

/// A whole-call failure in words.
pub fn why(f: &CallFailure) -> String {
    match f {
        CallFailure::Throttled { wait_ms } => format!("throttled for {wait_ms} ms"),
        CallFailure::Unavailable { status, .. } => {
            format!("the channel is unavailable (HTTP {status})")
        }
        CallFailure::Unauthorized { status, message } => {
            format!("the channel refused the credentials (HTTP {status}): {message}")
        }
        CallFailure::Rejected { status, message } => format!("refused (HTTP {status}): {message}"),
        CallFailure::NewKeyNeeded { code } => format!("a new idempotency key is needed ({code})"),
        CallFailure::InProgress => "the same call is still being processed".into(),
        CallFailure::Malformed(m) => format!("an answer of an unexpected shape: {m}"),
    }
}

/// What a whole-call failure means for each listing it carried.
fn call_failed(f: &CallFailure) -> Delivery {
    let why = why(f);
    if f.counts_as_attempt() {
        Delivery::Failed(why)
    } else {
        // The channel is pacing us: wait as long as it says, no attempt counted.
        Delivery::Later {
            wait_ms: f.wait_ms().unwrap_or(1_000),
            why,
        }
    }
}

/// The listing id as the channel's numeric id (Shopify: the variant; WooCommerce: the product
/// or variation).
fn numeric(a: &Attempt) -> Option<u64> {
    a.key
        .listing
        .as_str()
        .parse::<u64>()
        .ok()
        .filter(|n| *n > 0)
}

/// Delivers one Shopify channel's due listings: their inventory items (kept in
/// `channel_facts`, looked up on the first push), then sets in calls of up to 250 with
/// `changeFromQuantity` = the number the channel was last set to and a derived idempotency
/// key; the number sent is the hub's, shaped by the stale rule's hold ([`Drift::shaped`]). A
/// throttled answer stops the run for this channel (no attempt counted, due again when the
/// bucket has refilled); a stale compare reads the channel's numbers and follows the core's
/// rule ([`Drift::on_stale`]). One result per attempt, in order.
#[allow(clippy::too_many_arguments)] // the delivery's inputs, each used once
pub async fn push_shopify(
    fields: &AdapterFields,
    channel: &str,
    attempts: &[&Attempt],
    allow: bool,
    sql: &SqlStorage,
    now_ms: u64,
    hold_ms: u64,
) -> Vec<Delivery> {
    let n = attempts.len();
    let mut out: Vec<Option<Delivery>> = vec![None; n];
    let api = match shopify(fields).and_then(|t| {
        t.api(allow)
            .map_err(|e| invalid(format!("shopify target: {}", e.message())))
    }) {
        Ok(api) => api,
        Err(e) => return vec![Delivery::Failed(e.message); n],
    };
    let mut facts: Vec<Facts> = attempts
        .iter()
        .map(|a| facts_get(sql, channel, a.key.listing.as_str()))
        .collect();
    // 1. Inventory items: known, or looked up by the listings' variant ids.
    let mut asked: Vec<(usize, u64)> = Vec::new();
    for (i, a) in attempts.iter().enumerate() {
        match (facts[i].item, numeric(a)) {
            (Some(_), _) => {}
            (None, Some(v)) => asked.push((i, v)),
            (None, None) => {
                out[i] = Some(Delivery::Failed(
                    "a Shopify listing id is the variant's numeric id".into(),
                ))
            }
        }
    }
    // Set when the channel's bucket (or its THROTTLED answer) says to wait: every call left
    // in this run is then not sent, its listings due again when the bucket has the points.
    let mut wait: Option<(u64, String)> = None;
    for chunk in asked.chunks(MAX_ITEMS_PER_READ) {
        let variants: Vec<u64> = chunk.iter().map(|(_, v)| *v).collect();
        if wait.is_none() {
            wait = paced(sql, channel, shopify::read_cost(variants.len()));
        }
        if let Some((ms, why)) = &wait {
            for (i, _) in chunk {
                out[*i] = Some(later(*ms, why));
            }
            continue;
        }
        let req = shopify::build_variant_items(&api, &variants);
        let found = match send_shopify(sql, channel, &req).await {
            Ok(a) => {
                shopify::parse_variant_items(a.status, a.headers.as_slice(), &a.body, &variants)
                    .map_err(|f| call_failed(&f))
            }
            Err(e) => Err(Delivery::Failed(e)),
        };
        if let Err(Delivery::Later { wait_ms, why }) = &found {
            wait = Some((*wait_ms, why.clone()));
        }
        match found {
            Ok(found) => {
                for ((i, _), (_, item)) in chunk.iter().zip(found) {
                    match item {
                        Some(item) => facts[*i].item = Some(item),
                        None => {
                            out[*i] = Some(Delivery::Failed(
                                "Shopify has no such variant (or it has no inventory item)".into(),
                            ))
                        }
                    }
                }
            }
            Err(d) => {
                for (i, _) in chunk {
                    out[*i] = Some(d.clone());
                }
            }
        }
    }
    // 2. The sets: the hub's number, less any hold, compared with what the channel was set to.
    let mut items: Vec<usize> = Vec::new();
    let mut planned: Vec<(u64, SetQuantity)> = Vec::new();
    for (i, a) in attempts.iter().enumerate() {
        let (None, Some(item)) = (&out[i], facts[i].item) else {
            continue;
        };
        let quantity = facts[i]
            .drift
            .shaped_within(a.quantity.get(), now_ms, hold_ms);
        if quantity != a.quantity.get() && facts[i].shown == Some(quantity) {
            // Held back, and the channel already shows the held number: nothing to send until
            // an order pays the hold (a new push) or it lapses.
            out[i] = Some(held(&facts[i], now_ms, hold_ms));
            continue;
        }
        items.push(i);
        planned.push((
            a.seq,
            SetQuantity {
                inventory_item_id: item,
                quantity,
                change_from: facts[i].shown.or(a.last_sent),
            },
        ));
    }
    let (calls, refused) = shopify::plan_set_calls(&api, channel, &planned);
    for (j, e) in refused {
        out[items[j]] = Some(Delivery::Failed(format!("{e:?}")));
    }
    let mut stale: Vec<usize> = Vec::new();
    for call in &calls {
        if wait.is_none() {
            wait = paced(sql, channel, shopify::SET_QUANTITIES_COST);
        }
        if let Some((ms, why)) = &wait {
            for &j in &call.items {
                out[items[j]] = Some(later(*ms, why));
            }
            continue;
        }
        let answer = match send_shopify(sql, channel, &call.request).await {
            Ok(a) => {
                shopify::parse_set_quantities(a.status, a.headers.as_slice(), &a.body, &call.batch)
            }
            Err(e) => {
                for &j in &call.items {
                    out[items[j]] = Some(Delivery::Failed(e.clone()));
                }
                continue;
            }
        };
        match answer {
            shopify::PushAnswer::Done(rs) => {
                for (&j, r) in call.items.iter().zip(rs) {
                    let i = items[j];
                    out[i] = match r {
                        ItemResult::Applied => {
                            facts[i].shown = Some(planned[j].1.quantity);
                            facts[i].drift.on_delivered();
                            Some(set(&facts[i], attempts[i], now_ms, hold_ms))
                        }
                        ItemResult::Stale => {
                            stale.push(j);
                            None
                        }
                        ItemResult::Failed(e) => {
                            Some(Delivery::Failed(format!("{}: {}", e.code, e.message)))
                        }
                        ItemResult::NotApplied => Some(Delivery::Later {
                            wait_ms: 0,
                            why: "not applied: another item of the call was refused".into(),
                        }),
                    };
                }
            }
            shopify::PushAnswer::Failed(f) => {
                let d = call_failed(&f);
                if let Delivery::Later { wait_ms, why } = &d {
                    wait = Some((*wait_ms, why.clone()));
                }
                for &j in &call.items {
                    out[items[j]] = Some(d.clone());
                }
            }
        }
    }
    // 3. The stale compare: read the channel's numbers, then the core's rule.
    if !stale.is_empty() {
        let ctx = Stale {
            api: &api,
            sql,
            channel,
            attempts,
            items: &items,
            planned: &planned,
            now_ms,
            hold_ms,
        };
        ctx.resolve(&stale, &mut facts, &mut out).await;
    }
    for (i, a) in attempts.iter().enumerate() {
        facts_put(sql, channel, a.key.listing.as_str(), &facts[i]);
    }
    out.into_iter()
        .map(|d| d.unwrap_or_else(|| Delivery::Failed("no result".into())))
        .collect()
}

/// The channel now shows `facts.shown`: delivered if that is the hub's number; otherwise a
/// hold keeps it lower, and the push stays waiting (no attempt) until the hold lapses, when
/// the hub's number goes out — or until an order pays it and plans a new push.
fn set(facts: &Facts, a: &Attempt, now_ms: u64, hold_ms: u64) -> Delivery {
    if facts.shown == Some(a.quantity.get()) {
        Delivery::Done
    } else {
        held(facts, now_ms, hold_ms)
    }
}

fn held(facts: &Facts, now_ms: u64, hold_ms: u64) -> Delivery {
    let until = facts.drift.lapses_within(hold_ms).unwrap_or(now_ms + 1_000);
    Delivery::Later {
        wait_ms: until.saturating_sub(now_ms).max(1_000),
        why: format!(
            "{} unit(s) held back: the channel lost them without an order the hub has heard of",
            facts.drift.held
        ),
    }
}

struct Stale<'a> {
    api: &'a stocksync_channels::target::ShopifyApi,
    sql: &'a SqlStorage,
    channel: &'a str,
    attempts: &'a [&'a Attempt],
    /// Attempt index per planned quantity.
    items: &'a [usize],
    planned: &'a [(u64, SetQuantity)],
    now_ms: u64,
    hold_ms: u64,
}

impl Stale<'_> {
    async fn resolve(&self, stale: &[usize], facts: &mut [Facts], out: &mut [Option<Delivery>]) {
        let mut resend: Vec<(u64, SetQuantity)> = Vec::new();
        let mut resent: Vec<usize> = Vec::new();
        let mut wait: Option<(u64, String)> = None;
        for chunk in stale.chunks(MAX_ITEMS_PER_READ) {
            let ids: Vec<u64> = chunk
                .iter()
                .map(|&j| self.planned[j].1.inventory_item_id)
                .collect();
            if wait.is_none() {
                wait = paced(self.sql, self.channel, shopify::read_cost(ids.len()));
            }
            if let Some((ms, why)) = &wait {
                for &j in chunk {
                    out[self.items[j]] = Some(later(*ms, why));
                }
                continue;
            }
            let req = shopify::build_read_available(self.api, &ids);
            let levels = match send_shopify(self.sql, self.channel, &req).await {
                Ok(a) => {
                    shopify::parse_read_available(a.status, a.headers.as_slice(), &a.body, &ids)
                        .map_err(|f| call_failed(&f))
                }
                Err(e) => Err(Delivery::Failed(e)),
            };
            let levels = match levels {
                Ok(l) => l,
                Err(d) => {
                    for &j in chunk {
                        out[self.items[j]] = Some(d.clone());
                    }
                    continue;
                }
            };
            for (&j, level) in chunk.iter().zip(levels) {
                let i = self.items[j];
                let (seq, sent) = self.planned[j];
                let Some(now) = level.available else {
                    out[i] = Some(Delivery::Failed(
                        "stale compare, and the channel shows no number for the item".into(),
                    ));
                    continue;
                };
                let wanted = self.attempts[i].quantity.get();
                let last = sent.change_from.unwrap_or(now);
                match facts[i]
                    .drift
                    .on_stale_within(last, wanted, now, self.now_ms, self.hold_ms)
                {
                    StaleDecision::InSync { delivered } => {
                        facts[i].shown = Some(delivered);
                        facts[i].drift.on_delivered();
                        out[i] = Some(set(&facts[i], self.attempts[i], self.now_ms, self.hold_ms));
                    }
                    StaleDecision::Resend {
                        quantity,
                        change_from,
                    } => {
                        // The channel shows `now`, and the rule has counted what it lost: if
                        // the resend is refused stale again, the next compare starts from
                        // here, so the same loss is not held twice (found by the hub
                        // simulation's compare-and-swap channel).
                        facts[i].shown = Some(now);
                        resend.push((
                            seq,
                            SetQuantity {
                                inventory_item_id: sent.inventory_item_id,
                                quantity,
                                change_from: Some(change_from),
                            },
                        ));
                        resent.push(i);
                    }
                }
            }
        }
        if resend.is_empty() {
            return;
        }
        // A new key: the variables changed (`change_from`), as Shopify requires.
        let scope = format!("{}/stale", self.channel);
        let (calls, refused) = shopify::plan_set_calls(self.api, &scope, &resend);
        for (k, e) in refused {
            out[resent[k]] = Some(Delivery::Failed(format!("{e:?}")));
        }
        for call in &calls {
            if wait.is_none() {
                wait = paced(self.sql, self.channel, shopify::SET_QUANTITIES_COST);
            }
            if let Some((ms, why)) = &wait {
                // Due again when the bucket has the points: the next run compares anew.
                for &k in &call.items {
                    out[resent[k]] = Some(later(*ms, why));
                }
                continue;
            }
            let answer = match send_shopify(self.sql, self.channel, &call.request).await {
                Ok(a) => shopify::parse_set_quantities(
                    a.status,
                    a.headers.as_slice(),
                    &a.body,
                    &call.batch,
                ),
                Err(e) => {
                    for &k in &call.items {
                        out[resent[k]] = Some(Delivery::Failed(e.clone()));
                    }
                    continue;
                }
            };
            match answer {
                shopify::PushAnswer::Done(rs) => {
                    for (&k, r) in call.items.iter().zip(rs) {
                        let i = resent[k];
                        out[i] = Some(match r {
                            ItemResult::Applied => {
                                facts[i].shown = Some(resend[k].1.quantity);
                                facts[i].drift.on_delivered();
                                set(&facts[i], self.attempts[i], self.now_ms, self.hold_ms)
                            }
                            // Moved again between the read and the resend: an attempt, so the
                            // retry policy bounds it (never a loop).
                            ItemResult::Stale => Delivery::Failed(
                                "CHANGE_FROM_QUANTITY_STALE twice: the channel keeps moving".into(),
                            ),
                            ItemResult::Failed(e) => {
                                Delivery::Failed(format!("{}: {}", e.code, e.message))
                            }
                            ItemResult::NotApplied => Delivery::Later {
                                wait_ms: 0,
                                why: "not applied: another item of the call was refused".into(),
                            },
                        });
                    }
                }
                shopify::PushAnswer::Failed(f) => {
                    let d = call_failed(&f);
                    if let Delivery::Later { wait_ms, why } = &d {
                        wait = Some((*wait_ms, why.clone()));
                    }
                    for &k in &call.items {
                        out[resent[k]] = Some(d.clone());
                    }
                }
            }
        }
    }
}

/// Delivers one WooCommerce channel's due listings: batches of at most 100 per endpoint; an
/// item refused inside a 200 fails alone. A variation is pushed through its parent, which
/// discovery keeps in `channel_facts` (a variation linked by hand and never discovered is
/// pushed as a product, and WooCommerce refuses it: that listing's failure).
pub async fn push_woo(
    fields: &AdapterFields,
    channel: &str,
    attempts: &[&Attempt],
    allow: bool,
    sql: &SqlStorage,
) -> Vec<Delivery> {
    let mut out: Vec<Option<Delivery>> = vec![None; attempts.len()];
    let api = match woo(fields).and_then(|t| {
        t.api(allow)
            .map_err(|e| invalid(format!("woocommerce target: {}", e.message())))
    }) {
        Ok(api) => api,
        Err(e) => return vec![Delivery::Failed(e.message); attempts.len()],
    };
    let mut updates: Vec<StockUpdate> = Vec::new();
    let mut which: Vec<usize> = Vec::new();
    for (i, a) in attempts.iter().enumerate() {
        match numeric(a) {
            Some(id) => {
                updates.push(StockUpdate {
                    id,
                    // A variation's parent, as discovery found it (`channel_facts.item`).
                    parent_id: facts_get(sql, channel, a.key.listing.as_str()).item,
                    quantity: a.quantity.get().max(0) as u64,
                });
                which.push(i);
            }
            None => {
                out[i] = Some(Delivery::Failed(
                    "a WooCommerce listing id is the product's numeric id".into(),
                ))
            }
        }
    }
    let mut wait: Option<Delivery> = None;
    for call in woo_codec::build_stock_batches(&api, &updates) {
        if let Some(d) = &wait {
            for &u in &call.items {
                out[which[u]] = Some(d.clone());
            }
            continue;
        }
        let ids: Vec<u64> = call.items.iter().map(|&u| updates[u].id).collect();
        let result = match send(&call.request).await {
            Ok(a) => woo_codec::parse_stock_batch(a.status, a.headers.as_slice(), &a.body, &ids)
                .map_err(|f| {
                    let d = call_failed(&f);
                    // `Retry-After` on a 429 / 503: honoured for the rest of this run.
                    if let Some(ms) = retry_after_ms(a.headers.as_slice()) {
                        wait = Some(Delivery::Later {
                            wait_ms: ms,
                            why: "the channel asked to wait (Retry-After)".into(),
                        });
                    }
                    d
                }),
            Err(e) => Err(Delivery::Failed(e)),
        };
        match result {
            Ok(rs) => {
                for (&u, r) in call.items.iter().zip(rs) {
                    out[which[u]] = Some(match r {
                        ItemResult::Applied => Delivery::Done,
                        ItemResult::Failed(e) => {
                            Delivery::Failed(format!("{}: {}", e.code, e.message))
                        }
                        ItemResult::Stale | ItemResult::NotApplied => Delivery::Later {
                            wait_ms: 0,
                            why: "not applied".into(),
                        },
                    });
                }
            }
            Err(d) => {
                for &u in &call.items {
                    out[which[u]] = Some(d.clone());
                }
            }
        }
    }
    out.into_iter()
        .map(|d| d.unwrap_or_else(|| Delivery::Failed("no result".into())))
        .collect()
}

// ----- orders in ----------------------------------------------------------------------------

use stocksync_channels::order::{ChannelOrder, InboundError, OrderAction};
use stocksync_core::{ChannelId, Event, ListingId, OrderLineIn, OrderRef, PlaceOrder, Qty};

/// What an inbound channel request asks of the hub.
pub enum Inbound {
    /// Change nothing and answer 200 (a WooCommerce ping, an order change with no rule).
    Nothing(&'static str),
    /// Apply this order event.
    Apply(Event),
}

fn refused(e: InboundError) -> ApiError {
    match e {
        InboundError::Signature(s) => ApiError::bad_signature(format!(
            "the channel's signature does not verify against the raw body with its webhook secret ({s:?})"
        )),
        InboundError::Topic(t) => ApiError::new(
            400,
            "invalid_webhook",
            format!("this route takes order webhooks, not {t:?}"),
        ),
        InboundError::Malformed(m) => ApiError::new(400, "invalid_webhook", m),
        InboundError::TooLarge => ApiError::new(
            413,
            "payload_too_large",
            "an order webhook of over 1 MiB or 100 lines",
        ),
    }
}

/// `POST /v1/channels/{id}/inbound`: verifies the channel's own signature over the raw body
/// (before any JSON is read) and turns the webhook into the core's order event. A forged,
/// missing or stale signature is a 401 and changes nothing.
pub fn inbound(
    channel: &ChannelId,
    target: Option<&Target>,
    headers: &[(String, String)],
    body: &[u8],
) -> Result<Inbound, ApiError> {
    let order = match target {
        Some(Target::Shopify(f)) => {
            let t = shopify(f)?;
            let secret = t.webhook_secret.unwrap_or_default();
            shopify::parse_webhook(&t.shop, secret.as_bytes(), headers, body).map_err(refused)?
        }
        Some(Target::Woocommerce(f)) => {
            let t = woo(f)?;
            let secret = t.webhook_secret.unwrap_or_default();
            match woo_codec::parse_webhook(secret.as_bytes(), headers, body).map_err(refused)? {
                woo_codec::WooInbound::Ping { .. } => return Ok(Inbound::Nothing("ping")),
                woo_codec::WooInbound::Order(o) => o,
            }
        }
        Some(_) => {
            return Err(ApiError::new(
                400,
                "invalid_request",
                format!("channel {channel} is not a Shopify or WooCommerce channel: it has no inbound webhooks"),
            ))
        }
        None => {
            return Err(ApiError::not_found(format!("no channel {channel:?}")));
        }
    };
    event(channel, order)
}

fn event(channel: &ChannelId, o: ChannelOrder) -> Result<Inbound, ApiError> {
    let bad = |e: stocksync_core::Error| ApiError::core(e.code, e.message);
    let reference = OrderRef::new(o.reference).map_err(bad)?;
    Ok(Inbound::Apply(match o.action {
        OrderAction::Ignored => return Ok(Inbound::Nothing("ignored")),
        OrderAction::Cancelled => Event::OrderCancelled {
            channel: channel.clone(),
            order: reference,
        },
        OrderAction::Shipped => Event::OrderShipped {
            channel: channel.clone(),
            order: reference,
        },
        OrderAction::Placed => {
            let mut lines = Vec::with_capacity(o.lines.len());
            for l in o.lines {
                lines.push(OrderLineIn {
                    listing: Some(ListingId::new(l.listing).map_err(bad)?),
                    sku: None,
                    qty: Qty::new(l.qty.min(i64::MAX as u64) as i64).map_err(bad)?,
                });
            }
            Event::OrderPlaced {
                order: PlaceOrder {
                    channel: channel.clone(),
                    order: reference,
                    location: None,
                    lines,
                },
            }
        }
    }))
}

// ----- what the hub knows of a listing on a real channel -------------------------------------

use stocksync_core::stale::{Drift, StaleDecision};
use worker::{SqlStorage, SqlStorageValue};

/// Per listing on a real channel: its channel address (Shopify's inventory item, learned by a
/// lookup on the first push and kept), the number the channel was last set to (`shown`: what
/// `changeFromQuantity` compares with) and the stale rule's [`Drift`]. Channel facts, not hub
/// state: not in exports (re-learned), and a listing without a row starts from the hub's
/// `last_sent` with no hold.
///
/// `channel_costs`: per Shopify channel, its cost bucket as the last answer showed it and when
/// ([`bucket`]), so every call is paced by what the bucket will have restored.
pub const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS channel_facts (channel TEXT NOT NULL, listing TEXT NOT NULL, item INTEGER, shown INTEGER, held INTEGER NOT NULL DEFAULT 0, held_since INTEGER NOT NULL DEFAULT 0, heard INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (channel, listing)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS channel_costs (channel TEXT PRIMARY KEY, at_ms INTEGER NOT NULL, maximum REAL NOT NULL, available REAL NOT NULL, restore REAL NOT NULL);";

#[derive(Clone, Copy, Debug, Default)]
pub struct Facts {
    pub item: Option<u64>,
    pub shown: Option<i64>,
    pub drift: Drift,
}

#[derive(serde::Deserialize)]
struct FactsRow {
    item: Option<i64>,
    shown: Option<i64>,
    held: i64,
    held_since: i64,
    heard: i64,
}

pub fn facts_get(sql: &SqlStorage, channel: &str, listing: &str) -> Facts {
    let rows: Vec<FactsRow> = sql
        .exec(
            "SELECT item, shown, held, held_since, heard FROM channel_facts WHERE channel = ? AND listing = ?",
            vec![channel.into(), listing.into()],
        )
        .and_then(|c| c.to_array())
        .unwrap_or_default();
    rows.into_iter()
        .next()
        .map(|r| Facts {
            item: r.item.map(|i| i as u64),
            shown: r.shown,
            drift: Drift {
                held: r.held,
                held_since_ms: r.held_since.max(0) as u64,
                heard: r.heard,
            },
        })
        .unwrap_or_default()
}

pub fn facts_put(sql: &SqlStorage, channel: &str, listing: &str, f: &Facts) {
    let opt = |v: Option<i64>| v.map_or(SqlStorageValue::Null, SqlStorageValue::from);
    let r = sql.exec(
        "INSERT INTO channel_facts (channel, listing, item, shown, held, held_since, heard) VALUES (?, ?, ?, ?, ?, ?, ?) \
         ON CONFLICT (channel, listing) DO UPDATE SET item = excluded.item, shown = excluded.shown, held = excluded.held, held_since = excluded.held_since, heard = excluded.heard",
        vec![
            channel.into(),
            listing.into(),
            opt(f.item.map(|i| i as i64)),
            opt(f.shown),
            f.drift.held.into(),
            (f.drift.held_since_ms as i64).into(),
            f.drift.heard.into(),
        ],
    );
    if let Err(e) = r {
        worker::console_error!("channel_facts {channel}/{listing}: {e}");
    }
}

/// An order from a real channel was placed (not a duplicate): a line's units pay that
/// listing's hold first (the stale rule's `on_channel_order`). Written in the order's own
/// transaction (`store::Batch::heard`).
pub fn heard_line(sql: &SqlStorage, channel: &str, listing: &str, units: i64) {
    let mut f = facts_get(sql, channel, listing);
    f.drift.on_channel_order(units);
    facts_put(sql, channel, listing, &f);
}
