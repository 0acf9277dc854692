//! The neutral shape both channels' order webhooks are parsed into: what the core's order
//! events need and nothing more. The worker turns it into `Event::OrderPlaced` /
//! `OrderCancelled` / `OrderShipped` with the channel's id; the core does the rest (idempotency
//! on channel + reference, lines resolved through listing links, unlinked lines kept).

use alloc::string::String;
use alloc::vec::Vec;

/// What happened to the order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderAction {
    /// A new order: reserve.
    Placed,
    /// Cancelled on the channel: release.
    Cancelled,
    /// Fulfilled / completed: ship (lower on hand, release).
    Shipped,
    /// A change the hub has no rule for (a WooCommerce `order.updated` to `on-hold`, a refund):
    /// answered 200 so the channel does not retry or disable the webhook, and nothing changes.
    Ignored,
}

/// One order line: the channel's listing id (see each channel's module for which id) and how
/// many units of that listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderLine {
    pub listing: String,
    pub qty: u64,
    /// The channel's SKU on the line, if any: shown for an unlinked line, never used to link.
    pub sku: Option<String>,
}

/// A parsed, verified order webhook.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelOrder {
    pub action: OrderAction,
    /// The order's reference on the hub: the channel's immutable numeric order id, as text.
    /// Not Shopify's `name` ("#1001") or WooCommerce's `number`: both can be re-formatted by the
    /// merchant or a plugin, while the id never changes and is what cancels and fulfilments
    /// of the same order carry.
    pub reference: String,
    /// The human-facing number (`name` / `number`), for display only.
    pub display: Option<String>,
    pub lines: Vec<OrderLine>,
    /// Identifies the delivery, for an early duplicate answer before the core is asked.
    /// Shopify: `X-Shopify-Event-Id` when present, else `X-Shopify-Webhook-Id`, both the same
    /// across Shopify's retries. WooCommerce: `X-WC-Webhook-Delivery-ID`, new on every
    /// delivery (it only catches a replay of the same request). The core's own idempotency on
    /// channel + reference + action is what makes every duplicate harmless.
    pub dedup_id: Option<String>,
    /// The channel's topic (`orders/create`, `order.updated`, …), for logs.
    pub topic: String,
}

/// Why an inbound webhook was refused. Each maps to a 4xx; none changes anything.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InboundError {
    /// 401: bad, missing or unverifiable signature.
    Signature(crate::signature::SignatureError),
    /// 400: a topic this route does not take (the webhook is registered for the wrong event).
    Topic(String),
    /// 400: the body is not the documented order shape.
    Malformed(String),
    /// 413: more lines than `MAX_LINES` or a body over `MAX_BODY_BYTES`.
    TooLarge,
}

impl InboundError {
    pub fn status(&self) -> u16 {
        match self {
            InboundError::Signature(_) => 401,
            InboundError::Topic(_) | InboundError::Malformed(_) => 400,
            InboundError::TooLarge => 413,
        }
    }
}

/// Order webhooks over this are refused before parsing (Shopify orders with hundreds of lines
/// stay far below it).
pub const MAX_BODY_BYTES: usize = 1 << 20;
/// Lines per order: the core's `limits::MAX_ORDER_LINES` (100), repeated here because this
/// crate does not depend on the core; a test of the wiring should pin them equal.
pub const MAX_LINES: usize = 100;
