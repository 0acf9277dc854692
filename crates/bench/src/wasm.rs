//! The same workloads as the native benches, exported for Node (scripts/bench-wasm.mjs).
//! Timing uses `performance.now()` through js-sys, since the core has no clock.

use wasm_bindgen::prelude::*;

fn now_ms() -> f64 {
    let perf = js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("performance")).ok();
    perf.and_then(|p| {
        let now = js_sys::Reflect::get(&p, &JsValue::from_str("now")).ok()?;
        now.dyn_into::<js_sys::Function>()
            .ok()?
            .call0(&p)
            .ok()?
            .as_f64()
    })
    .unwrap_or_else(js_sys::Date::now)
}

/// See [`crate::time_orders_ns`].
#[wasm_bindgen]
pub fn bench_order_ns(skus: usize, iters: u32) -> f64 {
    crate::time_orders_ns(skus, iters, now_ms)
}

/// See [`crate::time_resync_ms`].
#[wasm_bindgen]
pub fn bench_resync_ms(skus: usize) -> f64 {
    crate::time_resync_ms(skus, now_ms)
}
