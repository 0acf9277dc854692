//! A fake WooCommerce REST v3 endpoint, strict where WooCommerce is:
//!
//! - HTTP Basic with the consumer key and secret, else 401 `woocommerce_rest_cannot_view`;
//! - `POST /wp-json/wc/v3/products/batch` and `/products/{parent}/variations/batch` refuse
//!   more than 100 items (create + update + delete) with `413
//!   woocommerce_rest_request_entity_too_large`, and fail single items inside a 200
//!   (`{"id", "error": {"code", "message", "data": {"status"}}}`) for an unknown id, a
//!   variation under the wrong parent, or an id the test marked bad;
//! - `stock_quantity` is applied only when the product manages stock (after the update);
//! - `GET /products` and `/products/{id}/variations` page with `per_page` ≤ 100 and `page`,
//!   answering `X-WP-Total` and `X-WP-TotalPages`, and 400 `rest_post_invalid_page_number`
//!   past the last page.

use std::collections::{BTreeMap, BTreeSet};
use std::string::{String, ToString};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use std::vec::Vec;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Value};

use super::server::{FakeRequest, FakeResponse, Server};
use super::SignedWebhook;
use crate::signature::sign_base64;

#[derive(Clone, Debug)]
pub struct WooConfig {
    pub consumer_key: String,
    pub consumer_secret: String,
}

impl Default for WooConfig {
    fn default() -> WooConfig {
        WooConfig {
            consumer_key: "ck_fake0123456789abcdef0123456789abcdef01".into(),
            consumer_secret: "cs_fake0123456789abcdef0123456789abcdef01".into(),
        }
    }
}

/// What a catalogue entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WooKind {
    Simple,
    Variable,
    Variation { parent: u64 },
}

#[derive(Clone, Debug)]
struct Product {
    kind: WooKind,
    sku: String,
    manage_stock: bool,
    stock_quantity: Option<i64>,
}

/// One request the fake answered.
#[derive(Clone, Debug)]
pub struct WooCall {
    pub method: String,
    pub path: String,
    pub status: u16,
    /// Items in a batch body.
    pub items: usize,
    pub at: Instant,
}

#[derive(Debug)]
struct Shop {
    config: WooConfig,
    products: BTreeMap<u64, Product>,
    bad: BTreeSet<u64>,
    down: bool,
    calls: Vec<WooCall>,
}

/// A running fake shop; stops when dropped.
#[derive(Debug)]
pub struct FakeWoo {
    state: Arc<Mutex<Shop>>,
    server: Server,
}

const BASE: &str = "/wp-json/wc/v3";

impl FakeWoo {
    pub fn start(config: WooConfig) -> FakeWoo {
        let state = Arc::new(Mutex::new(Shop {
            config,
            products: BTreeMap::new(),
            bad: BTreeSet::new(),
            down: false,
            calls: Vec::new(),
        }));
        let s = state.clone();
        let server = Server::start(Arc::new(move |req: &FakeRequest| {
            let mut shop = s.lock().unwrap_or_else(|p| p.into_inner());
            let answer = shop.handle(req);
            let items = serde_json::from_slice::<Value>(&req.body)
                .ok()
                .map_or(0, |b| batch_len(&b));
            shop.calls.push(WooCall {
                method: req.method.clone(),
                path: req.path.clone(),
                status: answer.status,
                items,
                at: Instant::now(),
            });
            answer
        }));
        FakeWoo { state, server }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Shop) -> T) -> T {
        f(&mut self.state.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// The base URL to put in a target's `endpoint`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    pub fn config(&self) -> WooConfig {
        self.with(|s| s.config.clone())
    }

    /// A product or variation (stock managed, the given quantity).
    pub fn add(&self, id: u64, kind: WooKind, sku: &str, stock: i64) {
        self.with(|s| {
            s.products.insert(
                id,
                Product {
                    kind,
                    sku: sku.into(),
                    manage_stock: kind != WooKind::Variable,
                    stock_quantity: (kind != WooKind::Variable).then_some(stock),
                },
            );
        });
    }

    /// Makes every update of this id fail inside the 200 (a product the shop refuses).
    pub fn mark_bad(&self, id: u64) {
        self.with(|s| s.bad.insert(id));
    }

    pub fn stock(&self, id: u64) -> Option<i64> {
        self.with(|s| s.products.get(&id).and_then(|p| p.stock_quantity))
    }

    pub fn set_down(&self, down: bool) {
        self.with(|s| s.down = down);
    }

    pub fn calls(&self) -> Vec<WooCall> {
        self.with(|s| s.calls.clone())
    }
}

fn batch_len(body: &Value) -> usize {
    ["create", "update", "delete"]
        .iter()
        .map(|k| body.get(*k).and_then(Value::as_array).map_or(0, Vec::len))
        .sum()
}

fn error(status: u16, code: &str, message: &str) -> FakeResponse {
    FakeResponse::json(
        status,
        &json!({ "code": code, "message": message, "data": { "status": status } }),
    )
}

impl Shop {
    fn authorized(&self, req: &FakeRequest) -> bool {
        let expected = format!(
            "Basic {}",
            STANDARD.encode(format!(
                "{}:{}",
                self.config.consumer_key, self.config.consumer_secret
            ))
        );
        req.header("authorization") == Some(expected.as_str())
    }

    fn handle(&mut self, req: &FakeRequest) -> FakeResponse {
        if self.down {
            return FakeResponse {
                status: 503,
                headers: vec![("Content-Type".into(), "text/html".into())],
                body: b"<html><body>Service Unavailable</body></html>".to_vec(),
            };
        }
        let Some(route) = req.path.strip_prefix(BASE) else {
            return error(
                404,
                "rest_no_route",
                "No route was found matching the URL and request method.",
            );
        };
        if !self.authorized(req) {
            return error(
                401,
                "woocommerce_rest_cannot_view",
                "Sorry, you cannot list resources.",
            );
        }
        let parts: Vec<&str> = route.trim_matches('/').split('/').collect();
        match (req.method.as_str(), parts.as_slice()) {
            ("POST", ["products", "batch"]) => self.batch(req, None),
            ("POST", ["products", parent, "variations", "batch"]) => match parent.parse::<u64>() {
                Ok(p) => self.batch(req, Some(p)),
                Err(_) => error(
                    404,
                    "rest_no_route",
                    "No route was found matching the URL and request method.",
                ),
            },
            ("GET", ["products"]) => self.list(req, None),
            ("GET", ["products", parent, "variations"]) => match parent.parse::<u64>() {
                Ok(p) => self.list(req, Some(p)),
                Err(_) => error(
                    404,
                    "rest_no_route",
                    "No route was found matching the URL and request method.",
                ),
            },
            _ => error(
                404,
                "rest_no_route",
                "No route was found matching the URL and request method.",
            ),
        }
    }

    fn product_json(&self, id: u64, p: &Product) -> Value {
        json!({
            "id": id,
            "name": p.sku,
            "type": match p.kind { WooKind::Simple => "simple", WooKind::Variable => "variable", WooKind::Variation { .. } => "variation" },
            "parent_id": match p.kind { WooKind::Variation { parent } => parent, _ => 0 },
            "sku": p.sku,
            "manage_stock": p.manage_stock,
            "stock_quantity": p.stock_quantity,
            "stock_status": if p.stock_quantity.unwrap_or(0) > 0 { "instock" } else { "outofstock" },
        })
    }

    fn batch(&mut self, req: &FakeRequest, parent: Option<u64>) -> FakeResponse {
        let Ok(body) = serde_json::from_slice::<Value>(&req.body) else {
            return error(400, "rest_invalid_json", "Invalid JSON body passed.");
        };
        if batch_len(&body) > 100 {
            return error(
                413,
                "woocommerce_rest_request_entity_too_large",
                "Unable to accept more than 100 items for this request.",
            );
        }
        if let Some(p) = parent {
            if !matches!(
                self.products.get(&p),
                Some(Product {
                    kind: WooKind::Variable,
                    ..
                })
            ) {
                return error(404, "woocommerce_rest_product_invalid_id", "Invalid ID.");
            }
        }
        let invalid = if parent.is_some() {
            "woocommerce_rest_product_variation_invalid_id"
        } else {
            "woocommerce_rest_product_invalid_id"
        };
        let mut answered = Vec::new();
        for u in body
            .get("update")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
        {
            let id = u.get("id").and_then(Value::as_u64).unwrap_or(0);
            let belongs = match self.products.get(&id).map(|p| p.kind) {
                Some(WooKind::Variation { parent: p }) => parent == Some(p),
                Some(WooKind::Simple | WooKind::Variable) => parent.is_none(),
                None => false,
            };
            if !belongs || self.bad.contains(&id) {
                answered.push(json!({
                    "id": id,
                    "error": { "code": invalid, "message": "Invalid ID.", "data": { "status": 400 } }
                }));
                continue;
            }
            let p = self.products.get_mut(&id).unwrap_or_else(|| unreachable!());
            if let Some(m) = u.get("manage_stock").and_then(Value::as_bool) {
                p.manage_stock = m;
            }
            if let Some(q) = u.get("stock_quantity") {
                let q = q
                    .as_i64()
                    .or_else(|| q.as_str().and_then(|s| s.parse().ok()));
                if p.manage_stock {
                    p.stock_quantity = q;
                }
            }
            let p = p.clone();
            answered.push(self.product_json(id, &p));
        }
        FakeResponse::json(200, &json!({ "update": answered }))
    }

    fn list(&self, req: &FakeRequest, parent: Option<u64>) -> FakeResponse {
        let per_page: usize = req
            .query
            .get("per_page")
            .and_then(|v| v.parse().ok())
            .unwrap_or(10);
        let page: usize = req
            .query
            .get("page")
            .and_then(|v| v.parse().ok())
            .unwrap_or(1);
        if per_page == 0 || per_page > 100 {
            return error(400, "rest_invalid_param", "Invalid parameter(s): per_page");
        }
        if page == 0 {
            return error(400, "rest_invalid_param", "Invalid parameter(s): page");
        }
        let all: Vec<(u64, &Product)> = self
            .products
            .iter()
            .filter(|(_, p)| match (parent, p.kind) {
                (None, WooKind::Variation { .. }) => false,
                (None, _) => true,
                (Some(want), WooKind::Variation { parent }) => want == parent,
                (Some(_), _) => false,
            })
            .map(|(id, p)| (*id, p))
            .collect();
        let total = all.len();
        let pages = total.div_ceil(per_page);
        if page > pages.max(1) {
            return error(
                400,
                "rest_post_invalid_page_number",
                "The page number requested is larger than the number of pages available.",
            );
        }
        let items: Vec<Value> = all
            .iter()
            .skip((page - 1) * per_page)
            .take(per_page)
            .map(|(id, p)| self.product_json(*id, p))
            .collect();
        FakeResponse::json(200, &Value::Array(items))
            .with_header("X-WP-Total", &total.to_string())
            .with_header("X-WP-TotalPages", &pages.to_string())
    }
}

/// An order in the REST v3 shape WooCommerce's order webhooks carry. `lines` are
/// (product_id, variation_id, sku, quantity).
pub fn order_payload(order_id: u64, status: &str, lines: &[(u64, u64, &str, u64)]) -> Vec<u8> {
    let line_items: Vec<Value> = lines
        .iter()
        .enumerate()
        .map(|(i, (product, variation, sku, qty))| {
            json!({
                "id": order_id * 10 + i as u64,
                "name": sku,
                "product_id": product,
                "variation_id": variation,
                "quantity": qty,
                "sku": sku,
                "total": "10.00",
            })
        })
        .collect();
    serde_json::to_vec(&json!({
        "id": order_id,
        "parent_id": 0,
        "number": order_id.to_string(),
        "status": status,
        "currency": "GBP",
        "line_items": line_items,
    }))
    .unwrap_or_default()
}

/// A webhook as WooCommerce sends it (`class-wc-webhook.php` `deliver`): the base64 HMAC-SHA256
/// of exactly these body bytes with the webhook's secret, and its `X-WC-Webhook-*` headers.
pub fn order_webhook(
    secret: &str,
    topic: &str,
    webhook_id: u64,
    delivery_id: u64,
    body: &[u8],
) -> SignedWebhook {
    let (resource, event) = topic.split_once('.').unwrap_or((topic, ""));
    SignedWebhook {
        headers: vec![
            ("Content-Type".into(), "application/json".into()),
            (
                "User-Agent".into(),
                "WooCommerce/9.0.0 Hookshot (WordPress/6.5)".into(),
            ),
            ("X-WC-Webhook-Source".into(), "https://shop.example/".into()),
            ("X-WC-Webhook-Topic".into(), topic.into()),
            ("X-WC-Webhook-Resource".into(), resource.into()),
            ("X-WC-Webhook-Event".into(), event.into()),
            (
                "X-WC-Webhook-Signature".into(),
                sign_base64(secret.as_bytes(), body),
            ),
            ("X-WC-Webhook-ID".into(), webhook_id.to_string()),
            ("X-WC-Webhook-Delivery-ID".into(), delivery_id.to_string()),
        ],
        body: body.to_vec(),
    }
}

/// The unsigned ping WooCommerce posts when a webhook is created (`deliver_ping`).
pub fn ping(webhook_id: u64) -> SignedWebhook {
    SignedWebhook {
        headers: vec![(
            "Content-Type".into(),
            "application/x-www-form-urlencoded".into(),
        )],
        body: format!("webhook_id={webhook_id}").into_bytes(),
    }
}
