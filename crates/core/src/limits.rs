//! Limits on everything a request can make the core do (TigerBeetle's "put a limit on
//! everything"). Each is checked where the input enters and answers `too_many` when exceeded.

/// Lines in one order.
pub const MAX_ORDER_LINES: usize = 100;
/// Rows in one `PUT /v1/mappings` (SPEC §5.1).
pub const MAX_MAPPINGS_PER_REQUEST: usize = 100_000;
/// Rows in one `PUT /v1/items` (SPEC §5.1): CSV data rows, or for a JSON array one per level
/// set plus one per composite, so the cap means the same in both formats.
pub const MAX_BULK_ROWS: usize = 100_000;
/// Bytes of a request body on a bulk route (`PUT /v1/items`, `PUT /v1/mappings`,
/// `POST /v1/import`): 100,000 rows of long ids fit with room to spare.
pub const MAX_BULK_BODY_BYTES: usize = 64 << 20;
/// Bytes of a request body on every other route.
pub const MAX_BODY_BYTES: usize = 1 << 20;
/// Components of one composite item.
pub const MAX_COMPONENTS: usize = 50;
/// Locations one channel sells from.
pub const MAX_CHANNEL_LOCATIONS: usize = 100;
/// Levels set by one `PUT /v1/items/{sku}`.
pub const MAX_LEVELS_PER_REQUEST: usize = 1_000;
/// Hypothetical events in one preview.
pub const MAX_PREVIEW_EVENTS: usize = 1_000;
/// Bytes of a webhook URL.
pub const MAX_URL_BYTES: usize = 2_048;
/// Bytes of a webhook secret (and at least this many: 16).
pub const MAX_SECRET_BYTES: usize = 256;
pub const MIN_SECRET_BYTES: usize = 16;
/// Bytes of a delivery error kept for `GET /v1/sync`.
pub const MAX_ERROR_BYTES: usize = 512;
