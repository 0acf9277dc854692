//! A small blocking client for one tenant of a test instance.

use std::io::Read;
use std::time::Duration;

use serde_json::Value;

use crate::server::{wait_for, Wrangler};

/// One answer.
#[derive(Clone, Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("answer {} is not JSON ({e}): {}", self.status, self.body))
    }

    /// The error body's code, if this is an error body.
    pub fn code(&self) -> Option<String> {
        let v: Value = serde_json::from_str(&self.body).ok()?;
        v.pointer("/error/code")?.as_str().map(str::to_string)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// A request body: bytes and their Content-Type.
#[derive(Clone, Debug)]
pub enum Body {
    None,
    Json(Value),
    Raw(&'static str, Vec<u8>),
    /// Sent with `Transfer-Encoding: chunked` (no Content-Length).
    Chunked(&'static str, Vec<u8>),
}

/// Percent-encodes one path segment.
pub fn seg(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A client of one tenant (sent as `X-Stocksync-Tenant`, honoured by test instances only).
#[derive(Clone, Debug)]
pub struct Api {
    pub base: String,
    pub key: Option<String>,
    pub tenant: Option<String>,
    agent: ureq::Agent,
}

impl Api {
    pub fn new(server: &Wrangler, tenant: &str) -> Api {
        Api {
            base: server.url.clone(),
            key: server.api_key.clone(),
            tenant: Some(tenant.to_string()),
            agent: ureq::AgentBuilder::new()
                .timeout(Duration::from_secs(30))
                .redirects(0)
                .build(),
        }
    }

    /// The same tenant with another key (or none).
    pub fn with_key(&self, key: Option<&str>) -> Api {
        Api {
            key: key.map(str::to_string),
            ..self.clone()
        }
    }

    /// Sends a request; any status is an answer (only a transport failure panics).
    pub fn send(&self, method: &str, path: &str, body: Body, headers: &[(&str, &str)]) -> Resp {
        let mut req = self.agent.request(method, &format!("{}{path}", self.base));
        if let Some(k) = &self.key {
            req = req.set("Authorization", &format!("Bearer {k}"));
        }
        if let Some(t) = &self.tenant {
            req = req.set("X-Stocksync-Tenant", t);
        }
        for (k, v) in headers {
            req = req.set(k, v);
        }
        let result = match body {
            Body::None => req.call(),
            Body::Json(v) => req
                .set("Content-Type", "application/json")
                .send_bytes(v.to_string().as_bytes()),
            Body::Raw(ct, bytes) => {
                if !ct.is_empty() {
                    req = req.set("Content-Type", ct);
                }
                req.send_bytes(&bytes)
            }
            Body::Chunked(ct, bytes) => req
                .set("Content-Type", ct)
                .send(std::io::Cursor::new(bytes)),
        };
        let resp = match result {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{method} {path}: {e}"),
        };
        let status = resp.status();
        let headers = resp
            .headers_names()
            .iter()
            .map(|n| (n.clone(), resp.header(n).unwrap_or("").to_string()))
            .collect();
        let mut body = String::new();
        resp.into_reader()
            .take(16 << 20)
            .read_to_string(&mut body)
            .unwrap_or_else(|e| panic!("{method} {path}: reading the answer: {e}"));
        Resp {
            status,
            headers,
            body,
        }
    }

    pub fn get(&self, path: &str) -> Resp {
        self.send("GET", path, Body::None, &[])
    }

    /// A request that must succeed; its JSON answer.
    pub fn ok(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let body = body.map_or(Body::None, Body::Json);
        let r = self.send(method, path, body, &[]);
        assert!(
            r.is_success(),
            "{method} {path} answered {}: {}",
            r.status,
            r.body
        );
        if r.body.is_empty() {
            Value::Null
        } else {
            r.json()
        }
    }

    /// A request with a raw body that must succeed; its JSON answer.
    pub fn ok_raw(
        &self,
        method: &str,
        path: &str,
        content_type: &'static str,
        body: &str,
    ) -> Value {
        let r = self.send(
            method,
            path,
            Body::Raw(content_type, body.as_bytes().to_vec()),
            &[],
        );
        assert!(
            r.is_success(),
            "{method} {path} answered {}: {}",
            r.status,
            r.body
        );
        r.json()
    }

    /// Every listing of `GET /v1/sync`, walking its pages three listings at a time (so every
    /// test that reads the sync state pages through it).
    pub fn sync(&self) -> Vec<Value> {
        self.sync_paged(3)
    }

    /// Every listing of `GET /v1/sync`, walked `limit` at a time.
    pub fn sync_paged(&self, limit: usize) -> Vec<Value> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/v1/sync?limit={limit}&cursor={}", seg(c)),
                None => format!("/v1/sync?limit={limit}"),
            };
            let v = self.ok("GET", &path, None);
            out.extend(v["listings"].as_array().cloned().unwrap_or_default());
            match v["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => return out,
            }
        }
    }

    /// One listing of `GET /v1/sync` (by the `channel` and `listing` filters).
    pub fn listing(&self, channel: &str, listing: &str) -> Value {
        let v = self.ok(
            "GET",
            &format!("/v1/sync?channel={}&listing={}", seg(channel), seg(listing)),
            None,
        );
        v["listings"][0].clone()
    }

    /// Waits until no listing has a push waiting; the sync listings then. (Pages of 3 while the
    /// hub is small, so paging runs in every test; of 1,000 once it has more listings.)
    pub fn wait_synced(&self, timeout: Duration) -> Result<Vec<Value>, String> {
        let mut last = Vec::new();
        wait_for(timeout, || {
            last = self.sync_paged(if last.len() > 300 { 1_000 } else { 3 });
            last.iter()
                .all(|l| l["pending"].is_null())
                .then(|| last.clone())
        })
        .ok_or_else(|| {
            format!(
                "pushes still waiting after {timeout:?}: {}",
                Value::from(last.clone())
            )
        })
    }

    /// The whole state with secrets, for before/after comparisons.
    pub fn export(&self) -> Value {
        self.ok("GET", "/v1/export?include_secrets=true", None)
    }

    /// What the demo channel's copy of a listing shows, if it ever received or was edited.
    pub fn demo(&self, channel: &str, listing: &str) -> Option<Value> {
        let r = self.get(&format!("/v1/demo/{}/{}", seg(channel), seg(listing)));
        match r.status {
            200 => Some(r.json()),
            404 => None,
            s => panic!("GET demo {channel}/{listing} answered {s}: {}", r.body),
        }
    }
}
