//! One training record per consented visit (docs/contracts.md section 9): the visit's
//! requests in order, each with the feature row it was classified on and what it got,
//! and the visit's outcome. No session id, customer id, IP address, user agent or query
//! string is ever part of it. Stored as gzip JSONL, one record a line.

use std::io::{BufRead as _, Read as _, Write as _};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::core::classify::Classification;
use crate::core::features::Features;
use crate::core::model::features_to_json;
use crate::core::traits::FIELD_PREFIX;

/// The record format's version (`v`).
pub const RECORD_VERSION: u32 = 1;

/// What a request was told, or would have been told outside the holdout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Verdict {
    pub model_version: Option<String>,
    pub rules_version: Option<String>,
    /// Purchase-intent probability the model gave.
    pub intent: Option<f32>,
    pub segment: Option<String>,
    /// The shopper is in the holdout: they got the baseline answer, and this verdict
    /// is what they would have got (the control group of lift).
    pub holdout: bool,
}

impl Verdict {
    pub fn of(classification: &Classification, holdout: bool) -> Verdict {
        Verdict {
            model_version: classification.model_version.clone(),
            rules_version: classification.rules_version.clone(),
            intent: classification.intent,
            segment: classification.segment.clone(),
            holdout,
        }
    }
}

/// One tracked request of the visit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestEntry {
    /// When the worker saw it (Unix ms): the `now_ms` its features were computed at.
    pub at_ms: i64,
    pub method: String,
    /// The path without its query string.
    pub path: String,
    /// The page type of a page view; `None` for an event-only request (a cart add).
    pub page_type: Option<String>,
    /// The feature row the request was classified on (contract section 1 names),
    /// without a customer's `trait.<name>` fields: those are the store's own data about
    /// a known person, which a record does not carry.
    pub features: Map<String, Value>,
    pub verdict: Verdict,
    /// The request is an order-confirmation page (`records.order_routes`).
    pub order: bool,
    /// The order's value from the origin's header (`records.order_value_header`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_value: Option<f64>,
}

impl RequestEntry {
    pub fn new(
        at_ms: i64,
        method: &str,
        path: &str,
        page_type: Option<&str>,
        features: &Features,
        verdict: Verdict,
    ) -> RequestEntry {
        RequestEntry {
            at_ms,
            method: method.to_ascii_uppercase(),
            path: path
                .split(['?', '#'])
                .next()
                .unwrap_or_default()
                .to_string(),
            page_type: page_type.map(str::to_string),
            features: features_to_json(features)
                .into_iter()
                .filter(|(name, _)| !name.starts_with(FIELD_PREFIX))
                .collect(),
            verdict,
            order: false,
            order_value: None,
        }
    }
}

/// How the visit ended.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outcome {
    /// An order-confirmation page was requested.
    pub ordered: bool,
    /// The sum of the order values the origin reported, when it reported any.
    pub order_value: Option<f64>,
}

/// One visit's training record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingRecord {
    pub v: u32,
    /// UTC day the visit started (`YYYY-MM-DD`), its partition.
    pub day: String,
    pub started_ms: i64,
    /// The last request or beacon.
    pub ended_ms: i64,
    /// Tracked requests in time order, the first `records.max_requests`.
    pub requests: Vec<RequestEntry>,
    /// When beacon batches arrived (Unix ms): with the requests they reproduce the
    /// visit's timeline for a replay.
    pub beacons_ms: Vec<i64>,
    /// Requests left out past the cap.
    pub truncated: u32,
    pub outcome: Outcome,
}

/// Why records could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("line {line}: not a training record: {source}")]
    Json {
        line: usize,
        source: serde_json::Error,
    },
    #[error("line {line}: record version {found}, this build reads {RECORD_VERSION}")]
    Version { line: usize, found: u32 },
    #[error("gzip: {0}")]
    Gzip(#[from] std::io::Error),
}

impl TrainingRecord {
    /// The segment the visit had when it ended (its last request's verdict).
    pub fn final_segment(&self) -> Option<&str> {
        self.requests.last()?.verdict.segment.as_deref()
    }

    /// Whether the visit's shopper was in the holdout.
    pub fn in_holdout(&self) -> bool {
        self.requests.iter().any(|r| r.verdict.holdout)
    }
}

/// Records as gzip-compressed JSON lines.
pub fn to_jsonl_gz(records: &[TrainingRecord]) -> Result<Vec<u8>, RecordError> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    for record in records {
        let line =
            serde_json::to_vec(record).map_err(|source| RecordError::Json { line: 0, source })?;
        encoder.write_all(&line)?;
        encoder.write_all(b"\n")?;
    }
    Ok(encoder.finish()?)
}

/// Reads gzip JSON lines (blank lines skipped); a record of another version is an
/// error rather than a silently different row.
pub fn from_jsonl_gz(bytes: &[u8]) -> Result<Vec<TrainingRecord>, RecordError> {
    let mut text = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut text)?;
    let mut records = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let record: TrainingRecord =
            serde_json::from_str(&line).map_err(|source| RecordError::Json {
                line: index + 1,
                source,
            })?;
        if record.v != RECORD_VERSION {
            return Err(RecordError::Version {
                line: index + 1,
                found: record.v,
            });
        }
        records.push(record);
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::features::Observed;

    #[test]
    fn an_entry_keeps_the_row_but_no_customer_trait() {
        let mut features = Features::default();
        features.set("product_related", Observed::Num(3.0));
        features.set("trait.loyalty_tier", Observed::Label("gold".into()));
        let verdict = Verdict {
            model_version: None,
            rules_version: None,
            intent: None,
            segment: None,
            holdout: false,
        };
        let entry = RequestEntry::new(
            1,
            "get",
            "/p/1?email=x",
            Some("product"),
            &features,
            verdict,
        );
        assert_eq!(
            entry.features.get("product_related"),
            Some(&Value::from(3.0))
        );
        assert!(entry.features.keys().all(|k| !k.starts_with("trait.")));
        assert_eq!(
            (entry.method.as_str(), entry.path.as_str()),
            ("GET", "/p/1")
        );
    }
}
