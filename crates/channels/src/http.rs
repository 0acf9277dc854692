//! The two halves of an HTTP exchange as plain data: what to send, and how to read headers of
//! what came back. The shell (the worker's `fetch`, or ureq in tests) does the sending.

use alloc::string::String;
use alloc::vec::Vec;

/// The methods the channels' APIs need.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// A request to send, complete: the shell adds nothing but the transport.
#[derive(Clone, PartialEq, Eq)]
pub struct Request {
    pub method: Method,
    /// Absolute URL, already checked by [`crate::guard`] when the target was validated.
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        Headers::get(self.headers.as_slice(), name)
    }
}

/// Requests carry credentials in their headers: Debug shows their names only.
impl core::fmt::Debug for Request {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("headers", &names)
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// Case-insensitive header lookup over whatever the shell holds.
pub trait Headers {
    /// The first value of the header `name` (compared case-insensitively).
    fn get(&self, name: &str) -> Option<&str>;
}

impl Headers for [(String, String)] {
    fn get(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl Headers for [(&str, &str)] {
    fn get(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }
}

impl<const N: usize> Headers for [(&str, &str); N] {
    fn get(&self, name: &str) -> Option<&str> {
        Headers::get(self.as_slice(), name)
    }
}

/// `Retry-After` in milliseconds: delta-seconds only (an HTTP date would need a clock; the
/// caller falls back to its own backoff). Capped at a day so a hostile value cannot park a
/// channel forever.
pub fn retry_after_ms(headers: &(impl Headers + ?Sized)) -> Option<u64> {
    let v = headers.get("retry-after")?.trim();
    let secs: f64 = v.parse().ok()?;
    if !secs.is_finite() || secs < 0.0 {
        return None;
    }
    Some(((secs * 1000.0) as u64).min(86_400_000))
}
