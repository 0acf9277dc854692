//! Scenario files: tests as data. One file is a set-up, then steps; each step is an event (or
//! an edit made directly on a demo channel listing) and what must hold after it. The same files
//! run against the native core ([`CoreDriver`]), the browser package under Node and the worker
//! over HTTP: each runtime implements [`Driver`], and [`run`] does the rest.
//!
//! Expectations are JSON subsets: an expected object names only the fields it cares about, and
//! every array it names must match element by element (pushes and skips are sorted by channel
//! and listing first, so their order does not matter, but their number does).

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::events::Event;
use crate::hub::{Hub, RetryPolicy};
use crate::ids::{ChannelId, ListingId, ListingKey, Sku};
use crate::wire;

/// One scenario file.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Runtimes this scenario is for; all when empty. Scenarios that feed delivery
    /// acknowledgements by hand only make sense where the test owns delivery (`"core"`).
    #[serde(default)]
    pub runtimes: Vec<String>,
    /// Events applied (and their pushes delivered) before the steps, with no checks.
    #[serde(default)]
    pub setup: Vec<Event>,
    pub steps: Vec<ScenarioStep>,
}

impl Scenario {
    pub fn runs_on(&self, runtime: &str) -> bool {
        self.runtimes.is_empty() || self.runtimes.iter().any(|r| r == runtime)
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioStep {
    /// What the step shows, for a person reading the file.
    #[serde(default)]
    pub note: String,
    #[serde(default)]
    pub event: Option<Event>,
    /// An edit made directly on a demo channel listing (the hub does not see it).
    #[serde(default)]
    pub channel_edit: Option<ChannelEdit>,
    /// Deliver the pushes this step planned before checking (default true).
    #[serde(default = "yes")]
    pub deliver: bool,
    #[serde(default)]
    pub expect: Expect,
}

fn yes() -> bool {
    true
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelEdit {
    pub channel: ChannelId,
    pub listing: ListingId,
    pub quantity: i64,
}

/// What must hold after a step. Every field is optional.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The error code the event is rejected with.
    #[serde(default)]
    pub error: Option<String>,
    /// The pushes the event planned (all of them, any order; fields as a subset).
    #[serde(default)]
    pub pushes: Option<Vec<Value>>,
    /// The listings it skipped (all of them, any order; fields as a subset).
    #[serde(default)]
    pub skipped: Option<Vec<Value>>,
    /// A subset of the outcome's JSON (an order's `duplicate`, `lines`, …).
    #[serde(default)]
    pub outcome: Option<Value>,
    /// `{"SKU": {"LOCATION": {"on_hand", "reserved", "available"}}}` as subsets.
    #[serde(default)]
    pub stock: BTreeMap<String, Value>,
    /// `{"channel/listing": {"wanted", "last_sent", "status", "reason", "channel_shows"}}`.
    /// `channel_shows` is what the demo channel's own copy shows.
    #[serde(default)]
    pub listings: BTreeMap<String, Value>,
}

/// A runtime the scenarios run on.
pub trait Driver {
    /// Applies an event; `Ok` is the outcome's JSON, `Err` the error code.
    fn apply(&mut self, event: &Event) -> Result<Value, String>;
    /// Edits a demo listing directly on the channel.
    fn channel_edit(&mut self, edit: &ChannelEdit) -> Result<(), String>;
    /// Delivers every pending push (and waits for it, where delivery is asynchronous).
    fn deliver_all(&mut self) -> Result<(), String>;
    /// `GET /v1/items/{sku}`'s JSON, or `None` when there is no such item.
    fn item(&mut self, sku: &str) -> Result<Option<Value>, String>;
    /// `GET /v1/sync`'s listings, as JSON.
    fn sync(&mut self) -> Result<Vec<Value>, String>;
    /// What the demo channel's own copy of a listing shows (none if it never received one).
    fn channel_shows(&mut self, channel: &str, listing: &str) -> Result<Option<i64>, String>;
}

/// Runs a scenario; the error says which step and what differed.
pub fn run(scenario: &Scenario, driver: &mut dyn Driver) -> Result<(), String> {
    for (i, e) in scenario.setup.iter().enumerate() {
        driver
            .apply(e)
            .map_err(|c| format!("{}: setup event {} failed: {c}", scenario.name, i + 1))?;
    }
    driver.deliver_all()?;
    for (i, step) in scenario.steps.iter().enumerate() {
        let at = format!("{} step {} ({})", scenario.name, i + 1, step.note);
        run_step(step, driver).map_err(|e| format!("{at}: {e}"))?;
    }
    Ok(())
}

fn run_step(step: &ScenarioStep, driver: &mut dyn Driver) -> Result<(), String> {
    let x = &step.expect;
    if let Some(edit) = &step.channel_edit {
        driver.channel_edit(edit)?;
    }
    if let Some(event) = &step.event {
        match (driver.apply(event), &x.error) {
            (Ok(_), Some(code)) => {
                return Err(format!("expected error {code}, but the event was accepted"))
            }
            (Err(got), Some(code)) if got != *code => {
                return Err(format!("expected error {code}, got {got}"))
            }
            (Err(got), None) => return Err(format!("unexpected error {got}")),
            (Err(_), Some(_)) => {}
            (Ok(outcome), None) => {
                if let Some(want) = &x.pushes {
                    compare_list("pushes", want, outcome.get("pushes"))?;
                }
                if let Some(want) = &x.skipped {
                    compare_list("skipped", want, outcome.get("skipped"))?;
                }
                if let Some(want) = &x.outcome {
                    subset(want, &outcome, "outcome")?;
                }
            }
        }
    }
    if step.deliver {
        driver.deliver_all()?;
    }
    for (sku, want) in &x.stock {
        let item = driver.item(sku)?.ok_or_else(|| format!("no item {sku}"))?;
        let got = item.get("locations").cloned().unwrap_or(Value::Null);
        subset(want, &got, &format!("stock of {sku}"))?;
    }
    if !x.listings.is_empty() {
        let sync = driver.sync()?;
        for (name, want) in &x.listings {
            let (channel, listing) = name
                .split_once('/')
                .ok_or_else(|| format!("listing key {name:?} is not channel/listing"))?;
            let mut got = sync
                .iter()
                .find(|l| {
                    l.get("channel").and_then(Value::as_str) == Some(channel)
                        && l.get("listing").and_then(Value::as_str) == Some(listing)
                })
                .cloned()
                .unwrap_or_else(|| Value::Object(serde_json::Map::new()));
            if want.get("channel_shows").is_some() {
                let shows = driver.channel_shows(channel, listing)?;
                if let Value::Object(m) = &mut got {
                    m.insert(
                        "channel_shows".to_string(),
                        shows.map_or(Value::Null, Value::from),
                    );
                }
            }
            subset(want, &got, &format!("listing {name}"))?;
        }
    }
    Ok(())
}

fn sort_key(v: &Value) -> (String, String) {
    let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    (s("channel"), s("listing"))
}

fn compare_list(what: &str, want: &[Value], got: Option<&Value>) -> Result<(), String> {
    let mut got: Vec<Value> = got.and_then(Value::as_array).cloned().unwrap_or_default();
    let mut want: Vec<Value> = want.to_vec();
    got.sort_by_key(sort_key);
    want.sort_by_key(sort_key);
    if got.len() != want.len() {
        return Err(format!(
            "expected {} {what}, got {}: {}",
            want.len(),
            got.len(),
            brief(&got)
        ));
    }
    for (i, (w, g)) in want.iter().zip(&got).enumerate() {
        subset(w, g, &format!("{what}[{i}]"))
            .map_err(|e| format!("{e}; all {what}: {}", brief(&got)))?;
    }
    Ok(())
}

/// Shows a list without its (long) explanations.
fn brief(list: &[Value]) -> String {
    let trimmed: Vec<Value> = list
        .iter()
        .map(|v| {
            let mut v = v.clone();
            if let Value::Object(m) = &mut v {
                m.remove("explain");
            }
            v
        })
        .collect();
    wire::to_json(&trimmed)
}

/// Checks that `want` is a subset of `got`: objects by the keys `want` names, arrays element by
/// element with the same length, everything else by equality.
pub fn subset(want: &Value, got: &Value, path: &str) -> Result<(), String> {
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => {
            for (k, wv) in w {
                let gv = g.get(k).unwrap_or(&Value::Null);
                subset(wv, gv, &format!("{path}.{k}"))?;
            }
            Ok(())
        }
        (Value::Array(w), Value::Array(g)) => {
            if w.len() != g.len() {
                return Err(format!(
                    "{path}: expected {} elements, got {}: {}",
                    w.len(),
                    g.len(),
                    wire::to_json(got)
                ));
            }
            for (i, (wv, gv)) in w.iter().zip(g).enumerate() {
                subset(wv, gv, &format!("{path}[{i}]"))?;
            }
            Ok(())
        }
        _ if want == got => Ok(()),
        _ => Err(format!(
            "{path}: expected {}, got {}",
            wire::to_json(want),
            wire::to_json(got)
        )),
    }
}

/// The native core as a scenario runtime, with a simulated demo channel that keeps its own copy
/// of each listing (what it last received, or an edit made on it directly).
#[derive(Debug, Default)]
pub struct CoreDriver {
    pub hub: Hub,
    pub demo: BTreeMap<ListingKey, i64>,
    /// Check every invariant after every step (on by default in tests).
    pub check_invariants: bool,
}

impl CoreDriver {
    pub fn new() -> CoreDriver {
        CoreDriver {
            hub: Hub::new(),
            demo: BTreeMap::new(),
            check_invariants: true,
        }
    }

    fn check(&self) -> Result<(), String> {
        if self.check_invariants {
            self.hub
                .check_invariants()
                .map_err(|e| format!("invariant broken: {e}"))?;
        }
        Ok(())
    }
}

impl Driver for CoreDriver {
    fn apply(&mut self, event: &Event) -> Result<Value, String> {
        let before = self.hub.clone();
        let result = self.hub.apply(event.clone());
        match result {
            Ok(outcome) => {
                self.check()?;
                serde_json::to_value(&outcome).map_err(|e| e.to_string())
            }
            Err(e) => {
                if self.hub != before {
                    return Err(format!("rejected event ({}) changed the hub", e.code));
                }
                Err(e.code.as_str().to_string())
            }
        }
    }

    fn channel_edit(&mut self, edit: &ChannelEdit) -> Result<(), String> {
        self.demo.insert(
            ListingKey::new(edit.channel.clone(), edit.listing.clone()),
            edit.quantity,
        );
        Ok(())
    }

    fn deliver_all(&mut self) -> Result<(), String> {
        for (key, pending, _) in self.hub.outbox() {
            self.demo.insert(key.clone(), pending.quantity.get());
            self.hub
                .apply(Event::PushDelivered {
                    channel: key.channel,
                    listing: key.listing,
                    seq: pending.seq,
                    quantity: pending.quantity,
                })
                .map_err(|e| e.to_string())?;
        }
        self.check()
    }

    fn item(&mut self, sku: &str) -> Result<Option<Value>, String> {
        let sku = Sku::new(sku).map_err(|e| e.to_string())?;
        self.hub
            .item_view(&sku)
            .map(|v| serde_json::to_value(v).map_err(|e| e.to_string()))
            .transpose()
    }

    fn sync(&mut self) -> Result<Vec<Value>, String> {
        self.hub
            .sync_status(&RetryPolicy::default())
            .iter()
            .map(|s| serde_json::to_value(s).map_err(|e| e.to_string()))
            .collect()
    }

    fn channel_shows(&mut self, channel: &str, listing: &str) -> Result<Option<i64>, String> {
        let key = ListingKey::new(
            ChannelId::new(channel).map_err(|e| e.to_string())?,
            ListingId::new(listing).map_err(|e| e.to_string())?,
        );
        Ok(self.demo.get(&key).copied())
    }
}

/// Listings per page when a backed driver runs a recompute or lists `GET /v1/sync`: tiny, so
/// paging is exercised on every scenario.
pub const BACKED_PAGE: usize = 2;

/// The storage-backed path as a scenario runtime: a [`Hub::open`]ed hub over a [`MemStore`]
/// that keeps at most `max_rows` rows in memory (evicting after every event), run beside a hub
/// held whole. Every event must give the same outcome on both, and the store must hold exactly
/// the rows of the whole hub (SPEC §7.10): so every scenario file checks the backed path too.
#[derive(Debug)]
pub struct BackedDriver {
    pub twin: CoreDriver,
    pub hub: Hub,
    pub store: crate::store::MemStore,
    pub max_rows: usize,
    /// Reopen the hub from the store (a restart) every this many events; 0 never.
    pub restart_every: u64,
    events: u64,
}

impl BackedDriver {
    pub fn new(max_rows: usize) -> BackedDriver {
        let store = crate::store::MemStore {
            next_seq: 1,
            ..Default::default()
        };
        BackedDriver {
            twin: CoreDriver::new(),
            hub: store.open().unwrap_or_default(),
            store,
            max_rows,
            restart_every: 0,
            events: 0,
        }
    }

    /// One event on the backed hub, as the worker runs it: prefetch, apply, write, run any
    /// recompute page by page, evict.
    pub fn apply_backed(&mut self, event: &Event) -> Result<crate::Outcome, crate::Error> {
        self.events += 1;
        if self.restart_every > 0 && self.events.is_multiple_of(self.restart_every) {
            self.hub = self.store.open()?;
        }
        let before = self.store.clone();
        let result = run_backed(&mut self.hub, &mut self.store, event.clone(), BACKED_PAGE);
        if result.is_err() {
            // A rejected event must have written nothing; the worker drops its working set.
            let reads = self.store.reads;
            self.store.reads = before.reads;
            let unchanged = self.store == before;
            self.store.reads = reads;
            if !unchanged {
                return Err(crate::Error::new(
                    crate::ErrorCode::InvalidRequest,
                    "a rejected event changed the store",
                ));
            }
            self.hub = self.store.open()?;
        }
        self.hub.evict(self.max_rows);
        result
    }

    /// Whether the store holds exactly the rows of the hub held whole.
    pub fn check_same_state(&self) -> Result<(), String> {
        let mut whole = crate::store::MemStore::default();
        whole.write(self.twin.hub.all_rows());
        let mut mine = self.store.clone();
        mine.reads = 0;
        if mine != whole {
            return Err(format!(
                "the backed store differs from the whole hub:\n backed: {:?}\n whole:  {:?}",
                mine, whole
            ));
        }
        Ok(())
    }

    fn views_sync(&mut self) -> Result<Vec<Value>, String> {
        let policy = RetryPolicy::default();
        let channels: Vec<ChannelId> = self.hub.channels().map(|(c, _)| c.clone()).collect();
        let mut out = Vec::new();
        for c in channels {
            let mut after: Option<ListingKey> = None;
            loop {
                let page = self
                    .store
                    .channel_page(&c, after.as_ref(), BACKED_PAGE)
                    .map_err(|e| e.to_string())?;
                if page.is_empty() {
                    break;
                }
                let keys = self
                    .hub
                    .prefetch_listings(page, &mut self.store)
                    .map_err(|e| e.to_string())?;
                for k in &keys {
                    if let Some(s) = self.hub.listing_status(k, &policy) {
                        out.push(serde_json::to_value(s).map_err(|e| e.to_string())?);
                    }
                }
                after = keys.last().cloned();
                self.hub.evict(self.max_rows);
            }
        }
        Ok(out)
    }
}

/// Runs one event on a backed hub over `store`: what the worker does per request, minus SQL.
pub fn run_backed(
    hub: &mut Hub,
    store: &mut crate::store::MemStore,
    event: Event,
    page: usize,
) -> Result<crate::Outcome, crate::Error> {
    hub.prefetch(&event, store)?;
    let mut out = hub.apply(event)?;
    store.write(hub.rows(&out.dirty));
    if let Some(rc) = out.recompute.take() {
        let channels: Vec<ChannelId> = match rc.channel {
            Some(c) => alloc::vec![c],
            None => hub.channels().map(|(c, _)| c.clone()).collect(),
        };
        for c in channels {
            let mut after: Option<ListingKey> = None;
            loop {
                let records = store.channel_page(&c, after.as_ref(), page)?;
                if records.is_empty() {
                    break;
                }
                let keys = hub.prefetch_listings(records, store)?;
                after = keys.last().cloned();
                let step = hub.replan(keys, rc.resync);
                store.write(hub.rows(&step.dirty));
                out.pushes.extend(step.pushes);
                out.skipped.extend(step.skipped);
                out.dirty.merge(step.dirty);
            }
        }
    }
    Ok(out)
}

impl Driver for BackedDriver {
    fn apply(&mut self, event: &Event) -> Result<Value, String> {
        let whole = self.twin.apply(event);
        let backed = self
            .apply_backed(event)
            .map_err(|e| e.code.as_str().to_string())
            .and_then(|o| serde_json::to_value(&o).map_err(|e| e.to_string()));
        if whole != backed {
            return Err(format!(
                "backed and whole hubs differ on {}:\n backed: {backed:?}\n whole:  {whole:?}",
                wire::to_json(event)
            ));
        }
        self.check_same_state()?;
        backed
    }

    fn channel_edit(&mut self, edit: &ChannelEdit) -> Result<(), String> {
        self.twin.channel_edit(edit)
    }

    fn deliver_all(&mut self) -> Result<(), String> {
        for (key, pending, _) in self.twin.hub.outbox() {
            self.twin.demo.insert(key.clone(), pending.quantity.get());
            self.apply(&Event::PushDelivered {
                channel: key.channel,
                listing: key.listing,
                seq: pending.seq,
                quantity: pending.quantity,
            })?;
        }
        self.twin.check()
    }

    fn item(&mut self, sku: &str) -> Result<Option<Value>, String> {
        let whole = self.twin.item(sku)?;
        let s = Sku::new(sku).map_err(|e| e.to_string())?;
        self.hub
            .prefetch_sku(&s, &mut self.store)
            .map_err(|e| e.to_string())?;
        let backed = self
            .hub
            .item_view(&s)
            .map(|v| serde_json::to_value(v).map_err(|e| e.to_string()))
            .transpose()?;
        self.hub.evict(self.max_rows);
        if whole != backed {
            return Err(format!(
                "item {sku} differs:\n backed: {backed:?}\n whole:  {whole:?}"
            ));
        }
        Ok(backed)
    }

    fn sync(&mut self) -> Result<Vec<Value>, String> {
        let whole = self.twin.sync()?;
        let backed = self.views_sync()?;
        if whole != backed {
            return Err(format!(
                "sync differs:\n backed: {backed:?}\n whole:  {whole:?}"
            ));
        }
        Ok(backed)
    }

    fn channel_shows(&mut self, channel: &str, listing: &str) -> Result<Option<i64>, String> {
        self.twin.channel_shows(channel, listing)
    }
}
