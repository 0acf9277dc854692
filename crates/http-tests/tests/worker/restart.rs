//! Restarting `wrangler dev` loses nothing: stock, orders and undelivered pushes survive on
//! disk (`--persist-to`), and the waiting pushes are delivered after the restart.

use serde_json::json;
use stocksync_http_tests::client::Api;
use stocksync_http_tests::receiver::Receiver;
use stocksync_http_tests::server::{test_key, wait_for, Options, Wrangler};

use crate::{given, SECS};

#[test]
fn restarting_wrangler_dev_loses_nothing_and_delivers_what_was_waiting() {
    let receiver = Receiver::start();
    receiver.set_down(true);
    let vars = [
        ("LEDGER_MAX_ROWS", "3"),
        ("JOB_PAGE", "2"),
        ("ALLOW_TENANT_HEADER", "1"),
        // Its webhook receiver listens on 127.0.0.1.
        ("ALLOW_PRIVATE_TARGETS", "1"),
        ("RETRY_BASE_MS", "100"),
        ("RETRY_MAX_MS", "200"),
        ("RETRY_MAX_ATTEMPTS", "1000"),
    ];
    let mut server = Wrangler::start(Options {
        name: "restart".into(),
        api_key: Some(test_key()),
        vars: vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    });
    let api = Api::new(&server, "restart");
    given(
        &api,
        json!([
            {"type": "location_put", "id": "L1", "location": {}},
            {"type": "item_put", "sku": "A", "item": {"levels": {"L1": 10}}},
            {"type": "channel_put", "id": "demo", "channel": {"locations": ["L1"], "target": {"kind": "demo"}}},
            {"type": "channel_put", "id": "hook", "channel": {"locations": ["L1"],
                "target": {"kind": "webhook", "url": receiver.url, "secret": "whsec-restart-01234"}}},
            {"type": "mappings_put", "mappings": [
                {"channel": "demo", "listing": "D-1", "sku": "A"},
                {"channel": "hook", "listing": "H-1", "sku": "A"}
            ]}
        ]),
    );
    for i in 0..3 {
        api.ok("POST", "/v1/orders", Some(json!({"channel": "demo", "order": format!("R-{i}"), "lines": [{"listing": "D-1", "qty": 1}]})));
    }
    let waiting = wait_for(10 * SECS, || {
        let hook = api.listing("hook", "H-1");
        let demo = api.listing("demo", "D-1");
        (demo["status"] == "in_sync"
            && hook["pending"] == 7
            && hook["attempts"].as_u64() >= Some(1))
        .then_some(hook)
    })
    .expect("the demo listing delivered, the webhook's push waiting");
    let before = api.export();

    server.stop();
    receiver.set_down(false);
    receiver.clear();
    server.restart();

    // The alarm was stored with the object: the waiting push goes out with no request at all.
    let delivered = wait_for(10 * SECS, || {
        Some(receiver.delivered()).filter(|d| !d.is_empty())
    })
    .expect("the waiting push delivered after the restart, without any request");
    assert_eq!(
        delivered.iter().map(|h| h.quantity()).collect::<Vec<_>>(),
        [Some(7)],
        "(was {waiting})"
    );

    let after = api.export();
    for part in ["locations", "items", "channels", "orders", "next_seq"] {
        assert_eq!(after[part], before[part], "{part} survived the restart");
    }
    let record = |s: &serde_json::Value, listing: &str| {
        s["listings"]
            .as_array()
            .and_then(|l| l.iter().find(|r| r["listing"] == listing).cloned())
            .expect("a listing")
    };
    let pending_seq = record(&before, "H-1")["pending"]["seq"].clone();
    assert_eq!(
        record(&after, "H-1")["acked_seq"],
        pending_seq,
        "the push that waited is the one delivered"
    );
    assert_eq!(record(&after, "D-1"), record(&before, "D-1"));
    assert_eq!(
        api.ok("GET", "/v1/items/A", None)["locations"]["L1"],
        json!({"on_hand": 10, "reserved": 3, "available": 7})
    );
    assert_eq!(
        api.demo("demo", "D-1").expect("the demo listing")["quantity"],
        7
    );

    api.wait_synced(10 * SECS).unwrap();
    let delivered = receiver.delivered();
    assert_eq!(
        delivered.iter().map(|h| h.quantity()).collect::<Vec<_>>(),
        [Some(7)],
        "delivered after the restart, once (was {waiting})"
    );
    let hook = api.listing("hook", "H-1");
    assert_eq!(
        (hook["status"].as_str(), hook["last_sent"].as_i64()),
        (Some("in_sync"), Some(7))
    );
}
