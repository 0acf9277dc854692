//! The KV mirror: channel configuration and mappings written through the Durable Object and
//! read at the edge, secrets never included, tenants apart, an import replacing it whole.

use serde_json::json;

use crate::{api, given};

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
