//! JSON in: one parser for every surface, so a bad request gets the same error code over HTTP,
//! in JS and in a scenario file.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use serde::de::{DeserializeOwned, Error as _, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Number, Value};

use crate::error::{Error, ErrorCode};

/// Parses JSON into `T`, turning serde's message into an [`Error`] with a stable code.
///
/// Text is parsed into a [`serde_json::Value`] first and every type is read from that, so each
/// type's deserializer exists once in a wasm build (not once per input path): this keeps the
/// browser package and the worker small. Syntax errors keep their line and column.
///
/// An object that names a key twice is `malformed_json` (SPEC §5.1), never "last one wins":
/// the text is read by [`Strict`], which builds the same [`Value`] serde_json would and checks
/// each key as it is inserted, so a duplicate costs no second pass and no copy of the body.
pub fn from_json<T: DeserializeOwned>(json: &str) -> Result<T, Error> {
    from_value(parse(json)?)
}

/// JSON text to a [`Value`] under [`from_json`]'s rules (a repeated key is `malformed_json`),
/// for callers that take a big document apart themselves, e.g. to name the array element an
/// error is in (the worker's bulk routes).
pub fn parse(json: &str) -> Result<Value, Error> {
    let Strict(value) = serde_json::from_str(json).map_err(|e| classify(&e))?;
    Ok(value)
}

/// A JSON value whose objects name each key once. Deserializing it from text refuses a
/// repeated key with `malformed_json: duplicate key "…"` (and serde_json adds the line and
/// column); otherwise it is exactly the [`Value`] serde_json would build.
#[derive(Clone, Debug, PartialEq)]
pub struct Strict(pub Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Strict, D::Error> {
        d.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.into()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut obj = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if obj.contains_key(&key) {
                return Err(A::Error::custom(alloc::format!(
                    "malformed_json: duplicate key {key:?} in one object"
                )));
            }
            let Strict(v) = map.next_value()?;
            obj.insert(key, v);
        }
        Ok(Value::Object(obj))
    }
}

/// Like [`from_json`], from a value already parsed (the browser package hands these over).
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, Error> {
    serde_json::from_value(value).map_err(|e| classify(&e))
}

/// Serializes a value the core produced. Our types hold no maps with non-string keys and no
/// floats, so this cannot fail; a failure would be a bug in the core.
pub fn to_json<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_string(value) {
        Ok(s) => s,
        Err(e) => panic!("core value failed to serialize: {e}"),
    }
}

fn classify(e: &serde_json::Error) -> Error {
    use serde_json::error::Category;
    let text = e.to_string();
    let code = match e.classify() {
        Category::Syntax | Category::Eof | Category::Io => ErrorCode::MalformedJson,
        Category::Data => {
            // Our own validators prefix their messages with the code ("invalid_id: …").
            if let Some((code, rest)) = text.split_once(": ") {
                match ErrorCode::parse(code) {
                    // A duplicate key ([`Strict`]): reads like any other syntax error.
                    Some(ErrorCode::MalformedJson) => {
                        return Error::new(
                            ErrorCode::MalformedJson,
                            alloc::format!("malformed JSON: {rest}"),
                        )
                    }
                    Some(code) => return Error::new(code, rest),
                    None => {}
                }
            }
            if text.starts_with("unknown field") {
                ErrorCode::UnknownField
            } else if text.starts_with("missing field") {
                ErrorCode::MissingField
            } else if text.contains(crate::qty::EXPECTING) {
                ErrorCode::InvalidQuantity
            } else {
                ErrorCode::InvalidType
            }
        }
    };
    let message = match code {
        ErrorCode::MalformedJson => alloc::format!("malformed JSON: {text}"),
        _ => text,
    };
    Error::new(code, message)
}
