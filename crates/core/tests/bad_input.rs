//! SPEC §6 at the JSON boundary: every bad input is an error with a stable code and a message
//! that says what and where, and a rejected event changes nothing.

use stocksync_core::{wire, ErrorCode, Event, Hub, ItemBody, PlaceOrder, Snapshot};

fn code_of<T: serde::de::DeserializeOwned + std::fmt::Debug>(json: &str) -> (ErrorCode, String) {
    let e = wire::from_json::<T>(json).expect_err(json);
    (e.code, e.message)
}

#[test]
fn malformed_json_says_where() {
    let (code, msg) = code_of::<PlaceOrder>("{\"channel\": \"ebay\",\n \"order\": }");
    assert_eq!(code, ErrorCode::MalformedJson);
    assert!(msg.contains("line 2"), "{msg}");
}

#[test]
fn a_key_named_twice_is_malformed_json_naming_the_key() {
    // Top level, inside a map of levels, nested in an array, inside a tagged event.
    for (json, key, line) in [
        (
            r#"{"channel":"e","channel":"f","order":"1","lines":[{"sku":"A","qty":1}]}"#,
            "channel",
            1,
        ),
        (
            r#"{"channel":"e","order":"1","lines":[{"sku":"A","qty":1,"qty":2}]}"#,
            "qty",
            1,
        ),
        (
            "{\"levels\": {\"LONDON\": 5,\n \"LONDON\": 6}}",
            "LONDON",
            2,
        ),
    ] {
        let e = if key == "LONDON" {
            wire::from_json::<ItemBody>(json).expect_err(json)
        } else {
            wire::from_json::<PlaceOrder>(json).expect_err(json)
        };
        assert_eq!(e.code, ErrorCode::MalformedJson, "{json}: {e}");
        assert!(
            e.message.contains(&format!("duplicate key \"{key}\"")),
            "{e}"
        );
        assert!(e.message.contains(&format!("line {line}")), "{e}");
    }
    let event = r#"{"type":"item_put","sku":"A","item":{"levels":{"L":1}},"sku":"B"}"#;
    let e = wire::from_json::<Event>(event).expect_err(event);
    assert_eq!(e.code, ErrorCode::MalformedJson, "{e}");
    // The same key in two different objects is fine, and so are keys that differ only in case.
    wire::from_json::<ItemBody>(r#"{"levels":{"L":1,"l":2}}"#).unwrap();
    wire::from_json::<PlaceOrder>(
        r#"{"channel":"e","order":"1","lines":[{"sku":"A","qty":1},{"sku":"A","qty":1}]}"#,
    )
    .unwrap();
    // Escapes are compared decoded: "\u0041" is "A".
    let e = wire::from_json::<ItemBody>(r#"{"levels":{"A":1,"\u0041":2}}"#).unwrap_err();
    assert_eq!(e.code, ErrorCode::MalformedJson, "{e}");
}

#[test]
fn unknown_and_missing_fields() {
    let (code, msg) =
        code_of::<PlaceOrder>(r#"{"channel":"e","order":"1","lines":[],"colour":"red"}"#);
    assert_eq!(code, ErrorCode::UnknownField);
    assert!(msg.contains("colour"), "{msg}");
    let (code, msg) =
        code_of::<PlaceOrder>(r#"{"channel":"e","order":"1","lines":[{"listing":"L"}]}"#);
    assert_eq!(code, ErrorCode::MissingField);
    assert!(msg.contains("qty"), "{msg}");
}

#[test]
fn quantities_are_whole_numbers_within_2_pow_53() {
    for (qty, why) in [
        ("1.5", "whole"),
        ("\"3\"", "string"),
        ("9007199254740992", "2^53"),
        ("-9007199254740992", "2^53"),
        ("1e3", "whole"),
        ("true", "quantity"),
        ("null", "quantity"),
    ] {
        let json =
            format!(r#"{{"channel":"e","order":"1","lines":[{{"listing":"L","qty":{qty}}}]}}"#);
        let (code, msg) = code_of::<PlaceOrder>(&json);
        assert_eq!(code, ErrorCode::InvalidQuantity, "{qty}: {msg}");
        assert!(msg.contains(why), "{qty}: {msg}");
    }
    let ok = wire::from_json::<PlaceOrder>(
        r#"{"channel":"e","order":"1","lines":[{"listing":"L","qty":9007199254740991}]}"#,
    );
    assert!(ok.is_ok(), "2^53-1 is allowed: {ok:?}");
}

#[test]
fn ids_are_checked_wherever_they_appear() {
    let long = "x".repeat(256);
    for bad in ["", " A", "A ", "A\u{0007}B", "A\nB", long.as_str()] {
        let json = format!(
            r#"{{"levels":{{{}:1}}}}"#,
            serde_json::to_string(bad).unwrap()
        );
        let (code, msg) = code_of::<ItemBody>(&json);
        assert_eq!(code, ErrorCode::InvalidId, "{bad:?}: {msg}");
        let json = format!(
            r#"{{"channel":"e","order":"1","lines":[{{"listing":{},"qty":1}}]}}"#,
            serde_json::to_string(bad).unwrap()
        );
        assert_eq!(
            code_of::<PlaceOrder>(&json).0,
            ErrorCode::InvalidId,
            "{bad:?}"
        );
    }
    let max = "é".repeat(127) + "x"; // 255 bytes of UTF-8
    assert!(wire::from_json::<ItemBody>(&format!(r#"{{"levels":{{"{max}":1}}}}"#)).is_ok());
}

#[test]
fn wrong_types_and_unknown_event_types() {
    assert_eq!(
        code_of::<PlaceOrder>(r#"{"channel":"e","order":"1","lines":{}}"#).0,
        ErrorCode::InvalidType
    );
    assert_eq!(
        code_of::<Event>(r#"{"type":"order_teleported"}"#).0,
        ErrorCode::InvalidType
    );
    assert_eq!(code_of::<Snapshot>(r#"[1,2]"#).0, ErrorCode::InvalidType);
}

#[test]
fn snapshots_of_another_version_are_refused() {
    let s: Snapshot = wire::from_json(r#"{"version": 2}"#).unwrap();
    assert_eq!(
        Hub::from_snapshot(s).unwrap_err().code,
        ErrorCode::UnsupportedVersion
    );
}

#[test]
fn every_error_code_round_trips_through_its_name() {
    for c in ErrorCode::ALL {
        assert_eq!(ErrorCode::parse(c.as_str()), Some(*c));
        assert!(c
            .as_str()
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'_'));
    }
}

/// Cost follows what an event touches: an order for one sku changes the rows of that sku and
/// its listings, whatever the size of the catalogue (the benchmarks show the time).
#[test]
fn an_order_touches_only_its_own_rows() {
    for catalogue in [10usize, 10_000] {
        let mut hub = Hub::new();
        let ev = |j: String| wire::from_json::<Event>(&j).unwrap();
        hub.apply(ev(
            r#"{"type":"location_put","id":"L","location":{}}"#.into()
        ))
        .unwrap();
        hub.apply(ev(r#"{"type":"channel_put","id":"c","channel":{"locations":["L"],"target":{"kind":"demo"}}}"#.into())).unwrap();
        for i in 0..catalogue {
            hub.apply(ev(format!(
                r#"{{"type":"item_put","sku":"S{i}","item":{{"levels":{{"L":5}}}}}}"#
            )))
            .unwrap();
        }
        let mappings: Vec<String> = (0..catalogue)
            .map(|i| format!(r#"{{"channel":"c","listing":"P{i}","sku":"S{i}"}}"#))
            .collect();
        hub.apply(ev(format!(
            r#"{{"type":"mappings_put","mappings":[{}]}}"#,
            mappings.join(",")
        )))
        .unwrap();
        let out = hub.apply(ev(r#"{"type":"order_placed","order":{"channel":"c","order":"O","lines":[{"listing":"P7","qty":1}]}}"#.into())).unwrap();
        assert_eq!(out.pushes.len(), 1);
        assert_eq!(out.dirty.items.len(), 1);
        assert_eq!(out.dirty.listings.len(), 1);
        assert_eq!(out.dirty.orders.len(), 1);
        assert_eq!(
            hub.rows(&out.dirty).len(),
            4,
            "item, listing, order, next_seq"
        );
    }
}
