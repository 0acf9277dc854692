//! A fake Shopify Admin GraphQL endpoint, strict where Shopify is:
//!
//! - `X-Shopify-Access-Token` must be the shop's token, else 401 with Shopify's body;
//! - the path is `/admin/api/{version}/graphql.json` for the configured version, POST only;
//! - `inventorySetQuantities` from 2026-04 needs `@idempotent(key: "…")` on the field and a
//!   `changeFromQuantity` on every quantity (`null` opts out of the compare), else an error;
//!   `name` must be `available` or `on_hand`, the reason one of Shopify's, the location the
//!   shop's, the items known and stocked there, quantities within 0..=1,000,000,000;
//! - an idempotency key is applied once: the same key with the same variables answers the first
//!   result and applies nothing (`IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED` if that first attempt
//!   had user errors); with other variables, `IDEMPOTENCY_KEY_PARAMETER_MISMATCH`;
//! - a `changeFromQuantity` that differs from its own number is `CHANGE_FROM_QUANTITY_STALE`
//!   (field path `["input","quantities","i","changeFromQuantity"]`), and a call with any user
//!   error applies nothing (all or nothing: this fake's default reading of an undocumented
//!   point; [`ShopifyConfig::partial_apply`] gives the other);
//! - a cost-based leaky bucket (maximum, restore rate per second; mutation 10 points, a read of
//!   n items 1 + n, a page of `first` variants 2 + first requested, refunded to what was read),
//!   answering `THROTTLED` with the real `extensions.cost` shape when a call does not fit yet,
//!   and `MAX_COST_EXCEEDED` when it never can;
//! - `productVariants(first ≤ 250, after: cursor)` pages the catalogue in id order.
//!
//! The shop can move its own numbers ([`FakeShopify::sell`], [`FakeShopify::admin_edit`]), be
//! taken down ([`FakeShopify::set_down`], 503) and revoke the app's token
//! ([`FakeShopify::revoke_token`], 401).

use std::collections::{BTreeMap, HashMap};
use std::string::{String, ToString};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use std::vec::Vec;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Value};

use super::server::{FakeRequest, FakeResponse, Server};
use super::SignedWebhook;
use crate::shopify::{gid_number, inventory_item_gid, INVENTORY_ITEM_GID, VARIANT_GID};
use crate::signature::sign_base64;

/// How the fake shop is set up.
#[derive(Clone, Debug)]
pub struct ShopifyConfig {
    pub shop: String,
    pub access_token: String,
    pub api_version: String,
    pub location_id: u64,
    /// The bucket's size in points (`maximumAvailable`).
    pub bucket_max: f64,
    /// Points restored per second (`restoreRate`).
    pub restore_rate: f64,
    /// Answer THROTTLED with HTTP 429 (true) or 200 (false): which one Shopify sends is
    /// unconfirmed (CHANNELS.md), so the tests run both.
    pub throttle_with_429: bool,
    /// Apply the quantities without errors even when others of the call have some (listing
    /// them in the adjustment group), instead of all or nothing: the other reading of an
    /// undocumented point, so the codec is tested under both.
    pub partial_apply: bool,
}

impl Default for ShopifyConfig {
    fn default() -> ShopifyConfig {
        ShopifyConfig {
            shop: "fake-mugs.myshopify.com".into(),
            access_token: "shpat_fake_token".into(),
            api_version: "2026-04".into(),
            location_id: 655_441_491,
            // A Standard plan's restore rate; a bucket of 10 seconds of it.
            bucket_max: 1000.0,
            restore_rate: 100.0,
            throttle_with_429: false,
            partial_apply: false,
        }
    }
}

/// One GraphQL call the fake answered.
#[derive(Clone, Debug)]
pub struct ShopifyCall {
    /// `inventorySetQuantities`, `nodes`, `productVariants`, or `-` (refused before parsing).
    pub operation: &'static str,
    pub status: u16,
    pub throttled: bool,
    /// The bucket's points just before the call was charged.
    pub available_before: f64,
    pub idempotency_key: Option<String>,
    /// A replay of a key already applied (answered from the record).
    pub replayed: bool,
    pub at: Instant,
}

#[derive(Clone, Debug)]
struct Item {
    variant_id: u64,
    sku: String,
    available: i64,
    stocked: bool,
}

#[derive(Debug)]
struct Shop {
    config: ShopifyConfig,
    /// By inventory item id.
    items: BTreeMap<u64, Item>,
    /// Variant id → inventory item id, in variant order.
    variants: BTreeMap<u64, u64>,
    /// Idempotency key → (variables, the answer's body).
    keys: HashMap<String, (Value, Value)>,
    bucket: f64,
    bucket_at: Instant,
    down: bool,
    calls: Vec<ShopifyCall>,
    /// Each applied set: (inventory item, quantity).
    applied: Vec<(u64, i64)>,
    /// Edits made in the shop's admin: (inventory item, from, to).
    admin_edits: Vec<(u64, i64, i64)>,
    next_group: u64,
    next_order: u64,
    /// Catalogue pages left to answer before the token is revoked.
    revoke_after_pages: Option<u32>,
}

/// A running fake shop; stops when dropped.
#[derive(Debug)]
pub struct FakeShopify {
    state: Arc<Mutex<Shop>>,
    server: Server,
}

const REASONS: [&str; 13] = [
    "correction",
    "cycle_count_available",
    "damaged",
    "movement_created",
    "movement_updated",
    "movement_received",
    "movement_canceled",
    "other",
    "promotion",
    "quality_control",
    "received",
    "reservation_created",
    "restock",
];

impl FakeShopify {
    pub fn start(config: ShopifyConfig) -> FakeShopify {
        let state = Arc::new(Mutex::new(Shop {
            bucket: config.bucket_max,
            bucket_at: Instant::now(),
            config,
            items: BTreeMap::new(),
            variants: BTreeMap::new(),
            keys: HashMap::new(),
            down: false,
            calls: Vec::new(),
            applied: Vec::new(),
            admin_edits: Vec::new(),
            next_group: 1,
            next_order: 5_000_000_001,
            revoke_after_pages: None,
        }));
        let s = state.clone();
        let server = Server::start(Arc::new(move |req: &FakeRequest| {
            let mut shop = s.lock().unwrap_or_else(|p| p.into_inner());
            shop.handle(req)
        }));
        FakeShopify { state, server }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Shop) -> T) -> T {
        f(&mut self.state.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// The base URL to put in a target's `endpoint`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    pub fn config(&self) -> ShopifyConfig {
        self.with(|s| s.config.clone())
    }

    /// A variant and its inventory item, stocked at the shop's location.
    pub fn add_variant(&self, variant_id: u64, inventory_item_id: u64, sku: &str, available: i64) {
        self.with(|s| {
            s.items.insert(
                inventory_item_id,
                Item {
                    variant_id,
                    sku: sku.into(),
                    available,
                    stocked: true,
                },
            );
            s.variants.insert(variant_id, inventory_item_id);
        });
    }

    /// `n` variants: variant `base + i`, inventory item `base + 500_000_000 + i`, sku
    /// `{prefix}{i}`, available 0 (a big catalogue for discovery).
    pub fn add_variants(&self, n: u64, base: u64, prefix: &str) {
        self.with(|s| {
            for i in 0..n {
                let (v, item) = (base + i, base + 500_000_000 + i);
                s.items.insert(
                    item,
                    Item {
                        variant_id: v,
                        sku: format!("{prefix}{i}"),
                        available: 0,
                        stocked: true,
                    },
                );
                s.variants.insert(v, item);
            }
        });
    }

    /// Marks an item as not stocked at the location (`ITEM_NOT_STOCKED_AT_LOCATION`).
    pub fn unstock(&self, inventory_item_id: u64) {
        self.with(|s| {
            if let Some(i) = s.items.get_mut(&inventory_item_id) {
                i.stocked = false;
            }
        });
    }

    pub fn available(&self, inventory_item_id: u64) -> Option<i64> {
        self.with(|s| s.items.get(&inventory_item_id).map(|i| i.available))
    }

    /// A sale on the channel: its own number drops now, and the order webhook it will send
    /// (later, when the test chooses) is returned, signed with `secret`.
    pub fn sell(&self, inventory_item_id: u64, qty: i64, secret: &str) -> SignedWebhook {
        let (variant, sku, order_id, shop) = self.with(|s| {
            let order = s.next_order;
            s.next_order += 1;
            let shop = s.config.shop.clone();
            let item = s
                .items
                .get_mut(&inventory_item_id)
                .expect("selling a known item");
            item.available -= qty;
            (item.variant_id, item.sku.clone(), order, shop)
        });
        let body = order_payload(order_id, &[(variant, &sku, qty as u64)]);
        order_webhook(&shop, secret, "orders/create", &body)
    }

    /// An edit made directly in the shop's admin.
    pub fn admin_edit(&self, inventory_item_id: u64, to: i64) {
        self.with(|s| {
            if let Some(item) = s.items.get_mut(&inventory_item_id) {
                s.admin_edits.push((inventory_item_id, item.available, to));
                item.available = to;
            }
        });
    }

    pub fn admin_edits(&self) -> Vec<(u64, i64, i64)> {
        self.with(|s| s.admin_edits.clone())
    }

    /// While down, every request is answered 503.
    pub fn set_down(&self, down: bool) {
        self.with(|s| s.down = down);
    }

    /// The merchant uninstalls the app or rotates its token: from now on calls with the old
    /// token are answered 401, as Shopify does.
    pub fn revoke_token(&self) {
        self.with(|s| s.config.access_token = "shpat_revoked".into());
    }

    /// Revokes the token ([`Self::revoke_token`]) once `pages` more catalogue pages have been
    /// answered: a discovery that fails in its middle, at a page the test chooses.
    pub fn revoke_token_after_pages(&self, pages: u32) {
        self.with(|s| s.revoke_after_pages = Some(pages));
    }

    /// Empties the bucket (to test throttling without spending it first).
    pub fn drain_bucket(&self, to: f64) {
        self.with(|s| {
            s.bucket = to;
            s.bucket_at = Instant::now();
        });
    }

    pub fn calls(&self) -> Vec<ShopifyCall> {
        self.with(|s| s.calls.clone())
    }

    /// Every set applied so far: (inventory item, quantity).
    pub fn applied(&self) -> Vec<(u64, i64)> {
        self.with(|s| s.applied.clone())
    }
}

/// A minimal order in the REST shape Shopify's order webhooks carry (the fields the adapter
/// reads, and a few around them as Shopify sends them).
pub fn order_payload(order_id: u64, lines: &[(u64, &str, u64)]) -> Vec<u8> {
    let line_items: Vec<Value> = lines
        .iter()
        .enumerate()
        .map(|(i, (variant, sku, qty))| {
            json!({
                "id": order_id * 10 + i as u64,
                "admin_graphql_api_id": format!("gid://shopify/LineItem/{}", order_id * 10 + i as u64),
                "variant_id": variant,
                "product_id": 7_000_000 + variant,
                "sku": sku,
                "name": sku,
                "quantity": qty,
                "fulfillable_quantity": qty,
                "fulfillment_status": null,
                "price": "10.00",
            })
        })
        .collect();
    let body = json!({
        "id": order_id,
        "admin_graphql_api_id": format!("gid://shopify/Order/{order_id}"),
        "name": format!("#{}", 1000 + order_id % 100_000),
        "order_number": 1000 + order_id % 100_000,
        "cancelled_at": null,
        "cancel_reason": null,
        "financial_status": "paid",
        "fulfillment_status": null,
        "currency": "GBP",
        "line_items": line_items,
    });
    serde_json::to_vec(&body).unwrap_or_default()
}

/// A webhook as Shopify sends it: the base64 HMAC-SHA256 of exactly these body bytes with the
/// app's secret, and the headers Shopify adds.
pub fn order_webhook(shop: &str, secret: &str, topic: &str, body: &[u8]) -> SignedWebhook {
    let id = hex::encode(sha2_prefix(body));
    SignedWebhook {
        headers: vec![
            ("Content-Type".into(), "application/json".into()),
            ("X-Shopify-Topic".into(), topic.into()),
            (
                "X-Shopify-Hmac-Sha256".into(),
                sign_base64(secret.as_bytes(), body),
            ),
            ("X-Shopify-Shop-Domain".into(), shop.into()),
            ("X-Shopify-API-Version".into(), "2026-04".into()),
            (
                "X-Shopify-Webhook-Id".into(),
                format!("b54557e4-bdd9-4b37-8a5f-{}", &id[..12]),
            ),
            (
                "X-Shopify-Event-Id".into(),
                format!("98880550-7158-44d4-b7cd-{}", &id[12..24]),
            ),
            (
                "X-Shopify-Triggered-At".into(),
                "2026-12-03T07:00:00.000000Z".into(),
            ),
        ],
        body: body.to_vec(),
    }
}

fn sha2_prefix(body: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(body)[..16].to_vec()
}

fn graphql_error(message: &str, code: &str) -> Value {
    json!({ "message": message, "extensions": { "code": code } })
}

/// `@idempotent(key: "…")` in the query text, if any.
fn idempotent_key(query: &str) -> Option<String> {
    let at = query.find("@idempotent")?;
    let rest = &query[at..];
    let open = rest.find('"')?;
    let close = rest[open + 1..].find('"')?;
    Some(rest[open + 1..open + 1 + close].to_string())
}

fn user_error(code: &str, field: Vec<String>, message: &str) -> Value {
    json!({ "code": code, "field": field, "message": message })
}

fn q_field(i: usize, name: &str) -> Vec<String> {
    vec![
        "input".into(),
        "quantities".into(),
        i.to_string(),
        name.into(),
    ]
}

impl Shop {
    fn refill(&mut self) {
        let now = Instant::now();
        let secs = now.duration_since(self.bucket_at).as_secs_f64();
        self.bucket = (self.bucket + secs * self.config.restore_rate).min(self.config.bucket_max);
        self.bucket_at = now;
    }

    fn cost(&self, requested: f64, actual: Option<f64>) -> Value {
        json!({
            "requestedQueryCost": requested,
            "actualQueryCost": actual,
            "throttleStatus": {
                "maximumAvailable": self.config.bucket_max,
                "currentlyAvailable": self.bucket.floor(),
                "restoreRate": self.config.restore_rate,
            }
        })
    }

    fn record(
        &mut self,
        operation: &'static str,
        status: u16,
        throttled: bool,
        before: f64,
        key: Option<String>,
        replayed: bool,
    ) {
        self.calls.push(ShopifyCall {
            operation,
            status,
            throttled,
            available_before: before,
            idempotency_key: key,
            replayed,
            at: Instant::now(),
        });
    }

    fn handle(&mut self, req: &FakeRequest) -> FakeResponse {
        if self.down {
            self.record("-", 503, false, self.bucket, None, false);
            return FakeResponse {
                status: 503,
                headers: vec![("Content-Type".into(), "text/html".into())],
                body: b"<html><body>Service Unavailable</body></html>".to_vec(),
            };
        }
        let expected_path = format!("/admin/api/{}/graphql.json", self.config.api_version);
        if req.path != expected_path || req.method != "POST" {
            self.record("-", 404, false, self.bucket, None, false);
            return FakeResponse::json(404, &json!({ "errors": "Not Found" }));
        }
        if req.header("x-shopify-access-token") != Some(self.config.access_token.as_str()) {
            self.record("-", 401, false, self.bucket, None, false);
            return FakeResponse::json(
                401,
                &json!({ "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)" }),
            );
        }
        let Ok(body) = serde_json::from_slice::<Value>(&req.body) else {
            self.record("-", 400, false, self.bucket, None, false);
            return FakeResponse::json(
                400,
                &json!({ "errors": { "query": "Required parameter missing or invalid" } }),
            );
        };
        let query = body
            .get("query")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let variables = body.get("variables").cloned().unwrap_or(Value::Null);
        let (operation, requested): (&'static str, f64) = if query
            .contains("inventorySetQuantities")
        {
            ("inventorySetQuantities", 10.0)
        } else if query.contains("productVariants") {
            let first = variables.get("first").and_then(Value::as_u64).unwrap_or(0);
            ("productVariants", 2.0 + first as f64)
        } else if query.contains("nodes(") {
            let n = variables
                .get("ids")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            ("nodes", 1.0 + n as f64)
        } else {
            self.record("-", 200, false, self.bucket, None, false);
            return FakeResponse::json(
                200,
                &json!({ "errors": [graphql_error("This fake only knows the adapter's operations", "undefinedField")] }),
            );
        };
        self.refill();
        let before = self.bucket;
        if requested > self.config.bucket_max {
            // A call that can never fit is refused, not throttled (it would wait forever).
            self.record(operation, 200, false, before, None, false);
            return FakeResponse::json(
                200,
                &json!({ "errors": [graphql_error(
                    &format!("Query cost is {requested}, which exceeds the single query max cost limit ({}).", self.config.bucket_max),
                    "MAX_COST_EXCEEDED",
                )] }),
            );
        }
        if requested > self.bucket {
            let status = if self.config.throttle_with_429 {
                429
            } else {
                200
            };
            let cost = self.cost(requested, None);
            self.record(operation, status, true, before, None, false);
            return FakeResponse::json(
                status,
                &json!({
                    "errors": [{
                        "message": "Throttled",
                        "extensions": { "code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits" }
                    }],
                    "extensions": { "cost": cost }
                }),
            );
        }
        let (data, actual, key, replayed) = match operation {
            "inventorySetQuantities" => {
                let key = idempotent_key(&query);
                match self.set_quantities(&variables, key.as_deref()) {
                    Ok((data, replayed)) => (data, 10.0, key, replayed),
                    Err(errors) => {
                        self.bucket -= 1.0;
                        let cost = self.cost(requested, Some(1.0));
                        self.record(operation, 200, false, before, key, false);
                        return FakeResponse::json(
                            200,
                            &json!({ "errors": errors, "extensions": { "cost": cost } }),
                        );
                    }
                }
            }
            "productVariants" => match self.variants_page(&variables) {
                Ok((data, read)) => {
                    if let Some(n) = self.revoke_after_pages.as_mut() {
                        *n = n.saturating_sub(1);
                        if *n == 0 {
                            self.revoke_after_pages = None;
                            self.config.access_token = "shpat_revoked".into();
                        }
                    }
                    (data, 2.0 + read as f64, None, false)
                }
                Err(errors) => {
                    self.record(operation, 200, false, before, None, false);
                    return FakeResponse::json(200, &json!({ "errors": errors }));
                }
            },
            _ => {
                let (data, n) = self.read_nodes(&variables);
                (data, 1.0 + n as f64, None, false)
            }
        };
        self.bucket -= actual;
        let cost = self.cost(requested, Some(actual));
        self.record(operation, 200, false, before, key, replayed);
        FakeResponse::json(
            200,
            &json!({ "data": data, "extensions": { "cost": cost } }),
        )
    }

    /// The mutation. `Err` is a top-level GraphQL error list (nothing applied, nothing stored
    /// under the key); `Ok((data, replayed))`.
    fn set_quantities(
        &mut self,
        variables: &Value,
        key: Option<&str>,
    ) -> Result<(Value, bool), Vec<Value>> {
        let mandatory = self.config.api_version.as_str() >= "2026-04";
        if mandatory && key.is_none() {
            return Err(vec![graphql_error(
                "The @idempotent directive is required for this mutation.",
                "BAD_REQUEST",
            )]);
        }
        let input = variables.get("input").cloned().unwrap_or(Value::Null);
        let Some(quantities) = input.get("quantities").and_then(Value::as_array).cloned() else {
            return Err(vec![graphql_error(
                "Variable $input of type InventorySetQuantitiesInput! was provided invalid value for quantities",
                "INVALID_VARIABLE",
            )]);
        };
        if mandatory {
            if let Some(i) = quantities
                .iter()
                .position(|q| q.get("changeFromQuantity").is_none())
            {
                return Err(vec![graphql_error(
                    &format!("Variable $input of type InventorySetQuantitiesInput! was provided invalid value for quantities.{i}.changeFromQuantity (Expected value to not be null)"),
                    "INVALID_VARIABLE",
                )]);
            }
            if quantities
                .iter()
                .any(|q| q.get("compareQuantity").is_some())
            {
                return Err(vec![graphql_error(
                    "InventoryQuantityInput does not accept an argument named compareQuantity",
                    "argumentNotAccepted",
                )]);
            }
        }
        if let Some(k) = key {
            if let Some((vars, answer)) = self.keys.get(k) {
                let failed = answer
                    .pointer("/inventorySetQuantities/userErrors")
                    .and_then(Value::as_array)
                    .is_some_and(|e| !e.is_empty());
                if vars == variables && failed {
                    // Shopify's latest enum: "A previous request with this idempotency key
                    // failed. Retry with a new idempotency key."
                    let data = json!({ "inventorySetQuantities": {
                        "inventoryAdjustmentGroup": null,
                        "userErrors": [user_error("IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED", Vec::new(),
                            "A previous request with this idempotency key failed. Retry with a new idempotency key.")]
                    }});
                    return Ok((data, true));
                }
                if vars == variables {
                    return Ok((answer.clone(), true));
                }
                let data = json!({ "inventorySetQuantities": {
                    "inventoryAdjustmentGroup": null,
                    "userErrors": [user_error("IDEMPOTENCY_KEY_PARAMETER_MISMATCH", vec!["input".into()],
                        "The same idempotency key cannot be used with different operation parameters.")]
                }});
                return Ok((data, false));
            }
        }
        let location = format!("gid://shopify/Location/{}", self.config.location_id);
        let mut errors = Vec::new();
        let name = input.get("name").and_then(Value::as_str).unwrap_or("");
        if name != "available" && name != "on_hand" {
            errors.push(user_error(
                "INVALID_NAME",
                vec!["input".into(), "name".into()],
                "The quantity name must be either 'available' or 'on_hand'.",
            ));
        }
        let reason = input.get("reason").and_then(Value::as_str).unwrap_or("");
        if !REASONS.contains(&reason) {
            errors.push(user_error(
                "INVALID_REASON",
                vec!["input".into(), "reason".into()],
                "The specified reason is invalid.",
            ));
        }
        let mut planned: Vec<(u64, i64)> = Vec::new();
        for (i, q) in quantities.iter().enumerate() {
            let item = q
                .get("inventoryItemId")
                .and_then(Value::as_str)
                .and_then(|g| gid_number(g, INVENTORY_ITEM_GID));
            let Some(item) = item.filter(|i| self.items.contains_key(i)) else {
                errors.push(user_error(
                    "INVALID_INVENTORY_ITEM",
                    q_field(i, "inventoryItemId"),
                    "The specified inventory item could not be found.",
                ));
                continue;
            };
            if q.get("locationId").and_then(Value::as_str) != Some(location.as_str()) {
                errors.push(user_error(
                    "INVALID_LOCATION",
                    q_field(i, "locationId"),
                    "The specified location could not be found.",
                ));
                continue;
            }
            if planned.iter().any(|(p, _)| *p == item) {
                errors.push(user_error(
                    "NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR",
                    q_field(i, "inventoryItemId"),
                    "The combination of inventoryItemId and locationId must be unique.",
                ));
                continue;
            }
            let Some(quantity) = q.get("quantity").and_then(Value::as_i64) else {
                errors.push(user_error(
                    "INVALID_QUANTITY_NEGATIVE",
                    q_field(i, "quantity"),
                    "The quantity can't be negative.",
                ));
                continue;
            };
            if quantity > 1_000_000_000 {
                errors.push(user_error(
                    "INVALID_QUANTITY_TOO_HIGH",
                    q_field(i, "quantity"),
                    "The total quantity can't be higher than 1,000,000,000.",
                ));
                continue;
            }
            if quantity < 0 && name == "on_hand" {
                errors.push(user_error(
                    "INVALID_QUANTITY_NEGATIVE",
                    q_field(i, "quantity"),
                    "The quantity can't be negative.",
                ));
                continue;
            }
            let it = &self.items[&item];
            if !it.stocked {
                errors.push(user_error(
                    "ITEM_NOT_STOCKED_AT_LOCATION",
                    q_field(i, "inventoryItemId"),
                    "The specified inventory item is not stocked at the location.",
                ));
                continue;
            }
            match q.get("changeFromQuantity") {
                Some(Value::Null) | None => {}
                Some(c) => {
                    if c.as_i64() != Some(it.available) {
                        errors.push(user_error(
                            "CHANGE_FROM_QUANTITY_STALE",
                            q_field(i, "changeFromQuantity"),
                            "The changeFromQuantity value does not match persisted value.",
                        ));
                        continue;
                    }
                }
            }
            planned.push((item, quantity));
        }
        let data = if errors.is_empty() || self.config.partial_apply {
            let group = self.next_group;
            self.next_group += 1;
            let mut changes = Vec::new();
            for (item, quantity) in &planned {
                let it = self.items.get_mut(item).unwrap_or_else(|| unreachable!());
                let delta = quantity - it.available;
                it.available = *quantity;
                self.applied.push((*item, *quantity));
                if delta != 0 {
                    changes.push(json!({
                        "name": "available",
                        "delta": delta,
                        "quantityAfterChange": quantity,
                        "item": { "id": inventory_item_gid(*item) },
                    }));
                }
            }
            json!({ "inventorySetQuantities": {
                "inventoryAdjustmentGroup": { "id": format!("gid://shopify/InventoryAdjustmentGroup/{group}"), "changes": changes },
                "userErrors": errors
            }})
        } else {
            json!({ "inventorySetQuantities": { "inventoryAdjustmentGroup": null, "userErrors": errors } })
        };
        if let Some(k) = key {
            self.keys
                .insert(k.to_string(), (variables.clone(), data.clone()));
        }
        Ok((data, false))
    }

    fn read_nodes(&self, variables: &Value) -> (Value, usize) {
        let location = format!("gid://shopify/Location/{}", self.config.location_id);
        let at_location =
            variables.get("locationId").and_then(Value::as_str) == Some(location.as_str());
        let ids = variables
            .get("ids")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let nodes: Vec<Value> = ids
            .iter()
            .map(|g| {
                if let Some(v) = g.as_str().and_then(|g| gid_number(g, VARIANT_GID)) {
                    return match self.variants.get(&v) {
                        Some(item) => json!({
                            "id": format!("{VARIANT_GID}{v}"),
                            "sku": self.items[item].sku,
                            "inventoryItem": { "id": inventory_item_gid(*item) },
                        }),
                        None => Value::Null,
                    };
                }
                let item = g.as_str().and_then(|g| gid_number(g, INVENTORY_ITEM_GID));
                match item.and_then(|i| self.items.get(&i).map(|it| (i, it))) {
                    None => Value::Null,
                    Some((i, it)) => json!({
                        "id": inventory_item_gid(i),
                        "inventoryLevel": if it.stocked && at_location {
                            json!({ "quantities": [{ "name": "available", "quantity": it.available }] })
                        } else {
                            Value::Null
                        },
                    }),
                }
            })
            .collect();
        (json!({ "nodes": nodes }), ids.len())
    }

    fn variants_page(&self, variables: &Value) -> Result<(Value, usize), Vec<Value>> {
        let first = variables.get("first").and_then(Value::as_u64).unwrap_or(0);
        if first == 0 || first > 250 {
            return Err(vec![graphql_error(
                "The connection's `first` must be between 1 and 250.",
                "MAX_PAGE_SIZE_EXCEEDED",
            )]);
        }
        let after = match variables.get("after") {
            None | Some(Value::Null) => None,
            Some(Value::String(c)) => {
                let decoded = STANDARD
                    .decode(c)
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok());
                match decoded.and_then(|d| {
                    d.strip_prefix("variant:")
                        .and_then(|n| n.parse::<u64>().ok())
                }) {
                    Some(v) => Some(v),
                    None => {
                        return Err(vec![graphql_error(
                            "Invalid cursor for current pagination sort.",
                            "BAD_REQUEST",
                        )])
                    }
                }
            }
            Some(_) => {
                return Err(vec![graphql_error(
                    "after must be a String",
                    "INVALID_VARIABLE",
                )])
            }
        };
        let mut range = match after {
            None => self.variants.range(..),
            Some(v) => self.variants.range(v + 1..),
        };
        let mut nodes = Vec::new();
        let mut last = None;
        for (v, item) in range.by_ref().take(first as usize) {
            let it = &self.items[item];
            nodes.push(json!({
                "id": format!("{VARIANT_GID}{v}"),
                "sku": it.sku,
                "inventoryItem": { "id": inventory_item_gid(*item) },
            }));
            last = Some(*v);
        }
        let has_next = range.next().is_some();
        let end = last.map(|v| STANDARD.encode(format!("variant:{v}")));
        let read = nodes.len();
        Ok((
            json!({ "productVariants": {
                "nodes": nodes,
                "pageInfo": { "hasNextPage": has_next, "endCursor": end }
            }}),
            read,
        ))
    }
}
