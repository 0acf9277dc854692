//! stocksync's reconciliation core: every stock decision of the hub, as pure functions over
//! in-memory state. It does no I/O, reads no clock and knows nothing of HTTP, storage or JS;
//! the worker and the browser package are shells around it.
//!
//! The flow, for any surface: parse input with [`wire::from_json`] into an [`Event`], hand it to
//! [`Hub::apply`], store what the [`Outcome`] says changed ([`Outcome::dirty`], as rows from
//! [`Hub::rows`]) together with its planned [`Push`]es, then deliver those pushes and report each
//! result back as [`Event::PushDelivered`] or [`Event::PushFailed`].
//!
//! ```
//! use stocksync_core::{wire, Event, Hub};
//!
//! let mut hub = Hub::new();
//! for json in [
//!     r#"{"type":"location_put","id":"LONDON","location":{"name":"London"}}"#,
//!     r#"{"type":"item_put","sku":"TEST_SS7052","item":{"levels":{"LONDON":5}}}"#,
//!     r#"{"type":"channel_put","id":"ebay","channel":{"locations":["LONDON"],"target":{"kind":"demo"}}}"#,
//!     r#"{"type":"mappings_put","mappings":[{"channel":"ebay","listing":"EB-7052","sku":"TEST_SS7052"}]}"#,
//! ] {
//!     hub.apply(wire::from_json::<Event>(json).unwrap()).unwrap();
//! }
//! let order = r#"{"type":"order_placed","order":{"channel":"ebay","order":"EB-1","lines":[{"listing":"EB-7052","qty":1}]}}"#;
//! let outcome = hub.apply(wire::from_json(order).unwrap()).unwrap();
//! assert_eq!(outcome.pushes[0].quantity, 4); // 5 on hand − 1 reserved
//! ```
// no_std, except for the native-only `ts` feature: ts-rs's derive expands to code that names
// std (`format!`, `String`), and TypeScript generation never runs on a no_std target.
#![cfg_attr(not(feature = "ts"), no_std)]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

extern crate alloc;

mod backup;
mod error;
mod events;
mod hub;
mod ids;
pub mod limits;
mod model;
mod plan;
mod preview;
mod qty;
mod rules;
mod snapshot;
mod sorted;
pub mod stale;
mod store;
#[cfg(feature = "backed")]
mod summary;
mod tagged;
pub mod wire;

#[cfg(feature = "scenario")]
pub mod scenario;

pub use backup::BackupLine;
pub use error::{Error, ErrorBody, ErrorCode, ErrorDetail};
pub use events::{DemoEdit, Event, PreviewRequest, ResyncBody};
pub use hub::{Hub, Resident, RetryPolicy};
pub use ids::{
    AdjustRef, ChannelId, ListingId, ListingKey, LocationId, OrderRef, Sku, MAX_ID_BYTES,
};
pub use model::{
    AdapterFields, Adjust, Channel, Component, ItemBody, Link, Listing, Location, Mapping, Order,
    OrderLine, OrderLineIn, OrderStatus, Pending, PlaceOrder, Pooling, Reservation, RuleOverrides,
    Rules, SyncState, Target, SECRET_FIELDS,
};
pub use plan::{
    Dirty, Explain, Hold, ItemView, KitLine, LevelView, LineReceipt, ListingStatus, ListingView,
    OrderReceipt, Outcome, Push, Rule, RuleSource, SkipReason, Skipped, Step, StockLine,
    SyncStatus, WebhookBatch, WebhookBatchItem, WebhookPush, WEBHOOK_BATCH_MAX,
};
pub use preview::{ListingChange, Preview, Warning, WarningCode};
pub use qty::{Qty, MAX_QTY};
pub use snapshot::{
    listing_row_key, AdjustmentRecord, ListingRecord, Row, Snapshot, SNAPSHOT_VERSION,
};
pub use store::{ItemRecord, ListingClass, MemStore, Recompute, Store};
#[cfg(feature = "backed")]
pub use summary::{BiggestDrop, PreviewSummary, WhatIf, BIGGEST_DROPS};
