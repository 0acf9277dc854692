//! Rejected input. Expected outcomes (a skipped listing, an oversold line) are data in an
//! [`crate::Outcome`]; an [`Error`] means the input was refused and nothing changed.

use alloc::string::{String, ToString};
use core::fmt;

/// A stable, snake_case error code. The worker maps each to an HTTP status; the browser package
/// puts it on the JS error it throws. Codes are part of the API: never rename one.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// The body is not valid JSON (the message says where).
    MalformedJson,
    /// A JSON value has the wrong type (a string where an object was expected, …).
    InvalidType,
    /// A required field is missing.
    MissingField,
    /// A field the API does not know.
    UnknownField,
    /// An id (sku, listing, location, channel, order) breaks the id rules.
    InvalidId,
    /// A quantity is missing its sign rules, fractional, a string, or beyond ±(2^53−1).
    InvalidQuantity,
    /// A channel or listing rule is out of range.
    InvalidRule,
    /// The request is well-formed JSON but asks for something contradictory.
    InvalidRequest,
    /// An order with no lines.
    EmptyOrder,
    /// A list over its limit (lines per order, mappings per request, …).
    TooMany,
    UnknownChannel,
    UnknownLocation,
    UnknownSku,
    UnknownOrder,
    UnknownListing,
    /// A mapping would make one listing name two skus.
    MappingConflict,
    /// An order reference reused with different lines.
    OrderConflict,
    /// Cancelling an order that was already shipped (SPEC §5.1): nothing changed.
    OrderShipped,
    /// Shipping an order that was already cancelled (SPEC §5.1): nothing changed.
    OrderCancelled,
    /// A stock item cannot become a composite (or back) while it holds stock or is a component.
    ItemKindConflict,
    /// A composite's component list is invalid (nested composite, duplicate, self-reference).
    InvalidComponent,
    /// An order names no location and its channel has none to default to.
    MissingLocation,
    /// An adjustment would take on hand below zero.
    NegativeStock,
    /// An adjustment reference reused with a different adjustment.
    AdjustmentConflict,
    /// A push acknowledgement for a push that was never planned.
    UnknownPush,
    /// A snapshot of a format version this build does not read.
    UnsupportedVersion,
    /// Reading or writing the hub's storage failed (a 500: the request changed nothing).
    StorageFailed,
}

impl ErrorCode {
    pub const ALL: &'static [ErrorCode] = &[
        ErrorCode::MalformedJson,
        ErrorCode::InvalidType,
        ErrorCode::MissingField,
        ErrorCode::UnknownField,
        ErrorCode::InvalidId,
        ErrorCode::InvalidQuantity,
        ErrorCode::InvalidRule,
        ErrorCode::InvalidRequest,
        ErrorCode::EmptyOrder,
        ErrorCode::TooMany,
        ErrorCode::UnknownChannel,
        ErrorCode::UnknownLocation,
        ErrorCode::UnknownSku,
        ErrorCode::UnknownOrder,
        ErrorCode::UnknownListing,
        ErrorCode::MappingConflict,
        ErrorCode::OrderConflict,
        ErrorCode::ItemKindConflict,
        ErrorCode::InvalidComponent,
        ErrorCode::MissingLocation,
        ErrorCode::NegativeStock,
        ErrorCode::AdjustmentConflict,
        ErrorCode::UnknownPush,
        ErrorCode::UnsupportedVersion,
        ErrorCode::StorageFailed,
        ErrorCode::OrderShipped,
        ErrorCode::OrderCancelled,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::MalformedJson => "malformed_json",
            ErrorCode::InvalidType => "invalid_type",
            ErrorCode::MissingField => "missing_field",
            ErrorCode::UnknownField => "unknown_field",
            ErrorCode::InvalidId => "invalid_id",
            ErrorCode::InvalidQuantity => "invalid_quantity",
            ErrorCode::InvalidRule => "invalid_rule",
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::EmptyOrder => "empty_order",
            ErrorCode::TooMany => "too_many",
            ErrorCode::UnknownChannel => "unknown_channel",
            ErrorCode::UnknownLocation => "unknown_location",
            ErrorCode::UnknownSku => "unknown_sku",
            ErrorCode::UnknownOrder => "unknown_order",
            ErrorCode::UnknownListing => "unknown_listing",
            ErrorCode::MappingConflict => "mapping_conflict",
            ErrorCode::OrderConflict => "order_conflict",
            ErrorCode::ItemKindConflict => "item_kind_conflict",
            ErrorCode::InvalidComponent => "invalid_component",
            ErrorCode::MissingLocation => "missing_location",
            ErrorCode::NegativeStock => "negative_stock",
            ErrorCode::AdjustmentConflict => "adjustment_conflict",
            ErrorCode::UnknownPush => "unknown_push",
            ErrorCode::UnsupportedVersion => "unsupported_version",
            ErrorCode::StorageFailed => "storage_failed",
            ErrorCode::OrderShipped => "order_shipped",
            ErrorCode::OrderCancelled => "order_cancelled",
        }
    }

    pub fn parse(code: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.iter().copied().find(|c| c.as_str() == code)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Input the core refused. Nothing was changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    pub code: ErrorCode,
    /// What was wrong and where, for a person.
    pub message: String,
}

impl Error {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Error {
        Error {
            code,
            message: message.into(),
        }
    }

    /// A storage failure (the event it interrupted changed nothing).
    pub fn storage(what: impl fmt::Display) -> Error {
        Error::new(ErrorCode::StorageFailed, alloc::format!("storage: {what}"))
    }

    /// The `{"error": {"code", "message"}}` body of the HTTP API.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code.as_str().to_string(),
                message: self.message.clone(),
            },
        }
    }

    /// How an error travels through serde: `"code: message"`. [`crate::wire::from_json`] reads
    /// the code back, so a bad id deep inside a request still answers `invalid_id`.
    pub(crate) fn to_serde_message(&self) -> String {
        alloc::format!("{}: {}", self.code, self.message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

/// The error body every surface (HTTP, JS) shows.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
}

/// Shorthand for building an error inside the core.
pub(crate) fn err<T>(code: ErrorCode, message: impl Into<String>) -> Result<T, Error> {
    Err(Error::new(code, message))
}
