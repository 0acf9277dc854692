//! Webhooks as the fakes send them (signed the way the channels sign), verified by the codecs;
//! forged and modified ones refused. Posted over HTTP to a recording endpoint first, so the
//! bytes verified are the bytes that crossed the wire.

use stocksync_channels::fake::{self, FakeShopify, Inbox, ShopifyConfig, SignedWebhook};
use stocksync_channels::order::{InboundError, OrderAction};
use stocksync_channels::shopify;
use stocksync_channels::signature::SignatureError;
use stocksync_channels::woo::{self, WooInbound};

/// Posts the webhook over HTTP and returns what the receiving end got (headers as received,
/// body bytes as received), so what is verified is what crossed the wire.
fn over_the_wire(w: &SignedWebhook) -> SignedWebhook {
    let inbox = Inbox::start();
    let a = crate::post_raw(&inbox.url(), &w.headers, &w.body);
    assert_eq!(a.status, 200);
    let got = inbox.received().pop().unwrap();
    SignedWebhook {
        headers: got.headers.into_iter().collect(),
        body: got.body,
    }
}

#[test]
fn shopify_orders_create_signed_by_the_fake_verifies() {
    let fake = FakeShopify::start(ShopifyConfig::default());
    fake.add_variant(808950810, 101, "MUG", 5);
    let shop = fake.config().shop;
    let w = over_the_wire(&fake.sell(101, 2, "app-secret"));
    let o = shopify::parse_webhook(&shop, b"app-secret", w.headers.as_slice(), &w.body).unwrap();
    assert_eq!(o.action, OrderAction::Placed);
    assert_eq!(o.lines.len(), 1);
    assert_eq!(
        (o.lines[0].listing.as_str(), o.lines[0].qty),
        ("808950810", 2)
    );
    assert!(o.dedup_id.is_some());
    // The same delivery again carries the same ids (a duplicate to drop).
    let again =
        shopify::parse_webhook(&shop, b"app-secret", w.headers.as_slice(), &w.body).unwrap();
    assert_eq!(again.dedup_id, o.dedup_id);
    // Cancel and fulfil, as Shopify would send them for the same order.
    for (topic, action) in [
        ("orders/cancelled", OrderAction::Cancelled),
        ("orders/fulfilled", OrderAction::Shipped),
    ] {
        let w2 = fake::shopify::order_webhook(&shop, "app-secret", topic, &w.body);
        let o2 =
            shopify::parse_webhook(&shop, b"app-secret", w2.headers.as_slice(), &w2.body).unwrap();
        assert_eq!(
            (o2.action, o2.reference.as_str()),
            (action, o.reference.as_str())
        );
    }
    // Forged: signed with another secret. Modified: one byte of the body changed.
    let forged = fake::shopify::order_webhook(&shop, "not-the-secret", "orders/create", &w.body);
    assert_eq!(
        shopify::parse_webhook(
            &shop,
            b"app-secret",
            forged.headers.as_slice(),
            &forged.body
        ),
        Err(InboundError::Signature(SignatureError::Mismatch))
    );
    let mut modified = w.body.clone();
    let at = modified.windows(3).position(|x| x == b"\"qu").unwrap();
    modified[at + 12] = b'9';
    assert_eq!(
        shopify::parse_webhook(&shop, b"app-secret", w.headers.as_slice(), &modified)
            .unwrap_err()
            .status(),
        401
    );
}

#[test]
fn woocommerce_order_created_signed_by_the_fake_verifies() {
    let body = fake::woo::order_payload(
        4242,
        "processing",
        &[(93, 0, "MUG", 1), (22, 23, "SHIRT-S", 3)],
    );
    let w = over_the_wire(&fake::woo::order_webhook(
        "woo-secret",
        "order.created",
        7,
        901,
        &body,
    ));
    let WooInbound::Order(o) =
        woo::parse_webhook(b"woo-secret", w.headers.as_slice(), &w.body).unwrap()
    else {
        panic!()
    };
    assert_eq!(o.action, OrderAction::Placed);
    assert_eq!(o.reference, "4242");
    assert_eq!(
        o.lines
            .iter()
            .map(|l| (l.listing.as_str(), l.qty))
            .collect::<Vec<_>>(),
        vec![("93", 1), ("23", 3)]
    );
    assert_eq!(o.dedup_id.as_deref(), Some("901"));
    let cancelled = fake::woo::order_payload(4242, "cancelled", &[(93, 0, "MUG", 1)]);
    let w2 = fake::woo::order_webhook("woo-secret", "order.updated", 7, 902, &cancelled);
    let WooInbound::Order(o2) =
        woo::parse_webhook(b"woo-secret", w2.headers.as_slice(), &w2.body).unwrap()
    else {
        panic!()
    };
    assert_eq!(
        (o2.action, o2.reference.as_str()),
        (OrderAction::Cancelled, "4242")
    );
    // Forged and modified.
    let forged = fake::woo::order_webhook("guess", "order.created", 7, 903, &body);
    assert_eq!(
        woo::parse_webhook(b"woo-secret", forged.headers.as_slice(), &forged.body)
            .unwrap_err()
            .status(),
        401
    );
    let mut modified = w.body.clone();
    modified.extend_from_slice(b" ");
    assert_eq!(
        woo::parse_webhook(b"woo-secret", w.headers.as_slice(), &modified)
            .unwrap_err()
            .status(),
        401
    );
    // The creation ping answers OK and carries nothing.
    let p = fake::woo::ping(7);
    assert_eq!(
        woo::parse_webhook(b"woo-secret", p.headers.as_slice(), &p.body).unwrap(),
        WooInbound::Ping { webhook_id: 7 }
    );
}
