//! Delivering planned pushes to their targets. Only the Ledger's alarm calls this, after the
//! pushes are stored, so no outbound I/O ever happens inside an event's write, and at most one
//! delivery per listing is in flight. The core decides what to send (the listing's pending
//! number: the latest only) and what an answer means ([`Event::PushDelivered`] /
//! [`Event::PushFailed`]); this module only carries it.
//!
//! - Demo target: nothing leaves the object; the demo marketplace's row is written in the same
//!   transaction as the acknowledgement.
//! - Webhook target: `POST` `{"channel", "listing", "sku", "quantity", "seq", "sent_at"}` with
//!   `Idempotency-Key: {channel}:{listing}:{seq}` and `X-Stocksync-Signature`; any 2xx within
//!   [`TIMEOUT_MS`] is delivered, anything else failed.

use std::time::Duration;

use futures_util::future::{join_all, select, Either};
use stocksync_core::{Event, Hub, ListingKey, Pending, Qty, RetryPolicy, Sku, Target, WebhookPush};
use wasm_bindgen::JsValue;
use worker::{
    AbortController, Delay, Env, Fetch, Headers, Method, Request, RequestInit, RequestRedirect,
};

use crate::signature;

/// How long one webhook call may take.
pub const TIMEOUT_MS: u64 = 10_000;
/// Listings delivered per batch (one transaction records a batch's results).
pub const BATCH: i64 = 50;

/// One delivery to make: a listing's pending push, read from the hub before any await.
#[derive(Clone, Debug)]
pub struct Attempt {
    pub key: ListingKey,
    pub row_key: String,
    pub seq: u64,
    pub quantity: Qty,
    /// The 1-based number of this attempt at delivering `seq`.
    pub attempt: u32,
    pub sku: Option<Sku>,
    pub target: Option<Target>,
    /// What the hub last delivered (Shopify's `changeFromQuantity`).
    pub last_sent: Option<i64>,
}

/// How one attempt went.
#[derive(Clone, Debug)]
pub enum Delivery {
    /// The channel shows the number: [`Event::PushDelivered`].
    Done,
    /// A failed attempt: [`Event::PushFailed`], retried under the policy.
    Failed(String),
    /// Not sent, or not applied, for a reason that is not the listing's failure (the channel
    /// is pacing us, or another item of an all-or-nothing call was refused): due again after
    /// `wait_ms`, no attempt counted, nothing reported to the core.
    Later { wait_ms: u64, why: String },
}

impl From<Result<(), String>> for Delivery {
    fn from(r: Result<(), String>) -> Delivery {
        match r {
            Ok(()) => Delivery::Done,
            Err(e) => Delivery::Failed(e),
        }
    }
}

impl Attempt {
    pub fn new(
        hub: &Hub,
        key: ListingKey,
        row_key: String,
        pending: Pending,
        failed: u32,
    ) -> Attempt {
        let sku = hub.mapping(&key).map(|m| m.sku);
        let target = hub.channel(&key.channel).map(|c| c.target.clone());
        let last_sent = hub.last_sent(&key);
        Attempt {
            last_sent,
            seq: pending.seq,
            quantity: pending.quantity,
            attempt: failed.saturating_add(1),
            sku,
            target,
            key,
            row_key,
        }
    }

    pub fn is_demo(&self) -> bool {
        matches!(self.target, Some(Target::Demo))
    }

    /// The core event reporting how this attempt went (none when it is only due later).
    pub fn result_event(&self, result: &Delivery) -> Option<Event> {
        let (channel, listing) = (self.key.channel.clone(), self.key.listing.clone());
        Some(match result {
            Delivery::Later { .. } => return None,
            Delivery::Done => Event::PushDelivered {
                channel,
                listing,
                seq: self.seq,
                quantity: self.quantity,
            },
            Delivery::Failed(error) => Event::PushFailed {
                channel,
                listing,
                seq: self.seq,
                attempt: self.attempt,
                error: error.clone(),
            },
        })
    }
}

/// Delivers every attempt, in the same order: webhooks concurrently, each real channel's
/// listings batched per channel ([`crate::adapters`]).
pub async fn deliver(attempts: &[Attempt], env: &Env, sql: &worker::SqlStorage) -> Vec<Delivery> {
    let allow = crate::adapters::allow_private(env);
    let mut out: Vec<Option<Delivery>> = vec![None; attempts.len()];
    let mut plain = Vec::new();
    let mut groups: std::collections::BTreeMap<&str, Vec<usize>> = Default::default();
    for (i, a) in attempts.iter().enumerate() {
        match &a.target {
            Some(Target::Shopify(_) | Target::Woocommerce(_)) => {
                groups.entry(a.key.channel.as_str()).or_default().push(i)
            }
            _ => plain.push(i),
        }
    }
    let sent = join_all(plain.iter().map(|&i| deliver_one(&attempts[i]))).await;
    for (&i, r) in plain.iter().zip(sent) {
        out[i] = Some(r.into());
    }
    for (channel, idx) in groups {
        let group: Vec<&Attempt> = idx.iter().map(|&i| &attempts[i]).collect();
        let results = match &group[0].target {
            Some(Target::Shopify(f)) => {
                let now = now_ms().max(0) as u64;
                let hold = crate::adapters::hold_ms(env);
                crate::adapters::push_shopify(f, channel, &group, allow, sql, now, hold).await
            }
            Some(Target::Woocommerce(f)) => {
                crate::adapters::push_woo(f, channel, &group, allow, sql).await
            }
            _ => vec![],
        };
        for (&i, r) in idx.iter().zip(results) {
            out[i] = Some(r);
        }
    }
    out.into_iter()
        .map(|d| d.unwrap_or_else(|| Delivery::Failed("not delivered".into())))
        .collect()
}

async fn deliver_one(a: &Attempt) -> Result<(), String> {
    match &a.target {
        Some(Target::Demo) => Ok(()),
        Some(Target::Webhook {
            url,
            secret: Some(secret),
        }) => webhook(url, secret, a).await,
        Some(Target::Webhook { secret: None, .. }) => {
            Err("the webhook has no secret to sign with".into())
        }
        Some(Target::Shopify(_) | Target::Woocommerce(_)) => {
            Err("a real channel is delivered in its channel's batch".into())
        }
        None => Err(format!("channel {} no longer exists", a.key.channel)),
    }
}

pub fn now_ms() -> i64 {
    worker::Date::now().as_millis() as i64
}

async fn webhook(url: &str, secret: &str, a: &Attempt) -> Result<(), String> {
    let sent_at = worker::js_sys::Date::new_0()
        .to_iso_string()
        .as_string()
        .unwrap_or_default();
    let body = stocksync_core::wire::to_json(&WebhookPush {
        channel: a.key.channel.clone(),
        listing: a.key.listing.clone(),
        sku: a.sku.clone(),
        quantity: a.quantity.get(),
        seq: a.seq,
        sent_at,
    });
    let t = now_ms() / 1000;
    let headers = Headers::new();
    let set = |k: &str, v: &str| headers.set(k, v).map_err(|e| e.to_string());
    set("Content-Type", "application/json")?;
    set("User-Agent", "stocksync/0.1")?;
    set(
        "Idempotency-Key",
        &format!("{}:{}:{}", a.key.channel, a.key.listing, a.seq),
    )?;
    set(
        crate::SIGNATURE_HEADER,
        &signature::header(secret, t, body.as_bytes()),
    )?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_redirect(RequestRedirect::Manual)
        .with_body(Some(JsValue::from_str(&body)));
    let req =
        Request::new_with_init(url, &init).map_err(|e| format!("bad webhook request: {e}"))?;
    let controller = AbortController::default();
    let signal = controller.signal();
    let fetch = Fetch::Request(req);
    let send = Box::pin(fetch.send_with_signal(&signal));
    let timeout = Box::pin(Delay::from(Duration::from_millis(TIMEOUT_MS)));
    let outcome = select(send, timeout).await;
    match outcome {
        Either::Left((Ok(mut resp), _)) => {
            let status = resp.status_code();
            if (200..300).contains(&status) {
                return Ok(());
            }
            let text = resp.text().await.unwrap_or_default();
            let text: String = text.chars().take(200).collect();
            Err(format!("HTTP {status}: {text}"))
        }
        Either::Left((Err(e), _)) => Err(format!("fetch failed: {e}")),
        Either::Right(((), _)) => {
            controller.abort();
            Err(format!("no answer within {} ms", TIMEOUT_MS))
        }
    }
}

/// The retry policy: the core's defaults, overridable by the `RETRY_BASE_MS`, `RETRY_MAX_MS`,
/// `RETRY_MAX_ATTEMPTS` and `RETRY_FAILING_AFTER` vars. A listing never shows `failing` later
/// than its retries stop.
pub fn policy(env: &Env) -> RetryPolicy {
    let var = |name: &str| -> Option<u64> {
        env.var(name)
            .ok()
            .and_then(|v| v.to_string().trim().parse().ok())
    };
    let d = RetryPolicy::default();
    let max_attempts =
        var("RETRY_MAX_ATTEMPTS").map_or(d.max_attempts, |v| v.clamp(1, 1_000) as u32);
    let failing_after =
        var("RETRY_FAILING_AFTER").map_or(d.failing_after, |v| v.clamp(1, 1_000) as u32);
    RetryPolicy {
        base_delay_ms: var("RETRY_BASE_MS").map_or(d.base_delay_ms, |v| v.max(1)),
        max_delay_ms: var("RETRY_MAX_MS").map_or(d.max_delay_ms, |v| v.max(1)),
        failing_after: failing_after.min(max_attempts),
        max_attempts,
    }
}

/// A uniformly random u32 for the backoff's jitter.
pub fn jitter() -> u32 {
    let mut buf = [0u8; 4];
    match getrandom::fill(&mut buf) {
        Ok(()) => u32::from_le_bytes(buf),
        Err(_) => (now_ms() as u32).wrapping_mul(2_654_435_761), // never on workerd
    }
}

/// When to try a listing next, after an attempt of push `seq` and the core's answer to it.
pub enum Next {
    /// Nothing left to send (delivered, superseded and then delivered, or no longer eligible).
    Done,
    /// Try again (or send the newer number) at this time.
    At(i64),
    /// Retries are exhausted: the listing shows `failing` until a new number or a resync.
    GiveUp,
}

pub fn next(
    hub: &Hub,
    key: &ListingKey,
    seq: u64,
    policy: &RetryPolicy,
    now_ms: i64,
    result: &Delivery,
) -> Next {
    match hub.pending(key) {
        None => Next::Done,
        // Paced by the channel, or not applied through no fault of its own: no attempt.
        Some((p, _)) if p.seq == seq && matches!(result, Delivery::Later { .. }) => {
            let wait = match result {
                Delivery::Later { wait_ms, .. } => *wait_ms as i64,
                _ => 0,
            };
            Next::At(now_ms + wait.max(50))
        }
        // A newer number was planned while this one was in flight: send it now.
        Some((p, _)) if p.seq != seq => Next::At(now_ms),
        Some((_, attempts)) if policy.should_retry(attempts) => {
            Next::At(now_ms + policy.delay_ms(attempts, jitter()) as i64)
        }
        Some(_) => Next::GiveUp,
    }
}
