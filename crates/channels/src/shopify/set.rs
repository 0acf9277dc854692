//! The push: one `inventorySetQuantities` call for a batch of listings.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::{envelope, gid_number, inventory_item_gid, INVENTORY_ITEM_GID};
use crate::http::{Headers, Request};
use crate::push::{CallFailure, ItemError, ItemResult};
use crate::target::ShopifyApi;

/// Quantities per call. Shopify documents no maximum; 250 is what open-source clients use and
/// what Shopify's connection pages allow (CHANNELS.md). Larger sets are split by the caller.
pub const MAX_QUANTITIES_PER_CALL: usize = 250;
/// Shopify refuses a total over 1,000,000,000 (`INVALID_QUANTITY_TOO_HIGH`).
pub const MAX_QUANTITY: i64 = 1_000_000_000;
/// The requested cost of the mutation (a mutation costs 10 points: shopify.dev
/// docs/api/usage/limits), for pacing with [`super::CostBucket`].
pub const SET_QUANTITIES_COST: f64 = 10.0;

/// One listing's new number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SetQuantity {
    /// The listing's inventory item (its channel address).
    pub inventory_item_id: u64,
    /// The number to show, 0 ..= [`MAX_QUANTITY`].
    pub quantity: i64,
    /// What the hub last delivered to this listing: Shopify applies the set only if its number
    /// still equals it. `None` when the hub never delivered (sent as an explicit `null`, which
    /// is Shopify's opt-out of the compare: the first push sets the number outright).
    pub change_from: Option<i64>,
}

/// An idempotency key: 1–64 characters of `[A-Za-z0-9_-]`, so it is safe inside the GraphQL
/// string literal it is written into.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn new(key: &str) -> Option<IdempotencyKey> {
        let ok = !key.is_empty()
            && key.len() <= 64
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| IdempotencyKey(key.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The key for a batch, derived (no randomness) from what makes the call *this* call: the
/// scope (channel id, plus a salt the shell bumps after `NewKeyNeeded`), each listing's push
/// `seq` and every variable sent. A retry of the same call after a lost answer gets the same key
/// (Shopify answers the first result and applies nothing twice); a new push (a new `seq`) or a
/// retry after a stale compare (a new `change_from`) gets a new one, as Shopify requires
/// ("other variables need a new key").
pub fn idempotency_key(scope: &str, seqs: &[u64], batch: &[SetQuantity]) -> IdempotencyKey {
    let mut h = Sha256::new();
    h.update((scope.len() as u64).to_le_bytes());
    h.update(scope.as_bytes());
    for s in seqs {
        h.update(s.to_le_bytes());
    }
    h.update([0xff]);
    for q in batch {
        h.update(q.inventory_item_id.to_le_bytes());
        h.update(q.quantity.to_le_bytes());
        match q.change_from {
            Some(c) => {
                h.update([1]);
                h.update(c.to_le_bytes());
            }
            None => h.update([0]),
        }
    }
    let digest = h.finalize();
    IdempotencyKey(format!("stocksync-{}", hex::encode(&digest[..16])))
}

/// A batch the codec will not build.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SetQuantityError {
    Empty,
    TooMany(usize),
    /// The quantity at this index is below 0 or above [`MAX_QUANTITY`].
    Quantity(usize),
    /// The same inventory item twice (Shopify: `NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR`).
    Duplicate(usize),
}

const SET_MUTATION_HEAD: &str = "mutation StocksyncSetAvailable($input: InventorySetQuantitiesInput!) {\n  inventorySetQuantities(input: $input) @idempotent(key: \"";
const SET_MUTATION_TAIL: &str = "\") {\n    inventoryAdjustmentGroup { id changes { name delta quantityAfterChange item { id } } }\n    userErrors { code field message }\n  }\n}";

/// Builds the call: `name: "available"`, `reason: "correction"`, a reference document naming
/// the key, and per quantity `inventoryItemId`, `locationId`, `quantity` and
/// `changeFromQuantity` (always present: a number, or `null` for a never-delivered listing).
pub fn build_set_quantities(
    api: &ShopifyApi,
    batch: &[SetQuantity],
    key: &IdempotencyKey,
) -> Result<Request, SetQuantityError> {
    if batch.is_empty() {
        return Err(SetQuantityError::Empty);
    }
    if batch.len() > MAX_QUANTITIES_PER_CALL {
        return Err(SetQuantityError::TooMany(batch.len()));
    }
    let mut quantities = Vec::with_capacity(batch.len());
    for (i, q) in batch.iter().enumerate() {
        if !(0..=MAX_QUANTITY).contains(&q.quantity) {
            return Err(SetQuantityError::Quantity(i));
        }
        if batch[..i]
            .iter()
            .any(|p| p.inventory_item_id == q.inventory_item_id)
        {
            return Err(SetQuantityError::Duplicate(i));
        }
        quantities.push(json!({
            "inventoryItemId": inventory_item_gid(q.inventory_item_id),
            "locationId": api.location_id,
            "quantity": q.quantity,
            "changeFromQuantity": q.change_from,
        }));
    }
    let query = format!("{SET_MUTATION_HEAD}{}{SET_MUTATION_TAIL}", key.as_str());
    let variables = json!({
        "input": {
            "name": "available",
            "reason": "correction",
            "referenceDocumentUri": format!("gid://stocksync/Push/{}", key.as_str()),
            "quantities": quantities,
        }
    });
    Ok(super::graphql(api, &query, variables))
}

/// The answer to [`build_set_quantities`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PushAnswer {
    /// One result per quantity sent, in the order sent.
    Done(Vec<ItemResult>),
    /// Nothing per item: the call failed as a whole.
    Failed(CallFailure),
}

/// Errors whose retry will not help: the listing's address is wrong on the channel.
fn permanent(code: &str) -> bool {
    matches!(
        code,
        "INVALID_INVENTORY_ITEM"
            | "INVALID_LOCATION"
            | "ITEM_NOT_STOCKED_AT_LOCATION"
            | "NON_MUTABLE_INVENTORY_ITEM"
            | "INVALID_QUANTITY_NEGATIVE"
            | "INVALID_QUANTITY_TOO_HIGH"
            | "INVALID_QUANTITY_TOO_LOW"
            | "INVALID_NAME"
            | "INVALID_REASON"
    )
}

/// The quantity a `userErrors[].field` path names: `["input","quantities","3",…]` → 3.
fn field_index(field: &Value) -> Option<usize> {
    let path = field.as_array()?;
    let at = path.iter().position(|p| p.as_str() == Some("quantities"))?;
    path.get(at + 1)?.as_str()?.parse().ok()
}

/// Reads the answer into one [`ItemResult`] per quantity of `batch` (what was sent).
///
/// Whether Shopify applies the other quantities when one has a `userError` is not documented
/// (CHANNELS.md). Both readings are handled: a quantity with no error is `Applied` when the
/// call had no errors at all or the adjustment group lists a change of its item, and otherwise
/// `NotApplied` (resent without an attempt counted; if it *had* been applied, the resend's
/// compare fails, the read-back shows the number sent, and the core's rule records it as
/// delivered).
pub fn parse_set_quantities(
    status: u16,
    headers: &(impl Headers + ?Sized),
    body: &[u8],
    batch: &[SetQuantity],
) -> PushAnswer {
    let sent = batch.len();
    let env = match envelope(status, headers, body) {
        Ok(e) => e,
        Err(f) => return PushAnswer::Failed(f),
    };
    let Some(payload) = env
        .data
        .get("inventorySetQuantities")
        .filter(|p| p.is_object())
    else {
        return PushAnswer::Failed(CallFailure::Malformed(
            "no inventorySetQuantities in data".into(),
        ));
    };
    let errors = payload
        .get("userErrors")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if errors.is_empty() {
        return PushAnswer::Done(vec![ItemResult::Applied; sent]);
    }
    let mut results: Vec<Option<ItemResult>> = vec![None; sent];
    for e in &errors {
        let code = e
            .get("code")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let message = e
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        match code.as_str() {
            "IDEMPOTENCY_CONCURRENT_REQUEST" => return PushAnswer::Failed(CallFailure::InProgress),
            "IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED" | "IDEMPOTENCY_KEY_PARAMETER_MISMATCH" => {
                return PushAnswer::Failed(CallFailure::NewKeyNeeded { code })
            }
            _ => {}
        }
        let index = e.get("field").and_then(field_index).filter(|i| *i < sent);
        let Some(i) = index else {
            // Not about one quantity: the call as a whole was refused.
            return PushAnswer::Failed(CallFailure::Rejected {
                status,
                message: format!("{code}: {message}"),
            });
        };
        let result = match code.as_str() {
            "CHANGE_FROM_QUANTITY_STALE" | "COMPARE_QUANTITY_STALE" => ItemResult::Stale,
            _ => ItemResult::Failed(ItemError {
                permanent: permanent(&code),
                code,
                message,
            }),
        };
        // The first error named for a quantity is kept; a stale compare wins over others,
        // because a read-back and resend may clear them.
        match &results[i] {
            None => results[i] = Some(result),
            Some(ItemResult::Stale) => {}
            Some(_) if result == ItemResult::Stale => results[i] = Some(result),
            Some(_) => {}
        }
    }
    let changed: Vec<u64> = payload
        .pointer("/inventoryAdjustmentGroup/changes")
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .filter_map(|c| c.pointer("/item/id").and_then(Value::as_str))
                .filter_map(|g| gid_number(g, INVENTORY_ITEM_GID))
                .collect()
        })
        .unwrap_or_default();
    PushAnswer::Done(
        results
            .into_iter()
            .zip(batch)
            .map(|(r, q)| match r {
                Some(r) => r,
                None if changed.contains(&q.inventory_item_id) => ItemResult::Applied,
                None => ItemResult::NotApplied,
            })
            .collect(),
    )
}

/// One call of a delivery run: the request, its key (store it with the attempt, so a call whose
/// answer was lost is resent identically), and which of the input items it carries.
#[derive(Clone, Debug)]
pub struct SetCall {
    pub request: Request,
    pub key: IdempotencyKey,
    /// Indexes into the slice given to [`plan_set_calls`], in the order of the call's
    /// quantities (what [`parse_set_quantities`] answers in).
    pub items: Vec<usize>,
    /// The quantities sent, for [`parse_set_quantities`].
    pub batch: Vec<SetQuantity>,
}

/// Splits a delivery run's `(seq, quantity)` items into calls of at most
/// [`MAX_QUANTITIES_PER_CALL`], each with its derived key (`scope`: the channel id plus the
/// shell's salt). Items the codec refuses (a quantity out of range, the same inventory item
/// twice in one run) are returned apart, by index, to be recorded as failed.
pub fn plan_set_calls(
    api: &ShopifyApi,
    scope: &str,
    items: &[(u64, SetQuantity)],
) -> (Vec<SetCall>, Vec<(usize, SetQuantityError)>) {
    let mut refused = Vec::new();
    let mut good: Vec<usize> = Vec::with_capacity(items.len());
    let mut seen = alloc::collections::BTreeSet::new();
    for (i, (_, q)) in items.iter().enumerate() {
        if !(0..=MAX_QUANTITY).contains(&q.quantity) {
            refused.push((i, SetQuantityError::Quantity(i)));
        } else if !seen.insert(q.inventory_item_id) {
            refused.push((i, SetQuantityError::Duplicate(i)));
        } else {
            good.push(i);
        }
    }
    let mut calls = Vec::new();
    for chunk in good.chunks(MAX_QUANTITIES_PER_CALL) {
        let batch: Vec<SetQuantity> = chunk.iter().map(|&i| items[i].1).collect();
        let seqs: Vec<u64> = chunk.iter().map(|&i| items[i].0).collect();
        let key = idempotency_key(scope, &seqs, &batch);
        // Every item was checked above, so the build cannot refuse the chunk.
        if let Ok(request) = build_set_quantities(api, &batch, &key) {
            calls.push(SetCall {
                request,
                key,
                items: chunk.to_vec(),
                batch,
            });
        }
    }
    (calls, refused)
}
