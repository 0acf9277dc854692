//! Runs the order benchmark's loop a fixed number of times, for profilers:
//! `valgrind --tool=callgrind target/release/examples/order_probe 1000 20000`.
#![allow(clippy::print_stdout)] // a probe program: printing is its output
use stocksync_bench::{catalogue, OrderLoop, Shape};

fn main() {
    let mut args = std::env::args()
        .skip(1)
        .map(|a| a.parse::<usize>().expect("numbers"));
    let skus = args.next().unwrap_or(1000);
    let iters = args.next().unwrap_or(20_000);
    let shape = Shape::standard(skus);
    let mut hub = catalogue(shape);
    let mut orders = OrderLoop::new(shape);
    let mut pushes = 0;
    for _ in 0..iters {
        pushes += orders.step(&mut hub);
    }
    println!("{iters} events, {pushes} pushes");
}
