//! `POST /v1/preview?summary=true`: a channel-wide what-if counted over every listing of the
//! channel, inline up to `RECOMPUTE_INLINE_MAX` listings (the shared instance: 1,000), else a
//! `preview` job (an instance with RECOMPUTE_INLINE_MAX=3, pages of 2, a working set of 3
//! rows) whose `GET /v1/jobs/{id}` ends with the same summary as `result`. Neither stores or
//! sends anything.

use serde_json::{json, Value};
use stocksync_http_tests::client::{Api, Body, Resp};
use stocksync_http_tests::server::{test_key, wait_for, Options, Wrangler};

use crate::{api, given, SECS};

/// Six skus with 0, 2, 4, 6, 8, 10 on hand, listed on `demo` as D0…D5 (and on `other`, which
/// the what-if does not touch), all delivered.
fn catalogue(api: &Api) {
    given(
        api,
        json!([
            {"type": "location_put", "id": "L1", "location": {}},
            {"type": "channel_put", "id": "demo", "channel": {"locations": ["L1"], "target": {"kind": "demo"}}},
            {"type": "channel_put", "id": "other", "channel": {"locations": ["L1"], "target": {"kind": "demo"}}}
        ]),
    );
    for i in 0..6 {
        api.ok(
            "PUT",
            &format!("/v1/items/S{i}"),
            Some(json!({"levels": {"L1": i * 2}})),
        );
    }
    let mappings: Vec<Value> = (0..6)
        .flat_map(|i| {
            [
                json!({"channel": "demo", "listing": format!("D{i}"), "sku": format!("S{i}")}),
                json!({"channel": "other", "listing": format!("O{i}"), "sku": format!("S{i}")}),
            ]
        })
        .collect();
    api.ok("PUT", "/v1/mappings", Some(Value::from(mappings)));
    api.wait_synced(30 * SECS).unwrap();
}

/// A buffer of 5 on `demo`.
fn buffer_5() -> Value {
    json!({"events": [{"type": "channel_put", "id": "demo", "channel": {"locations": ["L1"], "rules": {"buffer": 5}, "target": {"kind": "demo"}}}]})
}

/// What a buffer of 5 does to 0, 2, 4, 6, 8, 10: 0, 0, 0, 1, 3, 5.
fn expected() -> Value {
    json!({
        "listings": 6, "changed": 5, "to_zero": 2, "increased": 0, "decreased": 5, "stops_sync": 0,
        "biggest_drops": [
            {"channel": "demo", "listing": "D3", "sku": "S3", "from": 6, "to": 1},
            {"channel": "demo", "listing": "D4", "sku": "S4", "from": 8, "to": 3},
            {"channel": "demo", "listing": "D5", "sku": "S5", "from": 10, "to": 5},
            {"channel": "demo", "listing": "D2", "sku": "S2", "from": 4, "to": 0},
            {"channel": "demo", "listing": "D1", "sku": "S1", "from": 2, "to": 0}
        ]
    })
}

fn summary(api: &Api, body: Value) -> Resp {
    api.send("POST", "/v1/preview?summary=true", Body::Json(body), &[])
}

/// Everything a what-if must leave alone: the whole state, every listing's status, the
/// counters.
fn state(api: &Api) -> (Value, Vec<Value>, Value) {
    let mut stats = api.ok("GET", "/v1/stats", None);
    for volatile in [
        "resident",
        "resident_rows",
        "wasm_memory_bytes",
        "sqlite_bytes",
        "running_jobs",
        "kv_backlog",
    ] {
        stats.as_object_mut().unwrap().remove(volatile);
    }
    (api.export(), api.sync(), stats)
}

#[test]
fn a_summary_preview_counts_a_channel_inline_and_changes_nothing() {
    let api = api("preview-summary");
    catalogue(&api);
    let before = state(&api);
    let r = summary(&api, buffer_5());
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json(), json!({"summary": expected()}));
    // Disabling the channel: every listing that gets a number would stop.
    let off = json!({"events": [{"type": "channel_put", "id": "demo", "channel": {"enabled": false, "locations": ["L1"], "target": {"kind": "demo"}}}]});
    let s = summary(&api, off).json()["summary"].clone();
    assert_eq!(
        (
            s["listings"].clone(),
            s["stops_sync"].clone(),
            s["changed"].clone()
        ),
        (json!(6), json!(6), json!(6)),
        "{s}"
    );
    // A resync changes no number.
    let s = summary(&api, json!({"events": [{"type": "resync"}]})).json()["summary"].clone();
    assert_eq!(
        (s["listings"].clone(), s["changed"].clone()),
        (json!(12), json!(0)),
        "{s}"
    );
    // Only channel-wide events; bad ones are refused as ever.
    let r = summary(
        &api,
        json!({"events": [{"type": "item_put", "sku": "S1", "item": {"levels": {"L1": 1}}}]}),
    );
    assert_eq!(
        (r.status, r.code().as_deref()),
        (400, Some("invalid_request")),
        "{}",
        r.body
    );
    let r = summary(
        &api,
        json!({"events": [{"type": "channel_put", "id": "demo", "channel": {"locations": ["NOWHERE"], "target": {"kind": "demo"}}}]}),
    );
    assert_eq!(r.status, 422, "{}", r.body);
    // Without ?summary=true: the listing-by-listing preview, as before.
    let r = api.send("POST", "/v1/preview", Body::Json(buffer_5()), &[]);
    assert_eq!(r.status, 200, "{}", r.body);
    // (D0 stays at 0, so it is not among the changes.)
    assert_eq!(r.json()["changes"].as_array().unwrap().len(), 5);
    assert_eq!(state(&api), before, "a preview changed something");
}

#[test]
fn a_summary_preview_of_a_big_channel_is_a_job_that_writes_nothing() {
    let vars = [
        ("ALLOW_TENANT_HEADER", "1"),
        ("LEDGER_MAX_ROWS", "3"),
        ("JOB_PAGE", "2"),
        ("JOB_STEPS", "1"),
        ("RECOMPUTE_INLINE_MAX", "3"),
    ];
    let server = Wrangler::start(Options {
        name: "preview-job".into(),
        api_key: Some(test_key()),
        vars: vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    });
    let api = Api::new(&server, "preview-job");
    catalogue(&api);
    let before = state(&api);
    let r = summary(&api, buffer_5());
    assert_eq!(r.status, 202, "{}", r.body);
    let accepted = r.json();
    assert_eq!(accepted["listings"], 6);
    let id = accepted["job"].as_str().expect("a job id").to_string();
    let done = wait_for(60 * SECS, || {
        let j = api.ok("GET", &format!("/v1/jobs/{id}"), None);
        (j["state"] != "running").then_some(j)
    })
    .expect("the preview job ends");
    assert_eq!(done["state"], "done", "{done}");
    assert_eq!(done["kind"], "preview");
    assert_eq!(
        (done["done"].clone(), done["total"].clone()),
        (json!(6), json!(6))
    );
    assert_eq!(done["result"], json!({"summary": expected()}), "{done}");
    assert_eq!(state(&api), before, "a preview job changed something");
    // An order after it plans as ever (the job left no pending push or schedule row behind).
    api.ok(
        "POST",
        "/v1/orders",
        Some(json!({"channel": "demo", "order": "A", "lines": [{"listing": "D5", "qty": 1}]})),
    );
    let synced = api.wait_synced(30 * SECS).unwrap();
    let d5 = synced.iter().find(|l| l["listing"] == "D5").unwrap();
    assert_eq!(d5["last_sent"], 9, "{d5}");

    // With no ALLOWED_ORIGINS (this instance, as by default) no answer carries a CORS
    // header, and a preflight is refused.
    let r = api.send(
        "GET",
        "/v1/stats",
        Body::None,
        &[("Origin", "https://shop.example")],
    );
    assert_eq!(r.status, 200);
    let cors: Vec<_> = r
        .headers
        .iter()
        .filter(|(k, _)| k.to_ascii_lowercase().starts_with("access-control-"))
        .collect();
    assert!(cors.is_empty(), "{cors:?}");
    let r = api.with_key(None).send(
        "OPTIONS",
        "/v1/stats",
        Body::None,
        &[
            ("Origin", "https://shop.example"),
            ("Access-Control-Request-Method", "GET"),
        ],
    );
    assert_eq!(
        (r.status, r.code().as_deref()),
        (403, Some("cors_forbidden")),
        "{}",
        r.body
    );
    assert_eq!(r.header("Access-Control-Allow-Origin"), None);
}
