//! The codecs against the strict fakes, over real HTTP (ureq, as crates/http-tests does).

mod discovery;
mod shopify;
mod webhooks;
mod woo;

use std::io::Read;

use stocksync_channels::http::{Method, Request};

/// An answer as the shell would hand it to a parser.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Sends a built request as it is (the shell's whole job).
pub fn send(req: &Request) -> Answer {
    let mut r = ureq::request(req.method.as_str(), &req.url);
    for (k, v) in &req.headers {
        r = r.set(k, v);
    }
    let result = match req.method {
        Method::Get => r.call(),
        Method::Post => r.send_bytes(&req.body),
    };
    let resp = match result {
        Ok(resp) => resp,
        Err(ureq::Error::Status(_, resp)) => resp,
        Err(e) => panic!("transport error: {e}"),
    };
    let status = resp.status();
    let headers = resp
        .headers_names()
        .into_iter()
        .map(|n| {
            let v = resp.header(&n).unwrap_or("").to_string();
            (n, v)
        })
        .collect();
    let mut body = Vec::new();
    resp.into_reader()
        .take(64 << 20)
        .read_to_end(&mut body)
        .expect("reading the answer");
    Answer {
        status,
        headers,
        body,
    }
}

/// Posts a webhook (headers + raw body) to a URL, as a channel would.
pub fn post_raw(url: &str, headers: &[(String, String)], body: &[u8]) -> Answer {
    send(&Request {
        method: Method::Post,
        url: url.to_string(),
        headers: headers.to_vec(),
        body: body.to_vec(),
    })
}
