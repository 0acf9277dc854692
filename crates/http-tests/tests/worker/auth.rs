//! Auth (SPEC §5): the bearer API key on every `/v1` route; the signed order trigger instead
//! of the key; 503 on every `/v1` route when no key is configured.

use serde_json::json;
use stocksync_http_tests::client::{Api, Body};
use stocksync_http_tests::receiver::Receiver;
use stocksync_http_tests::server::{Options, Wrangler};
use stocksync_http_tests::{now_s, sign, tenant};

use crate::{api, given, SECS};

const SECRET: &str = "whsec-auth-test-0123";

const ROUTES: [(&str, &str); 8] = [
    ("GET", "/v1/sync"),
    ("GET", "/v1/channels"),
    ("GET", "/v1/mappings/demo/D-1"),
    ("GET", "/v1/items/A"),
    ("PUT", "/v1/items/A"),
    ("POST", "/v1/orders"),
    ("GET", "/v1/export"),
    ("POST", "/v1/import"),
];

fn body_for(method: &str) -> Body {
    match method {
        "GET" => Body::None,
        _ => Body::Json(json!({})),
    }
}

#[test]
fn a_missing_or_wrong_key_is_refused_on_every_v1_route() {
    let api = api("auth");
    for (method, path) in ROUTES {
        for (who, client) in [
            ("no key", api.with_key(None)),
            ("wrong key", api.with_key(Some("nope"))),
        ] {
            let r = client.send(method, path, body_for(method), &[]);
            assert_eq!(
                (r.status, r.code().as_deref()),
                (401, Some("unauthorized")),
                "{who}: {method} {path}: {}",
                r.body
            );
        }
        let r = api.send(
            "GET",
            path,
            Body::None,
            &[("Authorization", "Basic Zm9vOmJhcg==")],
        );
        assert_eq!(r.status, 401, "another scheme: {path}");
    }
    assert_eq!(
        api.with_key(None).get("/healthz").status,
        200,
        "liveness needs no key"
    );
}

#[test]
fn a_signed_order_trigger_needs_no_key_and_a_bad_signature_is_refused() {
    let receiver = Receiver::start();
    let api = api("signed");
    given(
        &api,
        json!([
            {"type": "location_put", "id": "L1", "location": {}},
            {"type": "item_put", "sku": "A", "item": {"levels": {"L1": 5}}},
            {"type": "channel_put", "id": "hook", "channel": {"locations": ["L1"],
                "target": {"kind": "webhook", "url": receiver.url, "secret": SECRET}}},
            {"type": "channel_put", "id": "demo", "channel": {"locations": ["L1"], "target": {"kind": "demo"}}},
            {"type": "mappings_put", "mappings": [{"channel": "hook", "listing": "H-1", "sku": "A"}]}
        ]),
    );
    api.wait_synced(10 * SECS).unwrap();
    let anonymous = api.with_key(None);
    let post = |body: &str, header: &str| {
        anonymous.send(
            "POST",
            "/v1/orders",
            Body::Raw("application/json", body.as_bytes().to_vec()),
            &[("X-Stocksync-Signature", header)],
        )
    };
    let body =
        json!({"channel": "hook", "order": "H-100", "lines": [{"listing": "H-1", "qty": 1}]})
            .to_string();

    let before = api.export();
    let tampered = body.replace("\"qty\":1", "\"qty\":2");
    for (why, b, h) in [
        (
            "a body changed after signing",
            tampered.clone(),
            sign(SECRET, now_s(), body.as_bytes()),
        ),
        (
            "another secret",
            body.clone(),
            sign("some-other-secret-000", now_s(), body.as_bytes()),
        ),
        ("no v1", body.clone(), format!("t={}", now_s())),
        ("garbage", body.clone(), "v1=zz,t=x".to_string()),
    ] {
        let r = post(&b, &h);
        assert_eq!(
            (r.status, r.code().as_deref()),
            (401, Some("bad_signature")),
            "{why}: {}",
            r.body
        );
    }
    let demo_body =
        json!({"channel": "demo", "order": "D-100", "lines": [{"sku": "A", "qty": 1}]}).to_string();
    let r = post(&demo_body, &sign(SECRET, now_s(), demo_body.as_bytes()));
    assert_eq!(
        r.code().as_deref(),
        Some("bad_signature"),
        "a channel without a secret signs nothing"
    );
    let r = anonymous.send(
        "POST",
        "/v1/orders/hook/H-100/cancel",
        Body::None,
        &[("X-Stocksync-Signature", &sign(SECRET, now_s(), b""))],
    );
    assert_eq!(
        r.code().as_deref(),
        Some("unauthorized"),
        "only order triggers may be signed"
    );
    assert_eq!(api.export(), before, "refused triggers change nothing");

    let r = post(&body, &sign(SECRET, now_s(), body.as_bytes()));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["order"], "H-100");
    let item = api.ok("GET", "/v1/items/A", None);
    assert_eq!(item["locations"]["L1"]["reserved"], 1);
    api.wait_synced(10 * SECS).unwrap();
    assert_eq!(
        receiver.delivered().last().and_then(|h| h.quantity()),
        Some(4)
    );
}

#[test]
fn with_no_api_key_configured_every_v1_route_answers_503() {
    let server = Wrangler::start(Options {
        name: "nokey".into(),
        api_key: None,
        vars: vec![("ALLOW_TENANT_HEADER".into(), "1".into())],
    });
    let api = Api::new(&server, &tenant("nokey"));
    for (method, path) in ROUTES {
        for client in [api.with_key(None), api.with_key(Some("anything"))] {
            let r = client.send(method, path, body_for(method), &[]);
            assert_eq!(
                (r.status, r.code().as_deref()),
                (503, Some("api_key_not_configured")),
                "{method} {path}: {}",
                r.body
            );
        }
    }
    let body = br#"{"channel":"c","order":"o","lines":[{"sku":"A","qty":1}]}"#;
    let r = api.with_key(None).send(
        "POST",
        "/v1/orders",
        Body::Raw("application/json", body.to_vec()),
        &[("X-Stocksync-Signature", &sign(SECRET, now_s(), body))],
    );
    assert_eq!(r.status, 503, "even a signed trigger: {}", r.body);
    assert_eq!(api.get("/healthz").status, 200);
}
