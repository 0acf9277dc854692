//! The browser package under Node (wasm-bindgen-test): every scenario file runs through the
//! JS-facing `Hub` class, with JS values in and out exactly as a page would pass them, and
//! every answer is compared with the core's own answer to the same call (the core compiled
//! into this same module, called directly). Then the binding's own promises: error codes,
//! previews that change nothing, snapshots that round-trip.
//!
//! Run: `cargo test -p stocksync-web --target wasm32-unknown-unknown` (the runner is set in
//! `.cargo/config.toml`).
#![cfg(target_arch = "wasm32")]

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{json, Value};
use stocksync_core::scenario::{run, ChannelEdit, CoreDriver, Driver, Scenario};
use stocksync_core::{wire, Event};
use stocksync_web::error::ERROR_NAME;
use stocksync_web::hub::describe_skip_reason;
use stocksync_web::JsHub;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::wasm_bindgen_test;

include!(concat!(env!("OUT_DIR"), "/scenarios.rs"));

/// A JS value made by serde-wasm-bindgen, as a Rust caller would make it.
fn js<T: Serialize + ?Sized, U: JsCast>(value: &T) -> U {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .expect("serializable")
        .unchecked_into()
}

/// A JS value as a page would have it: `JSON.parse` of the text.
fn parsed<U: JsCast>(text: &str) -> U {
    js_sys::JSON::parse(text)
        .expect("valid JSON")
        .unchecked_into()
}

fn back(value: impl Into<JsValue>) -> Value {
    let v: JsValue = value.into();
    if v.is_undefined() {
        return Value::Null;
    }
    serde_wasm_bindgen::from_value(v).expect("a JSON-shaped value")
}

/// The error code and message of a thrown `StocksyncError`.
fn code_of(err: &JsValue) -> (String, String) {
    let get = |k: &str| {
        js_sys::Reflect::get(err, &JsValue::from_str(k))
            .ok()
            .and_then(|v| v.as_string())
            .unwrap_or_default()
    };
    assert_eq!(get("name"), ERROR_NAME, "thrown value is a StocksyncError");
    assert!(
        err.is_instance_of::<js_sys::Error>(),
        "thrown value is an Error"
    );
    (get("code"), get("message"))
}

/// A scenario runtime that calls the package's JS-facing functions, checking each answer
/// against the core's.
struct WasmDriver {
    hub: JsHub,
    /// What the simulated channel shows per listing: what it last received, or a direct edit.
    demo: BTreeMap<(String, String), i64>,
    native: CoreDriver,
}

impl WasmDriver {
    fn new() -> WasmDriver {
        WasmDriver {
            hub: JsHub::new(),
            demo: BTreeMap::new(),
            native: CoreDriver::new(),
        }
    }
}

/// The package's answer, if it is the core's answer (both answers, errors included).
fn same<T: PartialEq + std::fmt::Debug>(
    what: &str,
    wasm: Result<T, String>,
    native: Result<T, String>,
) -> Result<T, String> {
    if wasm != native {
        return Err(format!(
            "{what}: the package answered {wasm:?} but the core answered {native:?}"
        ));
    }
    wasm
}

/// The error a call threw (the call must throw).
fn thrown<T>(what: &str, r: Result<T, JsValue>) -> JsValue {
    match r {
        Ok(_) => panic!("{what}: expected an error"),
        Err(e) => e,
    }
}

impl Driver for WasmDriver {
    fn apply(&mut self, event: &Event) -> Result<Value, String> {
        let wasm = self
            .hub
            .apply(js(event))
            .map(back)
            .map_err(|e| code_of(&e).0);
        let native = self.native.apply(event);
        same("apply", wasm, native)
    }

    fn channel_edit(&mut self, edit: &ChannelEdit) -> Result<(), String> {
        self.demo.insert(
            (edit.channel.to_string(), edit.listing.to_string()),
            edit.quantity,
        );
        self.native.channel_edit(edit)
    }

    fn deliver_all(&mut self) -> Result<(), String> {
        let delivered = back(self.hub.deliver_all().map_err(|e| code_of(&e).1)?);
        for d in delivered.as_array().into_iter().flatten() {
            let key = (
                d["channel"].as_str().unwrap_or_default().to_string(),
                d["listing"].as_str().unwrap_or_default().to_string(),
            );
            self.demo.insert(
                key,
                d["quantity"]
                    .as_i64()
                    .ok_or("delivery without a quantity")?,
            );
        }
        self.native.deliver_all()
    }

    fn item(&mut self, sku: &str) -> Result<Option<Value>, String> {
        let wasm = self.hub.item(sku).map(back).map_err(|e| code_of(&e).0)?;
        let wasm = (!wasm.is_null()).then_some(wasm);
        same(&format!("item {sku}"), Ok(wasm), self.native.item(sku))
    }

    fn sync(&mut self) -> Result<Vec<Value>, String> {
        let wasm = back(self.hub.sync().map_err(|e| code_of(&e).1)?);
        let wasm = wasm.as_array().cloned().ok_or("sync() is not an array")?;
        same("sync", Ok(wasm), self.native.sync())
    }

    fn channel_shows(&mut self, channel: &str, listing: &str) -> Result<Option<i64>, String> {
        let wasm = self
            .demo
            .get(&(channel.to_string(), listing.to_string()))
            .copied();
        same(
            &format!("{channel}/{listing} shows"),
            Ok(wasm),
            self.native.channel_shows(channel, listing),
        )
    }
}

#[wasm_bindgen_test]
fn every_scenario_file_gives_the_cores_answers_through_the_package() {
    assert!(!SCENARIOS.is_empty(), "the scenario corpus is embedded");
    let mut ran = 0;
    let mut failures = Vec::new();
    for (file, text) in SCENARIOS {
        let scenario: Scenario = match wire::from_json(text) {
            Ok(s) => s,
            Err(e) => {
                failures.push(format!("{file}: {e}"));
                continue;
            }
        };
        if !scenario.runs_on("wasm") {
            continue;
        }
        ran += 1;
        if let Err(e) = run(&scenario, &mut WasmDriver::new()) {
            failures.push(format!("{file}: {e}"));
        }
    }
    assert!(ran > 0, "no scenario runs on wasm");
    assert!(
        failures.is_empty(),
        "{} of {ran} scenarios failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The seed story's hub after its set-up, as a page builds it.
fn seed() -> JsHub {
    let (_, text) = SCENARIOS
        .iter()
        .find(|(f, _)| *f == "seed_story.json")
        .expect("seed_story.json");
    let scenario: Scenario = wire::from_json(text).expect("seed story parses");
    let mut hub = JsHub::new();
    for e in &scenario.setup {
        hub.apply(js(e)).expect("seed set-up applies");
    }
    hub.deliver_all().expect("deliver");
    hub
}

fn events(v: Value) -> stocksync_web::hub::EventsJs {
    js(&v)
}

#[wasm_bindgen_test]
fn a_snapshot_round_trips_through_js_values_and_json_text() {
    let hub = seed();
    let snap = back(hub.snapshot().expect("snapshot"));
    let again = JsHub::from_snapshot(js(&snap)).expect("loads its own snapshot");
    assert_eq!(back(again.snapshot().expect("snapshot")), snap);
    let text = serde_json::to_string(&snap).expect("json");
    let from_text = JsHub::from_json(&text).expect("loads the export's text");
    assert_eq!(
        back(from_text.view().expect("view")),
        back(hub.view().expect("view"))
    );
}

#[wasm_bindgen_test]
fn invalid_input_throws_the_http_apis_error_codes() {
    let mut hub = seed();
    let cases: Vec<(&str, Value)> = vec![
        (
            "invalid_id",
            json!({"type": "item_put", "sku": " padded", "item": {"levels": {"LONDON": 1}}}),
        ),
        (
            "invalid_quantity",
            json!({"type": "item_put", "sku": "TEST_SS7052", "item": {"levels": {"LONDON": 1.5}}}),
        ),
        (
            "invalid_quantity",
            json!({"type": "item_put", "sku": "TEST_SS7052", "item": {"levels": {"LONDON": "3"}}}),
        ),
        (
            "invalid_quantity",
            json!({"type": "item_put", "sku": "TEST_SS7052", "item": {"levels": {"LONDON": 9007199254740992u64}}}),
        ),
        (
            "unknown_field",
            json!({"type": "location_put", "id": "X", "location": {"name": "x", "colour": "red"}}),
        ),
        (
            "missing_field",
            json!({"type": "channel_put", "id": "c", "channel": {"name": "c"}}),
        ),
        (
            "unknown_location",
            json!({"type": "item_put", "sku": "TEST_SS7052", "item": {"levels": {"PARIS": 1}}}),
        ),
        (
            "unknown_channel",
            json!({"type": "order_placed", "order": {"channel": "nope", "order": "1", "lines": [{"sku": "TEST_SS7052", "qty": 1}]}}),
        ),
        (
            "empty_order",
            json!({"type": "order_placed", "order": {"channel": "shop", "order": "1", "lines": []}}),
        ),
        (
            "invalid_rule",
            json!({"type": "channel_put", "id": "shop", "channel": {"locations": ["LONDON"], "rules": {"percent": 101}, "target": {"kind": "demo"}}}),
        ),
        (
            "unknown_sku",
            json!({"type": "mappings_put", "mappings": [{"channel": "shop", "listing": "SHOP-7052", "sku": "OTHER"}]}),
        ),
    ];
    let before = back(hub.snapshot().expect("snapshot"));
    for (code, event) in cases {
        let err = thrown(&format!("{event}"), hub.apply(parsed(&event.to_string())));
        let (got, message) = code_of(&err);
        assert_eq!(got, code, "{event}: {message}");
        assert!(!message.is_empty());
    }
    assert_eq!(
        back(hub.snapshot().expect("snapshot")),
        before,
        "rejected input changed nothing"
    );

    let (code, _) = code_of(&thrown("malformed", JsHub::from_json("{\"version\": 1,")));
    assert_eq!(code, "malformed_json");
    let (code, _) = code_of(&thrown("version", JsHub::from_json("{\"version\": 99}")));
    assert_eq!(code, "unsupported_version");
    let (code, _) = code_of(&thrown(
        "not an object",
        JsHub::from_snapshot(js(&json!("a string"))),
    ));
    assert_eq!(code, "invalid_type");
    let (code, _) = code_of(&thrown("empty sku", hub.item("")));
    assert_eq!(code, "invalid_id");
    assert!(hub.item("NOPE").expect("valid sku").is_undefined());
}

#[wasm_bindgen_test]
fn a_preview_changes_nothing_and_names_the_bad_event() {
    let hub = seed();
    let before = back(hub.snapshot().expect("snapshot"));
    let preview = back(
        hub.preview(events(json!([
            {"type": "item_put", "sku": "TEST_SS7052", "item": {"levels": {"LONDON": 0}}},
        ])))
        .expect("preview"),
    );
    assert_eq!(
        back(hub.snapshot().expect("snapshot")),
        before,
        "a preview changes nothing"
    );
    let changes = preview["changes"].as_array().expect("changes");
    assert_eq!(changes.len(), 2);
    assert!(changes
        .iter()
        .all(|c| c["after"] == json!(0) && c["explain"]["quantity"] == json!(0)));
    assert_eq!(preview["warnings"][0]["code"], json!("sends_zero"));
    assert_eq!(preview["warnings"][0]["count"], json!(2));

    let err = thrown(
        "second event is bad",
        hub.preview(events(json!([
            {"type": "resync"},
            {"type": "order_cancelled", "channel": "shop", "order": "never"},
        ]))),
    );
    let (code, message) = code_of(&err);
    assert_eq!(code, "unknown_order");
    assert!(message.starts_with("event 2: "), "{message}");
    let err = thrown(
        "bad shape",
        hub.preview(events(json!([{"type": "resync"}, {"type": "nonsense"}]))),
    );
    assert!(code_of(&err).1.starts_with("event 2: "));
    let (code, _) = code_of(&thrown(
        "not an array",
        hub.preview(events(json!({"events": []}))),
    ));
    assert_eq!(code, "invalid_type");
}

#[wasm_bindgen_test]
fn fork_shows_the_state_a_preview_describes() {
    let hub = seed();
    let draft = json!([{"type": "order_placed", "order": {"channel": "shop", "order": "W-1", "lines": [{"listing": "SHOP-7052", "qty": 2}]}}]);
    let after = hub.fork(events(draft.clone())).expect("fork");
    let view = back(after.view().expect("view"));
    let preview = back(hub.preview(events(draft)).expect("preview"));
    for change in preview["changes"].as_array().expect("changes") {
        let row = view["listings"]
            .as_array()
            .and_then(|ls| {
                ls.iter().find(|l| {
                    l["channel"] == change["channel"] && l["listing"] == change["listing"]
                })
            })
            .expect("listing in the view");
        assert_eq!(row["wanted"], change["after"]);
        assert_eq!(row["status"], json!("pending"));
    }
    assert_eq!(view["holds"][0]["order"], json!("W-1"));
    assert_eq!(
        back(hub.view().expect("view"))["holds"],
        json!([]),
        "the original is unchanged"
    );
    assert_eq!(
        describe_skip_reason(js(&json!("channel_disabled"))).expect("known"),
        "the channel is disabled"
    );
    assert_eq!(
        code_of(&thrown(
            "unknown reason",
            describe_skip_reason(js(&json!("bogus")))
        ))
        .0,
        "invalid_type"
    );
}
