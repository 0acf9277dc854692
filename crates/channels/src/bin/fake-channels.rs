//! The local fakes of Shopify and WooCommerce for the demo (`FAKES=1 scripts/run.sh`): a fake
//! shop with the demo's TEST_SS7052 (Shopify variant 101, inventory item 201; WooCommerce
//! product 301) and MUG-BLUE (variant 102 / item 202; product 302). Prints `SHOPIFY=<endpoint>`
//! and `WOO=<endpoint>`, then serves until killed; every 5 s it prints the numbers each fake
//! shows, so the demo's pushes can be watched.

// A command-line tool: its output is what it is for.
#![allow(clippy::print_stdout)]

use std::time::Duration;

use stocksync_channels::fake::shopify::{FakeShopify, ShopifyConfig};
use stocksync_channels::fake::woo::{FakeWoo, WooConfig, WooKind};

fn main() {
    let shopify = FakeShopify::start(ShopifyConfig::default());
    shopify.add_variant(101, 201, "TEST_SS7052", 0);
    shopify.add_variant(102, 202, "MUG-BLUE", 0);
    let woo = FakeWoo::start(WooConfig::default());
    woo.add(301, WooKind::Simple, "TEST_SS7052", 0);
    woo.add(302, WooKind::Simple, "MUG-BLUE", 0);
    println!("SHOPIFY={}", shopify.endpoint());
    println!("WOO={}", woo.endpoint());
    let mut last = String::new();
    loop {
        std::thread::sleep(Duration::from_secs(5));
        let now = format!(
            "fake Shopify: TEST_SS7052 {:?}, MUG-BLUE {:?}; fake WooCommerce: TEST_SS7052 {:?}, MUG-BLUE {:?}",
            shopify.available(201),
            shopify.available(202),
            woo.stock(301),
            woo.stock(302)
        );
        if now != last {
            println!("{now}");
            last = now;
        }
    }
}
