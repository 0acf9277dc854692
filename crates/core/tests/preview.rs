//! Previews plan exactly what applying would, and change nothing; no input makes the core panic.

use proptest::prelude::*;
use stocksync_core::{wire, Event, Hub, PreviewRequest, WarningCode};

fn seed_hub() -> Hub {
    let mut hub = Hub::new();
    for e in [
        r#"{"type":"location_put","id":"LONDON","location":{}}"#,
        r#"{"type":"location_put","id":"LEEDS","location":{}}"#,
        r#"{"type":"item_put","sku":"A","item":{"levels":{"LONDON":5,"LEEDS":2}}}"#,
        r#"{"type":"channel_put","id":"ebay","channel":{"locations":["LONDON","LEEDS"],"target":{"kind":"demo"}}}"#,
        r#"{"type":"channel_put","id":"shop","channel":{"locations":["LONDON"],"rules":{"buffer":1},"target":{"kind":"demo"}}}"#,
        r#"{"type":"mappings_put","mappings":[{"channel":"ebay","listing":"E-A","sku":"A"},{"channel":"shop","listing":"S-A","sku":"A"}]}"#,
    ] {
        hub.apply(wire::from_json(e).unwrap()).unwrap();
    }
    hub
}

#[test]
fn a_preview_plans_what_applying_would_and_changes_nothing() {
    let hub = seed_hub();
    let before = hub.snapshot();
    let req: PreviewRequest = wire::from_json(
        r#"{"events":[
            {"type":"order_placed","order":{"channel":"ebay","order":"X","lines":[{"listing":"E-A","qty":2}]}},
            {"type":"channel_put","id":"shop","channel":{"locations":["LONDON"],"rules":{"buffer":4},"target":{"kind":"demo"}}}
        ]}"#,
    )
    .unwrap();
    let preview = hub.preview(req.events.clone()).unwrap();
    assert_eq!(hub.snapshot(), before, "a preview changed the hub");

    // The same events applied for real plan the same pushes.
    let mut real = hub.clone();
    for (event, step) in req.events.into_iter().zip(&preview.steps) {
        assert_eq!(&real.apply(event).unwrap().pushes, &step.pushes);
    }
    let change = |l: &str| {
        preview
            .changes
            .iter()
            .find(|c| c.listing.as_str() == l)
            .unwrap()
    };
    assert_eq!(
        (change("E-A").before, change("E-A").after),
        (Some(7), Some(5))
    );
    // shop: 5 − 2 reserved at London = 3, minus a buffer of 4 → 0 (it shows 4 now).
    assert_eq!(
        (change("S-A").before, change("S-A").after),
        (Some(4), Some(0))
    );
    assert!(change("S-A")
        .explain
        .as_ref()
        .unwrap()
        .steps
        .iter()
        .any(|s| s.value == Some(4)));
    let zero = preview
        .warnings
        .iter()
        .find(|w| w.code == WarningCode::SendsZero)
        .unwrap();
    assert_eq!(zero.count, 1);
    assert!(
        zero.message.contains("sends 0 to 1 listing"),
        "{}",
        zero.message
    );
}

#[test]
fn a_preview_that_stops_listings_or_oversells_says_so() {
    let hub = seed_hub();
    let events: Vec<Event> = wire::from_json::<PreviewRequest>(
        r#"{"events":[
            {"type":"channel_put","id":"ebay","channel":{"enabled":false,"locations":["LONDON"],"target":{"kind":"demo"}}},
            {"type":"order_placed","order":{"channel":"shop","order":"Y","lines":[{"listing":"S-A","qty":9}]}}
        ]}"#,
    )
    .unwrap()
    .events;
    let p = hub.preview(events).unwrap();
    let codes: Vec<WarningCode> = p.warnings.iter().map(|w| w.code).collect();
    assert!(codes.contains(&WarningCode::StopsSync), "{codes:?}");
    assert!(codes.contains(&WarningCode::Oversold), "{codes:?}");
}

#[test]
fn an_invalid_event_rejects_the_whole_preview_naming_it() {
    let hub = seed_hub();
    let events: Vec<Event> = wire::from_json::<PreviewRequest>(
        r#"{"events":[{"type":"resync"},{"type":"order_cancelled","channel":"ebay","order":"nope"}]}"#,
    )
    .unwrap()
    .events;
    let e = hub.preview(events).unwrap_err();
    assert_eq!(e.code.as_str(), "unknown_order");
    assert!(e.message.starts_with("event 2:"), "{}", e.message);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    /// Arbitrary text never panics the parser.
    #[test]
    fn any_text_parses_or_errors(s in ".{0,200}") {
        let _ = wire::from_json::<Event>(&s);
        let _ = wire::from_json::<PreviewRequest>(&s);
    }

    /// Well-formed events with arbitrary ids and quantities never panic the hub, and a rejected
    /// one changes nothing.
    #[test]
    fn any_event_applies_or_is_refused(
        ty in prop::sample::select(vec!["item_put", "stock_adjusted", "order_placed", "order_shipped", "mapping_deleted", "resync", "push_delivered"]),
        id in prop::sample::select(vec!["A", "B", "LONDON", "ebay", "E-A", "nope"]),
        n in any::<i64>(),
    ) {
        let n = n % (1i64 << 54);
        let json = match ty {
            "item_put" => format!(r#"{{"type":"item_put","sku":"{id}","item":{{"levels":{{"LONDON":{n}}}}}}}"#),
            "stock_adjusted" => format!(r#"{{"type":"stock_adjusted","sku":"{id}","adjust":{{"location":"LONDON","delta":{n}}}}}"#),
            "order_placed" => format!(r#"{{"type":"order_placed","order":{{"channel":"ebay","order":"O","lines":[{{"sku":"{id}","qty":{n}}}]}}}}"#),
            "order_shipped" => format!(r#"{{"type":"order_shipped","channel":"ebay","order":"{id}"}}"#),
            "mapping_deleted" => format!(r#"{{"type":"mapping_deleted","channel":"ebay","listing":"{id}"}}"#),
            "push_delivered" => format!(r#"{{"type":"push_delivered","channel":"ebay","listing":"{id}","seq":{},"quantity":{n}}}"#, n.unsigned_abs() % 20),
            _ => r#"{"type":"resync"}"#.to_string(),
        };
        let mut hub = seed_hub();
        if let Ok(event) = wire::from_json::<Event>(&json) {
            let before = hub.clone();
            match hub.apply(event) {
                Ok(_) => prop_assert!(hub.check_invariants().is_ok()),
                Err(_) => prop_assert_eq!(hub, before),
            }
        }
    }
}
