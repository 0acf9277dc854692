//! The Worker under `wrangler dev`, over HTTP. Build it first (`scripts/build-worker.sh`);
//! `cargo test -p stocksync-http-tests` then starts one shared instance on a free port (every
//! test uses its own tenant, so states never meet) and two more of its own for the restart and
//! no-key tests. If wrangler cannot start, the tests fail.

mod adapters;
mod auth;
mod bad_input;
mod bulk;
mod channels;

mod cors;
mod demo;
mod jobs;
mod mirror;
mod orders;
mod preview;
mod restart;
mod scenarios;
mod webhooks;

use serde_json::{json, Value};
use stocksync_http_tests::client::Api;
use stocksync_http_tests::{server, tenant};

/// A fresh tenant on the shared instance.
pub fn api(name: &str) -> Api {
    Api::new(server::shared(), &tenant(name))
}

/// Applies core events (JSON, as in scenario files) through their routes; each must succeed.
pub fn given(api: &Api, events: Value) {
    for e in events.as_array().expect("a list of events") {
        let event = stocksync_core::wire::from_value(e.clone()).expect("a valid event");
        if let Err(code) = stocksync_http_tests::driver::apply_http(api, &event) {
            panic!("set-up event {e} was refused: {code}");
        }
    }
}

/// One location `L1`, `sku` with `on_hand` there, and a demo channel `demo` listing it as `D-1`.
pub fn one_demo_listing(api: &Api, sku: &str, on_hand: i64) {
    given(
        api,
        json!([
            {"type": "location_put", "id": "L1", "location": {"name": "Main"}},
            {"type": "item_put", "sku": sku, "item": {"levels": {"L1": on_hand}}},
            {"type": "channel_put", "id": "demo", "channel": {"locations": ["L1"], "target": {"kind": "demo"}}},
            {"type": "mappings_put", "mappings": [{"channel": "demo", "listing": "D-1", "sku": sku}]}
        ]),
    );
}

pub const SECS: std::time::Duration = std::time::Duration::from_secs(1);
