//! The KV mirror: channel configuration and mappings written through the Durable Object and
//! read at the edge, secrets never included, tenants apart, an import replacing it whole.

use serde_json::json;

use crate::{api, given, SECS};

const SECRET: &str = "whsec-mirror-0123456";

#[test]
fn channels_and_mappings_are_mirrored_to_kv_without_secrets() {
    let api = api("mirror");
    given(
        &api,
        json!([
            {"type": "location_put", "id": "L1", "location": {}},
            {"type": "item_put", "sku": "A", "item": {"levels": {"L1": 4}}},
            {"type": "channel_put", "id": "demo", "channel": {"name": "Demo", "locations": ["L1"], "target": {"kind": "demo"}}},
            {"type": "channel_put", "id": "hook", "channel": {"enabled": false, "locations": ["L1"],
                "target": {"kind": "webhook", "url": "http://127.0.0.1:9/x", "secret": SECRET}}},
            {"type": "mappings_put", "mappings": [
                {"channel": "demo", "listing": "D-1", "sku": "A", "pack": 2},
                {"channel": "demo", "listing": "D:2/x y", "sku": "A"}
            ]}
        ]),
    );
    let r = api.get("/v1/channels");
    assert_eq!(r.status, 200);
    assert!(
        !r.body.contains(SECRET),
        "no secret at the edge: {}",
        r.body
    );
    let channels = r.json();
    let ids: Vec<_> = channels
        .as_array()
        .expect("a list")
        .iter()
        .map(|c| c["id"].clone())
        .collect();
    assert_eq!(ids, [json!("demo"), json!("hook")]);
    assert_eq!(
        channels[1]["target"],
        json!({"kind": "webhook", "url": "http://127.0.0.1:9/x"})
    );
    assert_eq!(channels[1]["enabled"], false);
    assert_eq!(channels[0]["name"], "Demo");

    let m = api.ok("GET", "/v1/mappings/demo/D-1", None);
    assert_eq!(
        (m["sku"].as_str(), m["pack"].as_i64()),
        (Some("A"), Some(2)),
        "{m}"
    );
    let odd = api.ok("GET", "/v1/mappings/demo/D%3A2%2Fx%20y", None);
    assert_eq!(odd["listing"], "D:2/x y");

    api.ok("DELETE", "/v1/mappings/demo/D-1", None);
    assert_eq!(
        api.get("/v1/mappings/demo/D-1").code().as_deref(),
        Some("not_found")
    );

    let other = crate::api("mirror-other");
    assert_eq!(
        other.ok("GET", "/v1/channels", None),
        json!([]),
        "tenants do not see each other"
    );
    assert_eq!(other.get("/v1/mappings/demo/D%3A2%2Fx%20y").status, 404);

    assert!(
        !api.ok("GET", "/v1/export", None)
            .to_string()
            .contains(SECRET),
        "export redacts by default"
    );
    assert!(
        api.export().to_string().contains(SECRET),
        "?include_secrets=true keeps them"
    );

    // An import replaces the mirror whole: new channels and mappings, old mappings gone.
    api.ok(
        "POST",
        "/v1/import",
        Some(json!({
            "version": 1,
            "locations": {"L1": {}},
            "items": {"A": {"levels": {"L1": 1}}},
            "channels": {"shop": {"locations": ["L1"], "target": {"kind": "demo"}}},
            "listings": [{"channel": "shop", "listing": "S-1", "sku": "A"}]
        })),
    );
    let channels = api.ok("GET", "/v1/channels", None);
    assert_eq!(
        channels
            .as_array()
            .map(|c| c.iter().map(|c| c["id"].clone()).collect::<Vec<_>>()),
        Some(vec![json!("shop")])
    );
    assert_eq!(api.ok("GET", "/v1/mappings/shop/S-1", None)["sku"], "A");
    assert_eq!(
        api.get("/v1/mappings/demo/D%3A2%2Fx%20y").status,
        404,
        "pruned by the import"
    );
}

/// A bulk load leaves its mappings' buckets (about 1,200 here, more than one slice of the
/// alarm's 200 writes) to the alarm, which writes them in slices after the load answers: an
/// order placed meanwhile is answered, the backlog (`kv_backlog`) drains to 0, and then every
/// mapping of the load is readable at the edge, a later unlink too.
#[test]
fn a_bulk_loads_mirror_is_written_by_the_alarm_in_slices_and_complete() {
    let api = api("mirror-bulk");
    given(
        &api,
        json!([
            {"type": "location_put", "id": "L1", "location": {}},
            {"type": "channel_put", "id": "a", "channel": {"locations": ["L1"], "target": {"kind": "demo"}}},
            {"type": "channel_put", "id": "b", "channel": {"locations": ["L1"], "target": {"kind": "demo"}}}
        ]),
    );
    let (on_a, on_b) = (1500, 500);
    let mut stock = String::from("sku,location,on_hand\n");
    for i in 0..on_a {
        stock.push_str(&format!("S{i:04},L1,5\n"));
    }
    api.ok_raw("PUT", "/v1/items", "text/csv", &stock);
    let mut csv = String::from("channel,listing,sku\n");
    for i in 0..on_a {
        csv.push_str(&format!("a,A{i:04},S{i:04}\n"));
    }
    for i in 0..on_b {
        csv.push_str(&format!("b,B{i:04},S{i:04}\n"));
    }
    let summary = api.ok_raw("PUT", "/v1/mappings", "text/csv", &csv);
    assert_eq!(summary["listings"], on_a + on_b, "{summary}");
    let backlog = api.ok("GET", "/v1/stats", None)["kv_backlog"]
        .as_i64()
        .unwrap_or(0);
    assert!(
        backlog > 0,
        "the load answered before its mirror was written"
    );

    let order = api.ok(
        "POST",
        "/v1/orders",
        Some(json!({"channel": "a", "order": "MB-1", "lines": [{"listing": "A0007", "qty": 1}]})),
    );
    assert_eq!(order["status"], "open", "{order}");

    let start = std::time::Instant::now();
    loop {
        let left = api.ok("GET", "/v1/stats", None)["kv_backlog"].clone();
        if left == 0 {
            break;
        }
        assert!(
            start.elapsed() < 120 * SECS,
            "the mirror still has {left} of {backlog} buckets to write after 120 s"
        );
        std::thread::sleep(SECS / 5);
    }
    for (channel, prefix, n) in [("a", "A", on_a), ("b", "B", on_b)] {
        for i in (0..n).step_by(7) {
            let m = api.ok(
                "GET",
                &format!("/v1/mappings/{channel}/{prefix}{i:04}"),
                None,
            );
            assert_eq!(
                m["sku"],
                format!("S{i:04}"),
                "{channel}/{prefix}{i:04}: {m}"
            );
        }
    }
    // A change's own bucket is written before it answers.
    api.ok("DELETE", "/v1/mappings/a/A0014", None);
    assert_eq!(api.get("/v1/mappings/a/A0014").status, 404);
    assert_eq!(api.ok("GET", "/v1/mappings/a/A0021", None)["sku"], "S0021");
}
