//! The HTTP edge shared by the Worker and the Durable Object: the one mapping from error codes
//! to statuses and the `{"error": {"code", "message"}}` body (SPEC §5), JSON answers, the body
//! size caps and the content-type checks. Nothing here decides anything about stock.

use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use serde::Serialize;
use stocksync_core::{wire, Error as CoreError, ErrorBody, ErrorCode, ErrorDetail};
use worker::{Headers, Request, Response};

/// The largest request body most routes accept, in bytes (checked on Content-Length and on what
/// is read); the bulk routes take up to [`stocksync_core::limits::MAX_BULK_BODY_BYTES`]
/// ([`crate::routes::Route::body_cap`]).
pub use stocksync_core::limits::MAX_BODY_BYTES;

/// A refused request: its status, stable snake_case code and message. Core errors keep their
/// code; the codes only the HTTP surface has (auth, size, media type, routing) are made here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub code: String,
    pub message: String,
    /// The `Allow` header of a 405.
    pub allow: Option<&'static str>,
}

/// What every handler returns: an answer, or a refusal that becomes the error body.
pub type Reply = Result<Response, ApiError>;

impl ApiError {
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code: code.to_string(),
            message: message.into(),
            allow: None,
        }
    }

    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(401, "unauthorized", message)
    }

    pub fn bad_signature(message: impl Into<String>) -> ApiError {
        ApiError::new(401, "bad_signature", message)
    }

    pub fn signature_expired(message: impl Into<String>) -> ApiError {
        ApiError::new(401, "signature_expired", message)
    }

    pub fn api_key_not_configured() -> ApiError {
        ApiError::new(
            503,
            "api_key_not_configured",
            "no API_KEY secret is configured, so the /v1 API refuses every request \
             (set one with `wrangler secret put API_KEY`, or in .dev.vars locally)",
        )
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(404, "not_found", message)
    }

    pub fn method_not_allowed(method: &str, allow: &'static str) -> ApiError {
        ApiError {
            allow: Some(allow),
            ..ApiError::new(
                405,
                "method_not_allowed",
                format!("{method} is not allowed here; allowed: {allow}"),
            )
        }
    }

    pub fn payload_too_large(len: usize, cap: usize) -> ApiError {
        let limit = if cap.is_multiple_of(1 << 20) {
            format!("{} MiB", cap >> 20)
        } else {
            format!("{cap} bytes")
        };
        ApiError::new(
            413,
            "payload_too_large",
            format!("the body is {len} bytes or more; this route takes at most {limit}"),
        )
    }

    pub fn unsupported_media_type(got: Option<&str>, want: &str) -> ApiError {
        ApiError::new(
            415,
            "unsupported_media_type",
            format!(
                "Content-Type is {}; this route takes {want}",
                got.map_or_else(|| "missing".to_string(), |g| format!("{g:?}"))
            ),
        )
    }

    /// A request rejected for a reason the core has a code for, raised by the HTTP layer.
    pub fn core(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError::from(CoreError::new(code, message))
    }

    /// Something broke on our side (storage, a binding): 500, never a client's fault.
    pub fn internal(what: impl core::fmt::Display) -> ApiError {
        worker::console_error!("internal error: {what}");
        ApiError::new(500, "internal", format!("internal error: {what}"))
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code.clone(),
                message: self.message.clone(),
            },
        }
    }

    /// The error as an HTTP answer.
    pub fn response(&self) -> worker::Result<Response> {
        let resp = json(self.status, &self.body())?;
        if let Some(allow) = self.allow {
            resp.headers().set("Allow", allow)?;
        }
        Ok(resp)
    }
}

/// The one mapping from core error codes to HTTP statuses (SPEC §5–6).
pub fn status_of(code: ErrorCode) -> u16 {
    use ErrorCode::*;
    match code {
        UnknownOrder | UnknownListing => 404,
        OrderConflict | MappingConflict | AdjustmentConflict | ItemKindConflict | NegativeStock
        | OrderShipped | OrderCancelled => 409,
        UnknownChannel | UnknownLocation | UnknownSku => 422,
        StorageFailed => 500,
        MalformedJson | InvalidType | MissingField | UnknownField | InvalidId | InvalidQuantity
        | InvalidRule | InvalidRequest | EmptyOrder | TooMany | InvalidComponent
        | MissingLocation | UnsupportedVersion | UnknownPush => 400,
        // A code added to the core later is a rejected input until mapped otherwise.
        _ => 400,
    }
}

impl From<CoreError> for ApiError {
    fn from(e: CoreError) -> ApiError {
        ApiError::new(status_of(e.code), e.code.as_str(), e.message)
    }
}

impl From<worker::Error> for ApiError {
    fn from(e: worker::Error) -> ApiError {
        ApiError::internal(e)
    }
}

/// A JSON answer with `status`.
pub fn json<T: Serialize>(status: u16, value: &T) -> worker::Result<Response> {
    Ok(Response::from_json(value)?.with_status(status))
}

/// A 200 JSON answer.
pub fn ok<T: Serialize>(value: &T) -> Reply {
    Ok(json(200, value)?)
}

/// The body cap of the route `req` asks for ([`crate::routes::Route::body_cap`]); 1 MiB when
/// it names no route.
pub fn body_cap(req: &Request) -> usize {
    crate::routes::route(&req.method(), &req.path()).map_or(MAX_BODY_BYTES, |r| r.body_cap())
}

/// Refuses a body whose Content-Length is over `cap` before reading any of it; the declared
/// length, if any.
pub fn check_content_length(headers: &Headers, cap: usize) -> Result<Option<usize>, ApiError> {
    let Some(len) = headers.get("Content-Length")? else {
        return Ok(None);
    };
    match len.trim().parse::<u64>() {
        Ok(n) if n > cap as u64 => Err(ApiError::payload_too_large(
            usize::try_from(n).unwrap_or(usize::MAX),
            cap,
        )),
        Ok(n) => Ok(usize::try_from(n).ok()),
        Err(_) => Ok(None),
    }
}

/// Reads the body, refusing more than its route's cap ([`body_cap`]: 64 MiB on the bulk
/// routes, 1 MiB elsewhere) whether or not Content-Length says so.
pub async fn read_body(req: &mut Request) -> Result<Vec<u8>, ApiError> {
    let cap = body_cap(req);
    let declared = check_content_length(req.headers(), cap)?;
    if declared.is_some() {
        // A declared length within the cap (checked above; the runtime holds the body to
        // it): one `arrayBuffer()` instead of a reader's call per chunk, which the V8
        // profile showed costing more than the order itself.
        return Ok(req.bytes().await?);
    }
    // No body at all (GET, DELETE, an empty POST) reads as empty.
    let Ok(mut stream) = req.stream() else {
        return Ok(Vec::new());
    };
    // One allocation of the declared size: a 64 MiB body is never held twice while it grows.
    let mut buf = Vec::with_capacity(declared.unwrap_or(0).min(cap));
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        if buf.len() + chunk.len() > cap {
            return Err(ApiError::payload_too_large(buf.len() + chunk.len(), cap));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf)
}

/// A request body with its declared media type.
#[derive(Debug)]
pub struct Body {
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
}

impl Body {
    /// The media type without parameters, lower-cased (`application/json; charset=utf-8` →
    /// `application/json`).
    pub fn media_type(&self) -> Option<String> {
        self.content_type.as_deref().map(|c| {
            c.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.iter().all(u8::is_ascii_whitespace)
    }

    /// The body as UTF-8 text, requiring `want` as its media type.
    pub fn text(&self, want: &str) -> Result<&str, ApiError> {
        if self.media_type().as_deref() != Some(want) {
            return Err(ApiError::unsupported_media_type(
                self.content_type.as_deref(),
                want,
            ));
        }
        core::str::from_utf8(&self.bytes).map_err(|e| {
            ApiError::core(
                ErrorCode::MalformedJson,
                format!("the body is not UTF-8 (at byte {})", e.valid_up_to()),
            )
        })
    }

    /// Parses a JSON body with the core's parser, so codes match every other surface.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        Ok(wire::from_json(self.text("application/json")?)?)
    }

    /// A JSON body that may also be left out entirely (then `T::default()`).
    pub fn json_or_default<T: DeserializeOwned + Default>(&self) -> Result<T, ApiError> {
        if self.is_empty() {
            return Ok(T::default());
        }
        self.json()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_core_code_but_storage_is_a_client_error() {
        for code in ErrorCode::ALL {
            let status = status_of(*code);
            if *code == ErrorCode::StorageFailed {
                assert_eq!(status, 500);
                continue;
            }
            assert!((400..500).contains(&status), "{code} → {status}");
        }
        assert_eq!(status_of(ErrorCode::UnknownChannel), 422);
        assert_eq!(status_of(ErrorCode::OrderConflict), 409);
        assert_eq!(status_of(ErrorCode::OrderShipped), 409);
        assert_eq!(status_of(ErrorCode::OrderCancelled), 409);
        assert_eq!(status_of(ErrorCode::UnknownOrder), 404);
    }
}
