//! The package's TypeScript types, generated from the Rust types with ts-rs, so they cannot
//! drift from what the core and this crate serialize. This test writes nothing unless asked:
//! it fails when `src/types.d.ts` differs from what the Rust types generate now, and
//! `UPDATE_TYPES=1 cargo test -p stocksync-web --features ts --test typescript` rewrites it.
//! (`src/lib.rs` includes the file into the package's `.d.ts` through wasm-bindgen.)

use std::any::TypeId;
use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

use stocksync_core::{
    ErrorBody, ErrorCode, Event, ItemView, ListingStatus, OrderReceipt, Outcome, Preview,
    PreviewRequest, SkipReason, Snapshot,
};
use stocksync_web::{Delivery, HubView};
use ts_rs::{Config, TypeVisitor, TS};

/// Collects the declaration of a type and of everything it names, once each.
struct Collect<'a> {
    cfg: &'a Config,
    seen: HashSet<TypeId>,
    decls: BTreeMap<String, String>,
}

impl TypeVisitor for Collect<'_> {
    fn visit<T: TS + 'static + ?Sized>(&mut self) {
        // Primitives and std containers have no declaration of their own.
        if T::output_path().is_none() || !self.seen.insert(TypeId::of::<T>()) {
            return;
        }
        let mut decl = T::docs().unwrap_or_default();
        decl.push_str("export ");
        decl.push_str(&T::decl(self.cfg));
        if TypeId::of::<T>() == TypeId::of::<Outcome>() {
            // An order event's receipt is flattened into its outcome (`#[serde(flatten)]` on an
            // `Option`, which ts-rs cannot express): its fields are all there or none are.
            let end = decl.trim_end().trim_end_matches(';').len();
            decl.truncate(end);
            decl.push_str(" & Partial<OrderReceipt>;");
        }
        self.decls.insert(T::ident(self.cfg), decl);
        T::visit_dependencies(self);
    }
}

fn generate() -> String {
    // Every quantity is a whole number within ±(2^53−1) (the core's Qty), carried as a JS
    // number: the package serializes with serde-wasm-bindgen's json_compatible, never bigint.
    let cfg = Config::new().with_large_int("number");
    let mut c = Collect {
        cfg: &cfg,
        seen: HashSet::new(),
        decls: BTreeMap::new(),
    };
    // The values that cross the boundary (arguments and results of the `Hub` class).
    c.visit::<Snapshot>();
    c.visit::<Event>();
    c.visit::<PreviewRequest>();
    c.visit::<Preview>();
    c.visit::<Outcome>();
    c.visit::<OrderReceipt>();
    c.visit::<HubView>();
    c.visit::<ItemView>();
    c.visit::<ListingStatus>();
    c.visit::<Delivery>();
    c.visit::<SkipReason>();
    c.visit::<ErrorBody>();
    // What a webhook channel receives: for apps that implement a receiver.
    c.visit::<stocksync_core::WebhookPush>();

    let mut out = String::from(
        "// Generated from the Rust types by crates/web/tests/typescript.rs (ts-rs). Do not edit:\n\
         // run `UPDATE_TYPES=1 cargo test -p stocksync-web --features ts --test typescript`.\n\n",
    );
    let codes: Vec<String> = ErrorCode::ALL
        .iter()
        .map(|c| format!("\"{}\"", c.as_str()))
        .collect();
    out.push_str("/** The error codes of the HTTP API, which the package's errors carry too. */\n");
    out.push_str(&format!(
        "export type ErrorCode = {};\n\n",
        codes.join(" | ")
    ));
    out.push_str(
        "/** What every method of the package throws for rejected input. */\n\
         export interface StocksyncError extends Error {\n  name: \"StocksyncError\";\n  code: ErrorCode;\n}\n",
    );
    for decl in c.decls.values() {
        out.push('\n');
        out.push_str(decl);
        out.push('\n');
    }
    out
}

#[test]
fn types_d_ts_is_generated_from_the_rust_types() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/types.d.ts");
    let want = generate();
    if std::env::var_os("UPDATE_TYPES").is_some() {
        std::fs::write(&path, &want).expect("write src/types.d.ts");
        return;
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "{} is stale: the Rust types changed. Regenerate it with\n  UPDATE_TYPES=1 cargo test -p stocksync-web --features ts --test typescript",
        path.display()
    );
}

#[test]
fn quantities_are_numbers_and_options_are_null() {
    let types = generate();
    assert!(
        !types.contains("bigint"),
        "a 64-bit integer would be typed bigint, but the package sends numbers"
    );
    assert!(types.contains("export type Qty = number;"));
}
