//! WooCommerce REST v3: stock pushes through the batch endpoints, order webhooks, and the
//! product/variation catalogue.
//!
//! Wire facts and sources: `../shared/CHANNELS.md` and this crate's README
//! (woocommerce/woocommerce-rest-api-docs `source/includes/wp-api-v3/`,
//! woocommerce `includes/class-wc-webhook.php`,
//! `includes/rest-api/Controllers/Version3/class-wc-rest-controller.php`).

mod catalogue;
mod stock;
mod webhook;

pub use catalogue::{CatalogueWalk, Cursor, WalkPosition, WooPage, PAGE_SIZE};
pub use stock::{build_stock_batches, parse_stock_batch, StockCall, StockUpdate, MAX_BATCH_ITEMS};
pub use webhook::{parse_webhook, WooInbound};

pub use crate::push::{CallFailure, ItemError, ItemResult};

use alloc::format;
use alloc::string::{String, ToString};
use serde_json::Value;

use crate::http::{retry_after_ms, Headers};

/// A WooCommerce error body: `{"code", "message", "data": {"status"}}`.
pub(crate) fn error_message(body: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let code = v.get("code").and_then(Value::as_str).unwrap_or("");
    let message = v.get("message").and_then(Value::as_str).unwrap_or("");
    Some(format!("{code}: {message}"))
}

/// The failures common to every WooCommerce call, from the status alone.
pub(crate) fn call_failure(
    status: u16,
    headers: &(impl Headers + ?Sized),
    body: &[u8],
) -> Option<CallFailure> {
    if (200..300).contains(&status) {
        return None;
    }
    let message = error_message(body).unwrap_or_else(|| format!("HTTP {status}"));
    Some(match status {
        401 | 403 => CallFailure::Unauthorized { status, message },
        // WordPress hosts rate-limit with 429 (WooCommerce's Store API does; REST v3 behind a
        // host's limiter may): no bucket figures, so wait what it says, else back off.
        429 => match retry_after_ms(headers) {
            Some(wait_ms) => CallFailure::Throttled { wait_ms },
            None => CallFailure::Unavailable {
                status,
                retry_after_ms: None,
            },
        },
        s if s >= 500 => CallFailure::Unavailable {
            status,
            retry_after_ms: retry_after_ms(headers),
        },
        _ => CallFailure::Rejected {
            status,
            message: message.to_string(),
        },
    })
}
