//! Model channels: which published bundle version serves a channel, which one is on
//! canary and for what share of sessions, and the KV keys both the CLI (which writes
//! them) and the worker (which reads them) use.
//!
//! A channel pointer is small JSON at `channels/<name>`:
//! `{"active": "2026.11.21-1", "canary": {"version": "2026.11.22-1", "share": 0.3},
//!   "previous": "2026.11.20-1"}`. `active` or `previous` may be `embedded`: the bundle
//! compiled into the worker.

use serde::{Deserialize, Serialize};
use thiserror::Error;

pub use crate::core::bundle::is_valid_version;
use crate::core::bundle::VERSION_RULE;
use crate::core::identity::{bucket, SessionId};

/// The version name of the bundle compiled into the worker.
pub const EMBEDDED: &str = "embedded";
/// The channel a worker follows unless `EDGESEG_CHANNEL` says otherwise.
pub const DEFAULT_CHANNEL: &str = "production";
/// Salt of the canary split (independent of the holdout's).
const CANARY_SALT: &str = "edgeseg-canary";

#[derive(Debug, Error, Clone, PartialEq)]
pub enum ChannelError {
    #[error("channel pointer is not valid JSON: {0}")]
    Json(String),
    #[error("channel pointer {field}: {message}")]
    Field {
        field: &'static str,
        message: String,
    },
    #[error("nothing to {0}: {1}")]
    Nothing(&'static str, &'static str),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Canary {
    pub version: String,
    /// Share of sessions, 0..=1.
    pub share: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pointer {
    pub active: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary: Option<Canary>,
    /// What `rollback` returns to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<String>,
    /// RFC 3339 time of the change, for people reading KV.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
}

/// Channel names follow the same alphabet.
pub fn is_valid_channel(name: &str) -> bool {
    is_valid_version(name)
}

fn check_version(field: &'static str, version: &str) -> Result<(), ChannelError> {
    if is_valid_version(version) {
        Ok(())
    } else {
        Err(ChannelError::Field {
            field,
            message: format!("{version:?}: {VERSION_RULE}"),
        })
    }
}

impl Pointer {
    /// A channel that serves `version` to everyone.
    pub fn serving(version: &str) -> Pointer {
        Pointer {
            active: version.to_string(),
            canary: None,
            previous: None,
            updated_at: None,
        }
    }

    pub fn from_json(text: &str) -> Result<Pointer, ChannelError> {
        let pointer: Pointer =
            serde_json::from_str(text).map_err(|e| ChannelError::Json(e.to_string()))?;
        pointer.validate()?;
        Ok(pointer)
    }

    pub fn to_json(&self) -> String {
        // A struct of strings and a float always serialises.
        serde_json::to_string(self).unwrap_or_default()
    }

    fn validate(&self) -> Result<(), ChannelError> {
        check_version("active", &self.active)?;
        if let Some(previous) = &self.previous {
            check_version("previous", previous)?;
        }
        if let Some(canary) = &self.canary {
            check_version("canary.version", &canary.version)?;
            if !(0.0..=1.0).contains(&canary.share) || canary.share.is_nan() {
                return Err(ChannelError::Field {
                    field: "canary.share",
                    message: format!("{} is outside 0..1", canary.share),
                });
            }
        }
        Ok(())
    }

    /// The versions an edge must have loaded to serve this pointer.
    pub fn wanted(&self) -> Vec<&str> {
        let mut versions = vec![self.active.as_str()];
        if let Some(canary) = &self.canary {
            versions.push(canary.version.as_str());
        }
        versions
    }

    /// Whether this session is in the canary share: deterministic, so a session keeps
    /// its version for as long as the canary runs.
    pub fn on_canary(&self, session: &SessionId) -> bool {
        self.canary
            .as_ref()
            .is_some_and(|c| c.share > 0.0 && bucket(CANARY_SALT, session) < c.share)
    }

    /// The pointer after publishing `version`: to everyone, or on canary for `share`.
    pub fn publish(
        current: Option<&Pointer>,
        version: &str,
        canary_share: Option<f64>,
    ) -> Result<Pointer, ChannelError> {
        let active = current.map_or(EMBEDDED, |p| p.active.as_str());
        let next = match canary_share {
            Some(share) => Pointer {
                active: active.to_string(),
                canary: Some(Canary {
                    version: version.to_string(),
                    share,
                }),
                previous: current.and_then(|p| p.previous.clone()),
                updated_at: None,
            },
            // Publishing the active version again keeps what it would roll back to.
            None if version == active => Pointer {
                active: active.to_string(),
                canary: None,
                previous: current.and_then(|p| p.previous.clone()),
                updated_at: None,
            },
            None => Pointer {
                active: version.to_string(),
                canary: None,
                previous: Some(active.to_string()),
                updated_at: None,
            },
        };
        next.validate()?;
        Ok(next)
    }

    /// The canary becomes the active version for everyone.
    pub fn promote(&self) -> Result<Pointer, ChannelError> {
        let canary = self
            .canary
            .as_ref()
            .ok_or(ChannelError::Nothing("promote", "no canary is running"))?;
        Ok(Pointer {
            active: canary.version.clone(),
            canary: None,
            previous: Some(self.active.clone()),
            updated_at: None,
        })
    }

    /// Back to the previous version (a running canary is stopped too).
    pub fn rollback(&self) -> Result<Pointer, ChannelError> {
        if self.canary.is_some() {
            return Ok(Pointer {
                canary: None,
                updated_at: None,
                ..self.clone()
            });
        }
        let previous = self.previous.as_ref().ok_or(ChannelError::Nothing(
            "roll back",
            "no previous version recorded",
        ))?;
        Ok(Pointer {
            active: previous.clone(),
            canary: None,
            previous: None,
            updated_at: None,
        })
    }
}

/// KV key of a channel pointer.
pub fn channel_key(channel: &str) -> String {
    format!("channels/{channel}")
}

/// KV key of one file of a published bundle.
pub fn bundle_key(version: &str, file: &str) -> String {
    format!("bundles/{version}/{file}")
}

/// A refresh of the pointer still under way after this long was cut off (the runtime
/// ends background work 30 s after its response) and will never report back.
pub const REFRESH_ABANDONED_MS: f64 = 60_000.0;

/// Whether an isolate re-reads its channel pointer now (times in Unix ms): not while a
/// refresh is under way, unless that one was cut off (else the isolate would never see
/// a new version again), and not sooner than `interval_ms` after the last read.
pub fn refresh_due(
    now_ms: f64,
    last_read_ms: Option<f64>,
    under_way_since_ms: Option<f64>,
    interval_ms: f64,
) -> bool {
    let under_way = under_way_since_ms.is_some_and(|since| now_ms - since < REFRESH_ABANDONED_MS);
    !under_way && last_read_ms.is_none_or(|at| now_ms - at >= interval_ms)
}

/// The prefix under which audit records are listed, oldest first.
pub const AUDIT_PREFIX: &str = "audit/";

/// Who wrote an audit record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditSource {
    Cli,
    Edge,
}

/// What an audit record is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    /// The CLI published a version to everyone.
    Publish,
    /// The CLI published a version on canary.
    Canary,
    Promote,
    Rollback,
    /// An edge checked a published version and serves it.
    Activate,
    /// An edge refused a published version.
    Reject,
}

/// How it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditOutcome {
    Ok,
    Rejected,
}

impl AuditSource {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditSource::Cli => "cli",
            AuditSource::Edge => "edge",
        }
    }
}

/// One line of the audit trail: every publication, activation, rejection, promotion
/// and rollback, with what it concerned and how it ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Unix milliseconds.
    pub at_ms: u64,
    pub source: AuditSource,
    pub action: AuditAction,
    pub channel: String,
    pub version: String,
    pub outcome: AuditOutcome,
    /// sha256 of each file of the bundle, when known.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub hashes: std::collections::BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

impl AuditRecord {
    /// The record's KV key and JSON text, as every writer (the CLI, the edge) stores it.
    /// The key is time-ordered (KV lists keys in order) and ends in a random nonce, so
    /// two writers in one millisecond never overwrite each other; `Err` when the system
    /// has no randomness.
    pub fn entry(&self) -> Result<(String, String), getrandom::Error> {
        let mut nonce = [0u8; 4];
        getrandom::fill(&mut nonce)?;
        let key = format!(
            "{AUDIT_PREFIX}{:013}-{}-{}",
            self.at_ms,
            self.source.as_str(),
            hex::encode(nonce)
        );
        // Strings, integers and a string map only: serialising cannot fail.
        Ok((key, serde_json::to_string(self).unwrap_or_default()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sid(i: u32) -> SessionId {
        SessionId::parse(&format!("{i:032x}")).unwrap()
    }

    #[test]
    fn a_refresh_is_due_after_its_interval_but_never_beside_one_under_way() {
        let interval = 30_000.0;
        assert!(
            refresh_due(1_000.0, None, None, interval),
            "the first request reads it"
        );
        assert!(!refresh_due(40_000.0, Some(20_000.0), None, interval));
        assert!(refresh_due(50_000.0, Some(20_000.0), None, interval));
        assert!(!refresh_due(50_000.0, Some(0.0), Some(45_000.0), interval));
    }

    #[test]
    fn a_refresh_cut_off_by_the_runtime_does_not_stop_refreshing_for_good() {
        let started = 10_000.0;
        let interval = 30_000.0;
        let just_before = started + REFRESH_ABANDONED_MS - 1.0;
        assert!(!refresh_due(
            just_before,
            Some(0.0),
            Some(started),
            interval
        ));
        let after = started + REFRESH_ABANDONED_MS;
        assert!(refresh_due(after, Some(0.0), Some(started), interval));
    }

    #[test]
    fn a_canary_takes_its_share_and_keeps_its_sessions() {
        let pointer = Pointer::publish(Some(&Pointer::serving("v1")), "v2", Some(0.3)).unwrap();
        assert_eq!(pointer.active, "v1");
        assert_eq!(pointer.wanted(), vec!["v1", "v2"]);
        let on = (0..10_000).filter(|i| pointer.on_canary(&sid(*i))).count();
        assert!((2_800..=3_200).contains(&on), "{on} of 10000 at 30%");
        for i in 0..100 {
            assert_eq!(pointer.on_canary(&sid(i)), pointer.on_canary(&sid(i)));
        }
        assert!(!Pointer::serving("v1").on_canary(&sid(1)));
    }

    #[test]
    fn publish_promote_and_rollback_walk_the_versions() {
        let first = Pointer::publish(None, "v1", None).unwrap();
        assert_eq!(first.active, "v1");
        assert_eq!(first.previous.as_deref(), Some(EMBEDDED));
        let canary = Pointer::publish(Some(&first), "v2", Some(0.3)).unwrap();
        let promoted = canary.promote().unwrap();
        assert_eq!(promoted.active, "v2");
        assert_eq!(promoted.previous.as_deref(), Some("v1"));
        let back = promoted.rollback().unwrap();
        assert_eq!(back.active, "v1");
        assert!(back.rollback().is_err(), "nothing before v1 is recorded");
        // Rolling back during a canary just stops the canary.
        assert_eq!(canary.rollback().unwrap(), first);
        assert!(first.promote().is_err());
        // Publishing the active version again changes nothing it would roll back to.
        let again = Pointer::publish(Some(&promoted), "v2", None).unwrap();
        assert_eq!(again.previous.as_deref(), Some("v1"));
        // Round trip through KV text.
        assert_eq!(Pointer::from_json(&canary.to_json()).unwrap(), canary);
    }

    #[test]
    fn bad_pointers_are_rejected_with_the_field_named() {
        for (text, field) in [
            (r#"{"active":"../x"}"#, "active"),
            (
                r#"{"active":"v1","canary":{"version":"v2","share":1.5}}"#,
                "canary.share",
            ),
            (r#"{"active":"v1","previous":""}"#, "previous"),
        ] {
            let err = Pointer::from_json(text).unwrap_err().to_string();
            assert!(err.contains(field), "{text}: {err}");
        }
        assert!(Pointer::from_json("{").is_err());
        assert!(Pointer::from_json(r#"{"active":"v1","extra":1}"#).is_err());
        assert!(Pointer::publish(None, "v 2", None).is_err());
    }

    #[test]
    fn keys_sort_by_time() {
        let record = |at_ms, source| AuditRecord {
            at_ms,
            source,
            action: AuditAction::Activate,
            channel: "production".into(),
            version: "v1".into(),
            outcome: AuditOutcome::Ok,
            hashes: Default::default(),
            detail: String::new(),
        };
        let (early, text) = record(999, AuditSource::Edge).entry().unwrap();
        let (late, _) = record(1_000, AuditSource::Cli).entry().unwrap();
        assert!(early < late, "{early} {late}");
        assert!(early.starts_with("audit/0000000000999-edge-"), "{early}");
        let (again, _) = record(999, AuditSource::Edge).entry().unwrap();
        assert_ne!(early, again, "the nonce keeps two writers apart");
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            (&json["source"], &json["action"], &json["outcome"]),
            (
                &serde_json::json!("edge"),
                &serde_json::json!("activate"),
                &serde_json::json!("ok")
            )
        );
        assert_eq!(bundle_key("v1", "model.onnx"), "bundles/v1/model.onnx");
        assert_eq!(channel_key("production"), "channels/production");
    }
}
