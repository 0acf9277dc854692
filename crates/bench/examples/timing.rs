//! The native side of the wasm / native comparison: the very loops `bench_order_ns` and
//! `bench_resync_ms` run under Node, timed with `Instant`, printed as JSON.
//! `cargo run --profile bench -p stocksync-bench --example timing -- 1000 100000 1000000`
#![allow(clippy::print_stdout)] // a probe program: printing is its output

use std::time::Instant;

fn main() {
    let start = Instant::now();
    let now_ms = || start.elapsed().as_secs_f64() * 1e3;
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("sku counts"))
        .collect();
    let sizes = if sizes.is_empty() {
        vec![1_000, 100_000]
    } else {
        sizes
    };
    for skus in sizes {
        let order_ns = stocksync_bench::time_orders_ns(skus, 200_000, now_ms);
        let resync_ms = stocksync_bench::time_resync_ms(skus, now_ms);
        println!("{{\"runtime\":\"native\",\"skus\":{skus},\"order_ns\":{order_ns:.0},\"resync_ms\":{resync_ms:.1}}}");
    }
}
