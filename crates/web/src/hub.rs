//! The `Hub` class: one merchant's state in the browser. Load it from a snapshot, ask what
//! hypothetical events would send ([`JsHub::preview`]), or look at the state after them
//! ([`JsHub::fork`]). `apply` and `deliverAll` change this copy only; nothing here talks to the
//! worker or a channel.

use stocksync_core::{wire, Event, Hub, RetryPolicy, SkipReason, Sku, Snapshot};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

use crate::delivery;
use crate::error::to_js_error;
use crate::js::{from_js, list_from_js, to_js};
use crate::view::HubView;

// The TypeScript names of what goes in and out (declared in types.d.ts), so the package's
// signatures are typed; at run time each is a plain JS value.
#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(typescript_type = "Snapshot")]
    pub type SnapshotJs;
    #[wasm_bindgen(typescript_type = "Event")]
    pub type EventJs;
    #[wasm_bindgen(typescript_type = "Event[]")]
    pub type EventsJs;
    #[wasm_bindgen(typescript_type = "Outcome")]
    pub type OutcomeJs;
    #[wasm_bindgen(typescript_type = "Preview")]
    pub type PreviewJs;
    #[wasm_bindgen(typescript_type = "HubView")]
    pub type HubViewJs;
    #[wasm_bindgen(typescript_type = "ItemView | undefined")]
    pub type ItemViewJs;
    #[wasm_bindgen(typescript_type = "ListingStatus[]")]
    pub type ListingStatusesJs;
    #[wasm_bindgen(typescript_type = "Delivery[]")]
    pub type DeliveriesJs;
    #[wasm_bindgen(typescript_type = "SkipReason")]
    pub type SkipReasonJs;
}

/// One merchant's state, in the browser.
#[wasm_bindgen(js_name = Hub)]
#[derive(Clone, Debug, Default)]
pub struct JsHub {
    hub: Hub,
}

fn js_err(e: stocksync_core::Error) -> JsValue {
    to_js_error(&e)
}

fn typed<T: JsCast>(value: Result<JsValue, JsValue>) -> Result<T, JsValue> {
    value.map(JsCast::unchecked_into)
}

#[wasm_bindgen(js_class = Hub)]
impl JsHub {
    /// An empty hub (build it up with `apply`).
    #[wasm_bindgen(constructor)]
    pub fn new() -> JsHub {
        JsHub { hub: Hub::new() }
    }

    /// A hub from a snapshot object (`GET /v1/export`, parsed).
    /// @throws {StocksyncError} when the snapshot is invalid (`error.code` as in the HTTP API).
    #[wasm_bindgen(js_name = fromSnapshot)]
    pub fn from_snapshot(snapshot: SnapshotJs) -> Result<JsHub, JsValue> {
        let s: Snapshot = from_js(snapshot.into()).map_err(js_err)?;
        Ok(JsHub {
            hub: Hub::from_snapshot(s).map_err(js_err)?,
        })
    }

    /// A hub from a snapshot's JSON text (the body of `GET /v1/export`).
    /// @throws {StocksyncError} `malformed_json`, or any code an invalid snapshot gets.
    #[wasm_bindgen(js_name = fromJson)]
    pub fn from_json(json: &str) -> Result<JsHub, JsValue> {
        // Text to a JSON value, then the same value path as every other input: one copy of
        // the types' deserializers in the package, not two.
        let s: Snapshot = wire::from_json(json).map_err(js_err)?;
        Ok(JsHub {
            hub: Hub::from_snapshot(s).map_err(js_err)?,
        })
    }

    /// The whole state, in the format of `GET /v1/export`.
    pub fn snapshot(&self) -> Result<SnapshotJs, JsValue> {
        typed(to_js(&self.hub.snapshot()))
    }

    /// Locations, items (on hand, reserved, available), channels, listings (last sent, wanted
    /// now, why), orders: everything the preview page shows.
    pub fn view(&self) -> Result<HubViewJs, JsValue> {
        typed(to_js(&HubView::of(&self.hub)))
    }

    /// What `events` would send, applied in order to a copy: per event its outcome, per touched
    /// listing its number before and after with the explanation, and warnings. Changes nothing.
    /// @throws {StocksyncError} for the first invalid event (the message names it: `event 2: …`).
    pub fn preview(&self, events: EventsJs) -> Result<PreviewJs, JsValue> {
        let events: Vec<Event> = list_from_js(events.into(), "event").map_err(js_err)?;
        typed(to_js(&self.hub.preview(events).map_err(js_err)?))
    }

    /// A copy of this hub with `events` applied: the state a preview describes. This hub is
    /// unchanged.
    /// @throws {StocksyncError} for the first invalid event.
    pub fn fork(&self, events: EventsJs) -> Result<JsHub, JsValue> {
        let events: Vec<Event> = list_from_js(events.into(), "event").map_err(js_err)?;
        let mut copy = self.clone();
        for (i, e) in events.into_iter().enumerate() {
            copy.hub.apply(e).map_err(|e| {
                js_err(stocksync_core::Error::new(
                    e.code,
                    format!("event {}: {}", i + 1, e.message),
                ))
            })?;
        }
        Ok(copy)
    }

    /// Applies one event to this hub and returns what it caused (planned pushes, skipped
    /// listings, an order's receipt). On error nothing changed.
    /// @throws {StocksyncError}
    pub fn apply(&mut self, event: EventJs) -> Result<OutcomeJs, JsValue> {
        let event: Event = from_js(event.into()).map_err(js_err)?;
        typed(to_js(&self.hub.apply(event).map_err(js_err)?))
    }

    /// Simulates every channel acknowledging every planned push; returns what was delivered.
    #[wasm_bindgen(js_name = deliverAll)]
    pub fn deliver_all(&mut self) -> Result<DeliveriesJs, JsValue> {
        typed(to_js(
            &delivery::deliver_all(&mut self.hub).map_err(js_err)?,
        ))
    }

    /// One item as `GET /v1/items/{sku}` shows it, or `undefined`.
    /// @throws {StocksyncError} `invalid_id` for an invalid sku.
    pub fn item(&self, sku: &str) -> Result<ItemViewJs, JsValue> {
        let sku = Sku::new(sku).map_err(js_err)?;
        match self.hub.item_view(&sku) {
            Some(v) => typed(to_js(&v)),
            None => Ok(JsValue::UNDEFINED.unchecked_into()),
        }
    }

    /// Every listing's sync line, as `GET /v1/sync` shows it.
    pub fn sync(&self) -> Result<ListingStatusesJs, JsValue> {
        typed(to_js(&self.hub.sync_status(&RetryPolicy::default())))
    }
}

/// A skip reason in words ("the channel is disabled", …).
/// @throws {StocksyncError} for an unknown reason code.
#[wasm_bindgen(js_name = describeSkipReason)]
pub fn describe_skip_reason(reason: SkipReasonJs) -> Result<String, JsValue> {
    let r: SkipReason = from_js(reason.into()).map_err(js_err)?;
    Ok(r.describe().to_string())
}
