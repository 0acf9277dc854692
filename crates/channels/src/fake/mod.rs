//! Strict local fakes of the two channels' servers, for tests (feature `fake`): plain HTTP/1.1
//! on 127.0.0.1, one thread per connection, state behind a mutex that the test can poke (a
//! sale on the channel, an edit in its admin, an outage).
//!
//! "Strict" means each refuses what the real server refuses, in the real server's shape, so a
//! codec that passes against the fake is not passing by the fake's leniency: see
//! [`FakeShopify`] and [`FakeWoo`] for the list. They can also produce the channels' own signed
//! webhooks ([`SignedWebhook`]), computed the way the channels compute them, for tests of the
//! worker's inbound routes.

mod server;
pub mod shopify;
pub mod woo;

pub use server::{FakeRequest, FakeResponse};

pub use shopify::{FakeShopify, ShopifyCall, ShopifyConfig};
use std::sync::{Arc, Mutex};
pub use woo::{FakeWoo, WooCall, WooConfig, WooKind};

use std::string::String;
use std::vec::Vec;

/// A webhook request as the channel would send it: headers and the raw body (sign-then-send:
/// change one byte of `body` and the signature no longer matches).
#[derive(Clone, Debug)]
pub struct SignedWebhook {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl SignedWebhook {
    pub fn header(&self, name: &str) -> Option<&str> {
        crate::http::Headers::get(self.headers.as_slice(), name)
    }
}

/// An endpoint that records every request and answers 200: what a webhook's receiver got,
/// byte for byte, for tests of signatures over the wire.
#[derive(Debug)]
pub struct Inbox {
    received: Arc<Mutex<Vec<FakeRequest>>>,
    server: server::Server,
}

impl Inbox {
    pub fn start() -> Inbox {
        let received = Arc::new(Mutex::new(Vec::new()));
        let r = received.clone();
        let server = server::Server::start(Arc::new(move |req: &FakeRequest| {
            r.lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(req.clone());
            FakeResponse {
                status: 200,
                headers: Vec::new(),
                body: b"ok".to_vec(),
            }
        }));
        Inbox { received, server }
    }

    pub fn url(&self) -> String {
        format!("http://{}/inbound", self.server.addr)
    }

    pub fn received(&self) -> Vec<FakeRequest> {
        self.received
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}
