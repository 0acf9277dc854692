//! A webhook endpoint for tests: a plain HTTP/1.1 server on 127.0.0.1 that records every
//! request and answers 200, or 503 while it is "down" or for the next N requests. To a batch
//! body (`{"pushes": [...]}`) it may answer 200 naming one listing's pushes as failed.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

use serde_json::Value;

/// One request the endpoint received, and what it answered.
#[derive(Clone, Debug)]
pub struct Hit {
    /// Header names lower-cased.
    pub headers: BTreeMap<String, String>,
    pub body: String,
    pub status: u16,
    pub at: Instant,
}

impl Hit {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    pub fn delivered(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub fn quantity(&self) -> Option<i64> {
        self.json()["quantity"].as_i64()
    }
}

#[derive(Debug, Default)]
struct Behaviour {
    down: bool,
    fail_next: u32,
    /// In a batch body, this listing's pushes are answered as failed (inside a 200).
    refuse_listing: Option<String>,
    hits: Vec<Hit>,
}

/// The endpoint; stops when dropped.
#[derive(Debug)]
pub struct Receiver {
    pub url: String,
    state: Arc<Mutex<Behaviour>>,
    stop: Arc<AtomicBool>,
    addr: String,
    thread: Option<JoinHandle<()>>,
}

impl Receiver {
    pub fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding the webhook receiver");
        let addr = listener.local_addr().expect("its address").to_string();
        let state = Arc::new(Mutex::new(Behaviour::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (state.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if st.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(conn) = conn {
                    let s = s.clone();
                    std::thread::spawn(move || serve(conn, &s));
                }
            }
        });
        Receiver {
            url: format!("http://{addr}/hook"),
            state,
            stop,
            addr,
            thread: Some(thread),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Behaviour) -> T) -> T {
        f(&mut self.state.lock().expect("receiver state"))
    }

    /// While down, every request is answered 503.
    pub fn set_down(&self, down: bool) {
        self.with(|b| b.down = down);
    }

    /// Answer the next `n` requests with 503.
    pub fn fail_next(&self, n: u32) {
        self.with(|b| b.fail_next = n);
    }

    /// In batch bodies, answer this listing's pushes as failed (`None`: accept every push).
    pub fn refuse_listing(&self, listing: Option<&str>) {
        self.with(|b| b.refuse_listing = listing.map(str::to_string));
    }

    pub fn hits(&self) -> Vec<Hit> {
        self.with(|b| b.hits.clone())
    }

    pub fn delivered(&self) -> Vec<Hit> {
        self.hits().into_iter().filter(Hit::delivered).collect()
    }

    pub fn clear(&self) {
        self.with(|b| b.hits.clear());
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(&self.addr); // wakes the accept loop
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(conn: TcpStream, state: &Mutex<Behaviour>) {
    let mut reader = BufReader::new(match conn.try_clone() {
        Ok(c) => c,
        Err(_) => return,
    });
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return; // the wake-up connection, or a client that gave up
    }
    let mut headers = BTreeMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" || h == "\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len.min(1 << 20)];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let mut refused = Vec::new();
    let status = {
        let mut b = match state.lock() {
            Ok(b) => b,
            Err(_) => return,
        };
        let status = if b.down {
            503
        } else if b.fail_next > 0 {
            b.fail_next -= 1;
            503
        } else {
            200
        };
        if let (200, Some(listing)) = (status, &b.refuse_listing) {
            let sent: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            for push in sent["pushes"].as_array().into_iter().flatten() {
                if push["listing"].as_str() == Some(listing.as_str()) {
                    refused.push(serde_json::json!({
                        "idempotency_key": push["idempotency_key"],
                        "error": "unknown product",
                    }));
                }
            }
        }
        b.hits.push(Hit {
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
            status,
            at: Instant::now(),
        });
        status
    };
    let text = match status {
        200 if !refused.is_empty() => serde_json::json!({ "failed": refused }).to_string(),
        200 => "ok".to_string(),
        _ => "unavailable".to_string(),
    };
    let answer = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        if status == 200 { "OK" } else { "Service Unavailable" },
        if refused.is_empty() { "text/plain" } else { "application/json" },
        text.len()
    );
    let mut conn = conn;
    let _ = conn.write_all(answer.as_bytes());
    let _ = conn.flush();
}
