//! Stock pushes: `POST /products/batch` and `POST /products/{parent}/variations/batch`, each
//! `{"update": [{"id", "manage_stock": true, "stock_quantity"}]}`, at most 100 items a call
//! (over it WooCommerce answers `413 woocommerce_rest_request_entity_too_large`:
//! `class-wc-rest-controller.php` `check_batch_limit`). A set is absolute; WooCommerce has
//! no compare-and-swap and no idempotency key, so a resend is harmless.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::ToString;
use alloc::vec;
use alloc::vec::Vec;
use serde_json::{json, Value};

use super::call_failure;
use crate::http::{Headers, Method, Request};
use crate::push::{CallFailure, ItemError, ItemResult};
use crate::target::WooApi;

/// Items per batch call (WooCommerce's default `woocommerce_rest_batch_items_limit`).
pub const MAX_BATCH_ITEMS: usize = 100;

/// One listing's new number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StockUpdate {
    /// The product id (simple product) or variation id.
    pub id: u64,
    /// The variable product a variation belongs to; `None` for a simple product.
    pub parent_id: Option<u64>,
    /// Never below 0 (the hub never pushes a negative number).
    pub quantity: u64,
}

/// One call to make, and which of the input updates it carries (indexes into the slice given
/// to [`build_stock_batches`], in the order of the body's `update` list).
#[derive(Clone, Debug)]
pub struct StockCall {
    pub request: Request,
    pub items: Vec<usize>,
}

/// Splits `updates` into as few calls as WooCommerce allows: one group per endpoint (the
/// products, and each parent's variations), cut into chunks of [`MAX_BATCH_ITEMS`].
pub fn build_stock_batches(api: &WooApi, updates: &[StockUpdate]) -> Vec<StockCall> {
    // Group by endpoint (products first, then parents by id), items in input order; a map, so
    // that thousands of parents cost a log each, not a scan each.
    let mut groups: BTreeMap<Option<u64>, Vec<usize>> = BTreeMap::new();
    for (i, u) in updates.iter().enumerate() {
        groups.entry(u.parent_id).or_default().push(i);
    }
    let mut calls = Vec::new();
    for (parent, items) in groups {
        let url = match parent {
            None => format!("{}/products/batch", api.base_url),
            Some(p) => format!("{}/products/{p}/variations/batch", api.base_url),
        };
        for chunk in items.chunks(MAX_BATCH_ITEMS) {
            let update: Vec<Value> = chunk
                .iter()
                .map(|&i| {
                    json!({
                        "id": updates[i].id,
                        "manage_stock": true,
                        "stock_quantity": updates[i].quantity,
                    })
                })
                .collect();
            let body = serde_json::to_vec(&json!({ "update": update })).unwrap_or_default();
            calls.push(StockCall {
                request: Request {
                    method: Method::Post,
                    url: url.clone(),
                    headers: vec![
                        ("Content-Type".into(), "application/json".into()),
                        ("Accept".into(), "application/json".into()),
                        ("Authorization".into(), api.authorization.clone()),
                    ],
                    body,
                },
                items: chunk.to_vec(),
            });
        }
    }
    calls
}

/// Item error codes that a retry will not heal.
fn permanent(code: &str) -> bool {
    code.ends_with("_invalid_id") || code == "woocommerce_rest_invalid_product_id"
}

/// Reads the answer to one [`StockCall`]: one result per item sent (`sent_ids`, in order).
/// Inside a 200 each item may carry its own `error` object: that item failed alone.
pub fn parse_stock_batch(
    status: u16,
    headers: &(impl Headers + ?Sized),
    body: &[u8],
    sent_ids: &[u64],
) -> Result<Vec<ItemResult>, CallFailure> {
    if let Some(f) = call_failure(status, headers, body) {
        return Err(f);
    }
    let v: Value = serde_json::from_slice(body)
        .map_err(|_| CallFailure::Malformed("the batch answer is not JSON".into()))?;
    let answered = v
        .get("update")
        .and_then(Value::as_array)
        .ok_or_else(|| CallFailure::Malformed("no update list in the batch answer".into()))?;
    let mut out = Vec::with_capacity(sent_ids.len());
    for (i, id) in sent_ids.iter().enumerate() {
        // Answers come in the order sent; an error item may echo the id or carry 0.
        let item = answered
            .get(i)
            .filter(|a| {
                a.get("id")
                    .and_then(Value::as_u64)
                    .is_none_or(|a| a == *id || a == 0)
            })
            .or_else(|| {
                answered
                    .iter()
                    .find(|a| a.get("id").and_then(Value::as_u64) == Some(*id))
            });
        let result = match item {
            None => ItemResult::Failed(ItemError {
                code: "missing".into(),
                message: "the batch answer has no entry for this item".into(),
                permanent: false,
            }),
            Some(a) => match a.get("error").filter(|e| !e.is_null()) {
                Some(e) => {
                    let code = e
                        .get("code")
                        .and_then(Value::as_str)
                        .unwrap_or("error")
                        .to_string();
                    ItemResult::Failed(ItemError {
                        permanent: permanent(&code),
                        message: e
                            .get("message")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string(),
                        code,
                    })
                }
                None => ItemResult::Applied,
            },
        };
        out.push(result);
    }
    Ok(out)
}
