//! The decision log: what the worker keeps of each classification (the feature row, the
//! model and rules versions, the headers sent) so that the store's team can ask later
//! why a shopper got a header, and replay it offline byte for byte with the named bundle
//! (`edgeseg explain`). The id travels in `edgeseg-id` (contract section 4).
//!
//! A record lives in the shopper's session object, beside the state it was computed
//! from, and is erased with it; each object keeps at least its latest [`RECORDS_PER_OBJECT`].

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::core::classify::{Classification, LoadedBundle};
use crate::core::features::Features;
use crate::core::headers::render_with_id;
use crate::core::model::{features_from_json, features_to_json};

/// How many records one session object keeps at least (the newest).
pub const RECORDS_PER_OBJECT: usize = 32;
/// How many older records an object may hold beyond those before they are deleted,
/// all in one call.
pub const TRIM_BATCH: usize = 16;

/// A classification id: the session object's id (hex, as the platform prints it) and a
/// per-decision key (hex), joined by a dot. Both parts are checked, since an id comes
/// back from outside (`/__edgeseg/admin/explain/{id}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionId {
    pub object: String,
    pub key: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a classification id (object-id.key, lower-case hex)")]
pub struct BadDecisionId(pub String);

fn is_hex(text: &str, max: usize) -> bool {
    !text.is_empty()
        && text.len() <= max
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl DecisionId {
    pub fn new(object: &str, key_bytes: &[u8]) -> DecisionId {
        DecisionId {
            object: object.to_ascii_lowercase(),
            key: hex::encode(key_bytes),
        }
    }

    pub fn parse(text: &str) -> Result<DecisionId, BadDecisionId> {
        let bad = || BadDecisionId(text.chars().take(160).collect());
        let (object, key) = text.split_once('.').ok_or_else(bad)?;
        if !is_hex(object, 128) || !is_hex(key, 32) {
            return Err(bad());
        }
        Ok(DecisionId {
            object: object.to_string(),
            key: key.to_string(),
        })
    }
}

impl std::fmt::Display for DecisionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.object, self.key)
    }
}

/// One classification, as the worker made it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionRecord {
    pub id: String,
    pub at_ms: i64,
    /// `edgeseg-reason` token.
    pub reason: String,
    pub model_version: Option<String>,
    pub rules_version: Option<String>,
    /// The feature row the model and the rules saw (contract section 1 names).
    pub features: Map<String, Value>,
    /// Every `edgeseg-*` header sent, in order, as `[name, value]`.
    pub headers: Vec<(String, String)>,
}

/// Why a record cannot be replayed with a bundle.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReplayError {
    #[error("the record was classified by model version {recorded:?}; this bundle is {offered:?}")]
    ModelVersion {
        recorded: Option<String>,
        offered: String,
    },
    #[error("the record's rules version is {recorded:?}; this bundle's is {offered:?}")]
    RulesVersion {
        recorded: Option<String>,
        offered: Option<String>,
    },
    #[error("the record's feature row: {0}")]
    Features(String),
}

impl DecisionRecord {
    /// The record of `classification`, made from `features`, sent as `headers`.
    pub fn new(
        id: &DecisionId,
        at_ms: i64,
        classification: &Classification,
        features: &Features,
        headers: &[(&str, String)],
    ) -> DecisionRecord {
        DecisionRecord {
            id: id.to_string(),
            at_ms,
            reason: classification.reason.as_token().to_string(),
            model_version: classification.model_version.clone(),
            rules_version: classification.rules_version.clone(),
            features: features_to_json(features),
            headers: headers
                .iter()
                .map(|(name, value)| (name.to_string(), value.clone()))
                .collect(),
        }
    }

    /// Classifies the recorded feature row again with `loaded` (which must be the
    /// recorded versions) and renders the headers the worker would send: the same
    /// functions the worker called.
    pub fn replay(&self, loaded: &LoadedBundle) -> Result<Vec<(String, String)>, ReplayError> {
        let bundle = loaded.bundle();
        let offered = &bundle.manifest().version;
        if self.model_version.as_ref() != Some(offered) {
            return Err(ReplayError::ModelVersion {
                recorded: self.model_version.clone(),
                offered: offered.clone(),
            });
        }
        let rules = bundle.rules().map(|r| r.version().to_string());
        if rules != self.rules_version {
            return Err(ReplayError::RulesVersion {
                recorded: self.rules_version.clone(),
                offered: rules,
            });
        }
        let features = features_from_json(&self.features).map_err(ReplayError::Features)?;
        let classification = loaded.classify(&features);
        Ok(render_with_id(&classification, &self.id)
            .into_iter()
            .map(|(name, value)| (name.to_string(), value))
            .collect())
    }

    /// Each header where `replayed` differs from what was sent, as a readable line.
    pub fn differences(&self, replayed: &[(String, String)]) -> Vec<String> {
        let mut lines = Vec::new();
        let names = self
            .headers
            .iter()
            .chain(replayed)
            .map(|(name, _)| name.as_str());
        let mut seen = std::collections::BTreeSet::new();
        for name in names {
            if !seen.insert(name) {
                continue;
            }
            let find = |list: &[(String, String)]| {
                list.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone())
            };
            let (sent, again) = (find(&self.headers), find(replayed));
            if sent != again {
                lines.push(format!(
                    "{name}: sent {}, replayed {}",
                    sent.as_deref().unwrap_or("(none)"),
                    again.as_deref().unwrap_or("(none)")
                ));
            }
        }
        lines
    }
}

/// Adds a record's key to an object's index of its decision keys (oldest first) and
/// answers the keys to delete: the object stores each record under its own key, so
/// keeping one costs one write. Once [`TRIM_BATCH`] records beyond the newest
/// [`RECORDS_PER_OBJECT`] have gathered, they fall out together: a long visit's object
/// deletes once every [`TRIM_BATCH`] requests, not on every one.
pub fn remember(index: &mut Vec<String>, key: String) -> Vec<String> {
    index.push(key);
    if index.len() < RECORDS_PER_OBJECT + TRIM_BATCH {
        return Vec::new();
    }
    let excess = index.len() - RECORDS_PER_OBJECT;
    index.drain(..excess).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::features::Observed;

    #[test]
    fn ids_round_trip_and_refuse_anything_else() {
        let id = DecisionId::new("ABC123", &[0xde, 0xad]);
        assert_eq!(id.to_string(), "abc123.dead");
        assert_eq!(DecisionId::parse("abc123.dead"), Ok(id));
        for bad in ["", "abc", ".dead", "abc.", "abc.xyz", "ab/c.dead", "a.b.c"] {
            assert!(DecisionId::parse(bad).is_err(), "{bad}");
        }
        assert!(DecisionId::parse(&format!("{}.1", "a".repeat(200))).is_err());
    }

    #[test]
    fn a_record_replays_to_the_headers_sent() {
        let loaded = LoadedBundle::embedded().expect("the embedded bundle loads");
        let mut features = Features::default();
        features.set("product_related", Observed::Num(7.0));
        features.set("product_related_duration", Observed::Num(312.4567891234));
        features.set("cart_adds", Observed::Num(1.0));
        features.set("visitor_type", Observed::Label("Returning_Visitor".into()));
        let classification = loaded.classify(&features);
        let id = DecisionId::new("0f", &[1, 2, 3]);
        let sent = render_with_id(&classification, &id.to_string());
        let record = DecisionRecord::new(&id, 1, &classification, &features, &sent);

        // Through JSON, as it is stored and served.
        let text = serde_json::to_string(&record).expect("serialises");
        let record: DecisionRecord = serde_json::from_str(&text).expect("parses");
        let replayed = record.replay(&loaded).expect("replays");
        assert_eq!(record.differences(&replayed), Vec::<String>::new());
        assert!(replayed
            .iter()
            .any(|(n, v)| n == "edgeseg-id" && v.contains("0f.010203")));

        let mut tampered = record.clone();
        tampered
            .features
            .insert("cart_adds".into(), serde_json::json!(0.0));
        tampered
            .features
            .insert("product_related".into(), serde_json::json!(0.0));
        let again = tampered.replay(&loaded).expect("replays");
        assert!(!tampered.differences(&again).is_empty());

        let mut other = record;
        other.model_version = Some("someone-else".into());
        assert!(matches!(
            other.replay(&loaded),
            Err(ReplayError::ModelVersion { .. })
        ));
    }

    #[test]
    fn the_log_keeps_the_newest_and_deletes_older_ones_in_batches() {
        let mut index = Vec::new();
        let mut deletes = Vec::new();
        for n in 0..(RECORDS_PER_OBJECT + 2 * TRIM_BATCH + 3) {
            let dropped = remember(&mut index, format!("{n:x}"));
            assert!(index.len() >= RECORDS_PER_OBJECT.min(n + 1));
            assert!(index.len() < RECORDS_PER_OBJECT + TRIM_BATCH);
            assert_eq!(index.last(), Some(&format!("{n:x}")), "the newest is kept");
            if !dropped.is_empty() {
                deletes.push(dropped);
            }
        }
        // Two deletions, each of the oldest TRIM_BATCH, in order.
        assert_eq!(deletes.len(), 2);
        let first: Vec<String> = (0..TRIM_BATCH).map(|n| format!("{n:x}")).collect();
        assert_eq!(deletes[0], first);
        assert_eq!(deletes[1].first(), Some(&format!("{TRIM_BATCH:x}")));
        assert_eq!(deletes[1].len(), TRIM_BATCH);
        assert_eq!(index.len(), RECORDS_PER_OBJECT + 3);
        assert_eq!(index[0], format!("{:x}", 2 * TRIM_BATCH));
    }
}
