//! stocksync's core as a browser package: load a snapshot (the JSON of `GET /v1/export`), try
//! hypothetical events on it, and see what a sync would send and why. Nothing here decides a
//! number: every quantity, explanation, skip reason and warning comes from `stocksync-core`.
//! This crate only carries values across the JS boundary.
//!
//! ```js
//! import init, { Hub } from "./pkg/stocksync_web.js";
//! await init();
//! const hub = Hub.fromJson(await (await fetch("/v1/export", { headers })).text());
//! const preview = hub.preview([{ type: "item_put", sku: "TEST_SS7052", item: { levels: { LONDON: 0 } } }]);
//! preview.changes;  // per listing: before, after, last_sent, reason, explain
//! preview.warnings; // e.g. { code: "sends_zero", count: 412, message: "this change sends 0 to 412 listings …" }
//! ```
//!
//! Rejected input throws a `StocksyncError` whose `code` is the HTTP API's error code.
//!
//! Modules, one concept each: [`hub`] the `Hub` class, [`js`] values in and out, [`error`] the
//! JS error, [`view`] the page's read-only view of the state, [`delivery`] a simulated channel
//! acknowledging pushes (for the story step-through and the scenario tests).

pub mod delivery;
pub mod error;
pub mod hub;
pub mod js;
pub mod view;

pub use delivery::Delivery;
pub use hub::JsHub;
pub use view::{ChannelView, HubView, ListingRow, LocationView};

use wasm_bindgen::prelude::wasm_bindgen;

/// Every type that crosses into JS, generated from the Rust types by `tests/typescript.rs`
/// (which fails when this file is stale; `UPDATE_TYPES=1` rewrites it). wasm-bindgen copies it
/// into the package's `.d.ts`, so the package's types are the Rust types.
#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = include_str!("types.d.ts");
