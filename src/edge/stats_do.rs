//! The aggregation Durable Object: the global per-minute counts of the live aggregates
//! (`crate::core::stats`), one SQLite row per minute, kept 30 days by an alarm. The
//! worker writes to one of a few shards ([`super::stats::SHARDS`]) so no single object
//! takes every isolate's flushes, and reads all of them.

use std::cell::Cell;

use serde::Deserialize;
use worker::{durable_object, Date, DurableObject, Env, Method, Request, Response, Result, State};

use crate::core::stats::{Counters, Minutes};

use super::stats::{ADD_PATH, WINDOW_PATH};

/// Minutes kept: 30 days.
const RETENTION_MINUTES: i64 = 30 * 24 * 60;
/// The retention sweep runs about once an hour.
const SWEEP_EVERY_MS: i64 = 60 * 60 * 1000;

#[durable_object]
pub struct StatsStore {
    state: State,
    /// The table exists (checked once per instance).
    ready: Cell<bool>,
    /// An alarm is set, as far as this instance knows.
    sweeping: Cell<bool>,
}

#[derive(Deserialize)]
struct Row {
    minute: f64,
    counters: String,
}

impl StatsStore {
    fn sql(&self) -> Result<worker::SqlStorage> {
        let sql = self.state.storage().sql();
        if !self.ready.get() {
            sql.exec(
                "CREATE TABLE IF NOT EXISTS minutes (minute INTEGER PRIMARY KEY, counters TEXT NOT NULL)",
                None,
            )?;
            self.ready.set(true);
        }
        Ok(sql)
    }

    async fn ensure_sweep(&self) -> Result<()> {
        if self.sweeping.get() {
            return Ok(());
        }
        let storage = self.state.storage();
        if storage.get_alarm().await?.is_none() {
            // A bare i64 is an offset from now for workers-rs (not a Unix time).
            storage.set_alarm(SWEEP_EVERY_MS).await?;
        }
        self.sweeping.set(true);
        Ok(())
    }

    /// Adds a flushed batch into the per-minute rows.
    async fn add(&self, mut req: Request) -> Result<Response> {
        // serde_json, not the JS JSON parser: minutes are integer map keys.
        let batch: Minutes = serde_json::from_str(&req.text().await?)?;
        let sql = self.sql()?;
        for (minute, counters) in &batch.0 {
            let rows: Vec<Row> = sql
                .exec(
                    "SELECT minute, counters FROM minutes WHERE minute = ?",
                    vec![(*minute).into()],
                )?
                .to_array()?;
            let mut total = match rows.first() {
                Some(row) => serde_json::from_str::<Counters>(&row.counters).unwrap_or_default(),
                None => Counters::default(),
            };
            total.merge(counters);
            let text = serde_json::to_string(&total)?;
            sql.exec(
                "INSERT OR REPLACE INTO minutes (minute, counters) VALUES (?, ?)",
                vec![(*minute).into(), text.into()],
            )?;
        }
        self.ensure_sweep().await?;
        Response::empty().map(|r| r.with_status(204))
    }

    /// The rows of minutes `from..=to` (query parameters), as [`Minutes`].
    fn window(&self, req: &Request) -> Result<Response> {
        let url = req.url()?;
        let param = |name: &str| {
            url.query_pairs()
                .find(|(k, _)| k == name)
                .and_then(|(_, v)| v.parse::<i64>().ok())
        };
        let (Some(from), Some(to)) = (param("from"), param("to")) else {
            return Response::error("from and to (minutes) are required", 400);
        };
        let rows: Vec<Row> = self
            .sql()?
            .exec(
                "SELECT minute, counters FROM minutes WHERE minute >= ? AND minute <= ? ORDER BY minute",
                vec![from.into(), to.into()],
            )?
            .to_array()?;
        let mut minutes = Minutes::default();
        for row in rows {
            if let Ok(counters) = serde_json::from_str::<Counters>(&row.counters) {
                minutes.0.insert(row.minute as i64, counters);
            }
        }
        Response::ok(serde_json::to_string(&minutes)?)
    }
}

impl DurableObject for StatsStore {
    fn new(state: State, _env: Env) -> Self {
        StatsStore {
            state,
            ready: Cell::new(false),
            sweeping: Cell::new(false),
        }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        match (req.method(), req.path().as_str()) {
            (Method::Post, ADD_PATH) => self.add(req).await,
            (Method::Get, WINDOW_PATH) => self.window(&req),
            (method, path) => Response::error(format!("no stats operation {method:?} {path}"), 404),
        }
    }

    async fn alarm(&self) -> Result<Response> {
        let now_minute = Minutes::minute_of(Date::now().as_millis() as i64);
        self.sql()?.exec(
            "DELETE FROM minutes WHERE minute < ?",
            vec![(now_minute - RETENTION_MINUTES).into()],
        )?;
        self.state.storage().set_alarm(SWEEP_EVERY_MS).await?;
        Response::ok("swept")
    }
}
