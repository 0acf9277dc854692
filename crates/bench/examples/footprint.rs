//! Memory the hub holds per sku and per listing, measured with a counting allocator:
//! a catalogue of `skus` skus without listings, then the same with them; and what the outcome of
//! a full resync holds (a push and its explanation per listing).
//! `cargo run --profile bench -p stocksync-bench --example footprint -- 1000000`
#![allow(clippy::print_stdout)] // a probe program: printing is its output

use std::alloc::System;

use cap::Cap;
use stocksync_bench::{snapshot, Shape};
use stocksync_core::{Event, Hub, Outcome};

fn resync_plan_outcome(hub: &mut Hub) -> Outcome {
    hub.apply(Event::Resync { channel: None }).expect("resync")
}

#[global_allocator]
static ALLOCATOR: Cap<System> = Cap::new(System, usize::MAX);

fn held_by(build: impl FnOnce() -> Hub) -> (Hub, isize) {
    let before = ALLOCATOR.allocated() as isize;
    let hub = build();
    (hub, ALLOCATOR.allocated() as isize - before)
}

fn main() {
    let skus: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let shape = Shape::standard(skus);
    let (without, items_bytes) = held_by(|| {
        let mut s = snapshot(shape);
        s.listings.clear();
        Hub::from_snapshot(s).expect("valid")
    });
    drop(without);
    let (mut with, all_bytes) = held_by(|| Hub::from_snapshot(snapshot(shape)).expect("valid"));
    let listings = with.listing_count();
    let per_sku = items_bytes as f64 / skus as f64;
    let per_listing = (all_bytes - items_bytes) as f64 / listings as f64;
    let before = ALLOCATOR.allocated() as isize;
    let outcome = resync_plan_outcome(&mut with);
    let per_push = (ALLOCATOR.allocated() as isize - before) as f64 / outcome.pushes.len() as f64;
    drop(outcome);
    println!(
        "{{\"skus\":{skus},\"locations\":{},\"listings\":{listings},\"bytes_per_sku\":{per_sku:.0},\"bytes_per_listing\":{per_listing:.0},\"total_mb\":{:.1},\"resync_bytes_per_push\":{per_push:.0}}}",
        shape.locations,
        all_bytes as f64 / 1e6
    );
}
