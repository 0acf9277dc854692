//! Native benchmarks of the core (README: "Benchmarks"; results in BENCHMARKS.md).
//!
//! - `order_plan/{skus}`: one order or cancel for a hot sku (10 listings) and its plan, on
//!   catalogues of 1k, 100k and 1M skus: the time per order and how it grows with the catalogue.
//! - `resync_plan/1M`: a full resync plan over every listing of a 1M-sku catalogue.
//!
//! `BENCH_MAX_SKUS=100000` leaves the 1M catalogue out (it takes ~1 GB and a few seconds to build).

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use stocksync_bench::{catalogue, resync_plan, OrderLoop, Shape};

fn sizes() -> Vec<usize> {
    let max: usize = std::env::var("BENCH_MAX_SKUS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    [1_000, 100_000, 1_000_000]
        .into_iter()
        .filter(|n| *n <= max)
        .collect()
}

fn order_plan(c: &mut Criterion) {
    let mut group = c.benchmark_group("order_plan");
    group.throughput(Throughput::Elements(1));
    group.measurement_time(Duration::from_secs(5));
    for skus in sizes() {
        let shape = Shape::standard(skus);
        let mut hub = catalogue(shape);
        let mut orders = OrderLoop::new(shape);
        group.bench_function(format!("{skus}"), |b| {
            b.iter(|| black_box(orders.step(&mut hub)))
        });
    }
    group.finish();
}

fn resync(c: &mut Criterion) {
    let mut group = c.benchmark_group("resync_plan");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    let skus = *sizes().last().unwrap_or(&1_000);
    let shape = Shape::standard(skus);
    let hub = catalogue(shape);
    group.throughput(Throughput::Elements(shape.listings() as u64));
    group.bench_function(format!("{skus}"), |b| {
        b.iter_batched_ref(
            || hub.clone(),
            |h| black_box(resync_plan(h)),
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, order_plan, resync);
criterion_main!(benches);
