//! Shopify and WooCommerce targets over HTTP: validated by the worker with stocksync-channels
//! (a bad one is `400 invalid_target` and changes nothing), secrets never echoed nor exported
//! unless asked, kept when a `PUT` leaves them out; and the outbound-address guard on every
//! target, the webhook's too, unless the deployment sets `ALLOW_PRIVATE_TARGETS=1`.

use serde_json::{json, Value};
use stocksync_http_tests::client::{Api, Body};
use stocksync_http_tests::server::{fast_retry_vars, test_key, Options, Wrangler};
use stocksync_http_tests::tenant;

use crate::api;

fn shopify(extra: Value) -> Value {
    let mut t = json!({"kind": "shopify", "shop": "mugs.myshopify.com",
        "location_id": "gid://shopify/Location/7", "api_version": "2026-04",
        "access_token": "shpat_secret_token", "webhook_secret": "shopify_whsec_1"});
    for (k, v) in extra.as_object().unwrap() {
        if v.is_null() {
            t.as_object_mut().unwrap().remove(k);
        } else {
            t[k] = v.clone();
        }
    }
    t
}

fn put_channel(api: &Api, id: &str, target: Value) -> stocksync_http_tests::client::Resp {
    api.send(
        "PUT",
        &format!("/v1/channels/{id}"),
        Body::Json(json!({"locations": ["L1"], "target": target})),
        &[],
    )
}

#[test]
fn adapter_targets_are_validated_and_their_secrets_kept_and_never_shown() {
    let api = api("adapters-targets");
    api.ok("PUT", "/v1/locations/L1", Some(json!({})));
    for (bad, needle) in [
        (shopify(json!({"shop": "mugs.example.com"})), "shop"),
        (shopify(json!({"api_version": "2025-10"})), "api_version"),
        (shopify(json!({"access_token": null})), "access_token"),
        (shopify(json!({"webhook_secret": null})), "webhook_secret"),
        (shopify(json!({"endpoint": "ftp://x"})), "endpoint"),
        (
            json!({"kind": "woocommerce", "site": "http://shop.example", "consumer_key": "ck_1",
                "consumer_secret": "cs_1", "webhook_secret": "w"}),
            "https",
        ),
        (
            json!({"kind": "woocommerce", "site": "https://shop.example", "consumer_key": "key",
                "consumer_secret": "cs_1", "webhook_secret": "w"}),
            "ck_",
        ),
    ] {
        let r = put_channel(&api, "shop", bad.clone());
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
        assert_eq!(
            r.code().as_deref(),
            Some("invalid_target"),
            "{bad}: {}",
            r.body
        );
        assert!(r.body.contains(needle), "{bad}: {}", r.body);
    }
    assert_eq!(
        api.ok("GET", "/v1/channels", None),
        json!([]),
        "nothing changed"
    );

    let r = put_channel(&api, "shop", shopify(json!({})));
    assert!(r.is_success(), "{}", r.body);
    let woo = json!({"kind": "woocommerce", "site": "https://shop.example",
        "consumer_key": "ck_woo_key", "consumer_secret": "cs_woo_secret", "webhook_secret": "woo-whsec"});
    let r = put_channel(&api, "woo", woo);
    assert!(r.is_success(), "{}", r.body);
    let secrets = [
        "shpat_secret_token",
        "shopify_whsec_1",
        "ck_woo_key",
        "cs_woo_secret",
        "woo-whsec",
    ];
    let shown = api.ok("GET", "/v1/channels", None).to_string();
    let exported = api.ok("GET", "/v1/export", None).to_string();
    for s in secrets {
        assert!(!shown.contains(s), "GET /v1/channels shows {s}: {shown}");
        assert!(!exported.contains(s), "the export shows {s}: {exported}");
    }
    assert!(shown.contains("mugs.myshopify.com"), "{shown}");

    // A PUT of the shown (redacted) target with a change keeps every secret.
    let r = put_channel(
        &api,
        "shop",
        json!({"kind": "shopify", "shop": "mugs.myshopify.com",
            "location_id": "gid://shopify/Location/8", "api_version": "2026-04"}),
    );
    assert!(r.is_success(), "{}", r.body);
    let full = api.export().to_string();
    for s in secrets {
        assert!(full.contains(s), "?include_secrets=true lost {s}: {full}");
    }
    assert!(full.contains("gid://shopify/Location/8"), "{full}");

    // An import is checked as a PUT is: a bad target refuses the whole import.
    let mut bad = api.export();
    bad["channels"]["shop"]["target"]["shop"] = json!("not-a-shop");
    let r = api.send("POST", "/v1/import", Body::Json(bad), &[]);
    assert_eq!(r.code().as_deref(), Some("invalid_target"), "{}", r.body);
    assert!(api.export().to_string().contains("mugs.myshopify.com"));

    // A redacted export imports back with the hub's secrets.
    let redacted = api.ok("GET", "/v1/export", None);
    api.ok("POST", "/v1/import", Some(redacted));
    let full = api.export().to_string();
    for s in secrets {
        assert!(full.contains(s), "a redacted import lost {s}");
    }
}

#[test]
fn private_targets_are_refused_unless_the_deployment_allows_them() {
    let vars = fast_retry_vars()
        .into_iter()
        .filter(|(k, _)| k != "ALLOW_PRIVATE_TARGETS")
        .collect();
    let server = Wrangler::start(Options {
        name: "guarded".into(),
        api_key: Some(test_key()),
        vars,
    });
    let api = Api::new(&server, &tenant("guarded"));
    api.ok("PUT", "/v1/locations/L1", Some(json!({})));
    let hook =
        |url: &str| json!({"kind": "webhook", "url": url, "secret": "whsec-test-0123456789"});
    for url in [
        "http://127.0.0.1:9/x",
        "http://localhost:8080/",
        "http://10.1.2.3/",
        "http://169.254.169.254/latest",
        "http://[::1]/",
        "http://2130706433/",
    ] {
        let r = put_channel(&api, "hook", hook(url));
        assert_eq!(
            (r.status, r.code().as_deref()),
            (400, Some("invalid_target")),
            "{url}: {}",
            r.body
        );
        assert!(r.body.contains("ALLOW_PRIVATE_TARGETS"), "{}", r.body);
    }
    let r = put_channel(
        &api,
        "shop",
        shopify(json!({"endpoint": "http://127.0.0.1:4000"})),
    );
    assert_eq!(r.code().as_deref(), Some("invalid_target"), "{}", r.body);
    assert_eq!(api.ok("GET", "/v1/channels", None), json!([]));
    let r = put_channel(&api, "hook", hook("https://hooks.example.com/stock"));
    assert!(r.is_success(), "a public address is fine: {}", r.body);
}

fn ndjson_export(api: &Api, secrets: bool) -> Vec<String> {
    let path = if secrets {
        "/v1/export?include_secrets=true"
    } else {
        "/v1/export"
    };
    let r = api.send(
        "GET",
        path,
        Body::None,
        &[("Accept", "application/x-ndjson")],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    r.body.lines().map(str::to_string).collect()
}

fn post_ndjson(api: &Api, path: &str, lines: &[String]) -> stocksync_http_tests::client::Resp {
    api.send(
        "POST",
        path,
        Body::Raw(
            "application/x-ndjson",
            (lines.join("\n") + "\n").into_bytes(),
        ),
        &[],
    )
}

#[test]
fn an_ndjson_import_checks_channel_targets_as_a_put_does() {
    let api = api("adapters-ndjson");
    api.ok("PUT", "/v1/locations/L1", Some(json!({})));
    let r = put_channel(&api, "shop", shopify(json!({})));
    assert!(r.is_success(), "{}", r.body);
    let lines = ndjson_export(&api, true);
    let at = lines
        .iter()
        .position(|l| l.contains("\"type\":\"channel\""))
        .expect("a channel line");
    let before = api.export();
    // Each bad target refuses the whole request, naming its line; nothing changes, a
    // replacing (`?first=true`) import included.
    let bad_targets = [
        (json!({"shop": "not-a-shop"}), "shop"),
        (json!({"endpoint": "ftp://10.0.0.1"}), "endpoint"),
        (json!({"api_version": "2025-10"}), "api_version"),
    ];
    for (change, needle) in bad_targets {
        let mut line: Value = serde_json::from_str(&lines[at]).unwrap();
        let target = line
            .pointer_mut("/channel/target")
            .expect("the channel's target");
        for (k, v) in change.as_object().unwrap() {
            if v.is_null() {
                target.as_object_mut().unwrap().remove(k);
            } else {
                target[k] = v.clone();
            }
        }
        let mut bad = lines.clone();
        bad[at] = line.to_string();
        for path in ["/v1/import?first=true", "/v1/import"] {
            let r = post_ndjson(&api, path, &bad);
            assert_eq!(
                (r.status, r.code().as_deref()),
                (400, Some("invalid_target")),
                "{change} {path}: {}",
                r.body
            );
            assert!(
                r.body.contains(&format!("line {}", at + 1)),
                "the line is named: {}",
                r.body
            );
            assert!(r.body.contains(needle), "{}", r.body);
            assert_eq!(api.export(), before, "{change} {path}: nothing changed");
        }
    }
    // A redacted backup restored over the hub it came from keeps that hub's secrets, as a
    // redacted JSON import does; a good one imports.
    let redacted = ndjson_export(&api, false);
    assert!(!redacted.join("\n").contains("shpat_secret_token"));
    let r = post_ndjson(&api, "/v1/import?first=true", &redacted);
    assert!(r.is_success(), "{}", r.body);
    assert_eq!(api.export(), before, "secrets kept");
    // Into an empty hub, a redacted Shopify channel has no token: refused, as a PUT is.
    let empty = crate::api("adapters-ndjson-empty");
    let r = post_ndjson(&empty, "/v1/import?first=true", &redacted);
    assert_eq!(r.code().as_deref(), Some("invalid_target"), "{}", r.body);
    assert!(r.body.contains("access_token"), "{}", r.body);
    assert_eq!(empty.ok("GET", "/v1/channels", None), json!([]));
}
