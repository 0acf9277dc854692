//! CORS (SPEC §5.1): preflights answered without auth for the origins in `ALLOWED_ORIGINS`
//! (the shared instance allows `https://shop.example` and `http://localhost:5173`), 403 for
//! any other; actual answers to a listed origin carry `Access-Control-Allow-Origin`, and still
//! need the route's auth. An instance with no `ALLOWED_ORIGINS` sends no CORS header at all
//! (checked in `preview.rs`, on an instance of its own).

use stocksync_http_tests::client::{Api, Body, Resp};

use crate::api;

const SHOP: &str = "https://shop.example";

fn preflight(api: &Api, origin: &str, path: &str, method: &str) -> Resp {
    api.with_key(None).send(
        "OPTIONS",
        path,
        Body::None,
        &[
            ("Origin", origin),
            ("Access-Control-Request-Method", method),
            (
                "Access-Control-Request-Headers",
                "authorization, content-type",
            ),
        ],
    )
}

fn has(value: Option<&str>, word: &str) -> bool {
    value.is_some_and(|v| v.split(',').any(|x| x.trim().eq_ignore_ascii_case(word)))
}

#[test]
fn preflights_from_listed_origins_are_answered_without_auth() {
    let api = api("cors-preflight");
    for (origin, path, method) in [
        (SHOP, "/v1/items/TEST_SS7052", "PUT"),
        ("http://localhost:5173", "/v1/preview", "POST"),
        (SHOP, "/v1/sync", "GET"),
        (SHOP, "/v1/mappings/ebay/E-1", "DELETE"),
    ] {
        let r = preflight(&api, origin, path, method);
        assert_eq!(r.status, 204, "{origin} {method} {path}: {}", r.body);
        assert_eq!(r.header("Access-Control-Allow-Origin"), Some(origin));
        assert!(
            has(r.header("Access-Control-Allow-Methods"), method),
            "{:?}",
            r.headers
        );
        let allowed = r.header("Access-Control-Allow-Headers");
        assert!(
            has(allowed, "Authorization") && has(allowed, "Content-Type"),
            "{allowed:?}"
        );
        assert!(has(r.header("Vary"), "Origin"), "{:?}", r.headers);
        assert!(r.header("Access-Control-Max-Age").is_some());
    }
}

#[test]
fn preflights_from_other_origins_are_403_with_no_cors_headers() {
    let api = api("cors-refused");
    for origin in ["https://evil.example", "https://shop.example.evil", "null"] {
        let r = preflight(&api, origin, "/v1/items/X", "PUT");
        assert_eq!(r.status, 403, "{origin}: {}", r.body);
        assert_eq!(r.code().as_deref(), Some("cors_forbidden"), "{}", r.body);
        assert!(
            !r.headers
                .iter()
                .any(|(k, _)| k.to_ascii_lowercase().starts_with("access-control-")),
            "{origin}: {:?}",
            r.headers
        );
    }
}

#[test]
fn actual_answers_to_a_listed_origin_carry_cors_headers_and_still_need_auth() {
    let api = api("cors-actual");
    let with_origin = |api: &Api, origin: &str, method: &str, path: &str, body: Body| {
        api.send(method, path, body, &[("Origin", origin)])
    };
    let r = with_origin(&api, SHOP, "GET", "/v1/stats", Body::None);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("Access-Control-Allow-Origin"), Some(SHOP));
    assert!(has(r.header("Vary"), "Origin"));
    assert!(has(r.header("Access-Control-Expose-Headers"), "Allow"));
    // A write through the Durable Object (whose answer headers are immutable) too.
    let r = with_origin(
        &api,
        SHOP,
        "PUT",
        "/v1/locations/L1",
        Body::Json(serde_json::json!({"name": "Main"})),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("Access-Control-Allow-Origin"), Some(SHOP));

    // No key: the same 401 as without CORS, readable by the page that sent it.
    let r = with_origin(&api.with_key(None), SHOP, "GET", "/v1/stats", Body::None);
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(r.header("Access-Control-Allow-Origin"), Some(SHOP));
    let r = with_origin(
        &api.with_key(Some("wrong")),
        SHOP,
        "GET",
        "/v1/sync",
        Body::None,
    );
    assert_eq!(r.status, 401, "{}", r.body);

    // Another origin is answered (the server cannot stop a request) but a browser may not
    // read the answer: no Access-Control-Allow-Origin.
    let r = with_origin(&api, "https://evil.example", "GET", "/v1/stats", Body::None);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Access-Control-Allow-Origin"), None);
    assert!(has(r.header("Vary"), "Origin"));
    // A request with no Origin (curl, a server) is unchanged.
    let r = api.get("/v1/stats");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Access-Control-Allow-Origin"), None);
    // OPTIONS that is not a preflight is still a wrong method.
    let r = api.send("OPTIONS", "/v1/stats", Body::None, &[]);
    assert_eq!(r.status, 405, "{}", r.body);
}
