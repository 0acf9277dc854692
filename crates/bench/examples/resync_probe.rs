//! One full resync plan over a catalogue, for profilers:
//! `valgrind --tool=callgrind --toggle-collect='*resync_plan*' target/release/examples/resync_probe 100000`.
#![allow(clippy::print_stdout)] // a probe program: printing is its output
use stocksync_bench::{catalogue, resync_plan, Shape};

fn main() {
    let skus = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let mut hub = catalogue(Shape::standard(skus));
    println!("{} pushes", resync_plan(&mut hub));
}
