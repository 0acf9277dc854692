//! Delivery to a signed webhook on a local HTTP server the test starts: the body, signature
//! and idempotency key; retries with backoff that deliver the latest number exactly once;
//! coalescing during an outage; the bound on attempts, `failing`, and resync.

use std::time::Duration;

use serde_json::json;
use stocksync_http_tests::client::Api;
use stocksync_http_tests::receiver::{Hit, Receiver};
use stocksync_http_tests::server::wait_for;
use stocksync_http_tests::{now_s, sign};

use crate::{api, given, SECS};

const SECRET: &str = "whsec-test-0123456789";

/// Location L1, item W-1 with 10, a webhook channel `hook` listing it as H-1; the first push
/// (10) is delivered before this returns.
fn webhook_tenant(name: &str, receiver: &Receiver) -> Api {
    let api = api(name);
    given(
        &api,
        json!([
            {"type": "location_put", "id": "L1", "location": {}},
            {"type": "item_put", "sku": "W-1", "item": {"levels": {"L1": 10}}},
            {"type": "channel_put", "id": "hook", "channel": {"locations": ["L1"],
                "target": {"kind": "webhook", "url": receiver.url, "secret": SECRET}}},
            {"type": "mappings_put", "mappings": [{"channel": "hook", "listing": "H-1", "sku": "W-1"}]}
        ]),
    );
    api.wait_synced(10 * SECS).unwrap();
    api
}

fn adjust(api: &Api, delta: i64) {
    api.ok(
        "POST",
        "/v1/items/W-1/adjust",
        Some(json!({"location": "L1", "delta": delta})),
    );
}

fn seqs(hits: &[Hit]) -> Vec<i64> {
    hits.iter()
        .map(|h| h.json()["seq"].as_i64().unwrap_or(-1))
        .collect()
}

#[test]
fn webhook_pushes_are_signed_json_with_an_idempotency_key() {
    let receiver = Receiver::start();
    let api = webhook_tenant("hook-sign", &receiver);
    adjust(&api, -3);
    api.wait_synced(10 * SECS).unwrap();
    let hits = receiver.delivered();
    assert_eq!(
        hits.iter().map(|h| h.quantity()).collect::<Vec<_>>(),
        [Some(10), Some(7)]
    );
    for hit in &hits {
        let body = hit.json();
        assert_eq!(
            (
                body["channel"].as_str(),
                body["listing"].as_str(),
                body["sku"].as_str()
            ),
            (Some("hook"), Some("H-1"), Some("W-1"))
        );
        let seq = body["seq"].as_u64().expect("a seq");
        let sent_at = body["sent_at"].as_str().expect("sent_at");
        assert!(
            sent_at.len() == 24 && sent_at.ends_with('Z') && sent_at.contains('T'),
            "ISO 8601 UTC: {sent_at}"
        );
        assert_eq!(
            hit.headers.get("idempotency-key"),
            Some(&format!("hook:H-1:{seq}"))
        );
        assert!(hit
            .headers
            .get("content-type")
            .is_some_and(|c| c.starts_with("application/json")));
        let header = hit
            .headers
            .get("x-stocksync-signature")
            .expect("a signature");
        let t: i64 = header
            .strip_prefix("t=")
            .and_then(|r| r.split(',').next())
            .and_then(|t| t.parse().ok())
            .expect("t=");
        assert!((now_s() - t).abs() < 60, "signed just now");
        assert_eq!(
            header,
            &sign(SECRET, t, hit.body.as_bytes()),
            "HMAC-SHA256 of \"t.body\" with the channel's secret"
        );
    }
    let s = seqs(&hits);
    assert!(s[0] < s[1], "a newer push has a larger seq: {s:?}");
}

#[test]
fn a_failing_endpoint_gets_the_latest_number_exactly_once_after_it_recovers() {
    let receiver = Receiver::start();
    let api = webhook_tenant("hook-retry", &receiver);
    receiver.clear();
    receiver.fail_next(3);
    adjust(&api, -1);
    api.wait_synced(10 * SECS).unwrap();
    let hits = receiver.hits();
    assert_eq!(
        hits.iter().map(|h| h.status).collect::<Vec<_>>(),
        [503, 503, 503, 200],
        "three failures, then one success"
    );
    assert!(
        hits.iter().all(|h| h.quantity() == Some(9)),
        "every attempt carries the latest number"
    );
    let keys: Vec<_> = hits
        .iter()
        .map(|h| h.headers.get("idempotency-key").cloned())
        .collect();
    assert!(
        keys.windows(2).all(|w| w[0] == w[1]),
        "retries reuse the idempotency key: {keys:?}"
    );
    let gaps: Vec<u128> = hits
        .windows(2)
        .map(|w| w[1].at.duration_since(w[0].at).as_millis())
        .collect();
    assert!(
        gaps.iter().all(|g| *g >= 15),
        "retries back off (base 40 ms, equal jitter): {gaps:?} ms"
    );
    let status = api.listing("hook", "H-1");
    assert_eq!(
        (
            status["status"].as_str(),
            status["last_sent"].as_i64(),
            status["attempts"].as_u64()
        ),
        (Some("in_sync"), Some(9), Some(0)),
        "{status}"
    );
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(receiver.delivered().len(), 1, "delivered exactly once");
}

#[test]
fn changes_during_an_outage_arrive_as_one_push_of_the_latest_number() {
    let receiver = Receiver::start();
    let api = webhook_tenant("hook-outage", &receiver);
    receiver.clear();
    receiver.set_down(true);
    for _ in 0..4 {
        adjust(&api, -1); // 9, 8, 7, 6
    }
    // The outage ends once the latest number has failed too (so no older one is in flight).
    wait_for(10 * SECS, || {
        let l = api.listing("hook", "H-1");
        (l["pending"] == 6 && l["attempts"].as_u64() >= Some(1)).then_some(())
    })
    .expect("the latest number tried during the outage");
    receiver.set_down(false);
    api.wait_synced(10 * SECS).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let delivered = receiver.delivered();
    assert_eq!(
        delivered.len(),
        1,
        "one push after the outage: {:?}",
        delivered.iter().map(Hit::quantity).collect::<Vec<_>>()
    );
    assert_eq!(delivered[0].quantity(), Some(6), "the latest number");
    let s = seqs(&receiver.hits());
    assert!(
        s.windows(2).all(|w| w[0] <= w[1]),
        "never an older number after a newer one: seqs {s:?}"
    );
}

#[test]
fn retries_stop_at_the_bound_and_the_listing_shows_failing_until_resynced() {
    let receiver = Receiver::start();
    let api = webhook_tenant("hook-bound", &receiver);
    receiver.clear();
    receiver.set_down(true);
    adjust(&api, -2);
    let failing = wait_for(10 * SECS, || {
        let l = api.listing("hook", "H-1");
        (l["attempts"] == 6).then_some(l)
    })
    .expect("six failed attempts");
    assert_eq!(failing["status"], "failing", "{failing}");
    assert_eq!(failing["pending"], 8);
    assert!(
        failing["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("503")),
        "{failing}"
    );
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(receiver.hits().len(), 6, "no attempt after the sixth");
    receiver.set_down(false);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        receiver.hits().len(),
        6,
        "nothing is retried until the number changes or a resync"
    );
    assert_eq!(api.listing("hook", "H-1")["status"], "failing");

    let resync = api.ok("POST", "/v1/sync/resync", Some(json!({"channel": "hook"})));
    assert_eq!(resync["pushes"][0]["quantity"], 8, "{resync}");
    api.wait_synced(10 * SECS).unwrap();
    let delivered = receiver.delivered();
    assert_eq!(
        delivered.iter().map(Hit::quantity).collect::<Vec<_>>(),
        [Some(8)]
    );
    let status = api.listing("hook", "H-1");
    assert_eq!(
        (status["status"].as_str(), status["attempts"].as_u64()),
        (Some("in_sync"), Some(0)),
        "{status}"
    );
    assert!(status["last_error"].is_null());
}

/// A `"batch": true` webhook: pushes arrive up to 100 per call as `{"pushes": [...]}`, each
/// with its own idempotency key, the call signed as a whole; a push the receiver names as
/// failed inside its 200 fails alone and is retried, the others are delivered once.
#[test]
fn a_batched_webhook_gets_up_to_100_pushes_per_call_and_one_refused_push_fails_alone() {
    let receiver = Receiver::start();
    receiver.refuse_listing(Some("B-7"));
    let api = api("hook-batch");
    let n = 250;
    let items: Vec<_> = (0..n)
        .map(|i| json!({"type": "item_put", "sku": format!("S-{i}"), "item": {"levels": {"L1": i % 9 + 1}}}))
        .collect();
    let mappings: Vec<_> = (0..n)
        .map(|i| json!({"channel": "hook", "listing": format!("B-{i}"), "sku": format!("S-{i}")}))
        .collect();
    let mut events = vec![json!({"type": "location_put", "id": "L1", "location": {}})];
    events.extend(items);
    events.push(
        json!({"type": "channel_put", "id": "hook", "channel": {"locations": ["L1"],
        "target": {"kind": "webhook", "url": receiver.url, "secret": SECRET, "batch": true}}}),
    );
    events.push(json!({"type": "mappings_put", "mappings": mappings}));
    given(&api, json!(events));

    let failing = wait_for(20 * SECS, || {
        let l = api.listing("hook", "B-7");
        (l["attempts"].as_u64() >= Some(3)).then_some(l)
    })
    .expect("B-7 fails on its own");
    assert!(
        failing["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("unknown product")),
        "{failing}"
    );
    let others = wait_for(20 * SECS, || {
        let listings = api.sync();
        let synced = listings.iter().filter(|l| l["status"] == "in_sync").count();
        (synced == n - 1).then_some(listings)
    });
    assert!(others.is_some(), "every other listing is delivered");

    let hits = receiver.delivered();
    let mut delivered = std::collections::BTreeMap::new();
    for hit in &hits {
        assert!(
            !hit.headers.contains_key("idempotency-key"),
            "keys are per push"
        );
        let header = hit.headers.get("x-stocksync-signature").expect("signed");
        let t: i64 = header
            .strip_prefix("t=")
            .and_then(|r| r.split(',').next())
            .and_then(|t| t.parse().ok())
            .expect("t=");
        assert_eq!(header, &sign(SECRET, t, hit.body.as_bytes()));
        let pushes = hit.json()["pushes"]
            .as_array()
            .cloned()
            .expect("a batch body");
        assert!((1..=100).contains(&pushes.len()), "{} pushes", pushes.len());
        for p in pushes {
            let listing = p["listing"].as_str().expect("listing").to_string();
            assert_eq!(
                p["idempotency_key"].as_str(),
                Some(format!("hook:{listing}:{}", p["seq"]).as_str())
            );
            if listing != "B-7" {
                assert!(
                    delivered
                        .insert(listing.clone(), p["quantity"].clone())
                        .is_none(),
                    "{listing} delivered once"
                );
            }
        }
    }
    assert_eq!(delivered.len(), n - 1);
    assert_eq!(delivered["B-12"], json!(12 % 9 + 1));
    let sizes: Vec<usize> = hits
        .iter()
        .map(|h| h.json()["pushes"].as_array().map_or(0, Vec::len))
        .collect();
    assert!(sizes.contains(&100), "a full call carries 100: {sizes:?}");

    // The receiver takes B-7 again: a resync delivers it.
    receiver.refuse_listing(None);
    receiver.clear();
    api.ok("POST", "/v1/sync/resync", Some(json!({"channel": "hook"})));
    api.wait_synced(20 * SECS).unwrap();
    let again: Vec<String> = receiver
        .delivered()
        .iter()
        .flat_map(|h| h.json()["pushes"].as_array().cloned().unwrap_or_default())
        .filter_map(|p| p["listing"].as_str().map(str::to_string))
        .collect();
    assert!(again.contains(&"B-7".to_string()), "{again:?}");
}
