//! Every bad-input case of SPEC §6 gets its status and code, and changes nothing: the exported
//! state (with secrets) and the sync status are the same before and after each one.

use serde_json::{json, Value};
use stocksync_http_tests::client::{Api, Body};
use stocksync_http_tests::{now_s, sign};

use crate::{api, given, one_demo_listing, SECS};

const SECRET: &str = "whsec-bad-input-0123";

struct Case {
    name: &'static str,
    method: &'static str,
    path: String,
    body: Body,
    headers: Vec<(&'static str, String)>,
    /// Send with this key instead of the right one (`None`: no Authorization at all).
    key: Option<Option<&'static str>>,
    status: u16,
    code: &'static str,
}

fn case(
    name: &'static str,
    method: &'static str,
    path: &str,
    body: Body,
    status: u16,
    code: &'static str,
) -> Case {
    Case {
        name,
        method,
        path: path.to_string(),
        body,
        headers: Vec::new(),
        key: None,
        status,
        code,
    }
}

fn json_case(
    name: &'static str,
    method: &'static str,
    path: &str,
    body: Value,
    status: u16,
    code: &'static str,
) -> Case {
    case(name, method, path, Body::Json(body), status, code)
}

fn order(lines: Value) -> Value {
    json!({"channel": "demo", "order": "O-NEW", "lines": lines})
}

fn raw(ct: &'static str, text: &str) -> Body {
    Body::Raw(ct, text.as_bytes().to_vec())
}

fn signed_order(t: i64, secret: &str) -> (Body, Vec<(&'static str, String)>) {
    let body =
        json!({"channel": "hook", "order": "SIGNED-1", "lines": [{"listing": "D-1", "qty": 1}]})
            .to_string();
    let header = sign(secret, t, body.as_bytes());
    (
        Body::Raw("application/json", body.into_bytes()),
        vec![("X-Stocksync-Signature", header)],
    )
}

fn cases() -> Vec<Case> {
    let long = "x".repeat(256);
    let big = format!("{{\"name\": \"{}\"}}", " ".repeat(1 << 20));
    let mut v = vec![
        // Auth and signatures.
        Case {
            key: Some(None),
            ..json_case(
                "no key",
                "POST",
                "/v1/orders",
                order(json!([{"listing": "D-1", "qty": 1}])),
                401,
                "unauthorized",
            )
        },
        Case {
            key: Some(Some("wrong-key")),
            ..json_case(
                "wrong key",
                "PUT",
                "/v1/items/A",
                json!({"levels": {"L1": 1}}),
                401,
                "unauthorized",
            )
        },
        Case {
            key: Some(Some("wrong-key")),
            ..case(
                "wrong key on a read",
                "GET",
                "/v1/export",
                Body::None,
                401,
                "unauthorized",
            )
        },
        // Size, media type, JSON.
        case(
            "body over the cap (Content-Length)",
            "PUT",
            "/v1/locations/BIG",
            raw("application/json", &big),
            413,
            "payload_too_large",
        ),
        case(
            "body over the cap (chunked)",
            "PUT",
            "/v1/locations/BIG",
            Body::Chunked("application/json", big.clone().into_bytes()),
            413,
            "payload_too_large",
        ),
        case(
            "text/plain",
            "POST",
            "/v1/orders",
            raw("text/plain", "{}"),
            415,
            "unsupported_media_type",
        ),
        case(
            "no content type",
            "PUT",
            "/v1/locations/L9",
            raw("", "{}"),
            415,
            "unsupported_media_type",
        ),
        case(
            "csv where JSON is wanted",
            "POST",
            "/v1/orders",
            raw("text/csv", "a,b\n"),
            415,
            "unsupported_media_type",
        ),
        case(
            "malformed JSON",
            "POST",
            "/v1/orders",
            raw("application/json", "{\"channel\": \"demo\","),
            400,
            "malformed_json",
        ),
        case(
            "not UTF-8",
            "POST",
            "/v1/orders",
            Body::Raw("application/json", vec![b'{', 0xff, b'}']),
            400,
            "malformed_json",
        ),
        json_case(
            "unknown field",
            "POST",
            "/v1/orders",
            json!({"channel": "demo", "order": "O-NEW", "lines": [{"listing": "D-1", "qty": 1}], "colour": "red"}),
            400,
            "unknown_field",
        ),
        json_case(
            "unknown field in a location",
            "PUT",
            "/v1/locations/L9",
            json!({"nmae": "typo"}),
            400,
            "unknown_field",
        ),
        json_case(
            "wrong type",
            "PUT",
            "/v1/items/A",
            json!({"levels": ["L1"]}),
            400,
            "invalid_type",
        ),
        // Quantities.
        json_case(
            "quantity missing",
            "POST",
            "/v1/orders",
            order(json!([{"listing": "D-1"}])),
            400,
            "missing_field",
        ),
        json_case(
            "quantity zero",
            "POST",
            "/v1/orders",
            order(json!([{"listing": "D-1", "qty": 0}])),
            400,
            "invalid_quantity",
        ),
        json_case(
            "quantity negative",
            "POST",
            "/v1/orders",
            order(json!([{"listing": "D-1", "qty": -1}])),
            400,
            "invalid_quantity",
        ),
        json_case(
            "quantity fractional",
            "POST",
            "/v1/orders",
            order(json!([{"listing": "D-1", "qty": 1.5}])),
            400,
            "invalid_quantity",
        ),
        json_case(
            "quantity a string",
            "POST",
            "/v1/orders",
            order(json!([{"listing": "D-1", "qty": "1"}])),
            400,
            "invalid_quantity",
        ),
        json_case(
            "quantity beyond 2^53-1",
            "POST",
            "/v1/orders",
            order(json!([{"listing": "D-1", "qty": 9_007_199_254_740_992_i64}])),
            400,
            "invalid_quantity",
        ),
        json_case(
            "negative level",
            "PUT",
            "/v1/items/A",
            json!({"levels": {"L1": -1}}),
            400,
            "invalid_quantity",
        ),
        json_case(
            "zero delta",
            "POST",
            "/v1/items/A/adjust",
            json!({"location": "L1", "delta": 0}),
            400,
            "invalid_quantity",
        ),
        // Orders.
        json_case(
            "empty order",
            "POST",
            "/v1/orders",
            order(json!([])),
            400,
            "empty_order",
        ),
        json_case(
            "unknown channel",
            "POST",
            "/v1/orders",
            json!({"channel": "nope", "order": "X", "lines": [{"sku": "A", "qty": 1}]}),
            422,
            "unknown_channel",
        ),
        json_case(
            "unknown location",
            "PUT",
            "/v1/items/A",
            json!({"levels": {"MARS": 1}}),
            422,
            "unknown_location",
        ),
        json_case(
            "order reference reused with other lines",
            "POST",
            "/v1/orders",
            json!({"channel": "demo", "order": "O-1", "lines": [{"listing": "D-1", "qty": 3}]}),
            409,
            "order_conflict",
        ),
        case(
            "ship an unknown order",
            "POST",
            "/v1/orders/demo/NOPE/ship",
            Body::None,
            404,
            "unknown_order",
        ),
        case(
            "cancel an unknown order",
            "POST",
            "/v1/orders/demo/NOPE/cancel",
            Body::None,
            404,
            "unknown_order",
        ),
        json_case(
            "adjust below zero",
            "POST",
            "/v1/items/A/adjust",
            json!({"location": "L1", "delta": -99}),
            409,
            "negative_stock",
        ),
        // Ids.
        json_case(
            "empty sku in the path",
            "PUT",
            "/v1/items/",
            json!({"levels": {"L1": 1}}),
            400,
            "invalid_id",
        ),
        json_case(
            "sku too long",
            "PUT",
            &format!("/v1/items/{long}"),
            json!({"levels": {"L1": 1}}),
            400,
            "invalid_id",
        ),
        json_case(
            "sku with a control character",
            "PUT",
            "/v1/items/A%07B",
            json!({"levels": {"L1": 1}}),
            400,
            "invalid_id",
        ),
        json_case(
            "sku with a leading space",
            "PUT",
            "/v1/items/%20A",
            json!({"levels": {"L1": 1}}),
            400,
            "invalid_id",
        ),
        json_case(
            "empty listing in an order",
            "POST",
            "/v1/orders",
            order(json!([{"listing": "", "qty": 1}])),
            400,
            "invalid_id",
        ),
        json_case(
            "listing with a control character",
            "PUT",
            "/v1/mappings",
            json!([{"channel": "demo", "listing": "D\u{1}2", "sku": "A"}]),
            400,
            "invalid_id",
        ),
        json_case(
            "listing too long",
            "PUT",
            "/v1/mappings",
            json!([{"channel": "demo", "listing": long, "sku": "A"}]),
            400,
            "invalid_id",
        ),
        // Mappings.
        json_case(
            "a listing naming a second sku",
            "PUT",
            "/v1/mappings",
            json!([{"channel": "demo", "listing": "D-1", "sku": "B"}]),
            409,
            "mapping_conflict",
        ),
        json_case(
            "one request naming two skus",
            "PUT",
            "/v1/mappings",
            json!([{"channel": "demo", "listing": "D-9", "sku": "A"}, {"channel": "demo", "listing": "D-9", "sku": "B"}]),
            409,
            "mapping_conflict",
        ),
        json_case(
            "mapping to an unknown sku",
            "PUT",
            "/v1/mappings",
            json!([{"channel": "demo", "listing": "D-9", "sku": "NOPE"}]),
            422,
            "unknown_sku",
        ),
        case(
            "CSV with a fractional pack",
            "PUT",
            "/v1/mappings",
            raw("text/csv", "channel,listing,sku,pack\ndemo,D-9,A,1.5\n"),
            400,
            "invalid_quantity",
        ),
        case(
            "CSV with an unknown column",
            "PUT",
            "/v1/mappings",
            raw("text/csv", "channel,listing,sku,colour\ndemo,D-9,A,red\n"),
            400,
            "unknown_field",
        ),
        case(
            "CSV without a sku column",
            "PUT",
            "/v1/mappings",
            raw("text/csv", "channel,listing\ndemo,D-9\n"),
            400,
            "missing_field",
        ),
        case(
            "CSV naming a second sku",
            "PUT",
            "/v1/mappings",
            raw("text/csv", "channel,listing,sku\ndemo,D-1,B\n"),
            409,
            "mapping_conflict",
        ),
        json_case(
            "a rule out of range",
            "PUT",
            "/v1/channels/demo",
            json!({"locations": ["L1"], "rules": {"percent": 101}, "target": {"kind": "demo"}}),
            400,
            "invalid_rule",
        ),
        // Import.
        json_case(
            "an import of another version",
            "POST",
            "/v1/import",
            json!({"version": 99}),
            400,
            "unsupported_version",
        ),
        json_case(
            "an import naming a missing location",
            "POST",
            "/v1/import",
            json!({"version": 1, "items": {"A": {"levels": {"NOWHERE": 1}}}}),
            422,
            "unknown_location",
        ),
        // Routing.
        case(
            "wrong method",
            "DELETE",
            "/v1/items/A",
            Body::None,
            405,
            "method_not_allowed",
        ),
        case(
            "unknown route",
            "GET",
            "/v1/nothing/here",
            Body::None,
            404,
            "not_found",
        ),
    ];
    let (body, headers) = signed_order(now_s(), "not-the-channel-secret");
    v.push(Case {
        key: Some(None),
        headers,
        ..case(
            "bad signature",
            "POST",
            "/v1/orders",
            body,
            401,
            "bad_signature",
        )
    });
    let (body, headers) = signed_order(now_s() - 600, SECRET);
    v.push(Case {
        key: Some(None),
        headers,
        ..case(
            "signature too old",
            "POST",
            "/v1/orders",
            body,
            401,
            "signature_expired",
        )
    });
    let (body, headers) = signed_order(now_s() + 600, SECRET);
    v.push(Case {
        key: Some(None),
        headers,
        ..case(
            "signature from the future",
            "POST",
            "/v1/orders",
            body,
            401,
            "signature_expired",
        )
    });
    v
}

fn state(api: &Api) -> (Value, Vec<Value>) {
    (api.export(), api.sync())
}

#[test]
fn every_bad_input_of_spec_6_is_refused_and_changes_nothing() {
    let api = api("bad");
    one_demo_listing(&api, "A", 5);
    given(
        &api,
        json!([
            {"type": "item_put", "sku": "B", "item": {"levels": {"L1": 1}}},
            {"type": "channel_put", "id": "hook", "channel": {"locations": ["L1"],
                "target": {"kind": "webhook", "url": "http://127.0.0.1:9/never", "secret": SECRET}}},
            {"type": "order_placed", "order": {"channel": "demo", "order": "O-1", "lines": [{"listing": "D-1", "qty": 1}]}}
        ]),
    );
    api.wait_synced(10 * SECS).unwrap();
    let before = state(&api);
    let mut failures = Vec::new();
    for c in cases() {
        let client = match c.key {
            Some(k) => api.with_key(k),
            None => api.clone(),
        };
        let headers: Vec<(&str, &str)> = c.headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = client.send(c.method, &c.path, c.body, &headers);
        let got = (r.status, r.code());
        if got != (c.status, Some(c.code.to_string())) {
            failures.push(format!(
                "{}: expected {} {}, got {} {}",
                c.name,
                c.status,
                c.code,
                r.status,
                r.body.chars().take(300).collect::<String>()
            ));
            continue;
        }
        let message = r.json()["error"]["message"]
            .as_str()
            .unwrap_or("")
            .to_string();
        if message.is_empty() {
            failures.push(format!("{}: no message", c.name));
        }
        if c.code == "malformed_json"
            && c.name == "malformed JSON"
            && !message.contains("line 1 column")
        {
            failures.push(format!(
                "{}: the message does not say where: {message}",
                c.name
            ));
        }
        if c.code == "method_not_allowed" && r.header("Allow") != Some("GET, PUT") {
            failures.push(format!("{}: Allow is {:?}", c.name, r.header("Allow")));
        }
        if state(&api) != before {
            failures.push(format!("{}: the state changed", c.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
