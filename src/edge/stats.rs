//! The live aggregates' shell side: each isolate counts its requests per minute in
//! memory ([`record`], no I/O), and at most every few seconds hands them to one shard of
//! the aggregation object in `waitUntil`, after the response ([`flush_in_background`]).
//! Reads ([`window`]) merge every shard. The counting itself is the core's
//! (`crate::core::stats`).

use std::cell::RefCell;

use worker::{Context, Date, Env, Method, Request, RequestInit};

use crate::core::stats::{Minutes, Observation};

use super::bindings::STATS_BINDING;
use super::error::{Code, Result, ResultExt};
use super::{failures, vars};

/// Aggregation objects; an isolate writes to one (chosen at random once), reads merge all.
pub const SHARDS: u8 = 4;
/// Operations of the aggregation object (`stats_do`), written once for both sides.
pub const ADD_PATH: &str = "/add";
pub const WINDOW_PATH: &str = "/window";

#[derive(Default)]
struct Pending {
    minutes: Minutes,
    /// When the flush interval began: the last flush, or the isolate's first count, so a
    /// fresh isolate's first request does not also pay for a flush of that one count.
    last_flush_ms: f64,
    shard: Option<u8>,
}

thread_local! {
    static PENDING: RefCell<Pending> = RefCell::new(Pending::default());
}

fn now_ms() -> f64 {
    Date::now().as_millis() as f64
}

/// Counts one tracked request in this isolate.
pub fn record(seen: &Observation) {
    let now = now_ms();
    PENDING.with(|p| {
        let mut p = p.borrow_mut();
        if p.last_flush_ms == 0.0 {
            p.last_flush_ms = now;
        }
        p.minutes.record(now as i64, seen);
    });
}

/// Takes this isolate's counts when a flush is due (or `force`), with the shard to send
/// them to.
fn take(env: &Env, force: bool) -> Option<(u8, Minutes)> {
    let every = vars::of(env).stats_flush_ms;
    PENDING.with(|p| {
        let mut p = p.borrow_mut();
        let now = now_ms();
        if p.minutes.is_empty() || (!force && now - p.last_flush_ms < every) {
            return None;
        }
        p.last_flush_ms = now;
        let shard = *p.shard.get_or_insert_with(|| {
            let mut byte = [0u8; 1];
            let _ = getrandom::fill(&mut byte);
            byte[0] % SHARDS
        });
        Some((shard, std::mem::take(&mut p.minutes)))
    })
}

fn shard_name(shard: u8) -> String {
    format!("stats-{shard}")
}

async fn send(env: &Env, shard: u8, minutes: &Minutes) -> Result<()> {
    let body = serde_json::to_string(minutes)?;
    let stub = env
        .durable_object(STATS_BINDING)?
        .get_by_name(&shard_name(shard))?;
    let init = RequestInit {
        method: Method::Post,
        body: Some(body.into()),
        ..RequestInit::default()
    };
    let url = format!("https://stats{ADD_PATH}");
    let response = stub
        .fetch_with_request(Request::new_with_init(&url, &init)?)
        .await?;
    match response.status_code() {
        200..=299 => Ok(()),
        status => Err(Code::StorageError.because(format!("stats object answered {status}"))),
    }
}

/// Sends `minutes`; on failure they go back into the isolate's counts for the next try.
async fn flush(env: Env, shard: u8, minutes: Minutes) {
    if let Err(e) = send(&env, shard, &minutes).await {
        failures::record(&e.context("flushing live aggregates"));
        PENDING.with(|p| p.borrow_mut().minutes.merge(&minutes));
    }
}

/// After the response: flushes this isolate's counts when a flush is due.
pub fn flush_in_background(env: &Env, ctx: &Context) {
    if let Some((shard, minutes)) = take(env, false) {
        ctx.wait_until(flush(env.clone(), shard, minutes));
    }
}

/// Every shard's minutes `from..=to`, merged; this isolate's own counts are flushed
/// first, so a reader sees what it just caused.
pub async fn window(env: &Env, from: i64, to: i64) -> Result<Minutes> {
    if let Some((shard, minutes)) = take(env, true) {
        flush(env.clone(), shard, minutes).await;
    }
    let namespace = env.durable_object(STATS_BINDING)?;
    let mut total = Minutes::default();
    for shard in 0..SHARDS {
        let stub = namespace.get_by_name(&shard_name(shard))?;
        let url = format!("https://stats{WINDOW_PATH}?from={from}&to={to}");
        let mut response = stub.fetch_with_str(&url).await?;
        if response.status_code() != 200 {
            return Err(Code::StorageError.because(format!(
                "stats shard {shard} answered {}",
                response.status_code()
            )));
        }
        let text = response.text().await?;
        let minutes: Minutes = serde_json::from_str(&text)
            .code(Code::StorageError)
            .context("reading a stats shard")?;
        total.merge(&minutes);
    }
    Ok(total)
}
