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

/// Reads a JSON array one element at a time under [`from_json`]'s rules, handing each to
/// `each` with its 0-based index (as `T`, or the error that element alone has), so a document
/// of 100,000 elements never exists whole as a [`Value`] — only one element at a time does.
/// `each` may stop the read with its own error, which is returned as it is; a syntax error
/// anywhere, or a document that is not an array, is `malformed_json` / `invalid_type`.
/// Answers the number of elements.
pub fn each_element<T: DeserializeOwned, E: From<Error>>(
    json: &str,
    mut each: impl FnMut(usize, Result<T, Error>) -> Result<(), E>,
) -> Result<usize, E> {
    struct Elements<'a, T, E, F> {
        each: &'a mut F,
        stopped: &'a mut Option<E>,
        _t: core::marker::PhantomData<T>,
    }
    impl<'de, T, E, F> Visitor<'de> for Elements<'_, T, E, F>
    where
        T: DeserializeOwned,
        F: FnMut(usize, Result<T, Error>) -> Result<(), E>,
    {
        type Value = usize;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON array")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<usize, A::Error> {
            let mut n = 0;
            while let Some(Strict(v)) = seq.next_element()? {
                if let Err(e) = (self.each)(n, from_value(v)) {
                    *self.stopped = Some(e);
                    return Err(A::Error::custom("stopped"));
                }
                n += 1;
            }
            Ok(n)
        }
    }
    let mut stopped = None;
    let mut de = serde_json::Deserializer::from_str(json);
    let read = Deserializer::deserialize_seq(
        &mut de,
        Elements {
            each: &mut each,
            stopped: &mut stopped,
            _t: core::marker::PhantomData,
        },
    );
    if let Some(e) = stopped {
        return Err(e);
    }
    read.and_then(|n| de.end().map(|()| n))
        .map_err(|e| E::from(classify(&e)))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn read(json: &str) -> Result<Vec<Result<u32, ErrorCode>>, Error> {
        let mut seen = Vec::new();
        each_element::<u32, Error>(json, |i, r| {
            assert_eq!(i, seen.len());
            seen.push(r.map_err(|e| e.code));
            Ok(())
        })?;
        Ok(seen)
    }

    #[test]
    fn elements_are_read_one_by_one_each_with_its_own_error() {
        assert_eq!(
            read(" [1, \"x\", 3] ").unwrap(),
            [Ok(1), Err(ErrorCode::InvalidType), Ok(3)]
        );
        assert_eq!(read("[]").unwrap(), []);
        assert_eq!(read("{}").unwrap_err().code, ErrorCode::InvalidType);
        assert_eq!(read("[1, 2").unwrap_err().code, ErrorCode::MalformedJson);
        assert_eq!(read("[1] x").unwrap_err().code, ErrorCode::MalformedJson);
        let dup = each_element::<Value, Error>(r#"[{"a": 1, "a": 2}]"#, |_, _| Ok(()));
        assert_eq!(dup.unwrap_err().code, ErrorCode::MalformedJson);
    }

    #[test]
    fn the_callback_stops_the_read_with_its_own_error() {
        let mut n = 0;
        let stopped = each_element::<u32, Error>("[1, 2, 3, 4]", |_, _| {
            n += 1;
            if n == 2 {
                return Err(Error::new(ErrorCode::TooMany, "enough"));
            }
            Ok(())
        });
        assert_eq!(stopped.unwrap_err().message, "enough");
        assert_eq!(n, 2);
    }
}
