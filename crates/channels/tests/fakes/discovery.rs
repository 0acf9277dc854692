//! Discovery of big catalogues, page by page.

use std::collections::BTreeSet;
use std::time::Duration;

use stocksync_channels::fake::{FakeShopify, FakeWoo, ShopifyConfig, WooConfig, WooKind};
use stocksync_channels::listing::ListingAddress;
use stocksync_channels::shopify::{self, CallFailure};
use stocksync_channels::woo::CatalogueWalk;

use crate::send;

#[test]
fn a_ten_thousand_variant_shopify_store_page_by_page() {
    let fake = FakeShopify::start(ShopifyConfig {
        // A bucket that fits two pages, refilling fast enough for a test: the walk must obey
        // THROTTLED on the way (each page requests 252 points).
        bucket_max: 600.0,
        restore_rate: 4000.0,
        ..ShopifyConfig::default()
    });
    fake.add_variants(10_000, 40_000_000_000, "SKU-");
    let api = crate::shopify::api_for(&fake);
    let mut cursor: Option<String> = None;
    let mut seen = BTreeSet::new();
    let mut pages = 0;
    let mut throttled = 0;
    loop {
        let a = send(&shopify::build_variants_page(&api, cursor.as_deref()));
        let page = match shopify::parse_variants_page(a.status, a.headers.as_slice(), &a.body) {
            Ok(p) => p,
            Err(CallFailure::Throttled { wait_ms }) => {
                throttled += 1;
                std::thread::sleep(Duration::from_millis(wait_ms));
                continue;
            }
            Err(e) => panic!("{e:?}"),
        };
        pages += 1;
        assert!(page.listings.len() <= 250);
        for l in &page.listings {
            let ListingAddress::ShopifyItem { inventory_item_id } = l.address else {
                panic!()
            };
            let v: u64 = l.listing.parse().unwrap();
            assert_eq!(inventory_item_id, v + 500_000_000);
            assert_eq!(
                l.sku.as_deref(),
                Some(format!("SKU-{}", v - 40_000_000_000).as_str())
            );
            assert!(seen.insert(v), "variant {v} seen twice");
        }
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(pages, 40);
    assert_eq!(seen.len(), 10_000);
    assert_eq!(
        fake.calls().iter().filter(|c| c.throttled).count(),
        throttled
    );
}

#[test]
fn a_woocommerce_catalogue_with_variations() {
    let fake = FakeWoo::start(WooConfig::default());
    for id in 1..=250 {
        fake.add(id, WooKind::Simple, &format!("S-{id}"), 1);
    }
    let mut expected_variations = 0;
    for parent in [1000u64, 2000, 3000] {
        fake.add(parent, WooKind::Variable, &format!("V-{parent}"), 0);
        for v in 1..=120 {
            fake.add(
                parent + v,
                WooKind::Variation { parent },
                &format!("V-{parent}-{v}"),
                1,
            );
            expected_variations += 1;
        }
    }
    let api = crate::woo::api_for(&fake);
    let mut walk = CatalogueWalk::new(api.clone());
    let mut products = BTreeSet::new();
    let mut variations = BTreeSet::new();
    let mut requests = 0;
    while let Some(req) = walk.next_request() {
        requests += 1;
        let a = send(&req);
        let page = walk
            .handle(a.status, a.headers.as_slice(), &a.body)
            .unwrap();
        // Stored as JSON after every page and resumed (a background discovery's restart).
        let stored = serde_json::to_string(&walk.position()).unwrap();
        walk = CatalogueWalk::resume(api.clone(), serde_json::from_str(&stored).unwrap());
        for l in page.listings {
            match l.address {
                ListingAddress::WooProduct => assert!(products.insert(l.listing)),
                ListingAddress::WooVariation { parent_id } => {
                    let id: u64 = l.listing.parse().unwrap();
                    assert_eq!(parent_id, id / 1000 * 1000);
                    assert!(variations.insert(id));
                }
                ListingAddress::ShopifyItem { .. } => panic!(),
            }
        }
    }
    assert!(walk.is_done());
    assert_eq!(products.len(), 250, "variable parents are not listings");
    assert_eq!(variations.len(), expected_variations);
    // 253 products = 3 pages, and 2 pages of variations for each of the 3 parents.
    assert_eq!(requests, 3 + 3 * 2);
}

#[test]
fn a_failed_page_is_fetched_again() {
    let fake = FakeWoo::start(WooConfig::default());
    fake.add(1, WooKind::Simple, "A", 1);
    let mut walk = CatalogueWalk::new(crate::woo::api_for(&fake));
    fake.set_down(true);
    let req = walk.next_request().unwrap();
    let a = send(&req);
    assert!(walk
        .handle(a.status, a.headers.as_slice(), &a.body)
        .is_err());
    fake.set_down(false);
    assert_eq!(
        walk.next_request().unwrap().url,
        req.url,
        "the walk stayed where it was"
    );
    let a = send(&req);
    assert_eq!(
        walk.handle(a.status, a.headers.as_slice(), &a.body)
            .unwrap()
            .listings
            .len(),
        1
    );
    assert!(walk.next_request().is_none());
}
