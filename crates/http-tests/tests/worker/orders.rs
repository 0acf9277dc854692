//! Orders are facts (SPEC §7.7): a duplicate answers as the first did and reserves nothing
//! more; 50 concurrent orders for the last 5 units are all recorded and 45 reported oversold.

use serde_json::{json, Value};

use stocksync_http_tests::client::Body;

use crate::{api, given, one_demo_listing, SECS};

/// SPEC §5.1: the same operation again is `200 "changed": false`; the other operation on a
/// closed order is `409 order_shipped` / `order_cancelled`; neither changes anything.
#[test]
fn a_repeated_cancel_or_ship_changes_nothing_and_the_other_one_is_a_conflict() {
    let api = api("lifecycle");
    one_demo_listing(&api, "A", 5);
    for o in ["C-1", "S-1"] {
        let order = json!({"channel": "demo", "order": o, "lines": [{"listing": "D-1", "qty": 1}]});
        api.ok("POST", "/v1/orders", Some(order));
    }
    let first = api.ok("POST", "/v1/orders/demo/C-1/cancel", None);
    assert_eq!(
        (first["status"].as_str(), first["changed"].as_bool()),
        (Some("cancelled"), Some(true))
    );
    let first = api.ok("POST", "/v1/orders/demo/S-1/ship", None);
    assert_eq!(
        (first["status"].as_str(), first["changed"].as_bool()),
        (Some("shipped"), Some(true))
    );
    api.wait_synced(10 * SECS).unwrap();
    let before = api.export();
    for (path, status) in [("C-1/cancel", "cancelled"), ("S-1/ship", "shipped")] {
        let again = api.ok("POST", &format!("/v1/orders/demo/{path}"), None);
        assert_eq!(
            (again["status"].as_str(), again["changed"].as_bool()),
            (Some(status), Some(false)),
            "{path}"
        );
        assert_eq!(again["pushes"], json!([]), "{path} plans nothing");
    }
    for (path, code) in [
        ("C-1/ship", "order_cancelled"),
        ("S-1/cancel", "order_shipped"),
    ] {
        let r = api.send("POST", &format!("/v1/orders/demo/{path}"), Body::None, &[]);
        assert_eq!(
            (r.status, r.code().as_deref()),
            (409, Some(code)),
            "{path}: {}",
            r.body
        );
    }
    assert_eq!(api.export(), before, "repeats and conflicts change nothing");
}

#[test]
fn a_duplicate_order_answers_as_the_first_and_reserves_nothing_more() {
    let api = api("dup");
    one_demo_listing(&api, "A", 5);
    api.wait_synced(10 * SECS).unwrap();
    let order = json!({"channel": "demo", "order": "O-1", "lines": [{"listing": "D-1", "qty": 2}]});
    let first = api.ok("POST", "/v1/orders", Some(order.clone()));
    api.wait_synced(10 * SECS).unwrap();
    let before = api.export();
    let again = api.ok("POST", "/v1/orders", Some(order));
    assert_eq!(first["duplicate"], false);
    assert_eq!(again["duplicate"], true);
    assert_eq!(
        (first["changed"].clone(), again["changed"].clone()),
        (json!(true), json!(false))
    );
    for field in [
        "order", "channel", "location", "status", "oversold", "lines",
    ] {
        assert_eq!(
            first[field], again[field],
            "{field} answers as the first did"
        );
    }
    assert_eq!(again["pushes"], json!([]), "a duplicate plans nothing");
    assert_eq!(api.export(), before, "a duplicate changes nothing");
    let item = api.ok("GET", "/v1/items/A", None);
    assert_eq!(
        item["locations"]["L1"],
        json!({"on_hand": 5, "reserved": 2, "available": 3})
    );
}

#[test]
fn fifty_concurrent_orders_for_the_last_five_units_are_all_recorded() {
    let api = api("rush");
    one_demo_listing(&api, "LAST5", 5);
    given(
        &api,
        json!([
            {"type": "channel_put", "id": "other", "channel": {"locations": ["L1"], "target": {"kind": "demo"}}},
            {"type": "mappings_put", "mappings": [
                {"channel": "other", "listing": "O-1", "sku": "LAST5"},
                {"channel": "other", "listing": "O-2", "sku": "LAST5", "rules": {"buffer": 1}}
            ]}
        ]),
    );
    api.wait_synced(10 * SECS).unwrap();
    let answers: Vec<Value> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..50)
            .map(|i| {
                let api = api.clone();
                s.spawn(move || {
                    let order = json!({"channel": "demo", "order": format!("RUSH-{i}"), "lines": [{"listing": "D-1", "qty": 1}]});
                    api.ok("POST", "/v1/orders", Some(order))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("an order thread"))
            .collect()
    });
    assert_eq!(answers.len(), 50);
    assert!(answers
        .iter()
        .all(|a| a["duplicate"] == false && a["status"] == "open"));
    let oversold: i64 = answers
        .iter()
        .map(|a| a["lines"][0]["oversold"].as_i64().expect("oversold"))
        .sum();
    assert_eq!(oversold, 45, "the 45 beyond stock are reported oversold");
    assert_eq!(answers.iter().filter(|a| a["oversold"] == true).count(), 45);

    let item = api.ok("GET", "/v1/items/LAST5", None);
    assert_eq!(
        item["locations"]["L1"],
        json!({"on_hand": 5, "reserved": 50, "available": -45})
    );
    assert_eq!(
        api.export()["orders"].as_array().map(Vec::len),
        Some(50),
        "none lost, none counted twice"
    );

    let sync = api.wait_synced(10 * SECS).unwrap();
    for l in &sync {
        assert_eq!(
            (l["last_sent"].as_i64(), l["status"].as_str()),
            (Some(0), Some("in_sync")),
            "{l}"
        );
    }
    assert_eq!(sync.len(), 3);
    for (c, l) in [("demo", "D-1"), ("other", "O-1"), ("other", "O-2")] {
        assert_eq!(
            api.demo(c, l).expect("received")["quantity"],
            0,
            "{c}/{l} shows 0"
        );
    }
}

#[test]
fn a_preview_plans_without_changing_anything_and_an_export_restores() {
    let api = api("preview");
    one_demo_listing(&api, "A", 5);
    api.wait_synced(10 * SECS).unwrap();
    let before = api.export();
    let preview = api.ok(
        "POST",
        "/v1/preview",
        Some(json!({"events": [{"type": "order_placed", "order": {"channel": "demo", "order": "P-1", "lines": [{"listing": "D-1", "qty": 2}]}}]})),
    );
    assert_eq!(preview["steps"][0]["pushes"][0]["quantity"], 3, "{preview}");
    assert_eq!(preview["changes"][0]["before"], 5);
    assert_eq!(api.export(), before, "a preview changes nothing");

    let restored = crate::api("restored");
    restored.ok("POST", "/v1/import", Some(before.clone()));
    restored.wait_synced(10 * SECS).unwrap();
    assert_eq!(
        restored.export(),
        before,
        "an export imported elsewhere is the same state"
    );
}
