//! Bulk routes (SPEC §5.1) with bulk chunks of 2 rows and a 3-row working set: `PUT
//! /v1/mappings` of many rows answers a summary and is all or nothing; NDJSON export streams
//! and `POST /v1/import` takes it back in chunks, restoring an equal hub.

use serde_json::{json, Value};
use stocksync_http_tests::client::Body;

use crate::{api, given, SECS};

fn setup(api: &stocksync_http_tests::client::Api, skus: usize) {
    given(
        api,
        json!([
            {"type": "location_put", "id": "L1", "location": {}},
            {"type": "channel_put", "id": "demo", "channel": {"locations": ["L1"], "target": {"kind": "demo"}}},
            {"type": "channel_put", "id": "off", "channel": {"enabled": false, "locations": ["L1"], "target": {"kind": "demo"}}}
        ]),
    );
    for i in 0..skus {
        api.ok(
            "PUT",
            &format!("/v1/items/S{i:03}"),
            Some(json!({"levels": {"L1": i}})),
        );
    }
}

fn mappings(skus: usize) -> Vec<Value> {
    (0..skus)
        .flat_map(|i| {
            [
                json!({"channel": "demo", "listing": format!("D{i:03}"), "sku": format!("S{i:03}")}),
                json!({"channel": "off", "listing": format!("O{i:03}"), "sku": format!("S{i:03}")}),
            ]
        })
        .collect()
}

#[test]
fn bulk_mappings_answer_a_summary_and_one_bad_row_changes_nothing() {
    let api = api("bulk-mappings");
    setup(&api, 30);
    let before = api.export();
    let mut rows = mappings(30);
    rows[41] = json!({"channel": "demo", "listing": "BAD", "sku": "NOPE"});
    let r = api.send("PUT", "/v1/mappings", Body::Json(Value::from(rows)), &[]);
    assert_eq!(
        (r.status, r.code().as_deref()),
        (422, Some("unknown_sku")),
        "{}",
        r.body
    );
    assert!(r.body.contains("row 42"), "{}", r.body);
    assert_eq!(api.export(), before, "a rejected load changed nothing");

    let summary = api.ok("PUT", "/v1/mappings", Some(Value::from(mappings(30))));
    assert_eq!(summary["rows"], 60);
    assert_eq!(summary["listings"], 60);
    // S000 has none on hand: its first push is 0 all the same (never sent anything).
    assert_eq!(summary["pushes"], 30, "{summary}");
    assert_eq!(summary["skipped"]["channel_disabled"], 30, "{summary}");
    assert!(summary.get("listings_detail").is_none());
    api.wait_synced(30 * SECS).unwrap();
    assert_eq!(api.listing("demo", "D017")["last_sent"], 17);

    // CSV: a bad line is named by its line number, BOM and CRLF and quotes are fine.
    let csv = "\u{feff}channel,listing,sku\r\ndemo,\"X,1\",S001\r\n\r\ndemo,X2,NOPE\r\n";
    let r = api.send(
        "PUT",
        "/v1/mappings",
        Body::Raw("text/csv", csv.into()),
        &[],
    );
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains("line 4"), "{}", r.body);
    let ok = "\u{feff}channel,listing,sku\r\ndemo,\"X,1\",S001\r\n\r\ndemo,X2,S002\r\n";
    let s = api.ok_raw("PUT", "/v1/mappings", "text/csv", ok);
    assert_eq!(s["rows"], 2, "{s}");
    assert_eq!(api.listing("demo", "X,1")["sku"], "S001");
}

#[test]
fn an_ndjson_backup_streams_and_restores_an_equal_hub_in_chunks() {
    let from = api("ndjson-from");
    setup(&from, 12);
    from.ok("PUT", "/v1/mappings", Some(Value::from(mappings(12))));
    from.ok(
        "POST",
        "/v1/orders",
        Some(json!({"channel": "demo", "order": "O-1", "lines": [{"listing": "D005", "qty": 2}]})),
    );
    from.ok(
        "POST",
        "/v1/orders",
        Some(json!({"channel": "demo", "order": "O-2", "lines": [{"listing": "D006", "qty": 1}]})),
    );
    from.ok("POST", "/v1/orders/demo/O-2/ship", None);
    from.wait_synced(30 * SECS).unwrap();
    let before = from.export();
    let r = from.send(
        "GET",
        "/v1/export?include_secrets=true",
        Body::None,
        &[("Accept", "application/x-ndjson")],
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/x-ndjson"));
    let lines: Vec<&str> = r.body.lines().collect();
    // meta, 1 location, 2 channels, 12 items, 2 orders, 24 listings, and the end line that
    // says the stream is whole
    assert_eq!(lines.len(), 1 + 1 + 2 + 12 + 2 + 24 + 1, "{}", r.body);
    assert!(lines[0].contains("\"meta\""));
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(lines[lines.len() - 1]).unwrap(),
        json!({"type": "end", "records": lines.len() - 1})
    );

    // Into another tenant, in three chunks: the first replaces, the others merge.
    let to = api("ndjson-to");
    setup(&to, 2); // something to replace
    let chunks = [&lines[..10], &lines[10..25], &lines[25..]];
    for (i, c) in chunks.iter().enumerate() {
        let path = if i == 0 {
            "/v1/import?first=true"
        } else {
            "/v1/import"
        };
        let s = to.ok_raw("POST", path, "application/x-ndjson", &(c.join("\n") + "\n"));
        assert_eq!(s["rows"], c.len(), "{s}");
        assert_eq!(s["pushes"], 0, "an in-sync backup plans nothing: {s}");
    }
    assert_eq!(
        to.export(),
        before,
        "the restored hub equals the exported one"
    );

    // A bad line rolls its chunk back and is named.
    let bad = format!(
        "{}\n{{\"type\":\"listing\",\"listing\":{{\"channel\":\"nope\",\"listing\":\"x\"}}}}\n",
        lines[0]
    );
    let r = to.send(
        "POST",
        "/v1/import",
        Body::Raw("application/x-ndjson", bad.into()),
        &[],
    );
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains("line 2"), "{}", r.body);
    assert_eq!(to.export(), before);
}

#[test]
fn bulk_stock_csv_loads_all_or_nothing_and_names_the_bad_line() {
    let api = api("bulk-items");
    setup(&api, 3);
    api.ok("PUT", "/v1/locations/L2", Some(json!({"name": "Second"})));
    api.ok("PUT", "/v1/mappings", Some(Value::from(mappings(3))));
    api.wait_synced(30 * SECS).unwrap();
    let before = api.export();
    for (csv, status, needle) in [
        ("sku,on_hand\nS000,1\n", 400, "location"),
        (
            "sku,location,on_hand\nS000,L1,1\nS001,L1,2.5\n",
            400,
            "line 3",
        ),
        (
            "sku,location,on_hand\nS000,L1,1\nS000,L1,1\n",
            400,
            "2 and 3",
        ),
        (
            "sku,location,on_hand\nS000,L1,1\nS001,L1,4\nS000,L1,2\n",
            400,
            "2 and 4",
        ),
        (
            "sku,location,on_hand\nS000,L1,1\nS001,NOWHERE,4\n",
            422,
            "line 3",
        ),
    ] {
        let r = api.send("PUT", "/v1/items", Body::Raw("text/csv", csv.into()), &[]);
        assert_eq!(r.status, status, "{csv:?}: {}", r.body);
        assert!(r.body.contains(needle), "{csv:?}: {}", r.body);
        assert_eq!(api.export(), before, "{csv:?} changed nothing");
    }
    // Linnworks' layout, with a BOM, CRLF, quotes and a blank line; new skus and new levels.
    let csv = "\u{feff}sku,location,on_hand\r\n\"S000\",L1,7\r\nS000,L2,3\r\n\r\nS001,L1,0\r\nNEW-1,L2,9\r\n";
    let s = api.ok_raw("PUT", "/v1/items", "text/csv", csv);
    assert_eq!(s["rows"], 4, "{s}");
    assert_eq!(s["items"], 3, "{s}");
    assert_eq!(
        s["pushes"], 2,
        "S000 and S001 changed on the channel that sells from L1: {s}"
    );
    let item = api.ok("GET", "/v1/items/S000", None);
    assert_eq!(item["locations"]["L1"]["on_hand"], 7);
    assert_eq!(item["locations"]["L2"]["on_hand"], 3);
    assert_eq!(
        api.ok("GET", "/v1/items/NEW-1", None)["locations"]["L2"]["on_hand"],
        9
    );
    // S002 was not named: left alone.
    assert_eq!(
        api.ok("GET", "/v1/items/S002", None)["locations"]["L1"]["on_hand"],
        2
    );
    api.wait_synced(30 * SECS).unwrap();
    assert_eq!(api.listing("demo", "D000")["last_sent"], 7);
    // JSON works too.
    let s = api.ok("PUT", "/v1/items", Some(json!([{"sku": "KIT", "components": [{"sku": "S000", "qty": 2}]}, {"sku": "S001", "levels": {"L1": 5}}])));
    assert_eq!(s["rows"], 2, "{s}");
}
