//! stocksync's Cloudflare Worker (skeleton proving the build/run plumbing).
//!
//! Routes served by the Worker itself:
//! - `GET /healthz` -> `ok`
//! - `GET /whoami` -> 200 if `Authorization: Bearer <API_KEY>` matches the `API_KEY` secret, else 401
//! - `/ledger/...` (any method) -> forwarded to the `Ledger` Durable Object named `default`
//!
//! Anything else that matches a file in `www/` is served by the static-assets layer before the
//! Worker runs (`/` -> `www/index.html`).

mod ledger;

pub use ledger::Ledger;

use worker::{event, Context, Env, Request, Response, Result, RouteContext, Router};

/// Name of the Durable Object namespace binding (wrangler.toml `[[durable_objects.bindings]]`).
pub const LEDGER_BINDING: &str = "LEDGER";
/// Name of the KV namespace binding holding configuration (JSON strings).
pub const CONFIG_BINDING: &str = "CONFIG";
/// Name of the secret (`.dev.vars` locally, `wrangler secret put` in production).
pub const API_KEY_SECRET: &str = "API_KEY";

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    Router::new()
        .get("/healthz", |_, _| Response::ok("ok"))
        .get("/whoami", whoami)
        .on_async("/ledger/*rest", to_ledger)
        .run(req, env)
        .await
}

fn whoami(req: Request, ctx: RouteContext<()>) -> Result<Response> {
    // A missing secret is a configuration error, not an authentication failure.
    let key = match ctx.env.secret(API_KEY_SECRET) {
        Ok(s) => s.to_string(),
        Err(_) => return Response::error("API_KEY secret not configured", 500),
    };
    let presented = req.headers().get("Authorization")?.unwrap_or_default();
    match presented.strip_prefix("Bearer ") {
        Some(token) if !key.is_empty() && token == key => Response::ok("authorized"),
        _ => Response::error("unauthorized", 401),
    }
}

async fn to_ledger(req: Request, ctx: RouteContext<()>) -> Result<Response> {
    let stub = ctx
        .env
        .durable_object(LEDGER_BINDING)?
        .id_from_name("default")?
        .get_stub()?;
    stub.fetch_with_request(req).await
}
