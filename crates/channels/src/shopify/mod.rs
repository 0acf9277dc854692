//! Shopify Admin GraphQL: the `inventorySetQuantities` push, reading current numbers, the
//! `productVariants` catalogue, and order webhooks.
//!
//! Wire facts and sources: `../shared/CHANNELS.md` and this crate's README. In brief:
//! `POST {root}/admin/api/{version}/graphql.json` with `X-Shopify-Access-Token`; the
//! `@idempotent(key: "…")` directive sits on the mutation *field* with a literal key
//! (shopify.dev changelog "Making idempotency mandatory for inventory adjustments and refund
//! mutations"); every answer carries `extensions.cost` with the bucket's `throttleStatus`.

mod catalogue;
mod read;
mod set;
mod throttle;
mod webhook;

pub use catalogue::{
    build_variants_page, parse_variants_page, VariantsPage, VARIANTS_PAGE_COST, VARIANTS_PAGE_SIZE,
};
pub use read::{
    build_read_available, build_variant_items, parse_read_available, parse_variant_items,
    ItemLevel, MAX_ITEMS_PER_READ,
};
pub use set::{
    build_set_quantities, idempotency_key, parse_set_quantities, plan_set_calls, IdempotencyKey,
    PushAnswer, SetCall, SetQuantity, SetQuantityError, MAX_QUANTITIES_PER_CALL, MAX_QUANTITY,
    SET_QUANTITIES_COST,
};
pub use throttle::{cost_of, read_cost, wait_ms, CostBucket, QueryCost, ThrottleStatus};
pub use webhook::{parse_webhook, Topic};

pub use crate::push::{CallFailure, ItemError, ItemResult};

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;
use serde_json::Value;

use crate::http::{retry_after_ms, Headers, Method, Request};
use crate::target::ShopifyApi;

pub const INVENTORY_ITEM_GID: &str = "gid://shopify/InventoryItem/";
pub const VARIANT_GID: &str = "gid://shopify/ProductVariant/";

/// `gid://shopify/{Kind}/{n}` for an inventory item id.
pub fn inventory_item_gid(id: u64) -> String {
    format!("{INVENTORY_ITEM_GID}{id}")
}

/// The numeric id of a gid of the given prefix (`None` for another kind or a bad number).
pub fn gid_number(gid: &str, prefix: &str) -> Option<u64> {
    gid.strip_prefix(prefix)?.parse().ok().filter(|n| *n > 0)
}

/// One GraphQL POST.
fn graphql(api: &ShopifyApi, query: &str, variables: Value) -> Request {
    let body = serde_json::json!({ "query": query, "variables": variables });
    Request {
        method: Method::Post,
        url: api.graphql_url.clone(),
        headers: vec![
            ("Content-Type".into(), "application/json".into()),
            ("Accept".into(), "application/json".into()),
            ("X-Shopify-Access-Token".into(), api.access_token.clone()),
        ],
        // serde_json cannot fail on a Value.
        body: serde_json::to_vec(&body).unwrap_or_default(),
    }
}

/// The envelope every GraphQL answer shares, read before any payload: HTTP status, top-level
/// `errors` (THROTTLED among them) and `extensions.cost`.
pub(crate) struct Envelope {
    pub data: Value,
    pub cost: Option<QueryCost>,
}

/// What to wait when throttled without figures (a bare 429 without `Retry-After`): a second,
/// Shopify's documented restore granularity.
const THROTTLED_FALLBACK_MS: u64 = 1_000;

pub(crate) fn envelope(
    status: u16,
    headers: &(impl Headers + ?Sized),
    body: &[u8],
) -> Result<Envelope, CallFailure> {
    let retry_after = retry_after_ms(headers);
    let json: Option<Value> = serde_json::from_slice(body).ok();
    let cost = json
        .as_ref()
        .and_then(|j| j.pointer("/extensions/cost"))
        .and_then(|c| serde_json::from_value::<QueryCost>(c.clone()).ok());
    // `errors` is a list of GraphQL errors, or (401 from the REST-style auth layer) a string.
    let errors: Vec<&Value> = match json.as_ref().and_then(|j| j.get("errors")) {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(s @ Value::String(_)) => vec![s],
        _ => Vec::new(),
    };
    let throttled = status == 429
        || errors
            .iter()
            .any(|e| e.pointer("/extensions/code").and_then(Value::as_str) == Some("THROTTLED"));
    if throttled {
        // The wait the bucket itself implies, and never less than a Retry-After.
        let from_cost = cost
            .as_ref()
            .map(|c| wait_ms(c.requested_query_cost, &c.throttle_status));
        let wait = match (from_cost, retry_after) {
            (Some(a), Some(b)) => a.max(b),
            (Some(a), None) => a.max(1),
            (None, Some(b)) => b,
            (None, None) => THROTTLED_FALLBACK_MS,
        };
        return Err(CallFailure::Throttled { wait_ms: wait });
    }
    if status == 401 || status == 403 {
        return Err(CallFailure::Unauthorized {
            status,
            message: first_message(&errors).unwrap_or_else(|| "unauthorized".into()),
        });
    }
    if status >= 500 {
        return Err(CallFailure::Unavailable {
            status,
            retry_after_ms: retry_after,
        });
    }
    if !(200..300).contains(&status) {
        return Err(CallFailure::Rejected {
            status,
            message: first_message(&errors).unwrap_or_else(|| format!("HTTP {status}")),
        });
    }
    if let Some(message) = first_message(&errors) {
        return Err(CallFailure::Rejected { status, message });
    }
    let data = match &json {
        Some(j) => j.get("data").cloned().unwrap_or(Value::Null),
        None => return Err(CallFailure::Malformed("the answer is not JSON".into())),
    };
    if data.is_null() {
        return Err(CallFailure::Malformed("no data in the answer".into()));
    }
    Ok(Envelope { data, cost })
}

fn first_message(errors: &[&Value]) -> Option<String> {
    let e = errors.first()?;
    Some(match e {
        Value::String(s) => s.clone(),
        _ => e
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("error")
            .to_string(),
    })
}
