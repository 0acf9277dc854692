//! Shopify and WooCommerce targets as the core knows them (ARCHITECTURE.md, "Adapter targets
//! in the core"): the kind's field names, secrets redacted and kept by name, a redacted
//! snapshot importing back with the secrets the hub has.

use stocksync_core::{wire, Channel, ErrorCode, Event, Hub, Target};

fn channel(json: &str) -> Channel {
    wire::from_json::<Channel>(json).expect(json)
}

const SHOPIFY: &str = r#"{"locations":[],"target":{"kind":"shopify","shop":"mugs.myshopify.com",
  "location_id":"gid://shopify/Location/7","api_version":"2026-04","access_token":"shpat_1",
  "webhook_secret":"whsec_1"}}"#;

#[test]
fn shapes_round_trip_sorted_and_redact_every_secret() {
    let c = channel(SHOPIFY);
    let t = c.target.adapter().expect("an adapter target");
    assert_eq!(t.get("access_token"), Some("shpat_1"));
    let shown = wire::to_json(&c.target.redacted());
    assert_eq!(
        shown,
        r#"{"kind":"shopify","api_version":"2026-04","location_id":"gid://shopify/Location/7","shop":"mugs.myshopify.com"}"#
    );
    let again = wire::from_json::<Target>(&wire::to_json(&c.target)).unwrap();
    assert_eq!(again, c.target);
    let woo = channel(
        r#"{"target":{"kind":"woocommerce","site":"https://s.example","consumer_key":"ck_1",
        "consumer_secret":"cs_1","webhook_secret":"w"}}"#,
    );
    assert_eq!(
        wire::to_json(&woo.target.redacted()),
        r#"{"kind":"woocommerce","site":"https://s.example"}"#
    );
}

#[test]
fn bad_fields_are_refused_by_name() {
    for (json, code, needle) in [
        (
            r#"{"kind":"shopify","shop":"a","location_id":"b"}"#,
            ErrorCode::MissingField,
            "api_version",
        ),
        (r#"{"kind":"woocommerce"}"#, ErrorCode::MissingField, "site"),
        (
            r#"{"kind":"woocommerce","site":"x","url":"y"}"#,
            ErrorCode::UnknownField,
            "url",
        ),
        (
            r#"{"kind":"woocommerce","site":5}"#,
            ErrorCode::InvalidRequest,
            "site",
        ),
        (r#"{"kind":"etsy"}"#, ErrorCode::InvalidRequest, "shopify"),
    ] {
        let e = wire::from_json::<Target>(json).expect_err(json);
        assert!(e.message.contains(needle), "{json}: {}", e.message);
        if code != ErrorCode::InvalidRequest {
            assert_eq!(e.code, code, "{json}: {}", e.message);
        }
    }
}

#[test]
fn a_put_without_secrets_keeps_them_and_an_import_of_a_redacted_export_too() {
    let mut hub = Hub::new();
    let id = stocksync_core::ChannelId::new("shop").unwrap();
    hub.apply(Event::ChannelPut {
        id: id.clone(),
        channel: channel(SHOPIFY),
    })
    .unwrap();
    // Edit the fetched (redacted) channel: a new api version, no secrets sent.
    let mut edited = hub.channel(&id).unwrap().clone();
    edited.target = edited.target.redacted();
    let json = wire::to_json(&edited).replace("2026-04", "2026-07");
    hub.apply(Event::ChannelPut {
        id: id.clone(),
        channel: channel(&json),
    })
    .unwrap();
    let t = hub.channel(&id).unwrap().target.adapter().unwrap().clone();
    assert_eq!(t.get("api_version"), Some("2026-07"));
    assert_eq!(t.get("access_token"), Some("shpat_1"));
    assert_eq!(t.get("webhook_secret"), Some("whsec_1"));
    // A new secret replaces the old one.
    let json = json.replace(r#""shop":"#, r#""access_token":"shpat_2","shop":"#);
    hub.apply(Event::ChannelPut {
        id: id.clone(),
        channel: channel(&json),
    })
    .unwrap();
    let t = hub.channel(&id).unwrap().target.adapter().unwrap().clone();
    assert_eq!(t.get("access_token"), Some("shpat_2"));
    // A redacted export imports back with the hub's secrets.
    let before = hub.channel(&id).unwrap().clone();
    let redacted = hub.snapshot().redacted();
    assert!(!wire::to_json(&redacted).contains("shpat_2"));
    hub.import(redacted).unwrap();
    assert_eq!(hub.channel(&id).unwrap(), &before);
}
