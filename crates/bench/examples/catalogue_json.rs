//! Prints a benchmark catalogue as a snapshot (the body of `POST /v1/import`), for loading the
//! worker before a load test. Hot skus get `hot_on_hand` units at every location, so a long run
//! of orders keeps changing their numbers (and planning pushes) instead of running dry.
//! `cargo run --profile bench -p stocksync-bench --example catalogue_json -- 10000 1000000000`
#![allow(clippy::print_stdout)] // a probe program: printing is its output

use stocksync_bench::{snapshot, Shape};
use stocksync_core::{wire, Qty};

fn main() {
    let mut args = std::env::args().skip(1);
    let skus: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let hot_on_hand: i64 = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000_000);
    let mut s = snapshot(Shape::standard(skus));
    for (sku, item) in s.items.iter_mut() {
        let n: usize = sku.as_str().trim_start_matches("SKU-").parse().unwrap_or(1);
        if Shape::is_hot(n) {
            for level in item.levels.iter_mut().flat_map(|l| l.values_mut()) {
                *level = Qty::new(hot_on_hand).unwrap_or(*level);
            }
        }
    }
    println!("{}", wire::to_json(&s));
}
