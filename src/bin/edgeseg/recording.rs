//! Recorded visits (docs/contracts.md section 6): requests and beacon batches as the
//! worker would see them, replayed through `core::flow` into one feature row per
//! request prefix.
//!
//! ```json
//! { "previous_visits": 1, "ordered": false, "requests": [
//!     { "at_ms": 1795262400000, "path": "/category/boots", "query": "sort=price_asc",
//!       "referrer": "https://www.google.com/", "user_agent": "Mozilla/5.0 ...", "continent": "EU" },
//!     { "at_ms": 1795262460000, "beacon": { "v": 1, "events": [ { "type": "dwell", "page": "/category/boots", "ms": 40000 } ] } }
//! ] }
//! ```
//! `method` defaults to GET and `host` to `shop.example`.

use anyhow::{bail, Context as _, Result};
use edgeseg::core::beacon::BeaconError;
use edgeseg::core::config::StoreConfig;
use edgeseg::core::features::Features;
use edgeseg::core::flow::Replay;
use edgeseg::core::page_stats::PageStats;
use edgeseg::core::signals::RequestInfo;
use serde::{Deserialize, Serialize};

/// The browser that replayed data sets (UCI, OTTO) are given: an ordinary desktop one.
pub const USER_AGENT: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

/// One visit: its requests and beacons in time order, what the store knew of the
/// visitor before, and (for training and evaluation) whether it ended in an order.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recording {
    /// Earlier visits the store had seen of this visitor (default 0).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub previous_visits: u32,
    /// Whether the visit ends in an order (the label; absent when unknown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ordered: Option<bool>,
    pub requests: Vec<Entry>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// A request, or a beacon batch when `beacon` is set.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub at_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beacon: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referrer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continent: Option<String>,
}

impl Entry {
    /// A GET of `path` at `at_ms`.
    pub fn get(at_ms: i64, path: impl Into<String>) -> Entry {
        Entry {
            at_ms,
            path: Some(path.into()),
            ..Entry::default()
        }
    }

    fn request(&self, index: usize) -> Result<RequestInfo> {
        let Some(path) = self.path.clone() else {
            bail!("requests[{index}]: needs a `path` or a `beacon`");
        };
        Ok(RequestInfo {
            method: self.method.clone().unwrap_or_else(|| "GET".into()),
            host: self.host.clone().unwrap_or_else(|| "shop.example".into()),
            path,
            query: self.query.clone().unwrap_or_default(),
            form: self.form.clone(),
            referrer: self.referrer.clone(),
            user_agent: self.user_agent.clone(),
            continent: self.continent.clone(),
            now_ms: self.at_ms,
        })
    }
}

/// The features after one request prefix of a visit.
pub struct Row {
    /// Tracked requests so far (1 = the landing page).
    pub requests: usize,
    /// The row after the visit's last entry (its final beacons included).
    pub end: bool,
    pub features: Features,
}

impl Recording {
    pub fn parse(text: &str) -> Result<Recording> {
        serde_json::from_str(text).context("not a recording")
    }

    /// Replays the visit: a row after every tracked request, then the end row.
    pub fn rows(&self, config: &StoreConfig, stats: &PageStats) -> Result<Vec<Row>> {
        self.rows_where(config, stats, |_| true)
    }

    /// As [`Recording::rows`], with a row only after the request counts `keep` accepts
    /// (the end row always): features are computed for those rows only.
    pub fn rows_where(
        &self,
        config: &StoreConfig,
        stats: &PageStats,
        keep: impl Fn(usize) -> bool,
    ) -> Result<Vec<Row>> {
        if self.requests.is_empty() {
            bail!("`requests` is empty");
        }
        let mut replay = Replay::new(config, stats).returning(self.previous_visits);
        let mut rows = Vec::new();
        let mut requests = 0;
        for (index, entry) in self.requests.iter().enumerate() {
            match &entry.beacon {
                Some(body) => {
                    let body = serde_json::to_vec(body)?;
                    match replay.beacon(&body, entry.at_ms) {
                        // The worker answers 429 and keeps the state: so does the replay.
                        Ok(()) | Err(BeaconError::RateLimited { .. }) => {}
                        Err(e) => bail!("requests[{index}]: beacon refused: {e}"),
                    }
                }
                None => {
                    let request = entry.request(index)?;
                    if replay.request(&request) {
                        requests += 1;
                        if !keep(requests) {
                            continue;
                        }
                        rows.push(Row {
                            requests,
                            end: false,
                            features: replay.features(),
                        });
                    }
                }
            }
        }
        rows.push(Row {
            requests,
            end: true,
            features: replay.features(),
        });
        Ok(rows)
    }

    /// The features at the end of the visit.
    pub fn features(&self, config: &StoreConfig, stats: &PageStats) -> Result<Features> {
        let mut rows = self.rows(config, stats)?;
        Ok(rows.pop().map(|row| row.features).unwrap_or_default())
    }
}
