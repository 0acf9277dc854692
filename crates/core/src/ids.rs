//! Validated identifiers. Every id is 1–255 bytes of UTF-8 with no control characters and no
//! leading or trailing whitespace (SPEC §6). The check runs once, when the value is made
//! (including when serde reads it), so the rest of the core only ever sees valid ids.

use alloc::string::String;
use alloc::sync::Arc;
use core::borrow::Borrow;
use core::fmt;

use crate::error::{Error, ErrorCode};

/// The longest id, in bytes.
pub const MAX_ID_BYTES: usize = 255;

fn check(what: &str, s: &str) -> Result<(), Error> {
    let bad = |why: &str| {
        Err(Error::new(
            ErrorCode::InvalidId,
            alloc::format!("{what} {why}"),
        ))
    };
    if s.is_empty() {
        return bad("is empty");
    }
    if s.len() > MAX_ID_BYTES {
        return bad(&alloc::format!(
            "is {} bytes long; the limit is {MAX_ID_BYTES}",
            s.len()
        ));
    }
    if s.chars().any(char::is_control) {
        return bad("contains a control character");
    }
    if s.starts_with(char::is_whitespace) || s.ends_with(char::is_whitespace) {
        return bad("has leading or trailing whitespace");
    }
    Ok(())
}

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident, $what:literal) => {
        $(#[$meta])*
        #[derive(Clone)]
        #[cfg_attr(feature = "ts", derive(ts_rs::TS))]
        pub struct $name(Arc<str>);

        impl core::hash::Hash for $name {
            fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
                // The text's hash, as `str`'s, so `Borrow<str>` lookups find the id.
                (*self.0).hash(state)
            }
        }

        // Equality and order are the text's, with a shortcut: ids are interned by the hub, so
        // a lookup usually compares an id with its own shared copy, and then no byte is read.
        // (Hash is the text's too, so a `&str` still finds an id in a map.)
        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                Arc::ptr_eq(&self.0, &other.0) || self.0 == other.0
            }
        }

        impl Eq for $name {}

        impl PartialOrd for $name {
            fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
                Some(self.cmp(other))
            }
        }

        impl Ord for $name {
            fn cmp(&self, other: &Self) -> core::cmp::Ordering {
                if Arc::ptr_eq(&self.0, &other.0) {
                    return core::cmp::Ordering::Equal;
                }
                self.0.cmp(&other.0)
            }
        }

        impl $name {
            /// Validates and wraps an id.
            pub fn new(s: impl Into<String>) -> Result<Self, Error> {
                let s = s.into();
                check($what, &s).map_err(|e| Error::new(e.code, alloc::format!("{} (\"{}\")", e.message, truncate(&s))))?;
                Ok(Self(Arc::from(s)))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.0, f)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                $name::new(s).map_err(|e| serde::de::Error::custom(e.to_serde_message()))
            }
        }
    };
}

/// Shows at most 40 characters of a rejected id in an error message.
fn truncate(s: &str) -> &str {
    match s.char_indices().nth(40) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

id_type!(
    /// A hub inventory item's stock keeping unit.
    Sku,
    "sku"
);
id_type!(
    /// A warehouse or other stock-holding place.
    LocationId,
    "location id"
);
id_type!(
    /// A sales channel integration.
    ChannelId,
    "channel id"
);
id_type!(
    /// A channel's own listing id (its SKU or listing number).
    ListingId,
    "listing id"
);
id_type!(
    /// A channel's order reference.
    OrderRef,
    "order reference"
);
id_type!(
    /// A caller's reference for a stock adjustment, making a retried adjustment apply once.
    AdjustRef,
    "adjustment reference"
);

/// One channel listing: the key of a listing link and of its sync state.
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ListingKey {
    pub channel: ChannelId,
    pub listing: ListingId,
}

impl ListingKey {
    pub fn new(channel: ChannelId, listing: ListingId) -> ListingKey {
        ListingKey { channel, listing }
    }
}

impl fmt::Display for ListingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.channel, self.listing)
    }
}

/// Free text (names, reasons): at most this many bytes, no control characters but newlines.
pub const MAX_TEXT_BYTES: usize = 1024;

pub(crate) fn check_text(what: &str, s: &str) -> Result<(), Error> {
    if s.len() > MAX_TEXT_BYTES {
        return Err(Error::new(
            ErrorCode::InvalidRequest,
            alloc::format!(
                "{what} is {} bytes long; the limit is {MAX_TEXT_BYTES}",
                s.len()
            ),
        ));
    }
    if s.chars().any(|c| c.is_control() && c != '\n') {
        return Err(Error::new(
            ErrorCode::InvalidRequest,
            alloc::format!("{what} contains a control character"),
        ));
    }
    Ok(())
}
