//! Rejected input as a JS error. The core's [`stocksync_core::Error`] becomes an `Error` named
//! `StocksyncError` whose `code` is the same snake_case code the HTTP API answers with, and whose
//! `message` says what was wrong and where.

use stocksync_core::Error;
use wasm_bindgen::JsValue;

/// The JS error's `name`.
pub const ERROR_NAME: &str = "StocksyncError";

/// The JS error for input the core refused.
pub fn to_js_error(e: &Error) -> JsValue {
    let err = js_sys::Error::new(&e.message);
    err.set_name(ERROR_NAME);
    // Setting a property on a fresh Error object cannot fail.
    let _ = js_sys::Reflect::set(
        &err,
        &JsValue::from_str("code"),
        &JsValue::from_str(e.code.as_str()),
    );
    err.into()
}

/// A failure of this package itself (a value the core produced could not be handed to JS).
/// It carries no API code: it is a bug, not rejected input.
pub fn internal(what: &str) -> JsValue {
    js_sys::Error::new(&format!("stocksync-web internal error: {what}")).into()
}
