//! Pushes to the fake WooCommerce: split in 100s, one bad item failing alone, refusals, outage.

use stocksync_channels::fake::{FakeWoo, WooConfig, WooKind};
use stocksync_channels::target::{WooApi, WooTarget};
use stocksync_channels::woo::{self, CallFailure, ItemResult, StockUpdate};

use crate::send;

pub fn api_for(fake: &FakeWoo) -> WooApi {
    let c = fake.config();
    let t = WooTarget {
        site: "https://shop.example.com".into(),
        consumer_key: Some(c.consumer_key),
        consumer_secret: Some(c.consumer_secret),
        webhook_secret: Some("woo-hook-secret".into()),
        endpoint: Some(fake.endpoint()),
    };
    assert!(
        t.validate(false).is_err(),
        "a loopback endpoint needs ALLOW_PRIVATE_TARGETS"
    );
    t.api(true).unwrap()
}

#[test]
fn two_hundred_fifty_updates_in_three_calls_one_bad_item_fails_alone() {
    let fake = FakeWoo::start(WooConfig::default());
    for id in 1..=250 {
        fake.add(id, WooKind::Simple, &format!("P-{id}"), 0);
    }
    fake.mark_bad(137);
    let api = api_for(&fake);
    let updates: Vec<StockUpdate> = (1..=250)
        .map(|id| StockUpdate {
            id,
            parent_id: None,
            quantity: id + 1000,
        })
        .collect();
    let calls = woo::build_stock_batches(&api, &updates);
    assert_eq!(
        calls.iter().map(|c| c.items.len()).collect::<Vec<_>>(),
        vec![100, 100, 50]
    );
    let mut results = vec![None; updates.len()];
    for call in &calls {
        let a = send(&call.request);
        assert_eq!(a.status, 200);
        let ids: Vec<u64> = call.items.iter().map(|&i| updates[i].id).collect();
        let r = woo::parse_stock_batch(a.status, a.headers.as_slice(), &a.body, &ids).unwrap();
        for (&i, r) in call.items.iter().zip(r) {
            results[i] = Some(r);
        }
    }
    for (i, r) in results.iter().enumerate() {
        let id = updates[i].id;
        if id == 137 {
            assert!(
                matches!(r, Some(ItemResult::Failed(e)) if e.code == "woocommerce_rest_product_invalid_id")
            );
            assert_eq!(fake.stock(id), Some(0));
        } else {
            assert_eq!(r, &Some(ItemResult::Applied), "{id}");
            assert_eq!(fake.stock(id), Some(id as i64 + 1000));
        }
    }
    let posts: Vec<_> = fake
        .calls()
        .into_iter()
        .filter(|c| c.method == "POST")
        .collect();
    assert_eq!(
        posts.iter().map(|c| c.items).collect::<Vec<_>>(),
        vec![100, 100, 50]
    );
}

#[test]
fn variations_go_to_their_parent_and_the_fake_refuses_101_items() {
    let fake = FakeWoo::start(WooConfig::default());
    fake.add(10, WooKind::Variable, "SHIRT", 0);
    fake.add(11, WooKind::Variation { parent: 10 }, "SHIRT-S", 0);
    fake.add(12, WooKind::Variation { parent: 10 }, "SHIRT-M", 0);
    fake.add(20, WooKind::Simple, "MUG", 0);
    let api = api_for(&fake);
    let updates = [
        StockUpdate {
            id: 11,
            parent_id: Some(10),
            quantity: 3,
        },
        StockUpdate {
            id: 20,
            parent_id: None,
            quantity: 4,
        },
        StockUpdate {
            id: 12,
            parent_id: Some(10),
            quantity: 5,
        },
        // A variation pushed under the wrong parent fails alone.
        StockUpdate {
            id: 11,
            parent_id: Some(20),
            quantity: 9,
        },
    ];
    let calls = woo::build_stock_batches(&api, &updates);
    assert_eq!(calls.len(), 3);
    for call in &calls {
        let a = send(&call.request);
        let ids: Vec<u64> = call.items.iter().map(|&i| updates[i].id).collect();
        let r = woo::parse_stock_batch(a.status, a.headers.as_slice(), &a.body, &ids);
        if call.request.url.contains("/products/20/variations/") {
            // 20 is not a variable product: the whole call is refused.
            assert!(
                matches!(r, Err(CallFailure::Rejected { status: 404, .. })),
                "{r:?}"
            );
        } else {
            assert!(r.unwrap().iter().all(|r| *r == ItemResult::Applied));
        }
    }
    assert_eq!(
        (fake.stock(11), fake.stock(12), fake.stock(20)),
        (Some(3), Some(5), Some(4))
    );

    // A hand-made 101-item batch: 413, as WooCommerce answers.
    let many: Vec<StockUpdate> = (0..101)
        .map(|_| StockUpdate {
            id: 20,
            parent_id: None,
            quantity: 1,
        })
        .collect();
    let mut call = woo::build_stock_batches(&api, &many).remove(0).request;
    let mut body: serde_json::Value = serde_json::from_slice(&call.body).unwrap();
    body["update"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"id": 20, "stock_quantity": 1}));
    call.body = serde_json::to_vec(&body).unwrap();
    let a = send(&call);
    assert_eq!(a.status, 413);
    let r = woo::parse_stock_batch(a.status, a.headers.as_slice(), &a.body, &[20]);
    assert!(
        matches!(r, Err(CallFailure::Rejected { status: 413, ref message }) if message.contains("entity_too_large"))
    );
}

#[test]
fn bad_credentials_and_an_outage() {
    let fake = FakeWoo::start(WooConfig::default());
    fake.add(1, WooKind::Simple, "A", 0);
    let api = api_for(&fake);
    let mut wrong = api.clone();
    wrong.authorization = "Basic Y2tfeDpjc195".into();
    let updates = [StockUpdate {
        id: 1,
        parent_id: None,
        quantity: 2,
    }];
    let a = send(&woo::build_stock_batches(&wrong, &updates)[0].request);
    assert!(matches!(
        woo::parse_stock_batch(a.status, a.headers.as_slice(), &a.body, &[1]),
        Err(CallFailure::Unauthorized { status: 401, .. })
    ));
    fake.set_down(true);
    let req = &woo::build_stock_batches(&api, &updates)[0].request;
    let a = send(req);
    assert!(matches!(
        woo::parse_stock_batch(a.status, a.headers.as_slice(), &a.body, &[1]),
        Err(CallFailure::Unavailable { status: 503, .. })
    ));
    assert_eq!(fake.stock(1), Some(0));
    fake.set_down(false);
    let a = send(req);
    assert_eq!(
        woo::parse_stock_batch(a.status, a.headers.as_slice(), &a.body, &[1]).unwrap(),
        vec![ItemResult::Applied]
    );
    assert_eq!(fake.stock(1), Some(2));
}
