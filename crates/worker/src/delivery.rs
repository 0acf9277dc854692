//! Delivering planned pushes to their targets. Only the Ledger's alarm calls this, after the
//! pushes are stored, so no outbound I/O ever happens inside an event's write, and at most one
//! delivery per listing is in flight. The core decides what to send (the listing's pending
//! number: the latest only) and what an answer means ([`Event::PushDelivered`] /
//! [`Event::PushFailed`]); this module only carries it.
//!
//! - Demo target: nothing leaves the object, so nothing waits for the alarm: [`planned`] records
//!   the push delivered where it is planned, and the demo marketplace's row is written in the
//!   same transaction as the event that planned it (no schedule row, no delivery round, the
//!   listing written once). A demo push found in the schedule (one stored by an older build)
//!   is still delivered by the alarm.
//! - Webhook target: `POST` `{"channel", "listing", "sku", "quantity", "seq", "sent_at"}` with
//!   `Idempotency-Key: {channel}:{listing}:{seq}` and `X-Stocksync-Signature`; any 2xx within
//!   [`TIMEOUT_MS`] is delivered, anything else failed.

use std::collections::BTreeMap;

use futures_util::future::{join, join_all};
use stocksync_channels::http::{retry_after_ms, Method as CMethod, Request as CRequest};
use stocksync_core::{
    listing_row_key, wire, Dirty, Event, Hub, ListingKey, Outcome, Pending, Qty, RetryPolicy, Sku,
    Target, WebhookBatch, WebhookBatchItem, WebhookPush, WEBHOOK_BATCH_MAX,
};
use worker::Env;

use crate::adapters::Answer;
use crate::signature;
use crate::store::{Batch, DemoWrite};

/// What storing pushes to deliver needs besides their listing rows.
#[derive(Debug, Default)]
pub struct Settled {
    /// Schedule rows, due now, of the pushes the alarm delivers.
    pub due: Vec<(String, i64)>,
    /// What the demo marketplace received from the pushes delivered at once.
    pub demo: Vec<DemoWrite>,
}

/// The batch that stores an outcome just planned (by an order, a change, a job step or a
/// load), before anything else is added to it: its pushes settled, then its rows. A push to the
/// in-object demo marketplace is delivered here and now (the core records
/// [`Event::PushDelivered`] and its changes join the outcome's dirty rows, so the listing is
/// written once); every other push is scheduled for the alarm, due at `now`. A push the core
/// refuses to record as delivered (it cannot happen for one just planned) is scheduled
/// instead, so nothing is lost.
pub fn planned(hub: &mut Hub, out: &mut Outcome, now: i64) -> Batch {
    let pushes = out.pushes.iter().map(|p| {
        let key = ListingKey::new(p.channel.clone(), p.listing.clone());
        (key, p.seq, Qty::new(p.quantity).ok())
    });
    let settled = settle(hub, pushes, &mut out.dirty, now);
    Batch {
        rows: hub.rows(&out.dirty),
        due: settled.due,
        demo: settled.demo,
        ..Batch::default()
    }
}

/// [`planned`]'s settling for a hub's whole outbox (a replaced hub's pending pushes, whose
/// rows are all written anyway).
pub fn settle_outbox(hub: &mut Hub, now: i64) -> Settled {
    let pending = hub
        .outbox()
        .into_iter()
        .map(|(key, p, _)| (key, p.seq, Some(p.quantity)));
    settle(hub, pending, &mut Dirty::default(), now)
}

fn settle(
    hub: &mut Hub,
    pending: impl IntoIterator<Item = (ListingKey, u64, Option<Qty>)>,
    dirty: &mut Dirty,
    now: i64,
) -> Settled {
    let mut out = Settled::default();
    for (key, seq, quantity) in pending {
        let demo = matches!(
            hub.channel(&key.channel).map(|c| &c.target),
            Some(Target::Demo)
        );
        let mut delivered = |quantity: Qty| {
            let event = Event::PushDelivered {
                channel: key.channel.clone(),
                listing: key.listing.clone(),
                seq,
                quantity,
            };
            hub.apply(event).map(|o| dirty.merge(o.dirty)).is_ok()
        };
        let recorded = quantity.filter(|&q| demo && delivered(q));
        match recorded {
            Some(quantity) => out.demo.push(DemoWrite::Received {
                channel: key.channel.to_string(),
                listing: key.listing.to_string(),
                quantity: quantity.get(),
                seq: seq as i64,
            }),
            None => out.due.push((listing_row_key(&key), now)),
        }
    }
    out
}

/// How long one webhook call may take.
pub const TIMEOUT_MS: u64 = 10_000;

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

    /// `{channel}:{listing}:{seq}`: the same for every attempt at one push.
    pub fn idempotency_key(&self) -> String {
        format!("{}:{}:{}", self.key.channel, self.key.listing, self.seq)
    }

    /// The webhook body of this push.
    fn push(&self, sent_at: String) -> WebhookPush {
        WebhookPush {
            channel: self.key.channel.clone(),
            listing: self.key.listing.clone(),
            sku: self.sku.clone(),
            quantity: self.quantity.get(),
            seq: self.seq,
            sent_at,
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

/// Single webhook calls one delivery round makes (all in flight together); the rest of the
/// round's single webhooks are due again at once. A dead receiver holds a round for at most
/// one [`TIMEOUT_MS`].
const SINGLE_CALLS: usize = 64;

/// Delivers every attempt, in the same order: the demo channel at once (it is in the object),
/// webhooks concurrently (one call per push, or up to [`WEBHOOK_BATCH_MAX`] per call for a
/// `"batch": true` target), each real channel's listings batched per channel
/// ([`crate::adapters`]).
pub async fn deliver(attempts: &[Attempt], env: &Env, sql: &worker::SqlStorage) -> Vec<Delivery> {
    let allow = crate::adapters::allow_private(env);
    let mut out: Vec<Option<Delivery>> = vec![None; attempts.len()];
    let mut single = Vec::new();
    let mut batched: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    let mut groups: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, a) in attempts.iter().enumerate() {
        match &a.target {
            Some(Target::Demo) => out[i] = Some(Delivery::Done),
            Some(Target::Shopify(_) | Target::Woocommerce(_)) => {
                groups.entry(a.key.channel.as_str()).or_default().push(i)
            }
            Some(Target::Webhook {
                batch: true,
                secret: Some(_),
                ..
            }) => batched.entry(a.key.channel.as_str()).or_default().push(i),
            _ if single.len() < SINGLE_CALLS => single.push(i),
            _ => {
                out[i] = Some(Delivery::Later {
                    wait_ms: 0,
                    why: "the delivery round was full".into(),
                })
            }
        }
    }
    let calls: Vec<Vec<usize>> = batched
        .into_values()
        .flat_map(|idx| {
            idx.chunks(WEBHOOK_BATCH_MAX)
                .map(<[usize]>::to_vec)
                .collect::<Vec<_>>()
        })
        .collect();
    let (sent, batches) = join(
        join_all(single.iter().map(|&i| deliver_one(&attempts[i]))),
        join_all(calls.iter().map(|idx| {
            let group: Vec<&Attempt> = idx.iter().map(|&i| &attempts[i]).collect();
            async move { webhook_batch(&group).await }
        })),
    )
    .await;
    for (&i, r) in single.iter().zip(sent) {
        out[i] = Some(r.into());
    }
    for (idx, results) in calls.iter().zip(batches) {
        for (&i, r) in idx.iter().zip(results) {
            out[i] = Some(r);
        }
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
            ..
        }) => {
            let body = wire::to_json(&a.push(sent_at()));
            let answer = post(url, secret, Some(&a.idempotency_key()), body).await?;
            match answer.status {
                200..=299 => Ok(()),
                status => Err(refused(status, &answer.body)),
            }
        }
        Some(Target::Webhook { secret: None, .. }) => {
            Err("the webhook has no secret to sign with".into())
        }
        Some(Target::Shopify(_) | Target::Woocommerce(_)) => {
            Err("a real channel is delivered in its channel's batch".into())
        }
        None => Err(format!("channel {} no longer exists", a.key.channel)),
    }
}

/// One call carrying up to [`WEBHOOK_BATCH_MAX`] pushes of one batched webhook channel
/// (README: "Webhook batches"). A 2xx delivers every push but those its answer lists as
/// `{"failed": [{"idempotency_key", "error"}]}`, which fail alone; a `429` or `503` with
/// `Retry-After` makes them all due again then, no attempt counted; any other answer fails
/// them all.
async fn webhook_batch(group: &[&Attempt]) -> Vec<Delivery> {
    let Some(Target::Webhook {
        url,
        secret: Some(secret),
        ..
    }) = &group[0].target
    else {
        return vec![
            Delivery::Failed("the webhook has no secret to sign with".into());
            group.len()
        ];
    };
    let at = sent_at();
    let body = WebhookBatch {
        pushes: group
            .iter()
            .map(|a| WebhookBatchItem {
                push: a.push(at.clone()),
                idempotency_key: a.idempotency_key(),
            })
            .collect(),
    };
    let answer = match post(url, secret, None, wire::to_json(&body)).await {
        Ok(a) => a,
        Err(e) => return vec![Delivery::Failed(e); group.len()],
    };
    match (answer.status, retry_after_ms(answer.headers.as_slice())) {
        (200..=299, _) => {
            let failed = serde_json::from_slice::<BatchAnswer>(&answer.body)
                .map(|a| a.failed)
                .unwrap_or_default();
            group
                .iter()
                .map(|a| {
                    let key = a.idempotency_key();
                    match failed.iter().find(|f| f.idempotency_key == key) {
                        Some(f) => Delivery::Failed(format!(
                            "the receiver refused it: {}",
                            f.error.as_deref().unwrap_or("no reason given")
                        )),
                        None => Delivery::Done,
                    }
                })
                .collect()
        }
        (429 | 503, Some(wait_ms)) => {
            let why = format!(
                "HTTP {}: the receiver asked to wait (Retry-After)",
                answer.status
            );
            vec![Delivery::Later { wait_ms, why }; group.len()]
        }
        (status, _) => vec![Delivery::Failed(refused(status, &answer.body)); group.len()],
    }
}

/// What a batched webhook may answer: the pushes that failed alone.
#[derive(serde::Deserialize, Default)]
struct BatchAnswer {
    #[serde(default)]
    failed: Vec<FailedPush>,
}

#[derive(serde::Deserialize)]
struct FailedPush {
    idempotency_key: String,
    #[serde(default)]
    error: Option<String>,
}

fn refused(status: u16, body: &[u8]) -> String {
    let text: String = String::from_utf8_lossy(body).chars().take(200).collect();
    format!("HTTP {status}: {text}")
}

fn sent_at() -> String {
    worker::js_sys::Date::new_0()
        .to_iso_string()
        .as_string()
        .unwrap_or_default()
}

pub fn now_ms() -> i64 {
    worker::Date::now().as_millis() as i64
}

/// A signed webhook call (the same sender as the channel adapters': [`TIMEOUT_MS`], no
/// redirects followed).
async fn post(
    url: &str,
    secret: &str,
    idempotency_key: Option<&str>,
    body: String,
) -> Result<Answer, String> {
    let t = now_ms() / 1000;
    let mut headers = vec![
        ("Content-Type".to_string(), "application/json".to_string()),
        (
            crate::SIGNATURE_HEADER.to_string(),
            signature::header(secret, t, body.as_bytes()),
        ),
    ];
    if let Some(key) = idempotency_key {
        headers.push(("Idempotency-Key".to_string(), key.to_string()));
    }
    crate::adapters::send(&CRequest {
        method: CMethod::Post,
        url: url.to_string(),
        headers,
        body: body.into_bytes(),
    })
    .await
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
