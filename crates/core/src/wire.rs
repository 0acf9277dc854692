//! JSON in: one parser for every surface, so a bad request gets the same error code over HTTP,
//! in JS and in a scenario file.

use alloc::string::{String, ToString};

use serde::de::DeserializeOwned;

use crate::error::{Error, ErrorCode};

/// Parses JSON into `T`, turning serde's message into an [`Error`] with a stable code.
///
/// Text is parsed into a [`serde_json::Value`] first and every type is read from that, so each
/// type's deserializer exists once in a wasm build (not once per input path): this keeps the
/// browser package and the worker small. Syntax errors keep their line and column.
pub fn from_json<T: DeserializeOwned>(json: &str) -> Result<T, Error> {
    let value: serde_json::Value = serde_json::from_str(json).map_err(|e| classify(&e))?;
    from_value(value)
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
                if let Some(code) = ErrorCode::parse(code) {
                    return Error::new(code, rest);
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
