//! CORS for the API (SPEC §5.1): a merchant's own frontend on another origin may call the
//! worker when that origin is listed in the `ALLOWED_ORIGINS` var (comma-separated, exact
//! `scheme://host[:port]`; none by default, and then no CORS header is ever sent).
//!
//! - A preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) carries no
//!   credentials, so it is answered here, before auth: `204` with the allowed methods and
//!   headers for a listed origin, `403 cors_forbidden` (the usual error body, no CORS headers)
//!   for any other.
//! - An actual request goes through the same auth as without CORS; its answer (success or
//!   error) carries `Access-Control-Allow-Origin: <origin>` and exposes the headers a client
//!   reads, when its `Origin` is listed. Answers vary by `Origin` whenever a list is configured.

use worker::{Env, Headers, Method, Response, Result};

use crate::http::ApiError;

/// Methods the API uses.
const METHODS: &str = "GET, HEAD, POST, PUT, DELETE";
/// Request headers a client may send.
const HEADERS: &str = "Authorization, Content-Type, Accept, X-Stocksync-Signature";
/// Response headers a client may read beyond the CORS-safelisted ones.
const EXPOSE: &str = "Allow, Content-Length, Content-Disposition";
/// How long a browser may cache a preflight, in seconds.
const MAX_AGE: &str = "600";

/// The configured origins, trimmed, without empty entries or a trailing slash (none: no CORS).
pub fn origins(env: &Env) -> Vec<String> {
    env.var("ALLOWED_ORIGINS")
        .map(|v| v.to_string())
        .unwrap_or_default()
        .split(',')
        .map(|o| o.trim().trim_end_matches('/').to_string())
        .filter(|o| !o.is_empty())
        .collect()
}

/// The request's `Origin` when it is listed.
pub fn allowed_origin(headers: &Headers, origins: &[String]) -> Result<Option<String>> {
    let Some(origin) = headers.get("Origin")? else {
        return Ok(None);
    };
    Ok(origins
        .iter()
        .any(|o| o.eq_ignore_ascii_case(&origin))
        .then_some(origin))
}

pub fn is_preflight(method: &Method, headers: &Headers) -> Result<bool> {
    Ok(*method == Method::Options
        && headers.has("Origin")?
        && headers.has("Access-Control-Request-Method")?)
}

/// Answers a preflight, before auth (a browser sends none with it).
pub fn preflight(headers: &Headers, origin: Option<&str>) -> Result<Response> {
    let Some(origin) = origin else {
        let asked = headers.get("Origin")?.unwrap_or_default();
        let resp = ApiError::new(
            403,
            "cors_forbidden",
            format!("origin {asked:?} is not in ALLOWED_ORIGINS, so browsers on it may not call this API"),
        )
        .response()?;
        resp.headers().set("Vary", "Origin")?;
        return Ok(resp);
    };
    let resp = Response::empty()?.with_status(204);
    let h = resp.headers();
    h.set("Access-Control-Allow-Origin", origin)?;
    h.set("Access-Control-Allow-Methods", METHODS)?;
    h.set("Access-Control-Allow-Headers", HEADERS)?;
    h.set("Access-Control-Max-Age", MAX_AGE)?;
    h.set("Vary", "Origin")?;
    Ok(resp)
}

/// Adds the CORS headers to an actual answer for a listed origin (and `Vary: Origin` whenever
/// origins are configured). Answers forwarded from the Durable Object have immutable
/// headers, so they get a fresh copy.
pub fn decorate(resp: Response, origin: Option<&str>, configured: bool) -> Result<Response> {
    if !configured {
        return Ok(resp);
    }
    let headers = resp.headers().clone();
    match headers.get("Vary")? {
        Some(v)
            if v.split(',')
                .any(|x| x.trim().eq_ignore_ascii_case("origin")) => {}
        Some(v) => headers.set("Vary", &format!("{v}, Origin"))?,
        None => headers.set("Vary", "Origin")?,
    }
    if let Some(origin) = origin {
        headers.set("Access-Control-Allow-Origin", origin)?;
        headers.set("Access-Control-Expose-Headers", EXPOSE)?;
    }
    Ok(resp.with_headers(headers))
}
