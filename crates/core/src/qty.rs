//! Quantities. Every quantity that crosses a boundary is a whole number within ±(2^53−1), so
//! JSON and JavaScript carry it exactly. Derived values (pools, sums over many locations) are
//! computed with saturating arithmetic and clamped back into that range.

use core::fmt;

use crate::error::{Error, ErrorCode};

/// 2^53 − 1, the largest integer a JS number holds exactly.
pub const MAX_QTY: i64 = (1 << 53) - 1;

/// A whole number within ±[`MAX_QTY`]. Sign rules (at least 1, not negative, …) depend on the
/// field and are checked where the field is used.
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Qty(i64);

impl Qty {
    pub const ZERO: Qty = Qty(0);
    pub const ONE: Qty = Qty(1);

    pub fn new(v: i64) -> Result<Qty, Error> {
        if (-MAX_QTY..=MAX_QTY).contains(&v) {
            Ok(Qty(v))
        } else {
            Err(Error::new(
                ErrorCode::InvalidQuantity,
                alloc::format!("{v} is beyond ±(2^53−1)"),
            ))
        }
    }

    pub const fn get(self) -> i64 {
        self.0
    }

    /// Checks a sign rule, naming the field in the error.
    pub(crate) fn at_least(self, min: i64, field: &str) -> Result<i64, Error> {
        if self.0 < min {
            let rule = match min {
                0 => "must not be negative",
                1 => "must be at least 1",
                _ => "is too small",
            };
            return Err(Error::new(
                ErrorCode::InvalidQuantity,
                alloc::format!("{field} {rule} (got {})", self.0),
            ));
        }
        Ok(self.0)
    }
}

impl fmt::Debug for Qty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for Qty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl From<Qty> for i64 {
    fn from(q: Qty) -> i64 {
        q.0
    }
}

/// Clamps a derived value into ±[`MAX_QTY`].
pub(crate) fn clamp(v: i64) -> i64 {
    v.clamp(-MAX_QTY, MAX_QTY)
}

/// `a + b` for derived values: saturating, then clamped.
pub(crate) fn add(a: i64, b: i64) -> i64 {
    clamp(a.saturating_add(b))
}

/// `a − b` for derived values: saturating, then clamped.
pub(crate) fn sub(a: i64, b: i64) -> i64 {
    clamp(a.saturating_sub(b))
}

impl serde::Serialize for Qty {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(self.0)
    }
}

/// The marker the `expecting` text carries, so [`crate::wire`] can name the code.
pub(crate) const EXPECTING: &str = "a quantity (a whole number within ±(2^53−1))";

impl<'de> serde::Deserialize<'de> for Qty {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Qty, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Qty;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(EXPECTING)
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Qty, E> {
                Qty::new(v).map_err(|e| E::custom(e.to_serde_message()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Qty, E> {
                let v = i64::try_from(v).unwrap_or(i64::MAX);
                self.visit_i64(v)
            }
            fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Qty, E> {
                // The value is not echoed: formatting floats would cost the wasm builds ~10 KB.
                Err(E::custom(
                    Error::new(
                        ErrorCode::InvalidQuantity,
                        "quantities are whole numbers, without a fraction or an exponent",
                    )
                    .to_serde_message(),
                ))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Qty, E> {
                Err(E::custom(
                    Error::new(
                        ErrorCode::InvalidQuantity,
                        alloc::format!("a quantity is a JSON number, not the string \"{v}\""),
                    )
                    .to_serde_message(),
                ))
            }
        }
        d.deserialize_any(V)
    }
}
