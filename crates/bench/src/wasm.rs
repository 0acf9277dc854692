//! The same workloads as the native benches, exported for Node (scripts/bench-wasm.mjs).
//! Timing uses `performance.now()` through js-sys, since the core has no clock.

use wasm_bindgen::prelude::*;

use crate::{catalogue, resync_plan, OrderLoop, Shape};

fn now_ms() -> f64 {
    js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("performance"))
        .ok()
        .and_then(|p| {
            js_sys::Reflect::get(&p, &JsValue::from_str("now"))
                .ok()
                .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
                .and_then(|f| f.call0(&p).ok())
        })
        .and_then(|v| v.as_f64())
        .unwrap_or_else(js_sys::Date::now)
}

/// Nanoseconds per order-or-cancel event (each plans one push per listing of a hot sku), over
/// `iters` events on a catalogue of `skus` skus.
#[wasm_bindgen]
pub fn bench_order_ns(skus: usize, iters: u32) -> f64 {
    let shape = Shape::standard(skus);
    let mut hub = catalogue(shape);
    let mut orders = OrderLoop::new(shape);
    for _ in 0..1000 {
        orders.step(&mut hub); // warm up
    }
    let start = now_ms();
    for _ in 0..iters {
        orders.step(&mut hub);
    }
    (now_ms() - start) * 1e6 / f64::from(iters)
}

/// Milliseconds for one full resync plan over a catalogue of `skus` skus.
#[wasm_bindgen]
pub fn bench_resync_ms(skus: usize) -> f64 {
    let mut hub = catalogue(Shape::standard(skus));
    let start = now_ms();
    resync_plan(&mut hub);
    now_ms() - start
}
