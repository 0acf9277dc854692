//! The parsers and builders on payloads shaped exactly like the documented ones (shopify.dev
//! examples, WooCommerce REST docs, and the forum's throttled answer), with no server.

use serde_json::{json, Value};
use stocksync_channels::order::{InboundError, OrderAction};
use stocksync_channels::shopify::{self, ItemResult, PushAnswer, SetQuantity};
use stocksync_channels::signature::{sign_base64, SignatureError};
use stocksync_channels::target::{ShopifyTarget, WooTarget};
use stocksync_channels::woo::{self, StockUpdate, WooInbound};
use stocksync_channels::{listing::ListingAddress, push::CallFailure};

const NO_HEADERS: [(&str, &str); 0] = [];

fn shopify_api() -> stocksync_channels::target::ShopifyApi {
    ShopifyTarget {
        shop: "mugs.myshopify.com".into(),
        location_id: "gid://shopify/Location/655441491".into(),
        api_version: "2026-04".into(),
        access_token: Some("shpat_token".into()),
        webhook_secret: Some("secret".into()),
        endpoint: None,
    }
    .api(false)
    .unwrap()
}

fn woo_api() -> stocksync_channels::target::WooApi {
    WooTarget {
        site: "https://shop.example.com".into(),
        consumer_key: Some("ck_k".into()),
        consumer_secret: Some("cs_s".into()),
        webhook_secret: Some("w".into()),
        endpoint: None,
    }
    .api(false)
    .unwrap()
}

fn batch() -> Vec<SetQuantity> {
    vec![
        SetQuantity {
            inventory_item_id: 30322695,
            quantity: 11,
            change_from: Some(12),
        },
        SetQuantity {
            inventory_item_id: 30322696,
            quantity: 0,
            change_from: None,
        },
        SetQuantity {
            inventory_item_id: 30322697,
            quantity: 7,
            change_from: Some(3),
        },
    ]
}

#[test]
fn set_quantities_request_is_what_shopify_documents() {
    let api = shopify_api();
    let b = batch();
    let key = shopify::idempotency_key("shopify-uk", &[41, 42, 43], &b);
    let req = shopify::build_set_quantities(&api, &b, &key).unwrap();
    assert_eq!(req.method.as_str(), "POST");
    assert_eq!(
        req.url,
        "https://mugs.myshopify.com/admin/api/2026-04/graphql.json"
    );
    assert_eq!(req.header("x-shopify-access-token"), Some("shpat_token"));
    assert_eq!(req.header("content-type"), Some("application/json"));
    let body: Value = serde_json::from_slice(&req.body).unwrap();
    let query = body["query"].as_str().unwrap();
    // The directive sits on the mutation field, with a literal key (shopify.dev changelog).
    assert!(
        query.contains(&format!(
            "inventorySetQuantities(input: $input) @idempotent(key: \"{}\")",
            key.as_str()
        )),
        "{query}"
    );
    assert!(query.contains("userErrors { code field message }"));
    let input = &body["variables"]["input"];
    assert_eq!(input["name"], "available");
    assert_eq!(input["reason"], "correction");
    assert_eq!(
        input["quantities"][0],
        json!({
            "inventoryItemId": "gid://shopify/InventoryItem/30322695",
            "locationId": "gid://shopify/Location/655441491",
            "quantity": 11,
            "changeFromQuantity": 12,
        })
    );
    // Never delivered: an explicit null, not a missing field (2026-04 refuses a missing one).
    let second = input["quantities"][1].as_object().unwrap();
    assert_eq!(second.get("changeFromQuantity"), Some(&Value::Null));
    assert!(input.get("compareQuantity").is_none() && input.get("ignoreCompareQuantity").is_none());
}

#[test]
fn idempotency_keys_follow_the_variables() {
    let b = batch();
    let k = shopify::idempotency_key("c", &[1, 2, 3], &b);
    assert_eq!(
        k,
        shopify::idempotency_key("c", &[1, 2, 3], &b),
        "a retry keeps its key"
    );
    assert_ne!(
        k,
        shopify::idempotency_key("c", &[1, 2, 4], &b),
        "a new push gets a new key"
    );
    let mut stale_retry = b.clone();
    stale_retry[0].change_from = Some(10);
    assert_ne!(k, shopify::idempotency_key("c", &[1, 2, 3], &stale_retry));
    assert_ne!(
        k,
        shopify::idempotency_key("c#1", &[1, 2, 3], &b),
        "a salt gives a new key"
    );
    assert!(stocksync_channels::shopify::IdempotencyKey::new(k.as_str()).is_some());
    assert!(stocksync_channels::shopify::IdempotencyKey::new("a\"){ evil").is_none());
}

#[test]
fn set_quantities_refuses_bad_batches() {
    let api = shopify_api();
    let key = shopify::IdempotencyKey::new("k").unwrap();
    assert!(shopify::build_set_quantities(&api, &[], &key).is_err());
    let neg = [SetQuantity {
        inventory_item_id: 1,
        quantity: -1,
        change_from: None,
    }];
    assert!(shopify::build_set_quantities(&api, &neg, &key).is_err());
    let dup = [
        SetQuantity {
            inventory_item_id: 1,
            quantity: 1,
            change_from: None,
        },
        SetQuantity {
            inventory_item_id: 1,
            quantity: 2,
            change_from: None,
        },
    ];
    assert!(shopify::build_set_quantities(&api, &dup, &key).is_err());
    let many: Vec<_> = (1..=251)
        .map(|i| SetQuantity {
            inventory_item_id: i,
            quantity: 1,
            change_from: None,
        })
        .collect();
    assert!(shopify::build_set_quantities(&api, &many, &key).is_err());
}

fn answer(v: Value) -> Vec<u8> {
    serde_json::to_vec(&v).unwrap()
}

#[test]
fn set_quantities_answers() {
    let b = batch();
    // Success, with the cost extension Shopify adds to every answer.
    let ok = answer(json!({
        "data": {"inventorySetQuantities": {
            "inventoryAdjustmentGroup": {"id": "gid://shopify/InventoryAdjustmentGroup/1", "changes": [
                {"name": "available", "delta": -1, "quantityAfterChange": 11, "item": {"id": "gid://shopify/InventoryItem/30322695"}}
            ]},
            "userErrors": []
        }},
        "extensions": {"cost": {"requestedQueryCost": 10, "actualQueryCost": 10,
            "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": 1990, "restoreRate": 100.0}}}
    }));
    assert_eq!(
        shopify::parse_set_quantities(200, &NO_HEADERS, &ok, &b),
        PushAnswer::Done(vec![ItemResult::Applied; 3])
    );
    // A stale compare on quantity 2 and a bad item on 1: each named by its field path; the
    // untouched one is not applied (the group is null).
    let errs = answer(json!({
        "data": {"inventorySetQuantities": {
            "inventoryAdjustmentGroup": null,
            "userErrors": [
                {"code": "CHANGE_FROM_QUANTITY_STALE", "field": ["input", "quantities", "2", "changeFromQuantity"],
                 "message": "The changeFromQuantity value does not match persisted value."},
                {"code": "INVALID_INVENTORY_ITEM", "field": ["input", "quantities", "1", "inventoryItemId"],
                 "message": "The specified inventory item could not be found."}
            ]
        }}
    }));
    let PushAnswer::Done(r) = shopify::parse_set_quantities(200, &NO_HEADERS, &errs, &b) else {
        panic!()
    };
    assert_eq!(r[0], ItemResult::NotApplied);
    assert!(
        matches!(&r[1], ItemResult::Failed(e) if e.code == "INVALID_INVENTORY_ITEM" && e.permanent)
    );
    assert_eq!(r[2], ItemResult::Stale);
    // The other reading (Shopify applied the rest and says so in the group): applied.
    let partial = answer(json!({
        "data": {"inventorySetQuantities": {
            "inventoryAdjustmentGroup": {"id": "gid://shopify/InventoryAdjustmentGroup/2", "changes": [
                {"name": "available", "delta": 4, "quantityAfterChange": 11, "item": {"id": "gid://shopify/InventoryItem/30322695"}}
            ]},
            "userErrors": [{"code": "CHANGE_FROM_QUANTITY_STALE", "field": ["input", "quantities", "2", "changeFromQuantity"], "message": "stale"}]
        }}
    }));
    let PushAnswer::Done(r) = shopify::parse_set_quantities(200, &NO_HEADERS, &partial, &b) else {
        panic!()
    };
    assert_eq!(
        r,
        vec![
            ItemResult::Applied,
            ItemResult::NotApplied,
            ItemResult::Stale
        ]
    );
    // Idempotency codes are about the call.
    for (code, expect_new_key) in [
        ("IDEMPOTENCY_KEY_PARAMETER_MISMATCH", true),
        ("IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED", true),
        ("IDEMPOTENCY_CONCURRENT_REQUEST", false),
    ] {
        let a = answer(
            json!({"data": {"inventorySetQuantities": {"inventoryAdjustmentGroup": null,
            "userErrors": [{"code": code, "field": null, "message": "m"}]}}}),
        );
        let got = shopify::parse_set_quantities(200, &NO_HEADERS, &a, &b);
        if expect_new_key {
            assert!(
                matches!(got, PushAnswer::Failed(CallFailure::NewKeyNeeded { .. })),
                "{code}"
            );
        } else {
            assert_eq!(got, PushAnswer::Failed(CallFailure::InProgress));
        }
    }
}

#[test]
fn throttled_answers_wait_what_the_bucket_says() {
    let b = batch();
    // The forum's example: extensions beside errors, actualQueryCost null.
    let throttled = answer(json!({
        "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED",
            "documentation": "https://shopify.dev/api/usage/rate-limits"}}],
        "extensions": {"cost": {"requestedQueryCost": 752, "actualQueryCost": null,
            "throttleStatus": {"maximumAvailable": 1000.0, "currentlyAvailable": 666, "restoreRate": 50.0}}}
    }));
    for status in [200, 429] {
        assert_eq!(
            shopify::parse_set_quantities(status, &NO_HEADERS, &throttled, &b),
            PushAnswer::Failed(CallFailure::Throttled { wait_ms: 1720 }),
            "HTTP {status}"
        );
    }
    // A Retry-After longer than the bucket's wait wins.
    assert_eq!(
        shopify::parse_set_quantities(429, &[("Retry-After", "2.0")], &throttled, &b),
        PushAnswer::Failed(CallFailure::Throttled { wait_ms: 2000 })
    );
    // A bare 429 with no figures: Retry-After, else a second.
    assert_eq!(
        shopify::parse_set_quantities(429, &[("Retry-After", "5")], b"", &b),
        PushAnswer::Failed(CallFailure::Throttled { wait_ms: 5000 })
    );
    assert_eq!(
        shopify::parse_set_quantities(429, &NO_HEADERS, b"Too Many Requests", &b),
        PushAnswer::Failed(CallFailure::Throttled { wait_ms: 1000 })
    );
    assert!(!CallFailure::Throttled { wait_ms: 1 }.counts_as_attempt());
}

#[test]
fn other_call_failures() {
    let b = batch();
    let unauthorized = br#"{"errors":"[API] Invalid API key or access token (unrecognized login or wrong password)"}"#;
    assert!(matches!(
        shopify::parse_set_quantities(401, &NO_HEADERS, unauthorized, &b),
        PushAnswer::Failed(CallFailure::Unauthorized { status: 401, ref message }) if message.contains("Invalid API key")
    ));
    assert_eq!(
        shopify::parse_set_quantities(503, &[("Retry-After", "30")], b"<html>", &b),
        PushAnswer::Failed(CallFailure::Unavailable {
            status: 503,
            retry_after_ms: Some(30_000)
        })
    );
    let top = answer(
        json!({"errors": [{"message": "Field 'x' doesn't exist", "extensions": {"code": "undefinedField"}}]}),
    );
    assert!(matches!(
        shopify::parse_set_quantities(200, &NO_HEADERS, &top, &b),
        PushAnswer::Failed(CallFailure::Rejected { .. })
    ));
    assert!(matches!(
        shopify::parse_set_quantities(200, &NO_HEADERS, b"not json", &b),
        PushAnswer::Failed(CallFailure::Malformed(_))
    ));
}

#[test]
fn read_available_and_catalogue() {
    let api = shopify_api();
    let req = shopify::build_read_available(&api, &[1, 2, 3]);
    let body: Value = serde_json::from_slice(&req.body).unwrap();
    assert!(body["query"]
        .as_str()
        .unwrap()
        .contains("inventoryLevel(locationId: $locationId)"));
    assert_eq!(body["variables"]["ids"][2], "gid://shopify/InventoryItem/3");
    let a = answer(json!({"data": {"nodes": [
        {"id": "gid://shopify/InventoryItem/1", "inventoryLevel": {"quantities": [{"name": "available", "quantity": 4}]}},
        {"id": "gid://shopify/InventoryItem/2", "inventoryLevel": null},
        null
    ]}}));
    let levels = shopify::parse_read_available(200, &NO_HEADERS, &a, &[1, 2, 3]).unwrap();
    assert_eq!(
        levels.iter().map(|l| l.available).collect::<Vec<_>>(),
        vec![Some(4), None, None]
    );

    let req = shopify::build_variants_page(&api, Some("eyJsYXN0X2lkIjo"));
    let body: Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(
        body["variables"],
        json!({"first": 250, "after": "eyJsYXN0X2lkIjo"})
    );
    let page = answer(json!({"data": {"productVariants": {
        "nodes": [
            {"id": "gid://shopify/ProductVariant/43729076", "sku": "MUG-BLUE", "inventoryItem": {"id": "gid://shopify/InventoryItem/45560124"}},
            {"id": "gid://shopify/ProductVariant/43729077", "sku": "", "inventoryItem": {"id": "gid://shopify/InventoryItem/45560125"}}
        ],
        "pageInfo": {"hasNextPage": true, "endCursor": "eyJsYXN0X2lkIjo0MzcyOTA3N30="}
    }}}));
    let p = shopify::parse_variants_page(200, &NO_HEADERS, &page).unwrap();
    assert_eq!(p.listings[0].listing, "43729076");
    assert_eq!(p.listings[0].sku.as_deref(), Some("MUG-BLUE"));
    assert_eq!(
        p.listings[0].address,
        ListingAddress::ShopifyItem {
            inventory_item_id: 45560124
        }
    );
    assert_eq!(p.listings[1].sku, None, "an empty SKU is no SKU");
    assert_eq!(
        p.next_cursor.as_deref(),
        Some("eyJsYXN0X2lkIjo0MzcyOTA3N30=")
    );
}

fn shopify_order() -> Vec<u8> {
    // Trimmed from Shopify's orders/create example payload (REST shape).
    answer(json!({
        "id": 820982911946154508u64,
        "admin_graphql_api_id": "gid://shopify/Order/820982911946154508",
        "name": "#9999",
        "cancelled_at": null,
        "cancel_reason": null,
        "line_items": [
            {"id": 866550311766439020u64, "variant_id": 808950810, "product_id": 632910392, "sku": "IPOD2008PINK",
             "quantity": 1, "fulfillable_quantity": 1},
            {"id": 141249953214522974u64, "variant_id": 49148385, "product_id": 632910392, "sku": "IPOD2008RED",
             "quantity": 2, "fulfillable_quantity": 2},
            {"id": 1, "variant_id": null, "product_id": null, "sku": null, "quantity": 1, "fulfillable_quantity": 1}
        ]
    }))
}

fn shopify_headers<'a>(topic: &'a str, sig: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("X-Shopify-Topic", topic),
        ("X-Shopify-Hmac-Sha256", sig),
        ("X-Shopify-Shop-Domain", "mugs.myshopify.com"),
        (
            "X-Shopify-Webhook-Id",
            "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        ),
        ("X-Shopify-Event-Id", "98880550-7158-44d4-b7cd-2c97c8a091b5"),
    ]
}

#[test]
fn shopify_webhooks() {
    let body = shopify_order();
    let sig = sign_base64(b"secret", &body);
    let o = shopify::parse_webhook(
        "mugs.myshopify.com",
        b"secret",
        shopify_headers("orders/create", &sig).as_slice(),
        &body,
    )
    .unwrap();
    assert_eq!(o.action, OrderAction::Placed);
    assert_eq!(o.reference, "820982911946154508");
    assert_eq!(o.display.as_deref(), Some("#9999"));
    assert_eq!(o.lines.len(), 2, "the custom line has no listing");
    assert_eq!(
        (o.lines[1].listing.as_str(), o.lines[1].qty),
        ("49148385", 2)
    );
    assert_eq!(
        o.dedup_id.as_deref(),
        Some("98880550-7158-44d4-b7cd-2c97c8a091b5")
    );
    for (topic, action) in [
        ("orders/cancelled", OrderAction::Cancelled),
        ("orders/fulfilled", OrderAction::Shipped),
    ] {
        let o = shopify::parse_webhook(
            "mugs.myshopify.com",
            b"secret",
            shopify_headers(topic, &sig).as_slice(),
            &body,
        )
        .unwrap();
        assert_eq!(o.action, action);
    }
    // Refusals: modified body, other secret, other shop, unknown topic, no signature.
    let mut tampered = body.clone();
    *tampered.last_mut().unwrap() = b' ';
    assert_eq!(
        shopify::parse_webhook(
            "mugs.myshopify.com",
            b"secret",
            shopify_headers("orders/create", &sig).as_slice(),
            &tampered
        ),
        Err(InboundError::Signature(SignatureError::Mismatch))
    );
    assert!(shopify::parse_webhook(
        "mugs.myshopify.com",
        b"other",
        shopify_headers("orders/create", &sig).as_slice(),
        &body
    )
    .is_err());
    assert!(shopify::parse_webhook(
        "cups.myshopify.com",
        b"secret",
        shopify_headers("orders/create", &sig).as_slice(),
        &body
    )
    .is_err());
    let e = shopify::parse_webhook(
        "mugs.myshopify.com",
        b"secret",
        shopify_headers("products/update", &sig).as_slice(),
        &body,
    )
    .unwrap_err();
    assert_eq!(e.status(), 400);
    let e = shopify::parse_webhook(
        "mugs.myshopify.com",
        b"secret",
        &[("X-Shopify-Topic", "orders/create")],
        &body,
    )
    .unwrap_err();
    assert_eq!(e.status(), 401);
    // Signed but not an order.
    let junk = b"{\"hello\":1}";
    let sig = sign_base64(b"secret", junk);
    let e = shopify::parse_webhook(
        "mugs.myshopify.com",
        b"secret",
        shopify_headers("orders/create", &sig).as_slice(),
        junk,
    )
    .unwrap_err();
    assert_eq!(e.status(), 400);
}

#[test]
fn woo_stock_batches() {
    let api = woo_api();
    let mut updates: Vec<StockUpdate> = (1..=150)
        .map(|i| StockUpdate {
            id: i,
            parent_id: None,
            quantity: i,
        })
        .collect();
    updates.extend((1..=3).map(|i| StockUpdate {
        id: 1000 + i,
        parent_id: Some(999),
        quantity: 0,
    }));
    let calls = woo::build_stock_batches(&api, &updates);
    assert_eq!(calls.len(), 3);
    assert_eq!(
        calls[0].request.url,
        "https://shop.example.com/wp-json/wc/v3/products/batch"
    );
    assert_eq!(calls[0].items.len(), 100);
    assert_eq!(calls[1].items.len(), 50);
    assert_eq!(
        calls[2].request.url,
        "https://shop.example.com/wp-json/wc/v3/products/999/variations/batch"
    );
    assert_eq!(calls[2].items, vec![150, 151, 152]);
    assert!(calls[0]
        .request
        .header("authorization")
        .unwrap()
        .starts_with("Basic "));
    let body: Value = serde_json::from_slice(&calls[0].request.body).unwrap();
    assert_eq!(
        body["update"][0],
        json!({"id": 1, "manage_stock": true, "stock_quantity": 1})
    );

    // A 200 with one failing item (the REST docs' batch answer shape).
    let a = answer(json!({"update": [
        {"id": 799, "name": "Ship Your Idea", "manage_stock": true, "stock_quantity": 5},
        {"id": 11, "error": {"code": "woocommerce_rest_product_invalid_id", "message": "Invalid ID.", "data": {"status": 400}}}
    ]}));
    let r = woo::parse_stock_batch(200, &NO_HEADERS, &a, &[799, 11]).unwrap();
    assert_eq!(r[0], ItemResult::Applied);
    assert!(
        matches!(&r[1], ItemResult::Failed(e) if e.permanent && e.code == "woocommerce_rest_product_invalid_id")
    );
    let too_big = answer(json!({"code": "woocommerce_rest_request_entity_too_large",
        "message": "Unable to accept more than 100 items for this request.", "data": {"status": 413}}));
    assert!(matches!(
        woo::parse_stock_batch(413, &NO_HEADERS, &too_big, &[1]),
        Err(CallFailure::Rejected { status: 413, .. })
    ));
    assert!(matches!(
        woo::parse_stock_batch(401, &NO_HEADERS, b"{}", &[1]),
        Err(CallFailure::Unauthorized { .. })
    ));
    assert!(matches!(
        woo::parse_stock_batch(502, &NO_HEADERS, b"", &[1]),
        Err(CallFailure::Unavailable { .. })
    ));
}

fn woo_order(status: &str) -> Vec<u8> {
    // Trimmed from the REST docs' order example.
    answer(json!({
        "id": 727, "parent_id": 0, "number": "727", "status": status, "currency": "USD",
        "line_items": [
            {"id": 315, "name": "Woo Single #1", "product_id": 93, "variation_id": 0, "quantity": 2, "sku": ""},
            {"id": 316, "name": "Ship Your Idea - Color: Black", "product_id": 22, "variation_id": 23, "quantity": 1, "sku": "SYI-B"}
        ]
    }))
}

#[test]
fn woo_webhooks() {
    let body = woo_order("processing");
    let sig = sign_base64(b"w", &body);
    let headers = |topic: &'static str, sig: &str| -> Vec<(String, String)> {
        vec![
            ("X-WC-Webhook-Topic".into(), topic.into()),
            ("X-WC-Webhook-Signature".into(), sig.into()),
            ("X-WC-Webhook-Delivery-ID".into(), "41".into()),
        ]
    };
    let WooInbound::Order(o) =
        woo::parse_webhook(b"w", headers("order.created", &sig).as_slice(), &body).unwrap()
    else {
        panic!()
    };
    assert_eq!(o.action, OrderAction::Placed);
    assert_eq!(o.reference, "727");
    assert_eq!(
        o.lines[0].listing, "93",
        "product_id when variation_id is 0"
    );
    assert_eq!(o.lines[0].sku, None);
    assert_eq!(o.lines[1].listing, "23", "variation_id when set");
    assert_eq!(o.dedup_id.as_deref(), Some("41"));
    for (status, action) in [
        ("cancelled", OrderAction::Cancelled),
        ("completed", OrderAction::Shipped),
        ("on-hold", OrderAction::Placed),
        ("refunded", OrderAction::Ignored),
    ] {
        let body = woo_order(status);
        let sig = sign_base64(b"w", &body);
        let WooInbound::Order(o) =
            woo::parse_webhook(b"w", headers("order.updated", &sig).as_slice(), &body).unwrap()
        else {
            panic!()
        };
        assert_eq!(o.action, action, "{status}");
    }
    // The creation ping, unsigned.
    assert_eq!(
        woo::parse_webhook(b"w", &NO_HEADERS, b"webhook_id=15").unwrap(),
        WooInbound::Ping { webhook_id: 15 }
    );
    // Unsigned anything else: 401. Forged, tampered: 401. Wrong topic: 400.
    assert_eq!(
        woo::parse_webhook(b"w", &NO_HEADERS, &body)
            .unwrap_err()
            .status(),
        401
    );
    assert_eq!(
        woo::parse_webhook(b"x", headers("order.created", &sig).as_slice(), &body)
            .unwrap_err()
            .status(),
        401
    );
    let mut tampered = body.clone();
    tampered[10] ^= 1;
    assert_eq!(
        woo::parse_webhook(b"w", headers("order.created", &sig).as_slice(), &tampered)
            .unwrap_err()
            .status(),
        401
    );
    assert_eq!(
        woo::parse_webhook(b"w", headers("product.updated", &sig).as_slice(), &body)
            .unwrap_err()
            .status(),
        400
    );
}

#[test]
fn a_delivery_run_is_planned_in_calls_of_250() {
    let api = shopify_api();
    let mut items: Vec<(u64, SetQuantity)> = (1..=600)
        .map(|i| {
            (
                1000 + i,
                SetQuantity {
                    inventory_item_id: i,
                    quantity: 1,
                    change_from: None,
                },
            )
        })
        .collect();
    items.push((
        2000,
        SetQuantity {
            inventory_item_id: 5,
            quantity: 2,
            change_from: None,
        },
    ));
    items.push((
        2001,
        SetQuantity {
            inventory_item_id: 9999,
            quantity: -3,
            change_from: None,
        },
    ));
    let (calls, refused) = shopify::plan_set_calls(&api, "shopify-uk", &items);
    assert_eq!(
        calls.iter().map(|c| c.items.len()).collect::<Vec<_>>(),
        vec![250, 250, 100]
    );
    assert_eq!(
        refused.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
        vec![600, 601]
    );
    let keys: std::collections::BTreeSet<_> = calls.iter().map(|c| c.key.as_str()).collect();
    assert_eq!(keys.len(), 3, "one key per call");
    assert_eq!(calls[1].batch[0].inventory_item_id, 251);
    let body: Value = serde_json::from_slice(&calls[2].request.body).unwrap();
    assert!(body["query"]
        .as_str()
        .unwrap()
        .contains(calls[2].key.as_str()));
    // Planned again, the same run gives the same keys (a resend after a lost answer).
    let (again, _) = shopify::plan_set_calls(&api, "shopify-uk", &items);
    assert_eq!(again[0].key, calls[0].key);
}
