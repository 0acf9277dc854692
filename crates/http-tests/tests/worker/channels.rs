//! Shopify and WooCommerce end to end under `wrangler dev`, against the strict local fakes of
//! stocksync-channels (feature `fake`): pushes out (batched, compare-and-swap, idempotent,
//! throttled, per-item failures, outages) and orders in (the channels' own signed webhooks:
//! duplicated, reordered, forged, the WooCommerce ping).

use serde_json::{json, Value};
use stocksync_channels::fake::shopify::{self as fshop, FakeShopify, ShopifyConfig};
use stocksync_channels::fake::woo::{self as fwoo, FakeWoo, WooConfig, WooKind};
use stocksync_channels::fake::SignedWebhook;
use stocksync_http_tests::client::{Api, Body, Resp};
use stocksync_http_tests::server::{test_key, wait_for, Options, Wrangler};

use crate::{api, SECS};

const SHOP_SECRET: &str = "shopify-webhook-secret-1";
const WOO_SECRET: &str = "woo-webhook-secret-1";
const SKU: &str = "TEST_SS7052";
/// The Shopify listing (variant) and its inventory item; the WooCommerce listing (product).
const VARIANT: u64 = 101;
const ITEM: u64 = 201;
const PRODUCT: u64 = 301;

struct Shop {
    api: Api,
    shopify: FakeShopify,
    woo: FakeWoo,
}

/// Location L1 with `on_hand` of the seed's sku, a Shopify channel `shop` and a WooCommerce
/// channel `woo` on the fakes, each listing it; the first pushes delivered.
fn shop(name: &str, on_hand: i64, shopify_config: ShopifyConfig) -> Shop {
    let api = api(name);
    let shopify = FakeShopify::start(shopify_config);
    shopify.add_variant(VARIANT, ITEM, SKU, 0);
    let woo = FakeWoo::start(WooConfig::default());
    woo.add(PRODUCT, WooKind::Simple, SKU, 0);
    let sc = shopify.config();
    let wc = woo.config();
    crate::given(
        &api,
        json!([
            {"type": "location_put", "id": "L1", "location": {}},
            {"type": "item_put", "sku": SKU, "item": {"levels": {"L1": on_hand}}},
            {"type": "channel_put", "id": "shop", "channel": {"locations": ["L1"], "target": {
                "kind": "shopify", "shop": sc.shop, "api_version": sc.api_version,
                "location_id": format!("gid://shopify/Location/{}", sc.location_id),
                "access_token": sc.access_token, "webhook_secret": SHOP_SECRET,
                "endpoint": shopify.endpoint()}}},
            {"type": "channel_put", "id": "woo", "channel": {"locations": ["L1"], "target": {
                "kind": "woocommerce", "site": "https://shop.example",
                "consumer_key": wc.consumer_key, "consumer_secret": wc.consumer_secret,
                "webhook_secret": WOO_SECRET, "endpoint": woo.endpoint()}}},
            {"type": "mappings_put", "mappings": [
                {"channel": "shop", "listing": VARIANT.to_string(), "sku": SKU},
                {"channel": "woo", "listing": PRODUCT.to_string(), "sku": SKU}]}
        ]),
    );
    api.wait_synced(15 * SECS).unwrap();
    assert_eq!(
        shopify.available(ITEM),
        Some(on_hand),
        "first push to Shopify"
    );
    assert_eq!(
        woo.stock(PRODUCT),
        Some(on_hand),
        "first push to WooCommerce"
    );
    Shop { api, shopify, woo }
}

fn post(api: &Api, channel: &str, w: &SignedWebhook) -> Resp {
    let headers: Vec<(&str, &str)> = w
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    api.with_key(None).send(
        "POST",
        &format!("/v1/channels/{channel}/inbound"),
        Body::Raw("", w.body.clone()),
        &headers,
    )
}

fn woo_order(order: u64, status: &str, topic: &str, delivery: u64) -> SignedWebhook {
    let body = fwoo::order_payload(order, status, &[(PRODUCT, 0, SKU, 1)]);
    fwoo::order_webhook(WOO_SECRET, topic, 7, delivery, &body)
}

fn reserved(api: &Api) -> i64 {
    api.ok("GET", &format!("/v1/items/{SKU}"), None)["locations"]["L1"]["reserved"]
        .as_i64()
        .unwrap()
}

fn settle(s: &Shop, shopify: i64, woo: i64) {
    s.api.wait_synced(15 * SECS).unwrap();
    let got = wait_for(10 * SECS, || {
        let now = (s.shopify.available(ITEM), s.woo.stock(PRODUCT));
        (now == (Some(shopify), Some(woo))).then_some(now)
    });
    assert!(
        got.is_some(),
        "want Shopify {shopify} and WooCommerce {woo}, have {:?} / {:?}; sync {}",
        s.shopify.available(ITEM),
        s.woo.stock(PRODUCT),
        Value::from(s.api.sync())
    );
}

#[test]
fn the_seed_story_on_shopify_and_woocommerce() {
    let s = shop("channels-seed", 5, ShopifyConfig::default());
    // Edited directly on Shopify: 10.
    s.shopify.admin_edit(ITEM, 10);
    // A sale on WooCommerce arrives as its signed webhook.
    let r = post(
        &s.api,
        "woo",
        &woo_order(5001, "processing", "order.created", 1),
    );
    assert!(r.is_success(), "{}", r.body);
    assert_eq!(r.json()["status"], "open", "{}", r.body);
    // The hub's number (4) overwrites the edit on Shopify (a stale compare, then the resend)
    // and goes to WooCommerce.
    settle(&s, 4, 4);
}

#[test]
fn channel_webhooks_duplicated_reordered_forged_and_the_ping() {
    let s = shop("channels-webhooks", 5, ShopifyConfig::default());
    // The WooCommerce creation ping: exactly 200, nothing changed.
    let r = post(&s.api, "woo", &fwoo::ping(7));
    assert_eq!(r.status, 200, "{}", r.body);
    // A Shopify sale: the fake's number drops, its webhook arrives twice.
    let w = s.shopify.sell(ITEM, 1, SHOP_SECRET);
    let first = post(&s.api, "shop", &w);
    assert!(first.is_success(), "{}", first.body);
    assert_eq!(first.json()["duplicate"], false);
    let again = post(&s.api, "shop", &w);
    assert!(again.is_success(), "{}", again.body);
    assert_eq!(again.json()["duplicate"], true, "{}", again.body);
    assert_eq!(reserved(&s.api), 1, "reserved once");
    // Forged: one byte changed, a wrong secret, no signature. 401, nothing changed.
    let mut forged = w.clone();
    let at = forged.body.len() / 2;
    forged.body[at] ^= 1;
    let other = fshop::order_webhook(
        &s.shopify.config().shop,
        "not-the-secret",
        "orders/create",
        &fshop::order_payload(77, &[(VARIANT, SKU, 3)]),
    );
    let mut unsigned = other.clone();
    unsigned
        .headers
        .retain(|(k, _)| !k.eq_ignore_ascii_case("X-Shopify-Hmac-Sha256"));
    for bad in [&forged, &other, &unsigned] {
        let r = post(&s.api, "shop", bad);
        assert_eq!(r.status, 401, "{}", r.body);
    }
    let mut woo_forged = woo_order(5002, "processing", "order.created", 2);
    woo_forged.body[3] ^= 1;
    assert_eq!(post(&s.api, "woo", &woo_forged).status, 401);
    assert_eq!(reserved(&s.api), 1, "forged webhooks changed nothing");
    // Reordered: WooCommerce's completion arrives before its creation: refused (the order is
    // unknown; WooCommerce retries), then both in order apply once.
    let completed = woo_order(5003, "completed", "order.updated", 3);
    let r = post(&s.api, "woo", &completed);
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(reserved(&s.api), 1);
    let r = post(
        &s.api,
        "woo",
        &woo_order(5003, "processing", "order.created", 4),
    );
    assert!(r.is_success(), "{}", r.body);
    assert_eq!(reserved(&s.api), 2);
    let r = post(&s.api, "woo", &completed);
    assert!(r.is_success(), "{}", r.body);
    assert_eq!(reserved(&s.api), 1, "shipped: released and taken off hand");
    // The channels converge on the hub's number: 5 − 1 (Shopify) − 1 (shipped) = 3.
    settle(&s, 3, 3);
}

#[test]
fn a_shopify_sale_heard_late_after_a_sale_elsewhere_converges() {
    let s = shop("channels-stale", 5, ShopifyConfig::default());
    // A sale on Shopify whose webhook has not arrived yet…
    let late = s.shopify.sell(ITEM, 1, SHOP_SECRET);
    assert_eq!(s.shopify.available(ITEM), Some(4));
    // …then a sale on WooCommerce: the hub pushes 4 to Shopify with changeFromQuantity 5.
    let r = post(
        &s.api,
        "woo",
        &woo_order(6001, "processing", "order.created", 1),
    );
    assert!(r.is_success(), "{}", r.body);
    // Stale: Shopify lost a unit no heard order explains, so the hub holds it back and sends 3,
    // not 4 (4 would list a unit already sold twice). Never above what is really left.
    let held = wait_for(15 * SECS, || {
        (s.shopify.available(ITEM) == Some(3) && s.woo.stock(PRODUCT) == Some(4)).then_some(())
    });
    assert!(
        held.is_some(),
        "Shopify {:?} (want 3), WooCommerce {:?} (want 4)",
        s.shopify.available(ITEM),
        s.woo.stock(PRODUCT)
    );
    // The Shopify listing waits, held back: its push of the hub's 4 is pending, no attempt.
    let listing = s.api.listing("shop", &VARIANT.to_string());
    assert_eq!(listing["attempts"], 0, "{listing}");
    assert!(!listing["pending"].is_null(), "{listing}");
    let calls = s.shopify.calls().len();
    std::thread::sleep(2 * SECS);
    assert!(
        s.shopify.calls().len() <= calls + 1,
        "a held listing is not resent in a loop"
    );
    assert_eq!(s.shopify.available(ITEM), Some(3));
    // The late webhook: the hub now knows both sales; the hold is paid and every channel
    // shows 3.
    let r = post(&s.api, "shop", &late);
    assert!(r.is_success(), "{}", r.body);
    settle(&s, 3, 3);
    assert_eq!(reserved(&s.api), 2);
}

#[test]
fn a_throttled_shopify_is_waited_for_not_hammered() {
    // A slow bucket (20 points/s), so the drained bucket cannot refill to a mutation's 10
    // points before the hub's call.
    let s = shop(
        "channels-throttle",
        20,
        ShopifyConfig {
            restore_rate: 20.0,
            ..ShopifyConfig::default()
        },
    );
    // Empty the fake's bucket: the next mutation is THROTTLED; the hub waits for the refill.
    s.shopify.drain_bucket(0.0);
    s.api.ok(
        "POST",
        &format!("/v1/items/{SKU}/adjust"),
        Some(json!({"location": "L1", "delta": -2})),
    );
    settle(&s, 18, 18);
    let calls = s.shopify.calls();
    let throttled = calls.iter().filter(|c| c.throttled).count();
    assert!(throttled >= 1, "the fake throttled: {calls:?}");
    assert!(
        throttled <= 3,
        "waited rather than hammered: {throttled} throttled calls"
    );
    let listing = s.api.listing("shop", &VARIANT.to_string());
    assert_eq!(
        listing["attempts"], 0,
        "throttling is no failed attempt: {listing}"
    );
}

#[test]
fn shopify_calls_are_paced_by_the_cost_bucket_not_throttled() {
    // A bucket of 12 points restoring 4 a second: a mutation (10 points) right after another
    // would be THROTTLED; the hub waits until the bucket has restored instead.
    let s = shop(
        "channels-paced",
        20,
        ShopifyConfig {
            bucket_max: 12.0,
            restore_rate: 4.0,
            ..ShopifyConfig::default()
        },
    );
    for (i, want) in [19, 18, 17, 16].into_iter().enumerate() {
        s.api.ok(
            "POST",
            &format!("/v1/items/{SKU}/adjust"),
            Some(json!({"location": "L1", "delta": -1})),
        );
        let landed = wait_for(30 * SECS, || {
            (s.shopify.available(ITEM) == Some(want)).then_some(())
        });
        assert!(
            landed.is_some(),
            "push {i} ({want}) landed: Shopify shows {:?}; {}",
            s.shopify.available(ITEM),
            s.api.listing("shop", &VARIANT.to_string())
        );
    }
    settle(&s, 16, 16);
    let calls = s.shopify.calls();
    let throttled = calls.iter().filter(|c| c.throttled).count();
    assert!(
        throttled <= 1,
        "at most the first call, before the bucket was known: {calls:?}"
    );
    let sets: Vec<i64> = s
        .shopify
        .applied()
        .into_iter()
        .filter(|(item, _)| *item == ITEM)
        .map(|(_, q)| q)
        .collect();
    assert_eq!(sets, [20, 19, 18, 17, 16], "every push landed, once");
    let listing = s.api.listing("shop", &VARIANT.to_string());
    assert_eq!(
        listing["attempts"], 0,
        "pacing is no failed attempt: {listing}"
    );
}

#[test]
fn a_direct_edit_down_is_held_then_overwritten_when_the_hold_lapses() {
    // The shared instance's hold is short (`STALE_HOLD_MS`, crates/http-tests/src/server.rs).
    let s = shop("channels-lapse", 5, ShopifyConfig::default());
    // The merchant sets 2 on Shopify directly; then goods in: the hub wants 6.
    s.shopify.admin_edit(ITEM, 2);
    s.api.ok(
        "POST",
        &format!("/v1/items/{SKU}/adjust"),
        Some(json!({"location": "L1", "delta": 1})),
    );
    // Stale: 3 units lost without an order the hub heard of may be sales, so they are held
    // back (3 sent); no order ever explains them, so the hold lapses and the alarm sends the
    // hub's 6 over the edit, with no new order or change.
    let over = wait_for(90 * SECS, || {
        (s.shopify.available(ITEM) == Some(6)).then_some(())
    });
    let sets: Vec<i64> = s
        .shopify
        .applied()
        .into_iter()
        .filter(|(item, _)| *item == ITEM)
        .map(|(_, q)| q)
        .collect();
    assert!(
        over.is_some(),
        "the hub's number after the lapse: Shopify shows {:?}, sets {sets:?}; {}",
        s.shopify.available(ITEM),
        s.api.listing("shop", &VARIANT.to_string())
    );
    assert_eq!(sets, [5, 3, 6], "first held back, then the hub's number");
    assert_eq!(reserved(&s.api), 0, "no order");
    settle(&s, 6, 6);
    let listing = s.api.listing("shop", &VARIANT.to_string());
    assert_eq!(listing["last_sent"], 6, "{listing}");
}

#[test]
fn a_woocommerce_batch_with_one_bad_item_fails_that_listing_alone() {
    let s = shop("channels-woo-bad", 5, ShopifyConfig::default());
    s.woo.add(302, WooKind::Simple, SKU, 0);
    s.woo.mark_bad(302);
    s.api.ok(
        "PUT",
        "/v1/mappings",
        Some(json!([{"channel": "woo", "listing": "302", "sku": SKU}])),
    );
    let failed = wait_for(15 * SECS, || {
        let l = s.api.listing("woo", "302");
        (l["attempts"].as_i64().unwrap_or(0) >= 1).then_some(l)
    });
    assert!(failed.is_some(), "{}", s.api.listing("woo", "302"));
    s.api.ok(
        "POST",
        &format!("/v1/items/{SKU}/adjust"),
        Some(json!({"location": "L1", "delta": -1})),
    );
    let ok = wait_for(15 * SECS, || {
        (s.woo.stock(PRODUCT) == Some(4)).then_some(())
    });
    assert!(ok.is_some(), "the good item of the batch is delivered");
    assert_eq!(s.woo.stock(302), Some(0), "the bad item is not");
}

#[test]
fn an_outage_then_recovery_delivers_the_latest_number() {
    let s = shop("channels-outage", 9, ShopifyConfig::default());
    s.shopify.set_down(true);
    s.woo.set_down(true);
    for delta in [-1, -1, -1] {
        s.api.ok(
            "POST",
            &format!("/v1/items/{SKU}/adjust"),
            Some(json!({"location": "L1", "delta": delta})),
        );
    }
    let failing = wait_for(15 * SECS, || {
        let l = s.api.listing("shop", &VARIANT.to_string());
        (l["attempts"].as_i64().unwrap_or(0) >= 1).then_some(l)
    });
    assert!(
        failing.is_some(),
        "{}",
        s.api.listing("shop", &VARIANT.to_string())
    );
    s.shopify.set_down(false);
    s.woo.set_down(false);
    settle(&s, 6, 6);
}

/// Polls a job until it is no longer running; its last view.
fn finished(api: &Api, id: &str) -> Value {
    let path = format!("/v1/jobs/{id}");
    wait_for(120 * SECS, || {
        let j = api.ok("GET", &path, None);
        (j["state"] != "running").then_some(j)
    })
    .unwrap_or_else(|| panic!("job {id} did not end: {}", api.ok("GET", &path, None)))
}

#[test]
fn discovery_of_a_10000_variant_store_is_a_job_that_links_by_sku_and_pushes() {
    // A bucket that allows about four pages a second (a page asks for 252 points), so the
    // job paces itself on the bucket between pages.
    let s = shop(
        "channels-discover",
        5,
        ShopifyConfig {
            bucket_max: 1_000.0,
            restore_rate: 1_000.0,
            ..ShopifyConfig::default()
        },
    );
    s.shopify.add_variants(10_000, 1_000_000, "BIG-");
    // Three of the store's skus are hub skus.
    for i in [0, 4_321, 9_999] {
        s.api.ok(
            "PUT",
            &format!("/v1/items/BIG-{i}"),
            Some(json!({"levels": {"L1": 7}})),
        );
    }
    let r = s
        .api
        .send("POST", "/v1/channels/shop/discover", Body::None, &[]);
    assert_eq!(r.status, 202, "more than a page is a job: {}", r.body);
    let accepted = r.json();
    let id = accepted["job"].as_str().expect("a job id").to_string();
    assert_eq!(
        accepted["progress"]["pages"], 1,
        "the first page read in the request: {accepted}"
    );
    // One discovery per channel: asked again while it runs, the answer is the same job.
    let again = s
        .api
        .send("POST", "/v1/channels/shop/discover", Body::None, &[]);
    assert_eq!(again.status, 202, "{}", again.body);
    assert_eq!(again.json()["job"], id.as_str(), "{}", again.body);

    let done = finished(&s.api, &id);
    assert_eq!(done["state"], "done", "{done}");
    assert_eq!(done["kind"], "discover");
    let r = &done["result"];
    assert_eq!(r["listings"], 10_001, "{r}");
    assert_eq!(r["pages"], 41, "250 variants a page, each page once: {r}");
    assert_eq!(r["linked"], 3, "{r}");
    assert_eq!(
        r["unmatched"], 9_997,
        "already-linked and unknown skus: {}",
        done["progress"]
    );
    assert_eq!(
        r["unmatched_listings"].as_array().map(Vec::len),
        Some(1_000)
    );
    assert_eq!(
        r["unmatched_listings"][0],
        json!({"listing": "1000001", "sku": "BIG-1"})
    );
    assert_eq!(r["complete"], true, "{r}");
    assert_eq!(done["done"], 10_001);
    let listings = s.api.wait_synced(30 * SECS).unwrap();
    // Every listing of the catalogue is recorded: the unmatched ones as unlinked listings,
    // for the merchant to map.
    let unlinked = s.api.listing("shop", "1000001");
    assert_eq!(
        (unlinked["status"].as_str(), unlinked["sku"].as_str()),
        (Some("not_eligible"), None),
        "{unlinked}"
    );
    assert!(listings.len() >= 10_000, "{} listings", listings.len());
    for i in [0u64, 4_321, 9_999] {
        assert_eq!(
            s.shopify.available(1_000_000 + 500_000_000 + i),
            Some(7),
            "BIG-{i} pushed through its discovered inventory item"
        );
    }
    let calls = s.shopify.calls();
    let throttled = calls.iter().filter(|c| c.throttled).count();
    assert!(
        throttled <= 1,
        "paced by the bucket, not by THROTTLED answers: {throttled} of {} calls",
        calls.len()
    );
    // Discovering again links nothing new.
    let r = s
        .api
        .send("POST", "/v1/channels/shop/discover", Body::None, &[]);
    assert_eq!(r.status, 202, "{}", r.body);
    let again = finished(&s.api, r.json()["job"].as_str().unwrap());
    assert_eq!(again["result"]["linked"], 0, "{again}");
    assert_eq!(again["result"]["listings"], 10_001, "{again}");
}

#[test]
fn a_small_catalogue_is_discovered_in_the_request_and_a_refusing_channel_fails_the_job() {
    let s = shop("channels-discover-small", 5, ShopifyConfig::default());
    s.shopify.add_variants(100, 2_000_000, "SMALL-");
    s.api.ok(
        "PUT",
        "/v1/items/SMALL-7",
        Some(json!({"levels": {"L1": 3}})),
    );
    let r = s.api.ok("POST", "/v1/channels/shop/discover", None);
    assert_eq!(
        (
            &r["listings"],
            &r["linked"],
            &r["unmatched"],
            &r["complete"]
        ),
        (&json!(101), &json!(1), &json!(99), &json!(true)),
        "{r}"
    );
    // A bigger catalogue whose token is revoked after the first page: the job fails with
    // the channel's reason, and what it read before stays.
    s.shopify.add_variants(1_000, 3_000_000, "MORE-");
    s.api.ok(
        "PUT",
        "/v1/items/MORE-0",
        Some(json!({"levels": {"L1": 2}})),
    );
    s.shopify.revoke_token_after_pages(1);
    let r = s
        .api
        .send("POST", "/v1/channels/shop/discover", Body::None, &[]);
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.json()["job"].as_str().unwrap().to_string();
    let done = finished(&s.api, &id);
    assert_eq!(done["state"], "failed", "{done}");
    let error = done["error"].as_str().unwrap_or_default();
    assert!(error.contains("401"), "{done}");
    assert!(
        s.api.listing("shop", "3000000")["sku"] == "MORE-0",
        "the first page's link stays"
    );
    // An unknown channel is refused before anything is read.
    let r = s
        .api
        .send("POST", "/v1/channels/nope/discover", Body::None, &[]);
    assert_eq!(r.code().as_deref(), Some("unknown_channel"), "{}", r.body);
}

#[test]
fn discovery_finds_woocommerce_variations_and_pushes_them_through_their_parent() {
    let s = shop("channels-woo-discover", 5, ShopifyConfig::default());
    s.woo.add(400, WooKind::Variable, "TEE", 0);
    s.woo
        .add(401, WooKind::Variation { parent: 400 }, "TEE-S", 0);
    s.woo
        .add(402, WooKind::Variation { parent: 400 }, "TEE-M", 0);
    s.api
        .ok("PUT", "/v1/items/TEE-M", Some(json!({"levels": {"L1": 6}})));
    // Products, then the variable product's variations: two pages, so a job.
    let r = s
        .api
        .send("POST", "/v1/channels/woo/discover", Body::None, &[]);
    assert_eq!(r.status, 202, "{}", r.body);
    let done = finished(&s.api, r.json()["job"].as_str().unwrap());
    let r = &done["result"];
    assert_eq!(r["linked"], 1, "{done}");
    assert_eq!(
        r["listings"], 3,
        "the simple product and two variations: {done}"
    );
    s.api.wait_synced(15 * SECS).unwrap();
    assert_eq!(
        s.woo.stock(402),
        Some(6),
        "pushed through /products/400/variations/batch"
    );
}

#[test]
fn a_discovery_job_survives_a_restart_and_reads_each_page_once() {
    // Its own instance (it restarts), one job step per alarm run, and a bucket that allows
    // about one page a second, so the job is still running when the instance stops.
    let vars = [
        ("ALLOW_TENANT_HEADER", "1"),
        ("ALLOW_PRIVATE_TARGETS", "1"),
        ("JOB_STEPS", "1"),
    ];
    let mut server = Wrangler::start(Options {
        name: "discover-restart".into(),
        api_key: Some(test_key()),
        vars: vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    });
    let shopify = FakeShopify::start(ShopifyConfig {
        bucket_max: 300.0,
        restore_rate: 250.0,
        ..ShopifyConfig::default()
    });
    shopify.add_variants(3_000, 1_000_000, "R-");
    let sc = shopify.config();
    let api = Api::new(&server, "discover-restart");
    crate::given(
        &api,
        json!([
            {"type": "location_put", "id": "L1", "location": {}},
            {"type": "item_put", "sku": "R-5", "item": {"levels": {"L1": 4}}},
            {"type": "item_put", "sku": "R-2999", "item": {"levels": {"L1": 9}}},
            {"type": "channel_put", "id": "shop", "channel": {"locations": ["L1"], "target": {
                "kind": "shopify", "shop": sc.shop, "api_version": sc.api_version,
                "location_id": format!("gid://shopify/Location/{}", sc.location_id),
                "access_token": sc.access_token, "webhook_secret": SHOP_SECRET,
                "endpoint": shopify.endpoint()}}}
        ]),
    );
    let r = api.send("POST", "/v1/channels/shop/discover", Body::None, &[]);
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.json()["job"].as_str().unwrap().to_string();
    let mid = wait_for(60 * SECS, || {
        let j = api.ok("GET", &format!("/v1/jobs/{id}"), None);
        (j["progress"]["pages"].as_u64() >= Some(3)).then_some(j)
    })
    .expect("the job reads pages");
    assert_eq!(mid["state"], "running", "stopped in the middle: {mid}");
    server.stop();
    server.restart();
    let api = Api::new(&server, "discover-restart");
    let done = finished(&api, &id);
    assert_eq!(
        done["state"], "done",
        "resumed after the restart: {done} (was {mid})"
    );
    let r = &done["result"];
    assert_eq!(r["listings"], 3_000, "{r}");
    assert_eq!(r["pages"], 12, "each page applied once: {r}");
    assert_eq!(
        (&r["linked"], &r["unmatched"]),
        (&json!(2), &json!(2_998)),
        "{r}"
    );
    api.wait_synced(30 * SECS).unwrap();
    assert_eq!(shopify.available(1_000_000 + 500_000_000 + 5), Some(4));
    assert_eq!(shopify.available(1_000_000 + 500_000_000 + 2_999), Some(9));
}
