//! A recorded session (requests and beacon batches, as the worker would see them) ->
//! `Features`, through the core's own signals, session and features code.
//!
//! ```json
//! { "requests": [
//!     { "at_ms": 1795262400000, "path": "/category/boots", "query": "sort=price_asc",
//!       "referrer": "https://www.google.com/", "user_agent": "Mozilla/5.0 ...", "continent": "EU" },
//!     { "at_ms": 1795262460000, "beacon": { "v": 1, "events": [ { "type": "dwell", "page": "/category/boots", "ms": 40000 } ] } }
//! ] }
//! ```
//! `method` defaults to GET and `host` to `shop.example`; features are computed at the
//! last entry's time.

use anyhow::{bail, Context as _, Result};
use edgeseg::core::beacon::parse_beacon;
use edgeseg::core::config::StoreConfig;
use edgeseg::core::features::{compute, Features};
use edgeseg::core::page_stats::PageStats;
use edgeseg::core::session::SessionState;
use edgeseg::core::signals::{request_events, RequestInfo};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Recording {
    requests: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    at_ms: i64,
    #[serde(default)]
    beacon: Option<serde_json::Value>,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    host: Option<String>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    query: Option<String>,
    #[serde(default)]
    form: Option<String>,
    #[serde(default)]
    referrer: Option<String>,
    #[serde(default)]
    user_agent: Option<String>,
    #[serde(default)]
    continent: Option<String>,
}

/// Replays the recording into a fresh session and computes its features.
pub fn features_of(text: &str, config: &StoreConfig, stats: &PageStats) -> Result<Features> {
    let recording: Recording = serde_json::from_str(text).context("session: not a recording")?;
    let Some(last) = recording.requests.last() else {
        bail!("session: `requests` is empty");
    };
    let end_ms = last.at_ms;
    let mut state = SessionState::default();
    for (index, entry) in recording.requests.into_iter().enumerate() {
        let at = entry.at_ms;
        let events = match entry.beacon {
            Some(body) => {
                state
                    .admit_beacon(at, &config.beacon)
                    .map_err(|e| anyhow::anyhow!("requests[{index}]: beacon refused: {e}"))?;
                let body = serde_json::to_vec(&body)?;
                parse_beacon(&body, &config.beacon)
                    .map_err(|e| anyhow::anyhow!("requests[{index}]: beacon refused: {e}"))?
            }
            None => {
                let Some(path) = entry.path else {
                    bail!("requests[{index}]: needs a `path` or a `beacon`");
                };
                let request = RequestInfo {
                    method: entry.method.unwrap_or_else(|| "GET".into()),
                    host: entry.host.unwrap_or_else(|| "shop.example".into()),
                    path,
                    query: entry.query.unwrap_or_default(),
                    form: entry.form,
                    referrer: entry.referrer,
                    user_agent: entry.user_agent,
                    continent: entry.continent,
                    now_ms: at,
                };
                request_events(&request, config)
            }
        };
        state.apply_all(&events, at, config, stats);
    }
    Ok(compute(&state, end_ms, config, stats))
}
