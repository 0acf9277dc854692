//! The `Ledger` Durable Object (SQLite-backed). Skeleton: a counter, KV config access, an alarm.
//!
//! Routes (reached through the Worker's `/ledger/*` forward to the object named `default`):
//! - `POST /ledger/counter` increments and returns the `hits` counter; `GET` reads it
//! - `POST /ledger/pair[?fail=1]`, `GET /ledger/pair`: two consecutive `exec`s (no transaction)
//! - `POST /ledger/txn[?fail=1]`: two `exec`s inside `storage().transaction(..)`
//! - `PUT /ledger/config/{key}` (JSON body) / `GET /ledger/config/{key}`: KV `CONFIG`
//! - `POST /ledger/alarm` sets an alarm 100 ms ahead; `GET /ledger/alarm` lists the recorded runs

use serde::Deserialize;
use worker::{
    durable_object, Date, DurableObject, Env, Method, Request, Response, Result, SqlStorage,
    SqlStorageValue, State,
};

use crate::CONFIG_BINDING;

/// Schema, created in `new` (synchronous `exec`; several statements in one call are accepted).
const SCHEMA: &str = "\
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS alarm_runs (id INTEGER PRIMARY KEY AUTOINCREMENT, ran_at INTEGER NOT NULL);";

#[durable_object]
#[derive(Debug)]
pub struct Ledger {
    state: State,
    env: Env,
}

#[derive(Debug, Deserialize)]
struct ValueRow {
    value: i64,
}

#[derive(Debug, Deserialize)]
struct AlarmRow {
    id: i64,
    ran_at: i64,
}

impl Ledger {
    fn sql(&self) -> SqlStorage {
        self.state.storage().sql()
    }

    /// Increments counter `name` in one statement and returns the new value.
    fn bump(sql: &SqlStorage, name: &str) -> Result<i64> {
        let row: ValueRow = sql
            .exec(
                "INSERT INTO counters (name, value) VALUES (?, 1) \
                 ON CONFLICT(name) DO UPDATE SET value = value + 1 RETURNING value",
                vec![SqlStorageValue::from(name)],
            )?
            .one()?;
        Ok(row.value)
    }

    fn read(sql: &SqlStorage, name: &str) -> Result<i64> {
        let rows: Vec<ValueRow> = sql
            .exec(
                "SELECT value FROM counters WHERE name = ?",
                vec![name.into()],
            )?
            .to_array()?;
        Ok(rows.first().map_or(0, |r| r.value))
    }

    async fn route(&self, mut req: Request) -> Result<Response> {
        let path = req.path();
        let method = req.method();
        let sql = self.sql();
        match (method, path.as_str()) {
            (Method::Post, "/ledger/counter") => {
                Response::ok(Self::bump(&sql, "hits")?.to_string())
            }
            (Method::Get, "/ledger/counter") => Response::ok(Self::read(&sql, "hits")?.to_string()),

            // Two consecutive execs with no await between them: committed together (output gate).
            // `?fail=1` runs a bad statement after the first write and returns its error, to
            // show that the first write is NOT undone (only `transaction` rolls back).
            (Method::Post, "/ledger/pair") => {
                let fail = req.url()?.query().is_some_and(|q| q.contains("fail=1"));
                let a = Self::bump(&sql, "pair_a")?;
                if fail {
                    sql.exec("INSERT INTO no_such_table VALUES (1)", None)?;
                }
                let b = Self::bump(&sql, "pair_b")?;
                Response::ok(format!("{a},{b}"))
            }
            (Method::Get, "/ledger/pair") => {
                let a = Self::read(&sql, "pair_a")?;
                let b = Self::read(&sql, "pair_b")?;
                Response::ok(format!("{a},{b}"))
            }
            // storage().transaction(): SQL inside the async closure; `?fail=1` returns Err after
            // the writes to show whether they are rolled back.
            (Method::Post, "/ledger/txn") => {
                let fail = req.url()?.query().is_some_and(|q| q.contains("fail=1"));
                let inner = sql.clone();
                let outcome = self
                    .state
                    .storage()
                    .transaction(move |_txn| async move {
                        Self::bump(&inner, "txn_a")?;
                        Self::bump(&inner, "txn_b")?;
                        if fail {
                            return Err("deliberate failure".into());
                        }
                        Ok(())
                    })
                    .await;
                let a = Self::read(&sql, "txn_a")?;
                let b = Self::read(&sql, "txn_b")?;
                let status = match outcome {
                    Ok(()) => "committed".to_string(),
                    Err(e) => format!("failed: {e}"),
                };
                Response::ok(format!("{status}; txn_a={a} txn_b={b}"))
            }

            // KV from inside the DO, through the Env given to `new`. Values are JSON strings.
            (Method::Put, p) if p.starts_with("/ledger/config/") => {
                let key = &p["/ledger/config/".len()..];
                let body = req.text().await?;
                let value: serde_json::Value = match serde_json::from_str(&body) {
                    Ok(v) => v,
                    Err(e) => return Response::error(format!("body is not JSON: {e}"), 400),
                };
                let text = serde_json::to_string(&value)?;
                self.env
                    .kv(CONFIG_BINDING)?
                    .put(key, text)?
                    .execute()
                    .await?;
                Response::ok("stored")
            }
            (Method::Get, p) if p.starts_with("/ledger/config/") => {
                let key = &p["/ledger/config/".len()..];
                match self.env.kv(CONFIG_BINDING)?.get(key).text().await? {
                    Some(text) => {
                        let mut resp = Response::ok(text)?;
                        resp.headers_mut().set("Content-Type", "application/json")?;
                        Ok(resp)
                    }
                    None => Response::error("not found", 404),
                }
            }

            // Alarms: set one ~100 ms ahead; `alarm()` records each run in `alarm_runs`.
            (Method::Post, "/ledger/alarm") => {
                self.state.storage().set_alarm(100_i64).await?;
                let at = self.state.storage().get_alarm().await?;
                Response::ok(format!("alarm set for {}", at.unwrap_or_default()))
            }
            (Method::Get, "/ledger/alarm") => {
                let rows: Vec<AlarmRow> = sql
                    .exec("SELECT id, ran_at FROM alarm_runs ORDER BY id", None)?
                    .to_array()?;
                let runs: Vec<String> = rows
                    .iter()
                    .map(|r| format!("{}@{}", r.id, r.ran_at))
                    .collect();
                Response::ok(format!("runs={} [{}]", rows.len(), runs.join(" ")))
            }
            _ => Response::error("not found", 404),
        }
    }
}

impl DurableObject for Ledger {
    fn new(state: State, env: Env) -> Self {
        if let Err(e) = state.storage().sql().exec(SCHEMA, None) {
            worker::console_error!("Ledger schema: {e}");
        }
        Self { state, env }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        self.route(req).await
    }

    async fn alarm(&self) -> Result<Response> {
        let now = Date::now().as_millis() as i64;
        self.sql().exec(
            "INSERT INTO alarm_runs (ran_at) VALUES (?)",
            vec![now.into()],
        )?;
        Response::ok("alarm handled")
    }
}
