//! The seed's story (SPEC §2.6) end to end on the committed demo merchant, through the demo
//! channel: the listing is edited to 10 directly on the channel, the hub sends nothing; an
//! order arrives; the listing is overwritten with 4.

use std::time::Duration;

use serde_json::json;
use stocksync_http_tests::server::repo_root;

use crate::{api, SECS};

#[test]
fn the_seed_story_end_to_end_through_the_demo_channel() {
    let api = api("seed");
    let merchant = std::fs::read_to_string(repo_root().join("demo/merchant.json"))
        .expect("demo/merchant.json");
    let merchant: serde_json::Value = serde_json::from_str(&merchant).expect("JSON");
    let imported = api.ok("POST", "/v1/import", Some(merchant));
    assert!(
        !imported["pushes"].as_array().expect("pushes").is_empty(),
        "an import of a new merchant plans pushes"
    );
    api.wait_synced(10 * SECS).unwrap();

    // 1. TEST_SS7052 has 5 available, and the eBay listing shows 5.
    let item = api.ok("GET", "/v1/items/TEST_SS7052", None);
    assert_eq!(item["locations"]["LONDON"]["available"], 5);
    let ebay = api
        .demo("ebay-uk", "EB-7052")
        .expect("eBay received its number");
    assert_eq!(
        (ebay["quantity"].as_i64(), ebay["edited"].as_bool()),
        (Some(5), Some(false))
    );

    // 2-3. Changed to 10 directly on the eBay listing: the hub does not see it, sends nothing.
    let edited = api.ok(
        "PUT",
        "/v1/demo/ebay-uk/EB-7052",
        Some(json!({"quantity": 10})),
    );
    assert_eq!(
        (edited["quantity"].as_i64(), edited["edited"].as_bool()),
        (Some(10), Some(true))
    );
    std::thread::sleep(Duration::from_millis(400));
    let status = api.listing("ebay-uk", "EB-7052");
    assert_eq!(
        (status["status"].as_str(), status["last_sent"].as_i64()),
        (Some("in_sync"), Some(5)),
        "{status}"
    );
    assert!(
        status["pending"].is_null(),
        "the hub plans nothing for an edit it cannot see: {status}"
    );
    assert_eq!(
        api.demo("ebay-uk", "EB-7052").expect("still there")["quantity"],
        10
    );

    // 4-6. An order for one unit arrives from the shop, is saved and reserves stock.
    let order = api.ok(
        "POST",
        "/v1/orders",
        Some(json!({"channel": "shop", "order": "SO-1", "lines": [{"listing": "SHOP-7052", "qty": 1}]})),
    );
    assert_eq!(
        (order["status"].as_str(), order["duplicate"].as_bool()),
        (Some("open"), Some(false))
    );
    let pushes = order["pushes"].as_array().expect("pushes");
    let to_ebay = pushes
        .iter()
        .find(|p| p["listing"] == "EB-7052")
        .expect("a push to eBay");
    assert_eq!(
        (to_ebay["quantity"].as_i64(), to_ebay["previous"].as_i64()),
        (Some(4), Some(5))
    );
    let item = api.ok("GET", "/v1/items/TEST_SS7052", None);
    assert_eq!(
        item["locations"]["LONDON"],
        json!({"on_hand": 5, "reserved": 1, "available": 4})
    );

    // 7. The new number went to every linked listing, overwriting the 10 set on eBay.
    api.wait_synced(10 * SECS).unwrap();
    let ebay = api.demo("ebay-uk", "EB-7052").expect("eBay");
    assert_eq!(
        (ebay["quantity"].as_i64(), ebay["edited"].as_bool()),
        (Some(4), Some(false)),
        "{ebay}"
    );
    assert_eq!(ebay["last_received"]["quantity"], 4);
    assert_eq!(api.demo("shop", "SHOP-7052").expect("shop")["quantity"], 4);
    assert_eq!(
        api.demo("amazon-uk", "AMZ-7052").expect("amazon")["quantity"],
        3,
        "amazon keeps a buffer of 1"
    );
}

#[test]
fn the_demo_routes_refuse_what_is_not_a_demo_listing() {
    let api = api("demo-routes");
    crate::one_demo_listing(&api, "A", 3);
    api.wait_synced(10 * SECS).unwrap();
    assert_eq!(
        api.get("/v1/demo/nochannel/D-1").code().as_deref(),
        Some("unknown_channel")
    );
    assert_eq!(api.get("/v1/demo/demo/NEVER").status, 404);
    let r = api.send(
        "PUT",
        "/v1/demo/demo/D-1",
        stocksync_http_tests::client::Body::Json(json!({"quantity": -1})),
        &[],
    );
    assert_eq!(
        (r.status, r.code().as_deref()),
        (400, Some("invalid_quantity"))
    );
}
