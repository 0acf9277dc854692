//! Shopify's order webhooks: `orders/create`, `orders/cancelled`, `orders/fulfilled`.
//!
//! Verified before anything is parsed: `X-Shopify-Hmac-Sha256` is the base64 HMAC-SHA256 of the
//! raw body keyed with the app's client secret (Shopify/shopify-app-js
//! `lib/webhooks/validate.ts`, `lib/utils/hmac-validator.ts`). The same app (and so the same
//! secret) can be installed on several shops, so `X-Shopify-Shop-Domain` must also name this
//! channel's shop.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use serde::Deserialize;

use crate::http::Headers;
use crate::order::{ChannelOrder, InboundError, OrderAction, OrderLine, MAX_BODY_BYTES, MAX_LINES};
use crate::signature::{verify_base64, SignatureError};

/// The topics this adapter takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Topic {
    OrdersCreate,
    OrdersCancelled,
    OrdersFulfilled,
}

impl Topic {
    pub fn parse(s: &str) -> Option<Topic> {
        match s.trim() {
            "orders/create" => Some(Topic::OrdersCreate),
            "orders/cancelled" => Some(Topic::OrdersCancelled),
            "orders/fulfilled" => Some(Topic::OrdersFulfilled),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Topic::OrdersCreate => "orders/create",
            Topic::OrdersCancelled => "orders/cancelled",
            Topic::OrdersFulfilled => "orders/fulfilled",
        }
    }
}

/// The REST-shaped order payload, only the fields used; unknown fields are ignored (Shopify
/// sends hundreds).
#[derive(Deserialize)]
struct Order {
    id: u64,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    line_items: Vec<Line>,
}

#[derive(Deserialize)]
struct Line {
    /// `null` for a custom line item (no product behind it).
    #[serde(default)]
    variant_id: Option<u64>,
    quantity: u64,
    #[serde(default)]
    sku: Option<String>,
}

/// Verifies and parses one webhook. `shop` is the channel's `name.myshopify.com`; `secret` its
/// webhook secret.
///
/// Lines: the listing is the line's `variant_id` (SPEC §9 "Listing ids"); lines without a
/// variant (custom items, tips) and lines of quantity 0 are left out, since no listing can sell
/// them. The order's reference is its numeric `id` (see [`ChannelOrder::reference`]).
pub fn parse_webhook(
    shop: &str,
    secret: &[u8],
    headers: &(impl Headers + ?Sized),
    body: &[u8],
) -> Result<ChannelOrder, InboundError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(InboundError::TooLarge);
    }
    verify_base64(secret, body, headers.get("x-shopify-hmac-sha256"))
        .map_err(InboundError::Signature)?;
    match headers.get("x-shopify-shop-domain") {
        Some(d) if d.trim().eq_ignore_ascii_case(shop) => {}
        // Signed by this app but for another shop: not this channel's order.
        _ => return Err(InboundError::Signature(SignatureError::Mismatch)),
    }
    let topic_text = headers.get("x-shopify-topic").unwrap_or("").trim();
    let topic =
        Topic::parse(topic_text).ok_or_else(|| InboundError::Topic(topic_text.to_string()))?;
    let order: Order = serde_json::from_slice(body)
        .map_err(|e| InboundError::Malformed(alloc::format!("not a Shopify order: {e}")))?;
    if order.id == 0 {
        return Err(InboundError::Malformed("order id 0".into()));
    }
    if order.line_items.len() > MAX_LINES {
        return Err(InboundError::TooLarge);
    }
    let lines = order
        .line_items
        .iter()
        .filter(|l| l.quantity > 0)
        .filter_map(|l| {
            Some(OrderLine {
                listing: l.variant_id.filter(|v| *v > 0)?.to_string(),
                qty: l.quantity,
                sku: crate::listing::sku_of(l.sku.as_deref()),
            })
        })
        .collect();
    let dedup_id = headers
        .get("x-shopify-event-id")
        .or_else(|| headers.get("x-shopify-webhook-id"))
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    Ok(ChannelOrder {
        action: match topic {
            Topic::OrdersCreate => OrderAction::Placed,
            Topic::OrdersCancelled => OrderAction::Cancelled,
            Topic::OrdersFulfilled => OrderAction::Shipped,
        },
        reference: order.id.to_string(),
        display: order.name,
        lines,
        dedup_id,
        topic: topic.as_str().to_string(),
    })
}
