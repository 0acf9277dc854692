//! Real sales channels on the wire, sans-IO: Shopify (Admin GraphQL) and WooCommerce (REST v3).
//!
//! Like quinn-proto, this crate holds the protocol logic and none of the I/O: it *builds*
//! requests ([`http::Request`]: method, URL, headers, body bytes) and *parses* answers and
//! webhooks (status, headers, raw body). It never opens a socket, never reads a clock (a `now`
//! or a wait is data in and out), draws no random numbers (idempotency keys are derived from
//! what is sent) and knows nothing of JS, KV or SQL. The worker is the shell that sends what it
//! builds and feeds back what came in; the core decides what any of it means for stock.
//!
//! ```
//! use stocksync_channels::shopify::{self, SetQuantity};
//! use stocksync_channels::target::ShopifyTarget;
//!
//! let target = ShopifyTarget {
//!     shop: "mugs.myshopify.com".into(),
//!     location_id: "gid://shopify/Location/7".into(),
//!     api_version: "2026-04".into(),
//!     access_token: Some("shpat_x".into()),
//!     webhook_secret: Some("whsec".into()),
//!     endpoint: None,
//! };
//! let api = target.api(false).unwrap();
//! let batch = [SetQuantity { inventory_item_id: 11, quantity: 4, change_from: Some(5) }];
//! let key = shopify::idempotency_key("shopify-uk", &[42], &batch);
//! let request = shopify::build_set_quantities(&api, &batch, &key).unwrap();
//! assert_eq!(request.url, "https://mugs.myshopify.com/admin/api/2026-04/graphql.json");
//! // … the shell sends it; the answer comes back as (status, headers, body):
//! let body = br#"{"data":{"inventorySetQuantities":{"inventoryAdjustmentGroup":{"id":"gid://shopify/InventoryAdjustmentGroup/1","changes":[]},"userErrors":[]}}}"#;
//! let answer = shopify::parse_set_quantities(200, &[] as &[(&str, &str)], body, &batch);
//! assert!(matches!(answer, shopify::PushAnswer::Done(ref r) if r[0] == shopify::ItemResult::Applied));
//! ```
//!
//! `no_std` + `alloc` by default (serde_json, base64, hmac, sha2 and url all build without std
//! at no cost), so the codecs could run anywhere the core runs. Feature `std` adds nothing but
//! std's error trait; feature `fake` adds the strict local fake servers (threads and sockets).
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub mod guard;
pub mod http;
pub mod listing;
pub mod order;
pub mod push;
pub mod shopify;
pub mod signature;
pub mod target;
pub mod woo;

#[cfg(feature = "fake")]
pub mod fake;
