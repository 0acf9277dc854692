//! stocksync's Cloudflare Worker: a thin shell around `stocksync-core`, which makes every stock
//! decision. This crate only moves requests, rows and pushes.
//!
//! ```text
//! client ─▶ [assets] www/ (GET /, served by wrangler before the Worker runs)
//!        ─▶ Worker (this file): /healthz · /v1 auth (API_KEY bearer, or a signed order trigger)
//!             ├─ GET /v1/channels, GET /v1/mappings/{c}/{l}: read from KV at the edge (mirror.rs)
//!             └─ every other /v1 route ─▶ the tenant's Ledger Durable Object (ledger.rs)
//!                  parse (routes.rs, http.rs) → core Event → Hub::apply → one SQLite
//!                  transaction (store.rs) → answer; then the alarm delivers (delivery.rs) and
//!                  the KV mirror is written (mirror.rs)
//! ```

mod adapters;
mod backup;
mod bulk;
mod cors;
mod delivery;
mod discover;
mod http;
mod jobs;
mod ledger;
mod load;
mod mirror;
mod routes;
mod signature;
mod store;
mod views;

pub use ledger::Ledger;

use stocksync_core::{ChannelId, ErrorCode, ListingId};
use worker::{event, Context, Env, Headers, Method, Request, RequestInit, Response, Result};

use crate::http::{ApiError, Reply};
use crate::routes::Route;

/// The Durable Object namespace binding (wrangler.toml `[[durable_objects.bindings]]`).
pub const LEDGER_BINDING: &str = "LEDGER";
/// The KV namespace mirroring channel configuration and mappings.
pub const CONFIG_BINDING: &str = "CONFIG";
/// The secret every `/v1` request must present as `Authorization: Bearer <API_KEY>`.
pub const API_KEY_SECRET: &str = "API_KEY";
/// Names the tenant (its Durable Object). Set by the Worker on every forwarded request; taken
/// from clients only when the `ALLOW_TENANT_HEADER` var is `1` (tests).
pub const TENANT_HEADER: &str = "X-Stocksync-Tenant";
/// How the Worker authenticated a forwarded request (`bearer` or `signature`). Internal: the
/// Worker always overwrites it, and only the Worker can reach the Durable Object.
pub const AUTH_HEADER: &str = "X-Stocksync-Auth";
/// A channel's signature over an order trigger (SPEC §5), verified by the Durable Object.
pub const SIGNATURE_HEADER: &str = "X-Stocksync-Signature";

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    let origin = cors::allowed_origin(&req, &env)?;
    if cors::is_preflight(&req)? {
        return cors::preflight(&req, origin.as_deref());
    }
    let resp = match handle(req, &env).await {
        Ok(resp) => resp,
        Err(e) => e.response()?,
    };
    cors::decorate(resp, origin.as_deref(), cors::configured(&env))
}

async fn handle(mut req: Request, env: &Env) -> Reply {
    let path = req.path();
    if path == "/healthz" {
        return match req.method() {
            Method::Get | Method::Head => Ok(Response::ok("ok")?),
            m => Err(ApiError::method_not_allowed(m.as_ref(), "GET")),
        };
    }
    if !path.starts_with("/v1/") {
        return Err(ApiError::not_found(format!("no route {path}")));
    }
    let Some(key) = api_key(env) else {
        return Err(ApiError::api_key_not_configured());
    };
    let auth = authenticate(&req, &key, &path)?;
    let route = routes::route(&req.method(), &path)?;
    let tenant = tenant(&req, env)?;
    match &route {
        Route::ChannelsList => return edge_channels(env, &tenant).await,
        Route::MappingGet(channel, listing) => {
            return edge_mapping(env, &tenant, channel, listing).await
        }
        _ => {}
    }
    if route.is_bulk() {
        // Up to 64 MiB: streamed through to the Durable Object, which enforces the cap as it
        // reads, so the Worker never holds the body (twice: in wasm and as the JS copy).
        http::check_content_length(&req, route.body_cap())?;
        return forward(&req, Forward::Stream, env, &tenant, auth).await;
    }
    let body = http::read_body(&mut req).await?;
    forward(&req, Forward::Bytes(body), env, &tenant, auth).await
}

/// The body a forwarded request carries.
enum Forward {
    /// Read (and capped) by the Worker.
    Bytes(Vec<u8>),
    /// The client's own body stream, capped by the Durable Object as it reads.
    Stream,
}

/// The configured key; an empty one counts as none.
fn api_key(env: &Env) -> Option<String> {
    let key = env.secret(API_KEY_SECRET).ok()?.to_string();
    (!key.is_empty()).then_some(key)
}

/// Compares in time independent of where the strings differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `bearer` for a correct API key; `signature` for an unauthenticated `POST /v1/orders` that
/// carries a channel signature (the Durable Object, which holds the secrets, verifies it).
fn authenticate(
    req: &Request,
    key: &str,
    path: &str,
) -> std::result::Result<&'static str, ApiError> {
    // A channel's own webhooks carry no bearer key: the Durable Object verifies the channel's
    // signature over the raw body (SPEC §9).
    if req.method() == Method::Post
        && path.starts_with("/v1/channels/")
        && path.ends_with("/inbound")
    {
        return Ok("channel");
    }
    if let Some(value) = req.headers().get("Authorization")? {
        return match value.strip_prefix("Bearer ") {
            Some(token) if constant_time_eq(token.trim().as_bytes(), key.as_bytes()) => {
                Ok("bearer")
            }
            _ => Err(ApiError::unauthorized(
                "the API key in Authorization: Bearer is wrong",
            )),
        };
    }
    if req.method() == Method::Post
        && path == "/v1/orders"
        && req.headers().has(SIGNATURE_HEADER)?
    {
        return Ok("signature");
    }
    Err(ApiError::unauthorized(
        "missing Authorization: Bearer <API_KEY> (or, for POST /v1/orders, X-Stocksync-Signature)",
    ))
}

/// The tenant: the `TENANT` var (default `default`), or the test header when allowed.
fn tenant(req: &Request, env: &Env) -> std::result::Result<String, ApiError> {
    let allowed = env
        .var("ALLOW_TENANT_HEADER")
        .is_ok_and(|v| v.to_string() == "1");
    if allowed {
        if let Some(t) = req.headers().get(TENANT_HEADER)? {
            let ok = !t.is_empty()
                && t.len() <= 64
                && t.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !ok {
                return Err(ApiError::core(
                    ErrorCode::InvalidId,
                    "a tenant is 1–64 of A–Z a–z 0–9 - _",
                ));
            }
            return Ok(t);
        }
    }
    Ok(env
        .var("TENANT")
        .map(|v| v.to_string())
        .ok()
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| "default".to_string()))
}

/// Hands the request to the tenant's Durable Object, with the tenant and how it was
/// authenticated. A body read here was capped already; a streamed one is capped by the Durable
/// Object's own read (`http::read_body`), so the cap holds on any transfer encoding.
async fn forward(req: &Request, body: Forward, env: &Env, tenant: &str, auth: &str) -> Reply {
    let headers = Headers::new();
    for name in ["Content-Type", "Accept", SIGNATURE_HEADER] {
        if let Some(v) = req.headers().get(name)? {
            headers.set(name, &v)?;
        }
    }
    if auth == "channel" {
        // The channel's signature, topic, shop and delivery ids.
        for (name, v) in req.headers().entries() {
            let n = name.to_ascii_lowercase();
            if n.starts_with("x-shopify-") || n.starts_with("x-wc-") {
                headers.set(&name, &v)?;
            }
        }
    }
    headers.set(TENANT_HEADER, tenant)?;
    headers.set(AUTH_HEADER, auth)?;
    let mut init = RequestInit::new();
    init.with_method(req.method()).with_headers(headers);
    if !matches!(req.method(), Method::Get | Method::Head) {
        match body {
            Forward::Bytes(body) => {
                let bytes = worker::js_sys::Uint8Array::from(body.as_slice());
                init.with_body(Some(bytes.into()));
            }
            Forward::Stream => {
                init.with_body(req.inner().body().map(Into::into));
            }
        }
    }
    let inner = Request::new_with_init(req.url()?.as_str(), &init)?;
    let stub = env
        .durable_object(LEDGER_BINDING)?
        .id_from_name(tenant)?
        .get_stub()?;
    Ok(stub.fetch_with_request(inner).await?)
}

fn json_text(text: String) -> Reply {
    let resp = Response::ok(text)?;
    resp.headers().set("Content-Type", "application/json")?;
    Ok(resp)
}

/// `GET /v1/channels` from the KV mirror (eventually consistent in production: a change can
/// take up to a minute to show at every edge location).
async fn edge_channels(env: &Env, tenant: &str) -> Reply {
    let kv = env.kv(CONFIG_BINDING)?;
    let text = kv
        .get(&mirror::channels_key(tenant))
        .text()
        .await
        .map_err(ApiError::internal)?;
    json_text(text.unwrap_or_else(|| "[]".to_string()))
}

/// `GET /v1/mappings/{channel}/{listing}` from the KV mirror: the listing's bucket, then the
/// listing in it.
async fn edge_mapping(env: &Env, tenant: &str, channel: &ChannelId, listing: &ListingId) -> Reply {
    let kv = env.kv(CONFIG_BINDING)?;
    let key = mirror::bucket_key(tenant, channel.as_str(), mirror::bucket(listing.as_str()));
    let text = kv.get(&key).text().await.map_err(ApiError::internal)?;
    match text.and_then(|t| mirror::mapping_in_bucket(&t, listing.as_str())) {
        Some(json) => json_text(json),
        None => Err(ApiError::not_found(format!(
            "listing {channel}/{listing} is not linked"
        ))),
    }
}
