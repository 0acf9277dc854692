//! End-to-end tests of the stocksync Worker under `wrangler dev`, over HTTP. The harness lives
//! here; the tests are in `tests/worker/`.
//!
//! - [`server`]: starts and stops `wrangler dev` through `scripts/wrangler-dev.sh`
//! - [`client`]: a blocking client of one tenant
//! - [`driver`]: the scenario files' `Driver` over HTTP, checked against the native core
//! - [`receiver`]: a local webhook endpoint that can fail on purpose
//! - [`sign`]: the `X-Stocksync-Signature` a channel puts on an order trigger

pub mod client;
pub mod driver;
pub mod receiver;
pub mod server;

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// `t=<t>,v1=<hex HMAC-SHA256(secret, "t.body")>`, made independently of the Worker's code.
pub fn sign(secret: &str, t: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Unix seconds now.
pub fn now_s() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// A tenant name unique to this test run.
pub fn tenant(name: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}
