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
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use worker::js_sys;
use worker::wasm_bindgen_futures::JsFuture;
use worker::worker_sys::web_sys;
use worker::{event, Context, Env, Headers, Method, Response, Result};

use crate::http::{ApiError, Reply};
use crate::routes::Route;

/// The Durable Object namespace binding (wrangler.toml `[[durable_objects.bindings]]`).
pub const LEDGER_BINDING: &str = "LEDGER";
/// The KV namespace mirroring channel configuration and mappings.
pub const CONFIG_BINDING: &str = "CONFIG";
/// The secret every `/v1` request must present as `Authorization: Bearer <API_KEY>`.
pub const API_KEY_SECRET: &str = "API_KEY";
/// Picks the tenant (its Durable Object) when the `ALLOW_TENANT_HEADER` var is `1` (tests only);
/// otherwise the `TENANT` var does.
pub const TENANT_HEADER: &str = "X-Stocksync-Tenant";
/// A channel's signature over an order trigger (SPEC §5), verified by the Durable Object.
pub const SIGNATURE_HEADER: &str = "X-Stocksync-Signature";

#[event(fetch)]
async fn fetch(raw: web_sys::Request, env: Env, _ctx: Context) -> Result<web_sys::Response> {
    let req = Incoming::new(raw);
    let config = Config::of(&env);
    let origins = &config.origins;
    let origin = cors::allowed_origin(req.headers(), origins)?;
    if cors::is_preflight(&req.method, req.headers())? {
        return Ok(cors::preflight(req.headers(), origin.as_deref())?.into());
    }
    let resp = match handle(&req, &env, &config).await {
        // The Durable Object's answer as it came: no copy of it into a new `Response`.
        Ok(Answer::Forwarded(resp)) if origins.is_empty() => return Ok(resp),
        Ok(Answer::Forwarded(resp)) => Response::from(resp),
        Ok(Answer::Here(resp)) => resp,
        Err(e) => e.response()?,
    };
    Ok(cors::decorate(resp, origin.as_deref(), !origins.is_empty())?.into())
}

/// The Worker's settings from its vars and secrets, read once per isolate: they are fixed for
/// the life of a deployment (a new secret or var is a new deployment, so a new isolate), and
/// reading four of them from `env` for every request was 3.5 % of the isolate's time in the V8
/// profile of an order (`get_binding`, and a string copied into wasm for each).
pub(crate) struct Config {
    origins: Vec<String>,
    api_key: Option<String>,
    tenant: String,
    allow_tenant_header: bool,
}

thread_local! {
    static CONFIG: std::cell::OnceCell<std::rc::Rc<Config>> = const { std::cell::OnceCell::new() };
}

impl Config {
    pub(crate) fn of(env: &Env) -> std::rc::Rc<Config> {
        CONFIG.with(|c| {
            c.get_or_init(|| std::rc::Rc::new(Config::read(env)))
                .clone()
        })
    }

    fn read(env: &Env) -> Config {
        Config {
            origins: cors::origins(env),
            // An empty key counts as none.
            api_key: env
                .secret(API_KEY_SECRET)
                .ok()
                .map(|k| k.to_string())
                .filter(|k| !k.is_empty()),
            tenant: env
                .var("TENANT")
                .map(|v| v.to_string())
                .ok()
                .filter(|t| !t.is_empty())
                .unwrap_or_else(|| "default".to_string()),
            allow_tenant_header: env
                .var("ALLOW_TENANT_HEADER")
                .is_ok_and(|v| v.to_string() == "1"),
        }
    }
}

/// What the Worker reads of an incoming request. workers-rs's `Request` would also read
/// `request.cf` (an object the runtime builds on demand) for every request, which stocksync
/// never uses: 6 % of the isolate's time in the V8 profile of an order.
struct Incoming {
    method: Method,
    path: String,
    headers: Headers,
    raw: web_sys::Request,
}

impl Incoming {
    fn new(raw: web_sys::Request) -> Incoming {
        Incoming {
            method: Method::from(raw.method()),
            path: url_path(&raw.url()).to_string(),
            headers: Headers(raw.headers()),
            raw,
        }
    }

    fn headers(&self) -> &Headers {
        &self.headers
    }
}

/// The path of an absolute URL as the runtime serialises it (`http://host/path?query`).
fn url_path(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = rest.find('/').map_or("/", |i| &rest[i..]);
    path.split(['?', '#']).next().unwrap_or("/")
}

/// An answer made in the Worker, or the Durable Object's own.
enum Answer {
    Here(Response),
    Forwarded(web_sys::Response),
}

impl From<Response> for Answer {
    fn from(r: Response) -> Answer {
        Answer::Here(r)
    }
}

async fn handle(
    req: &Incoming,
    env: &Env,
    config: &Config,
) -> std::result::Result<Answer, ApiError> {
    let path = req.path.as_str();
    if path == "/healthz" {
        return match req.method {
            Method::Get | Method::Head => Ok(Response::ok("ok")?.into()),
            ref m => Err(ApiError::method_not_allowed(m.as_ref(), "GET")),
        };
    }
    if !path.starts_with("/v1/") {
        return Err(ApiError::not_found(format!("no route {path}")));
    }
    authenticate(&req.method, path, req.headers(), config)?;
    let route = routes::route(&req.method, path)?;
    let tenant = tenant(req.headers(), config)?;
    match &route {
        Route::ChannelsList => return Ok(edge_channels(env, &tenant).await?.into()),
        Route::MappingGet(channel, listing) => {
            return Ok(edge_mapping(env, &tenant, channel, listing).await?.into())
        }
        _ => {}
    }
    // The body is never read here: it streams through to the Durable Object, which enforces
    // the route's cap as it reads (64 MiB on the bulk routes, 1 MiB elsewhere). A declared
    // length over the cap is refused before the hop. Reading it here cost an `arrayBuffer()`,
    // a copy into wasm and one back out per request (the V8 profile of an order).
    http::check_content_length(req.headers(), route.body_cap())?;
    Ok(Answer::Forwarded(forward(req, env, &tenant).await?))
}

/// Compares in time independent of where the strings differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// How a request is authenticated: `bearer` for a correct API key; `channel` for a channel's own
/// webhook (`POST /v1/channels/{id}/inbound`) and `signature` for an unauthenticated
/// `POST /v1/orders` that carries a channel signature, both verified by the Durable Object,
/// which holds the channels' secrets. The Worker asks it to refuse a request before the hop;
/// the Durable Object asks it again of the same request, so nothing the Worker adds to a
/// request is trusted there.
pub(crate) fn authenticate(
    method: &Method,
    path: &str,
    headers: &Headers,
    config: &Config,
) -> std::result::Result<&'static str, ApiError> {
    let Some(key) = config.api_key.as_deref() else {
        return Err(ApiError::api_key_not_configured());
    };
    // A channel's own webhooks carry no bearer key: the Durable Object verifies the channel's
    // signature over the raw body (SPEC §9).
    if *method == Method::Post && path.starts_with("/v1/channels/") && path.ends_with("/inbound") {
        return Ok("channel");
    }
    if let Some(value) = headers.get("Authorization")? {
        return match value.strip_prefix("Bearer ") {
            Some(token) if constant_time_eq(token.trim().as_bytes(), key.as_bytes()) => {
                Ok("bearer")
            }
            _ => Err(ApiError::unauthorized(
                "the API key in Authorization: Bearer is wrong",
            )),
        };
    }
    if *method == Method::Post && path == "/v1/orders" && headers.has(SIGNATURE_HEADER)? {
        return Ok("signature");
    }
    Err(ApiError::unauthorized(
        "missing Authorization: Bearer <API_KEY> (or, for POST /v1/orders, X-Stocksync-Signature)",
    ))
}

/// The tenant: the `TENANT` var (default `default`), or the test header when allowed.
fn tenant(headers: &Headers, config: &Config) -> std::result::Result<String, ApiError> {
    if config.allow_tenant_header {
        if let Some(t) = headers.get(TENANT_HEADER)? {
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
    Ok(config.tenant.clone())
}

/// Hands the client's request, as it came, to the tenant's Durable Object, and answers what the
/// object answers. Its body is the client's own stream, capped by the Durable Object's read
/// (`http::read_body`), so the cap holds on any transfer encoding. Nothing is added to it: the
/// object knows its tenant by its own name and authenticates the request again
/// ([`authenticate`]). Building a second request with the tenant and the result of the
/// Worker's check in headers cost a `Headers`, five header reads and writes and a `Request`
/// per order (the V8 profile; BENCHMARKS.md, "The Worker's own cost, fourth session").
async fn forward(
    req: &Incoming,
    env: &Env,
    tenant: &str,
) -> std::result::Result<web_sys::Response, ApiError> {
    let hop = async {
        let ledger: LedgerNamespace =
            js_sys::Reflect::get(env.as_ref(), &LEDGER_BINDING.into())?.unchecked_into();
        let stub = ledger.get(&ledger.id_from_name(tenant));
        JsFuture::from(stub.fetch(&req.raw)).await
    };
    let resp = hop.await.map_err(worker::Error::from)?;
    Ok(resp.unchecked_into())
}

#[wasm_bindgen]
extern "C" {
    /// The Durable Object namespace binding, called directly: workers-rs's `Stub` answers a
    /// `worker::Response`, and turning that back into the `web_sys::Response` the runtime
    /// wants built a second `Response` for every forwarded request.
    type LedgerNamespace;
    #[wasm_bindgen(method, js_name = idFromName)]
    fn id_from_name(this: &LedgerNamespace, name: &str) -> JsValue;
    #[wasm_bindgen(method)]
    fn get(this: &LedgerNamespace, id: &JsValue) -> LedgerStub;
    type LedgerStub;
    #[wasm_bindgen(method)]
    fn fetch(this: &LedgerStub, req: &web_sys::Request) -> js_sys::Promise;
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
