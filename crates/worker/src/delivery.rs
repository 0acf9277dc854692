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
        Attempt {
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

    /// The core event reporting how this attempt went.
    pub fn result_event(&self, result: &Result<(), String>) -> Event {
        let (channel, listing) = (self.key.channel.clone(), self.key.listing.clone());
        match result {
            Ok(()) => Event::PushDelivered {
                channel,
                listing,
                seq: self.seq,
                quantity: self.quantity,
            },
            Err(error) => Event::PushFailed {
                channel,
                listing,
                seq: self.seq,
                attempt: self.attempt,
                error: error.clone(),
            },
        }
    }
}

/// Delivers every attempt (webhooks concurrently), in the same order.
pub async fn deliver(attempts: &[Attempt]) -> Vec<Result<(), String>> {
    join_all(attempts.iter().map(deliver_one)).await
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

pub fn next(hub: &Hub, key: &ListingKey, seq: u64, policy: &RetryPolicy, now_ms: i64) -> Next {
    match hub.pending(key) {
        None => Next::Done,
        // A newer number was planned while this one was in flight: send it now.
        Some((p, _)) if p.seq != seq => Next::At(now_ms),
        Some((_, attempts)) if policy.should_retry(attempts) => {
            Next::At(now_ms + policy.delay_ms(attempts, jitter()) as i64)
        }
        Some(_) => Next::GiveUp,
    }
}
