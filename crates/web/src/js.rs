//! Values across the JS boundary.
//!
//! In: a JS value is written out as JSON text (`JSON.stringify`) and read by the core's own
//! parser ([`wire::from_json`]), the very function the worker runs on an HTTP body. So invalid
//! input gets the same error code *and* message in JS as over HTTP. Inputs are JSON-shaped:
//! plain objects and arrays (a JS `Map` would stringify as `{}`).
//!
//! Out: serde_json text (the serializer the worker answers with) read by `JSON.parse`: maps
//! are plain objects and `None` is `null`, exactly the shapes of the HTTP API and of
//! `types.d.ts`. One string crosses the boundary instead of a JS call per field, which is also
//! what keeps the package small: serde-wasm-bindgen's serializer measured 12 KB gzip more.

use serde::de::DeserializeOwned;
use serde::Serialize;
use stocksync_core::{wire, Error, ErrorCode};
use wasm_bindgen::{JsCast, JsValue};

use crate::error::internal;

/// Reads a JS value as `T`, with the API's error codes.
pub fn from_js<T: DeserializeOwned>(value: JsValue) -> Result<T, Error> {
    wire::from_json(&json_text(&value)?)
}

/// Reads a JS array, each element as `T`; an error names the element (`"event 2: …"`).
pub fn list_from_js<T: DeserializeOwned>(value: JsValue, what: &str) -> Result<Vec<T>, Error> {
    let items: js_sys::Array = value.dyn_into().map_err(|_| {
        Error::new(
            ErrorCode::InvalidType,
            format!("expected an array of {what}s"),
        )
    })?;
    items
        .iter()
        .enumerate()
        .map(|(i, v)| {
            from_js(v).map_err(|e| Error::new(e.code, format!("{what} {}: {}", i + 1, e.message)))
        })
        .collect()
}

/// Hands a value the core produced to JS.
pub fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, JsValue> {
    let text = serde_json::to_string(value).map_err(|e| internal(&e.to_string()))?;
    js_sys::JSON::parse(&text)
}

/// `JSON.stringify(value)`. Values JSON cannot carry (`undefined`, a function, a `BigInt`) are
/// `invalid_type`, as a body that is not the expected JSON is over HTTP.
fn json_text(value: &JsValue) -> Result<String, Error> {
    js_sys::JSON::stringify(value)
        .ok()
        .and_then(|s| s.as_string())
        .ok_or_else(|| {
            Error::new(
                ErrorCode::InvalidType,
                "expected a JSON value (an object, array, string, number, boolean or null)",
            )
        })
}
