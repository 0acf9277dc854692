//! WooCommerce's order webhooks (`order.created`, `order.updated`) and the unsigned ping it
//! sends when a webhook is created.
//!
//! `X-WC-Webhook-Signature` is `base64_encode(hash_hmac('sha256', $payload,
//! wp_specialchars_decode($secret, ENT_QUOTES), true))` over the delivered body, which is
//! `trim(wp_json_encode($payload))` (`class-wc-webhook.php` `generate_signature`, `deliver`).
//! The secret is HTML-entity-decoded first, which is why a WooCommerce target refuses a
//! webhook secret with `&` in it (see `target.rs`). The ping (`deliver_ping`) posts the form
//! body `webhook_id=N` with no signature and treats anything but exactly `200` as a failure.
//!
//! `X-WC-Webhook-Delivery-ID` is a new hash per delivery (`get_new_delivery_id`: the time and
//! the webhook id), so a re-delivery carries a new one: it only catches a replay of the very
//! same request. Duplicates are the core's to absorb (idempotent on channel + order + action).

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use serde::Deserialize;

use crate::http::Headers;
use crate::order::{ChannelOrder, InboundError, OrderAction, OrderLine, MAX_BODY_BYTES, MAX_LINES};
use crate::signature::{verify_base64, SignatureError};

/// What an inbound WooCommerce request is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WooInbound {
    /// The creation ping: answer 200, change nothing. It is unsigned, so anyone can send one,
    /// which is harmless because it does nothing.
    Ping { webhook_id: u64 },
    /// A verified order event.
    Order(ChannelOrder),
}

#[derive(Deserialize)]
struct Order {
    id: u64,
    #[serde(default)]
    number: Option<String>,
    #[serde(default)]
    status: String,
    #[serde(default)]
    line_items: Vec<Line>,
}

#[derive(Deserialize)]
struct Line {
    #[serde(default)]
    product_id: u64,
    #[serde(default)]
    variation_id: u64,
    quantity: i64,
    #[serde(default)]
    sku: Option<String>,
}

/// `webhook_id=N`, nothing else.
fn ping_id(body: &[u8]) -> Option<u64> {
    let text = core::str::from_utf8(body).ok()?.trim();
    let n = text.strip_prefix("webhook_id=")?;
    n.parse().ok()
}

/// What an order status means for the hub.
///
/// - `order.created`: a new order reserves, whatever its payment state (`pending` reserves too:
///   an unpaid order that WooCommerce later cancels releases through `order.updated`, and
///   reserving early never oversells). An order created already `cancelled`, `failed`,
///   `refunded` or `trash`, or a block checkout's `checkout-draft` (a cart, not an order), is
///   ignored.
/// - `order.updated`: `cancelled` and `failed` cancel; `completed` ships; `pending`,
///   `processing` and `on-hold` place (idempotent in the core: it recovers an `order.created`
///   that never arrived); `refunded`, `trash` and custom statuses are ignored (a refund's
///   restock is the merchant's decision, made on the hub).
fn action(topic: &str, status: &str) -> OrderAction {
    match (topic, status) {
        ("order.created", "cancelled" | "failed" | "refunded" | "trash" | "checkout-draft") => {
            OrderAction::Ignored
        }
        ("order.created", _) => OrderAction::Placed,
        (_, "cancelled" | "failed") => OrderAction::Cancelled,
        (_, "completed") => OrderAction::Shipped,
        (_, "pending" | "processing" | "on-hold") => OrderAction::Placed,
        _ => OrderAction::Ignored,
    }
}

/// Verifies and parses one inbound request (`secret`: the channel's webhook secret).
///
/// Lines: the listing is `variation_id` when it is not 0, else `product_id` (SPEC §9); a line
/// with neither (a deleted product) or a quantity ≤ 0 is left out.
pub fn parse_webhook(
    secret: &[u8],
    headers: &(impl Headers + ?Sized),
    body: &[u8],
) -> Result<WooInbound, InboundError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(InboundError::TooLarge);
    }
    let signature = headers.get("x-wc-webhook-signature");
    if signature.is_none() {
        return match ping_id(body) {
            Some(webhook_id) => Ok(WooInbound::Ping { webhook_id }),
            None => Err(InboundError::Signature(SignatureError::Missing)),
        };
    }
    verify_base64(secret, body, signature).map_err(InboundError::Signature)?;
    let topic = headers.get("x-wc-webhook-topic").unwrap_or("").trim();
    if topic != "order.created" && topic != "order.updated" {
        return Err(InboundError::Topic(topic.to_string()));
    }
    let order: Order = serde_json::from_slice(body)
        .map_err(|e| InboundError::Malformed(alloc::format!("not a WooCommerce order: {e}")))?;
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
            let listing = if l.variation_id != 0 {
                l.variation_id
            } else {
                l.product_id
            };
            (listing != 0).then(|| OrderLine {
                listing: listing.to_string(),
                qty: l.quantity as u64,
                sku: crate::listing::sku_of(l.sku.as_deref()),
            })
        })
        .collect();
    Ok(WooInbound::Order(ChannelOrder {
        action: action(topic, order.status.as_str()),
        reference: order.id.to_string(),
        display: order.number,
        lines,
        dedup_id: headers
            .get("x-wc-webhook-delivery-id")
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty()),
        topic: topic.to_string(),
    }))
}
