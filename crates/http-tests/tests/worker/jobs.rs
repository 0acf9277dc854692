//! Channel-wide recomputes as background jobs (SPEC §5.1, §8), on an instance whose limits are
//! tiny: more than 3 listings is a job, a job step is 2 listings, the working set 3 rows. A
//! restart in the middle of a job resumes it; orders placed during it are all recorded; a paged
//! walk of `GET /v1/sync` during orders sees every listing once; `GET /v1/stats` counts.

use std::collections::BTreeSet;

use serde_json::{json, Value};
use stocksync_http_tests::client::Api;
use stocksync_http_tests::server::{test_key, wait_for, Options, Wrangler};

use crate::{given, SECS};

const LISTINGS: usize = 60;

fn start(name: &str) -> Wrangler {
    let vars = [
        ("ALLOW_TENANT_HEADER", "1"),
        ("LEDGER_MAX_ROWS", "3"),
        ("JOB_PAGE", "2"),
        ("JOB_STEPS", "1"),
        ("RECOMPUTE_INLINE_MAX", "3"),
    ];
    Wrangler::start(Options {
        name: name.into(),
        api_key: Some(test_key()),
        vars: vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    })
}

/// `LISTINGS` skus with 10 on hand each, each listed once on a demo channel.
fn catalogue(api: &Api) {
    given(
        api,
        json!([
            {"type": "location_put", "id": "L1", "location": {}},
            {"type": "channel_put", "id": "demo", "channel": {"locations": ["L1"], "target": {"kind": "demo"}}}
        ]),
    );
    for i in 0..LISTINGS {
        api.ok(
            "PUT",
            &format!("/v1/items/S{i:03}"),
            Some(json!({"levels": {"L1": 10}})),
        );
    }
    let mappings: Vec<Value> = (0..LISTINGS)
        .map(|i| json!({"channel": "demo", "listing": format!("D{i:03}"), "sku": format!("S{i:03}")}))
        .collect();
    api.ok("PUT", "/v1/mappings", Some(Value::from(mappings)));
}

fn job(api: &Api, id: &str) -> Value {
    api.ok("GET", &format!("/v1/jobs/{id}"), None)
}

#[test]
fn a_rule_change_on_a_big_channel_is_a_job_that_survives_a_restart_and_converges() {
    let mut server = start("jobs");
    let api = Api::new(&server, "jobs");
    catalogue(&api);
    api.wait_synced(30 * SECS).unwrap();

    let r = api.send(
        "PUT",
        "/v1/channels/demo",
        stocksync_http_tests::client::Body::Json(
            json!({"locations": ["L1"], "rules": {"buffer": 2}, "target": {"kind": "demo"}}),
        ),
        &[],
    );
    assert_eq!(r.status, 202, "{}", r.body);
    let accepted = r.json();
    assert_eq!(accepted["listings"], LISTINGS);
    let id = accepted["job"].as_str().expect("a job id").to_string();
    // The change itself committed at once.
    assert_eq!(
        api.ok("GET", "/v1/channels", None)[0]["rules"]["buffer"],
        2,
        "(served from KV, which may lag: the test instance is local)"
    );

    // Orders while the job runs, then a restart in its middle.
    for i in 0..5 {
        api.ok("POST", "/v1/orders", Some(json!({"channel": "demo", "order": format!("J-{i}"), "lines": [{"listing": format!("D{:03}", i * 7), "qty": 1}]})));
    }
    let mid = job(&api, &id);
    server.stop();
    server.restart();
    let api = Api::new(&server, "jobs");
    for i in 5..10 {
        api.ok("POST", "/v1/orders", Some(json!({"channel": "demo", "order": format!("J-{i}"), "lines": [{"listing": format!("D{:03}", i * 5), "qty": 1}]})));
    }
    let done = wait_for(60 * SECS, || {
        let j = job(&api, &id);
        (j["state"] != "running").then_some(j)
    })
    .unwrap_or_else(|| panic!("the job did not end (was {mid})"));
    assert_eq!(done["state"], "done", "{done}");
    assert_eq!(done["done"], done["total"]);
    assert_eq!(done["kind"], "recompute");

    let listings = api.wait_synced(60 * SECS).unwrap();
    assert_eq!(listings.len(), LISTINGS);
    let mut reserved = 0;
    for l in &listings {
        let sku = l["sku"].as_str().unwrap();
        let item = api.ok("GET", &format!("/v1/items/{sku}"), None);
        let level = &item["locations"]["L1"];
        reserved += level["reserved"].as_i64().unwrap();
        let want = level["available"].as_i64().unwrap() - 2;
        assert_eq!(l["status"], "in_sync", "{l}");
        assert_eq!(l["wanted"], want, "{l}");
        assert_eq!(l["last_sent"], want, "{l}");
    }
    assert_eq!(reserved, 10, "every order recorded once");
    let stats = api.ok("GET", "/v1/stats", None);
    assert_eq!(stats["skus"], LISTINGS);
    assert_eq!(stats["listings"], LISTINGS);
    assert_eq!(stats["open_orders"], 10);
    assert_eq!(stats["running_jobs"], 0);
    assert!(
        stats["resident_rows"].as_u64().unwrap() <= 3 + 40,
        "{stats}"
    );
    assert!(stats["wasm_memory_bytes"].as_u64().unwrap() > 0, "{stats}");
    assert!(stats["sqlite_bytes"].as_u64().unwrap() > 0, "{stats}");

    let resync = api.send(
        "POST",
        "/v1/sync/resync",
        stocksync_http_tests::client::Body::Json(json!({})),
        &[],
    );
    assert_eq!(resync.status, 202, "{}", resync.body);
    let rid = resync.json()["job"].as_str().unwrap().to_string();
    let done = wait_for(60 * SECS, || {
        let j = job(&api, &rid);
        (j["state"] != "running").then_some(j)
    })
    .expect("the resync job ends");
    assert_eq!(
        (done["state"].as_str(), done["kind"].as_str()),
        (Some("done"), Some("resync"))
    );
    assert_eq!(api.get("/v1/jobs/job-999").status, 404);
}

#[test]
fn a_paged_walk_during_orders_sees_every_listing_once_and_counts_add_up() {
    let server = start("paging");
    let api = Api::new(&server, "paging");
    catalogue(&api);
    api.wait_synced(30 * SECS).unwrap();
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut page = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!(
                "/v1/sync?channel=demo&limit=7&cursor={}",
                stocksync_http_tests::client::seg(c)
            ),
            None => "/v1/sync?channel=demo&limit=7".into(),
        };
        let v = api.ok("GET", &path, None);
        let counts = &v["counts"];
        let total: i64 = ["in_sync", "pending", "failing", "not_eligible"]
            .iter()
            .map(|s| counts[s].as_i64().unwrap())
            .sum();
        assert_eq!(total, LISTINGS as i64, "{counts}");
        for l in v["listings"].as_array().unwrap() {
            seen.push(l["listing"].as_str().unwrap().to_string());
        }
        // An order between pages changes numbers, never the walk.
        api.ok("POST", "/v1/orders", Some(json!({"channel": "demo", "order": format!("P-{page}"), "lines": [{"listing": format!("D{:03}", (page * 11) % LISTINGS), "qty": 1}]})));
        page += 1;
        match v["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    let unique: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(seen.len(), LISTINGS, "each listing once");
    assert_eq!(unique.len(), LISTINGS);
    let sorted: Vec<String> = unique.into_iter().cloned().collect();
    assert_eq!(seen, sorted, "in listing order");

    // Filters: a sku finds its listing; a status filter shows only that status.
    let by_sku = api.ok("GET", "/v1/sync?sku=S007", None);
    assert_eq!(by_sku["listings"].as_array().unwrap().len(), 1);
    assert_eq!(by_sku["listings"][0]["listing"], "D007");
    let sum: i64 = by_sku["counts"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_i64().unwrap())
        .sum();
    assert_eq!(sum, 1);
    api.ok(
        "PUT",
        "/v1/mappings",
        Some(json!([{"channel": "demo", "listing": "D003", "sku": "S003", "ignore_sync": true}])),
    );
    let ne = api.ok("GET", "/v1/sync?status=not_eligible", None);
    assert_eq!(ne["listings"].as_array().unwrap().len(), 1, "{ne}");
    assert_eq!(ne["listings"][0]["listing"], "D003");
    assert_eq!(ne["counts"]["not_eligible"], 1);
    for bad in [
        "limit=0",
        "limit=1001",
        "status=lost",
        "cursor=x",
        "colour=red",
    ] {
        let r = api.get(&format!("/v1/sync?{bad}"));
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
    }
}
