//! Pushes to the fake Shopify: applied, replayed, stale, throttled, down, refused.

use std::time::{Duration, Instant};

use serde_json::Value;
use stocksync_channels::fake::{FakeShopify, ShopifyConfig};
use stocksync_channels::shopify::{
    self, CallFailure, CostBucket, ItemResult, PushAnswer, SetQuantity, SET_QUANTITIES_COST,
};
use stocksync_channels::target::{ShopifyApi, ShopifyTarget};

use crate::send;

pub fn target_for(fake: &FakeShopify) -> ShopifyTarget {
    let c = fake.config();
    ShopifyTarget {
        shop: c.shop,
        location_id: format!("gid://shopify/Location/{}", c.location_id),
        api_version: c.api_version,
        access_token: Some(c.access_token),
        webhook_secret: Some("shopify-app-secret".into()),
        endpoint: Some(fake.endpoint()),
    }
}

pub fn api_for(fake: &FakeShopify) -> ShopifyApi {
    let t = target_for(fake);
    assert!(
        t.validate(false).is_err(),
        "a loopback endpoint needs ALLOW_PRIVATE_TARGETS"
    );
    t.api(true).unwrap()
}

fn shop_with(items: &[(u64, u64, i64)]) -> FakeShopify {
    let fake = FakeShopify::start(ShopifyConfig::default());
    for (variant, item, qty) in items {
        fake.add_variant(*variant, *item, &format!("SKU-{variant}"), *qty);
    }
    fake
}

fn push(api: &ShopifyApi, seq: u64, batch: &[SetQuantity]) -> PushAnswer {
    let seqs: Vec<u64> = batch.iter().map(|_| seq).collect();
    let key = shopify::idempotency_key("shopify-uk", &seqs, batch);
    let a = send(&shopify::build_set_quantities(api, batch, &key).unwrap());
    shopify::parse_set_quantities(a.status, a.headers.as_slice(), &a.body, batch)
}

#[test]
fn a_batch_push_is_applied() {
    let fake = shop_with(&[(1, 101, 3), (2, 102, 0), (3, 103, 9)]);
    let api = api_for(&fake);
    // First delivery: never delivered before, so no compare (null).
    let first: Vec<SetQuantity> = [(101, 5), (102, 2), (103, 0)]
        .iter()
        .map(|(i, q)| SetQuantity {
            inventory_item_id: *i,
            quantity: *q,
            change_from: None,
        })
        .collect();
    assert_eq!(
        push(&api, 1, &first),
        PushAnswer::Done(vec![ItemResult::Applied; 3])
    );
    assert_eq!(
        (
            fake.available(101),
            fake.available(102),
            fake.available(103)
        ),
        (Some(5), Some(2), Some(0))
    );
    // Next change: compared with what was delivered.
    let next = [
        SetQuantity {
            inventory_item_id: 101,
            quantity: 4,
            change_from: Some(5),
        },
        SetQuantity {
            inventory_item_id: 103,
            quantity: 7,
            change_from: Some(0),
        },
    ];
    assert_eq!(
        push(&api, 2, &next),
        PushAnswer::Done(vec![ItemResult::Applied; 2])
    );
    assert_eq!(
        (fake.available(101), fake.available(103)),
        (Some(4), Some(7))
    );
}

#[test]
fn a_replayed_key_is_applied_once() {
    let fake = shop_with(&[(1, 101, 3)]);
    let api = api_for(&fake);
    let batch = [SetQuantity {
        inventory_item_id: 101,
        quantity: 8,
        change_from: Some(3),
    }];
    let key = shopify::idempotency_key("shopify-uk", &[7], &batch);
    let req = shopify::build_set_quantities(&api, &batch, &key).unwrap();
    let first = send(&req);
    // The answer was "lost": the shell sends the very same call again. Meanwhile the shop sold
    // one, so a second application would be stale or would overwrite the sale.
    fake.admin_edit(101, 7);
    let again = send(&req);
    let data = |b: &[u8]| serde_json::from_slice::<Value>(b).unwrap()["data"].clone();
    assert_eq!(
        data(&first.body),
        data(&again.body),
        "the replay answers the first result"
    );
    assert_eq!(
        shopify::parse_set_quantities(again.status, again.headers.as_slice(), &again.body, &batch),
        PushAnswer::Done(vec![ItemResult::Applied])
    );
    assert_eq!(fake.applied(), vec![(101, 8)], "applied once");
    assert_eq!(fake.available(101), Some(7), "the replay changed nothing");
    let calls = fake.calls();
    assert!(!calls[0].replayed && calls[1].replayed);
    assert_eq!(calls[0].idempotency_key.as_deref(), Some(key.as_str()));
    // The same key with other variables is refused: a new key is needed.
    let other = [SetQuantity {
        inventory_item_id: 101,
        quantity: 9,
        change_from: Some(7),
    }];
    let a = send(&shopify::build_set_quantities(&api, &other, &key).unwrap());
    assert!(matches!(
        shopify::parse_set_quantities(a.status, a.headers.as_slice(), &a.body, &other),
        PushAnswer::Failed(CallFailure::NewKeyNeeded { .. })
    ));
    assert_eq!(fake.available(101), Some(7));
}

#[test]
fn a_stale_compare_is_detected_read_back_and_retried() {
    let fake = shop_with(&[(1, 101, 0), (2, 102, 0)]);
    let api = api_for(&fake);
    let both = [
        SetQuantity {
            inventory_item_id: 101,
            quantity: 5,
            change_from: None,
        },
        SetQuantity {
            inventory_item_id: 102,
            quantity: 5,
            change_from: None,
        },
    ];
    assert_eq!(
        push(&api, 1, &both),
        PushAnswer::Done(vec![ItemResult::Applied; 2])
    );
    // A sale on Shopify whose webhook has not reached the hub.
    let _webhook_in_flight = fake.sell(101, 1, "shopify-app-secret");
    assert_eq!(fake.available(101), Some(4));
    // A sale elsewhere: the hub sends 4 to both, compared with the 5 it delivered.
    let next = [
        SetQuantity {
            inventory_item_id: 101,
            quantity: 4,
            change_from: Some(5),
        },
        SetQuantity {
            inventory_item_id: 102,
            quantity: 4,
            change_from: Some(5),
        },
    ];
    let PushAnswer::Done(r) = push(&api, 2, &next) else {
        panic!("per-item results")
    };
    assert_eq!(
        r,
        vec![ItemResult::Stale, ItemResult::NotApplied],
        "all or nothing: 102 waits"
    );
    assert_eq!(fake.available(102), Some(5));
    // Read the channel's number.
    let a = send(&shopify::build_read_available(&api, &[101]));
    let levels =
        shopify::parse_read_available(a.status, a.headers.as_slice(), &a.body, &[101]).unwrap();
    assert_eq!(levels[0].available, Some(4));
    // The proposed rule (README): the channel lost 1 unit the hub has not heard of, so hold it
    // back — send 4 − 1 = 3, compared with the 4 just read — and resend 102 as it was.
    let retry = [
        SetQuantity {
            inventory_item_id: 101,
            quantity: 3,
            change_from: Some(4),
        },
        SetQuantity {
            inventory_item_id: 102,
            quantity: 4,
            change_from: Some(5),
        },
    ];
    assert_eq!(
        push(&api, 2, &retry),
        PushAnswer::Done(vec![ItemResult::Applied; 2])
    );
    assert_eq!(
        (fake.available(101), fake.available(102)),
        (Some(3), Some(4))
    );
}

#[test]
fn throttling_waits_what_the_bucket_says() {
    for with_429 in [false, true] {
        let fake = FakeShopify::start(ShopifyConfig {
            bucket_max: 30.0,
            restore_rate: 20.0,
            throttle_with_429: with_429,
            ..ShopifyConfig::default()
        });
        fake.add_variant(1, 101, "A", 0);
        let api = api_for(&fake);
        fake.drain_bucket(0.0);
        let batch = [SetQuantity {
            inventory_item_id: 101,
            quantity: 1,
            change_from: None,
        }];
        let key = shopify::idempotency_key("s", &[1], &batch);
        let req = shopify::build_set_quantities(&api, &batch, &key).unwrap();
        let start = Instant::now();
        let mut waits = Vec::new();
        let result = loop {
            let a = send(&req);
            match shopify::parse_set_quantities(a.status, a.headers.as_slice(), &a.body, &batch) {
                PushAnswer::Failed(CallFailure::Throttled { wait_ms }) => {
                    if with_429 {
                        assert_eq!(a.status, 429);
                    }
                    let body: Value = serde_json::from_slice(&a.body).unwrap();
                    assert!(body["extensions"]["cost"]["throttleStatus"]["restoreRate"].is_number());
                    waits.push(wait_ms);
                    assert!(
                        waits.len() < 3,
                        "obeying the computed wait needs one retry, not hammering"
                    );
                    std::thread::sleep(Duration::from_millis(wait_ms));
                }
                other => break other,
            }
        };
        assert_eq!(result, PushAnswer::Done(vec![ItemResult::Applied]));
        // 10 points at 20/s from an empty bucket: about half a second, computed not guessed.
        assert!((450..=600).contains(&waits[0]), "{waits:?}");
        assert!(start.elapsed() >= Duration::from_millis(450));
        let calls = fake.calls();
        assert_eq!(calls.iter().filter(|c| c.throttled).count(), waits.len());
    }
}

#[test]
fn pacing_with_the_bucket_is_never_throttled() {
    let fake = FakeShopify::start(ShopifyConfig {
        bucket_max: 40.0,
        restore_rate: 50.0,
        ..ShopifyConfig::default()
    });
    fake.add_variant(1, 101, "A", 0);
    let api = api_for(&fake);
    let origin = Instant::now();
    let now_ms = || origin.elapsed().as_millis() as u64;
    let mut bucket = CostBucket::default();
    for q in 1..=12 {
        let delay = bucket.delay_ms(now_ms(), SET_QUANTITIES_COST);
        std::thread::sleep(Duration::from_millis(delay));
        let batch = [SetQuantity {
            inventory_item_id: 101,
            quantity: q,
            change_from: Some(q - 1).filter(|_| q > 1),
        }];
        let key = shopify::idempotency_key("s", &[q as u64], &batch);
        let a = send(&shopify::build_set_quantities(&api, &batch, &key).unwrap());
        let body: Value = serde_json::from_slice(&a.body).unwrap();
        let status =
            serde_json::from_value(body["extensions"]["cost"]["throttleStatus"].clone()).unwrap();
        bucket.observe(now_ms(), status);
        assert_eq!(
            shopify::parse_set_quantities(a.status, a.headers.as_slice(), &a.body, &batch),
            PushAnswer::Done(vec![ItemResult::Applied])
        );
    }
    assert_eq!(fake.calls().iter().filter(|c| c.throttled).count(), 0);
    assert_eq!(fake.available(101), Some(12));
}

#[test]
fn refusals_outages_and_bad_items() {
    let fake = shop_with(&[(1, 101, 0), (2, 102, 0)]);
    fake.unstock(102);
    let api = api_for(&fake);
    // A bad token: 401.
    let mut bad = api.clone();
    bad.access_token = "shpat_wrong".into();
    let batch = [SetQuantity {
        inventory_item_id: 101,
        quantity: 1,
        change_from: None,
    }];
    let key = shopify::idempotency_key("s", &[1], &batch);
    let a = send(&shopify::build_set_quantities(&bad, &batch, &key).unwrap());
    assert!(matches!(
        shopify::parse_set_quantities(a.status, a.headers.as_slice(), &a.body, &batch),
        PushAnswer::Failed(CallFailure::Unauthorized { status: 401, .. })
    ));
    // Down, then up.
    fake.set_down(true);
    let req = shopify::build_set_quantities(&api, &batch, &key).unwrap();
    let a = send(&req);
    let down = shopify::parse_set_quantities(a.status, a.headers.as_slice(), &a.body, &batch);
    assert!(
        matches!(down, PushAnswer::Failed(ref f @ CallFailure::Unavailable { status: 503, .. }) if f.counts_as_attempt())
    );
    fake.set_down(false);
    let a = send(&req);
    assert_eq!(
        shopify::parse_set_quantities(a.status, a.headers.as_slice(), &a.body, &batch),
        PushAnswer::Done(vec![ItemResult::Applied])
    );
    // An item not stocked at the location and an unknown one fail alone (each named by its
    // field path); the good one is resent.
    let mixed = [
        SetQuantity {
            inventory_item_id: 101,
            quantity: 2,
            change_from: Some(1),
        },
        SetQuantity {
            inventory_item_id: 102,
            quantity: 2,
            change_from: None,
        },
        SetQuantity {
            inventory_item_id: 999,
            quantity: 2,
            change_from: None,
        },
    ];
    let PushAnswer::Done(r) = push(&api, 2, &mixed) else {
        panic!()
    };
    assert!(
        matches!(&r[1], ItemResult::Failed(e) if e.code == "ITEM_NOT_STOCKED_AT_LOCATION" && e.permanent)
    );
    assert!(matches!(&r[2], ItemResult::Failed(e) if e.code == "INVALID_INVENTORY_ITEM"));
    assert_eq!(r[0], ItemResult::NotApplied);
    assert_eq!(
        push(&api, 2, &mixed[..1]),
        PushAnswer::Done(vec![ItemResult::Applied])
    );
}

/// The fake refuses what 2026-04 refuses, so the codec's compliance is tested, not assumed.
#[test]
fn the_fake_is_strict_about_2026_04() {
    let fake = shop_with(&[(1, 101, 0)]);
    let api = api_for(&fake);
    let batch = [SetQuantity {
        inventory_item_id: 101,
        quantity: 1,
        change_from: None,
    }];
    let key = shopify::idempotency_key("s", &[1], &batch);
    let good = shopify::build_set_quantities(&api, &batch, &key).unwrap();
    let mut body: Value = serde_json::from_slice(&good.body).unwrap();
    // Without the directive.
    let q = body["query"]
        .as_str()
        .unwrap()
        .replace(&format!(" @idempotent(key: \"{}\")", key.as_str()), "");
    let mut no_key = good.clone();
    let mut b = body.clone();
    b["query"] = Value::String(q);
    no_key.body = serde_json::to_vec(&b).unwrap();
    let a = send(&no_key);
    assert!(matches!(
        shopify::parse_set_quantities(a.status, a.headers.as_slice(), &a.body, &batch),
        PushAnswer::Failed(CallFailure::Rejected { ref message, .. }) if message.contains("@idempotent")
    ));
    // Without changeFromQuantity (not even null).
    body["variables"]["input"]["quantities"][0]
        .as_object_mut()
        .unwrap()
        .remove("changeFromQuantity");
    let mut no_cfq = good.clone();
    no_cfq.body = serde_json::to_vec(&body).unwrap();
    let a = send(&no_cfq);
    assert!(matches!(
        shopify::parse_set_quantities(a.status, a.headers.as_slice(), &a.body, &batch),
        PushAnswer::Failed(CallFailure::Rejected { ref message, .. }) if message.contains("changeFromQuantity")
    ));
    assert!(fake.applied().is_empty());
    // The codec's own request passes.
    let a = send(&good);
    assert_eq!(
        shopify::parse_set_quantities(a.status, a.headers.as_slice(), &a.body, &batch),
        PushAnswer::Done(vec![ItemResult::Applied])
    );
}

#[test]
fn a_listing_linked_by_hand_learns_its_inventory_item() {
    let fake = shop_with(&[(808950810, 101, 0), (49148385, 102, 0)]);
    let api = api_for(&fake);
    let asked = [49148385, 808950810, 4];
    let a = send(&shopify::build_variant_items(&api, &asked));
    let got =
        shopify::parse_variant_items(a.status, a.headers.as_slice(), &a.body, &asked).unwrap();
    assert_eq!(
        got,
        vec![(49148385, Some(102)), (808950810, Some(101)), (4, None)]
    );
}

#[test]
fn a_failed_key_is_not_reused_a_salt_gives_a_new_one() {
    let fake = shop_with(&[(1, 101, 3)]);
    let api = api_for(&fake);
    // Compared with a number the channel no longer has: stale.
    let batch = [SetQuantity {
        inventory_item_id: 101,
        quantity: 8,
        change_from: Some(5),
    }];
    let key = shopify::idempotency_key("shopify-uk", &[9], &batch);
    let req = shopify::build_set_quantities(&api, &batch, &key).unwrap();
    let a = send(&req);
    assert_eq!(
        shopify::parse_set_quantities(a.status, a.headers.as_slice(), &a.body, &batch),
        PushAnswer::Done(vec![ItemResult::Stale])
    );
    // The merchant puts the number back; the very same call again is refused by its key...
    fake.admin_edit(101, 5);
    let a = send(&req);
    assert!(matches!(
        shopify::parse_set_quantities(a.status, a.headers.as_slice(), &a.body, &batch),
        PushAnswer::Failed(ref f @ CallFailure::NewKeyNeeded { .. }) if !f.counts_as_attempt()
    ));
    // ... and goes through with the shell's next salt.
    let key = shopify::idempotency_key("shopify-uk#1", &[9], &batch);
    let a = send(&shopify::build_set_quantities(&api, &batch, &key).unwrap());
    assert_eq!(
        shopify::parse_set_quantities(a.status, a.headers.as_slice(), &a.body, &batch),
        PushAnswer::Done(vec![ItemResult::Applied])
    );
    assert_eq!(fake.available(101), Some(8));
}

#[test]
fn under_the_partial_reading_the_good_items_are_applied() {
    let fake = FakeShopify::start(ShopifyConfig {
        partial_apply: true,
        ..ShopifyConfig::default()
    });
    fake.add_variant(1, 101, "A", 5);
    fake.add_variant(2, 102, "B", 5);
    fake.add_variant(3, 103, "C", 5);
    let api = api_for(&fake);
    let _ = fake.sell(102, 1, "s");
    let batch = [
        SetQuantity {
            inventory_item_id: 101,
            quantity: 4,
            change_from: Some(5),
        },
        SetQuantity {
            inventory_item_id: 102,
            quantity: 4,
            change_from: Some(5),
        },
        // Already what the hub sends: no change to list, so the parser cannot know.
        SetQuantity {
            inventory_item_id: 103,
            quantity: 5,
            change_from: Some(5),
        },
    ];
    assert_eq!(
        push(&api, 3, &batch),
        PushAnswer::Done(vec![
            ItemResult::Applied,
            ItemResult::Stale,
            ItemResult::NotApplied
        ])
    );
    assert_eq!(
        (
            fake.available(101),
            fake.available(102),
            fake.available(103)
        ),
        (Some(4), Some(4), Some(5))
    );
    // Resending the unknown one is harmless: its compare still holds.
    assert_eq!(
        push(&api, 3, &batch[2..]),
        PushAnswer::Done(vec![ItemResult::Applied])
    );
}
