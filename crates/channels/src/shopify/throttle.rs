//! Shopify's cost-based rate limit: a leaky bucket of points per app and shop. Each answer
//! reports `extensions.cost {requestedQueryCost, actualQueryCost, throttleStatus
//! {maximumAvailable, currentlyAvailable, restoreRate}}` (shopify.dev
//! docs/api/usage/limits; a throttled answer's shape as posted in Shopify's community forum,
//! "GraphQL Admin API example throttled requests response": `extensions` top-level, beside
//! `errors`, with `actualQueryCost: null`).
//!
//! The wait is computed, not guessed: a call of cost `c` can run once `currentlyAvailable`
//! reaches `c`, which takes `(c − currentlyAvailable) / restoreRate` seconds.

use serde::Deserialize;

#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThrottleStatus {
    pub maximum_available: f64,
    pub currently_available: f64,
    pub restore_rate: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryCost {
    pub requested_query_cost: f64,
    #[serde(default)]
    pub actual_query_cost: Option<f64>,
    pub throttle_status: ThrottleStatus,
}

/// The `extensions.cost` of any Shopify answer (a throttled one's too), read without building
/// the rest of the body: what the shell records to pace its next call ([`CostBucket`]).
pub fn cost_of(body: &[u8]) -> Option<QueryCost> {
    #[derive(Deserialize)]
    struct Answer {
        extensions: Option<Extensions>,
    }
    #[derive(Deserialize)]
    struct Extensions {
        cost: Option<QueryCost>,
    }
    serde_json::from_slice::<Answer>(body)
        .ok()?
        .extensions?
        .cost
}

/// The points a `nodes(ids:)` read of `n` items is expected to cost: one for the query and one
/// per object returned (shopify.dev "Rate limits": an object costs 1, a connection `2 + first`).
pub fn read_cost(n: usize) -> f64 {
    1.0 + n as f64
}

/// Milliseconds until a call of `cost` points fits in the bucket described by `status`
/// (0 when it fits now). A cost above the bucket's maximum can never run: the wait is then for
/// a full bucket, and the caller must split the call.
pub fn wait_ms(cost: f64, status: &ThrottleStatus) -> u64 {
    let cost = cost.min(status.maximum_available);
    let missing = cost - status.currently_available;
    if missing <= 0.0 || !missing.is_finite() {
        return 0;
    }
    if status.restore_rate <= 0.0 || !status.restore_rate.is_finite() {
        return 60_000; // a bucket that never refills: try again in a minute
    }
    let ms = missing * 1000.0 / status.restore_rate;
    // Round up, so that the call arrives after the points are there, not just before.
    let whole = ms as u64;
    if (whole as f64) < ms {
        whole + 1
    } else {
        whole
    }
}

/// The bucket as last seen, carried by the shell between calls so it can pace itself *before*
/// being throttled (quinn-style: it is told the time, never reads it).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CostBucket {
    seen: Option<(u64, ThrottleStatus)>,
}

impl CostBucket {
    /// Records the figures of an answer received at `now_ms`.
    pub fn observe(&mut self, now_ms: u64, status: ThrottleStatus) {
        self.seen = Some((now_ms, status));
    }

    /// The points estimated available at `now_ms` (unknown: `None`).
    pub fn available(&self, now_ms: u64) -> Option<f64> {
        let (at, s) = self.seen?;
        let elapsed_s = now_ms.saturating_sub(at) as f64 / 1000.0;
        Some((s.currently_available + elapsed_s * s.restore_rate).min(s.maximum_available))
    }

    /// How long to wait at `now_ms` before sending a call of `cost` (0 when unknown: the
    /// channel's answer will tell).
    pub fn delay_ms(&self, now_ms: u64, cost: f64) -> u64 {
        match (self.seen, self.available(now_ms)) {
            (Some((_, s)), Some(avail)) => wait_ms(
                cost,
                &ThrottleStatus {
                    currently_available: avail,
                    ..s
                },
            ),
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(current: f64) -> ThrottleStatus {
        ThrottleStatus {
            maximum_available: 1000.0,
            currently_available: current,
            restore_rate: 50.0,
        }
    }

    #[test]
    fn waits_are_computed() {
        assert_eq!(wait_ms(10.0, &status(10.0)), 0);
        assert_eq!(wait_ms(10.0, &status(0.0)), 200);
        assert_eq!(wait_ms(752.0, &status(666.0)), 1720); // the forum's throttled example
        assert_eq!(wait_ms(10.0, &status(9.99)), 1); // rounded up
        assert_eq!(wait_ms(5000.0, &status(0.0)), 20_000); // capped at a full bucket
        let never = ThrottleStatus {
            restore_rate: 0.0,
            ..status(0.0)
        };
        assert_eq!(wait_ms(10.0, &never), 60_000);
    }

    #[test]
    fn the_cost_is_read_from_any_answer() {
        let throttled = br#"{"errors":[{"message":"Throttled","extensions":{"code":"THROTTLED"}}],"extensions":{"cost":{"requestedQueryCost":752,"actualQueryCost":null,"throttleStatus":{"maximumAvailable":1000.0,"currentlyAvailable":666,"restoreRate":50.0}}}}"#;
        let c = cost_of(throttled).expect("a cost");
        assert_eq!(c.requested_query_cost, 752.0);
        assert_eq!(c.actual_query_cost, None);
        assert_eq!(c.throttle_status.currently_available, 666.0);
        assert_eq!(cost_of(br#"{"data":{}}"#), None);
        assert_eq!(cost_of(b"<html>"), None);
    }

    #[test]
    fn bucket_refills_with_time() {
        let mut b = CostBucket::default();
        assert_eq!(b.delay_ms(0, 100.0), 0);
        b.observe(1_000, status(0.0));
        assert_eq!(b.delay_ms(1_000, 100.0), 2_000);
        assert_eq!(b.delay_ms(2_000, 100.0), 1_000);
        assert_eq!(b.delay_ms(3_000, 100.0), 0);
        assert_eq!(b.available(100_000), Some(1000.0));
    }
}
