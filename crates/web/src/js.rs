//! Values across the JS boundary. In: a JS value becomes JSON, then the core's own parser
//! ([`wire::from_value`]) reads it, so a bad id or quantity gets the same error code in JS as
//! over HTTP. Out: serde-wasm-bindgen's JSON-compatible serializer, so maps are plain objects
//! and `None` is `null`, exactly the shapes of the HTTP API and of `types.d.ts`.

use serde::de::DeserializeOwned;
use serde::Serialize;
use stocksync_core::{wire, Error, ErrorCode};
use wasm_bindgen::JsValue;

use crate::error::{internal, to_js_error};

/// Reads a JS value as `T`, with the API's error codes.
pub fn from_js<T: DeserializeOwned>(value: JsValue) -> Result<T, Error> {
    wire::from_value(json(value)?)
}

/// Reads a JS array, each element as `T`; an error names the element (`"event 2: …"`).
pub fn list_from_js<T: DeserializeOwned>(value: JsValue, what: &str) -> Result<Vec<T>, Error> {
    let serde_json::Value::Array(items) = json(value)? else {
        return Err(Error::new(ErrorCode::InvalidType, format!("expected an array of {what}s")));
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, v)| wire::from_value(v).map_err(|e| Error::new(e.code, format!("{what} {}: {}", i + 1, e.message))))
        .collect()
}

/// Reads a JS string argument as a validated id (`Sku::new`, …).
pub fn id<T>(value: &str, make: impl FnOnce(String) -> Result<T, Error>) -> Result<T, JsValue> {
    make(value.to_string()).map_err(|e| to_js_error(&e))
}

/// Hands a value the core produced to JS.
pub fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, JsValue> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| internal(&e.to_string()))
}

fn json(value: JsValue) -> Result<serde_json::Value, Error> {
    serde_wasm_bindgen::from_value(value).map_err(|e| Error::new(ErrorCode::InvalidType, e.to_string()))
}
