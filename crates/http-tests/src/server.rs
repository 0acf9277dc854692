//! A `wrangler dev` instance of the built Worker, started and stopped through
//! `scripts/wrangler-dev.sh` on free ports with its own state directory and vars.
//!
//! Every instance has a watchdog: a detached shell that stops it (and removes its temporary
//! directory) once the test process is gone, so a shared instance held in a `static`, a panic
//! or a killed test run never leaves workerd behind.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// What a test instance is started with.
#[derive(Clone, Debug)]
pub struct Options {
    /// Names the temporary directory (state, log, vars).
    pub name: String,
    /// The API key, or none to start without one (every `/v1` route then answers 503).
    pub api_key: Option<String>,
    /// `--var NAME:VALUE` pairs.
    pub vars: Vec<(String, String)>,
}

impl Options {
    /// The shared test instance: tenants chosen per request, fast retries.
    pub fn shared() -> Options {
        let mut vars = fast_retry_vars();
        vars.push(("ALLOWED_ORIGINS".into(), ALLOWED_ORIGINS.into()));
        Options {
            name: "shared".into(),
            api_key: Some(test_key()),
            vars,
        }
    }
}

/// The origins the shared instance allows for CORS (none on the others, as by default).
pub const ALLOWED_ORIGINS: &str = "https://shop.example,http://localhost:5173";

/// The API key test instances use.
pub fn test_key() -> String {
    format!("test-key-{}", std::process::id())
}

/// A Ledger working set of 3 rows, job pages of 2 listings and bulk chunks of 2 rows, so
/// eviction, paging and chunking run in every test.
pub const TINY_STORAGE: [(&str, &str); 3] = [
    ("LEDGER_MAX_ROWS", "3"),
    ("JOB_PAGE", "2"),
    ("BULK_CHUNK", "2"),
];

/// Retries within about a second, giving up after 6 attempts (showing `failing` after 3), a
/// stale hold of 15 s, on [`TINY_STORAGE`].
pub fn fast_retry_vars() -> Vec<(String, String)> {
    [
        TINY_STORAGE[0],
        TINY_STORAGE[1],
        TINY_STORAGE[2],
        ("ALLOW_TENANT_HEADER", "1"),
        // The test receivers and channel fakes listen on 127.0.0.1.
        ("ALLOW_PRIVATE_TARGETS", "1"),
        ("RETRY_BASE_MS", "40"),
        ("RETRY_MAX_MS", "320"),
        ("RETRY_MAX_ATTEMPTS", "6"),
        ("RETRY_FAILING_AFTER", "3"),
        // The stale rule's hold lapses after 15 s instead of an hour, so a test sees a direct
        // edit down overwritten when no order explains it. Long enough that a test's late
        // webhook (sent a few seconds after the stale compare) still finds its hold.
        ("STALE_HOLD_MS", "15000"),
        // Delivery rounds of 150 listings: a 250-listing batched webhook takes two rounds,
        // the first split into calls of 100 and 50.
        ("DELIVERY_BATCH", "150"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// The repository root (this crate is `crates/http-tests`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free local port")
}

/// One running `wrangler dev`.
#[derive(Debug)]
pub struct Wrangler {
    pub url: String,
    pub api_key: Option<String>,
    opts: Options,
    port: u16,
    dir: PathBuf,
    pid: Option<u32>,
}

impl Wrangler {
    /// Starts an instance and waits for `/healthz`; panics (failing the test) if it cannot.
    pub fn start(opts: Options) -> Wrangler {
        let dir = std::env::temp_dir().join(format!(
            "stocksync-http-{}-{}",
            std::process::id(),
            opts.name
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("state")).expect("a temporary directory");
        // The vars file replaces .dev.vars, so the instance has exactly this key (or none).
        let vars = match &opts.api_key {
            Some(k) => format!("API_KEY={k}\n"),
            None => String::new(),
        };
        std::fs::write(dir.join("test.vars"), vars).expect("writing the vars file");
        let port = free_port();
        let mut w = Wrangler {
            url: format!("http://127.0.0.1:{port}"),
            api_key: opts.api_key.clone(),
            opts,
            port,
            dir,
            pid: None,
        };
        w.launch();
        w
    }

    fn script(&self, action: &str) -> Command {
        let mut args = format!("--env-file {}", self.dir.join("test.vars").display());
        for (k, v) in &self.opts.vars {
            args.push_str(&format!(" --var {k}:{v}"));
        }
        let mut cmd = Command::new(repo_root().join("scripts/wrangler-dev.sh"));
        cmd.arg(action)
            .env("PORT", self.port.to_string())
            .env("INSPECTOR_PORT", free_port().to_string())
            .env("STATE_DIR", self.dir.join("state"))
            .env("LOG_FILE", self.dir.join("wrangler.log"))
            .env("PID_FILE", self.dir.join("wrangler.pid"))
            .env("WRANGLER_ARGS", args);
        cmd
    }

    fn launch(&mut self) {
        let t0 = Instant::now();
        let out = self
            .script("start")
            .stdin(Stdio::null())
            .output()
            .expect("running scripts/wrangler-dev.sh");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let pid = stdout
            .lines()
            .find_map(|l| l.strip_prefix("PID="))
            .and_then(|p| p.trim().parse::<u32>().ok());
        let Some(pid) = pid.filter(|_| out.status.success()) else {
            panic!(
                "wrangler dev did not start (is the Worker built? run scripts/build-worker.sh)\n\
                 --- stdout\n{stdout}\n--- stderr\n{stderr}\n--- log {}\n{}",
                self.dir.join("wrangler.log").display(),
                self.log_tail(60)
            );
        };
        self.pid = Some(pid);
        eprintln!(
            "[http-tests] wrangler dev {} up on {} (pid {pid}) in {} ms",
            self.opts.name,
            self.url,
            t0.elapsed().as_millis()
        );
        self.watchdog(pid);
    }

    /// A detached shell that stops `pid` and removes the directory once this process is gone.
    fn watchdog(&self, pid: u32) {
        let me = std::process::id();
        let script = format!(
            "while kill -0 {me} 2>/dev/null; do sleep 0.5; done; \
             \"$0\" stop {pid} >/dev/null 2>&1; rm -rf \"$1\""
        );
        let spawned = Command::new("setsid")
            .arg("sh")
            .arg("-c")
            .arg(script)
            .arg(repo_root().join("scripts/wrangler-dev.sh"))
            .arg(&self.dir)
            .env("PORT", self.port.to_string())
            .env("PID_FILE", self.dir.join("wrangler.pid"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        if let Err(e) = spawned {
            eprintln!("[http-tests] no watchdog for pid {pid}: {e}");
        }
    }

    /// The last `n` lines of wrangler's log (for failure messages).
    pub fn log_tail(&self, n: usize) -> String {
        let text = std::fs::read_to_string(self.dir.join("wrangler.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// Stops the instance (SIGINT to wrangler, which ends workerd); the state stays on disk.
    pub fn stop(&mut self) {
        let Some(pid) = self.pid.take() else { return };
        let out = self.script("stop").arg(pid.to_string()).output();
        match out {
            Ok(o) if o.status.success() => {}
            Ok(o) => eprintln!(
                "[http-tests] stopping pid {pid}: {}",
                String::from_utf8_lossy(&o.stderr)
            ),
            Err(e) => eprintln!("[http-tests] stopping pid {pid}: {e}"),
        }
    }

    /// Stops and starts again on the same port with the same state.
    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }

    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for Wrangler {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The instance shared by every test of a binary (tenants keep their states apart). Started
/// on first use; stopped by its watchdog when the test process exits.
pub fn shared() -> &'static Wrangler {
    static SHARED: OnceLock<Wrangler> = OnceLock::new();
    SHARED.get_or_init(|| Wrangler::start(Options::shared()))
}

/// Polls `f` every 15 ms until it returns `Some`, for at most `timeout`.
pub fn wait_for<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(15));
    }
}
