//! The one entry point: session features + bundle -> [`Classification`].
//!
//! The shell decides *whether* to classify (consent, holdout, failures) and says so
//! with [`Reason`]; everything that explains a classification travels in this struct
//! so that `headers` can render it without knowing where it came from.

use crate::core::rules::SegmentMatch;

/// Why the headers say what they say, in the spirit of OpenFeature's resolution reasons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The intent model classified the session (rules are evaluated beside it).
    Model,
    /// No model could be used; the top matching rule segment is the segment.
    RulesOnly,
    /// The shopper withheld consent (`Sec-GPC: 1` or a consent cookie): nothing stored.
    ConsentWithheld,
    /// The session is in the holdout share: baseline experience, no signals.
    Holdout,
    /// Something failed; the request went to the origin unchanged apart from this.
    Error,
}

impl Reason {
    /// The token used on the wire (`edgeseg-reason`).
    pub fn as_token(self) -> &'static str {
        match self {
            Reason::Model => "MODEL",
            Reason::RulesOnly => "RULES_ONLY",
            Reason::ConsentWithheld => "CONSENT_WITHHELD",
            Reason::Holdout => "HOLDOUT",
            Reason::Error => "ERROR",
        }
    }
}

/// One signal's contribution to the intent score, signed, with the observed value.
#[derive(Debug, Clone, PartialEq)]
pub struct Attribution {
    /// Feature name (a `features` field name, e.g. `product_related_duration`).
    pub feature: String,
    /// Change in intent probability this signal causes against the baseline.
    pub contribution: f32,
    /// The session's value of the feature, for display (numbers only; labels are coded).
    pub value: f64,
}

/// Everything the worker attaches to a request, before it becomes header text.
#[derive(Debug, Clone, PartialEq)]
pub struct Classification {
    pub reason: Reason,
    /// Segment id (an RFC 9651 token): the AI segment, or the top rule segment.
    pub segment: Option<String>,
    /// Confidence in `segment`, 0..1.
    pub confidence: Option<f32>,
    /// Purchase-intent probability from the model, 0..1.
    pub intent: Option<f32>,
    /// Top signals explaining `intent`, largest absolute contribution first.
    pub signals: Vec<Attribution>,
    /// Every matched rule segment with the conditions that made it match.
    pub rules: Vec<SegmentMatch>,
    pub model_version: Option<String>,
    pub rules_version: Option<String>,
    /// Short machine-readable code of a failure (with `Reason::Error`).
    pub error: Option<String>,
}

impl Classification {
    /// A classification that carries only a reason: consent withheld, holdout, error.
    pub fn bare(reason: Reason) -> Self {
        Classification {
            reason,
            segment: None,
            confidence: None,
            intent: None,
            signals: Vec::new(),
            rules: Vec::new(),
            model_version: None,
            rules_version: None,
            error: None,
        }
    }
}
