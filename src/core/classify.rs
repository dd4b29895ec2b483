//! The one entry point: session features + bundle -> [`Classification`].
//!
//! The shell decides *whether* to classify (consent, holdout, failures) and says so
//! with [`Reason`]; everything that explains a classification travels in this struct
//! so that `headers` can render it without knowing where it came from.

use serde::{Deserialize, Serialize};

use crate::core::bundle::{Bundle, BundleError, BundleFiles, TrustPolicy};
use crate::core::features::Features;
use crate::core::model::{Attribution, GoldenReport, Model, ModelError};
use crate::core::rules::SegmentMatch;
use crate::core::signals::Untracked;

/// Why the headers say what they say, in the spirit of OpenFeature's resolution reasons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
    /// Left untracked on purpose (a bot, a static asset, ...), and why.
    Untracked(Untracked),
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
            Reason::Untracked(_) => "UNTRACKED",
        }
    }
}

/// Everything the worker attaches to a request, before it becomes header text. It
/// travels as JSON from the session object that classifies to the worker that counts it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

/// How many signals travel with a classification (`edgeseg-signals`).
pub const TOP_SIGNALS: usize = 5;

/// A verified bundle with its model plan built: what the worker keeps per isolate (in a
/// `thread_local!`) and the CLI per run. Building it is the cold-start cost; keep it.
///
/// ```no_run
/// use std::cell::OnceCell;
/// use edgeseg::core::classify::{Classification, LoadedBundle};
/// use edgeseg::core::features::Features;
///
/// thread_local! {
///     // Built on the first request of the isolate, then reused by every request.
///     static LOADED: OnceCell<Option<LoadedBundle>> = const { OnceCell::new() };
/// }
///
/// fn classify_request(features: &Features) -> Option<Classification> {
///     LOADED.with(|cell| {
///         let loaded = cell.get_or_init(|| LoadedBundle::embedded().ok());
///         loaded.as_ref().map(|loaded| loaded.classify(features))
///     })
/// }
/// ```
#[derive(Debug)]
pub struct LoadedBundle {
    bundle: Bundle,
    /// The rules still work when the graph cannot be loaded: classify falls back to them.
    model: Result<Model, ModelError>,
}

impl LoadedBundle {
    /// Verifies the files and builds the plan. A bundle that fails verification is an
    /// error; a model that fails to build is kept as an error and classified rules-only.
    pub fn from_files(files: BundleFiles, policy: &TrustPolicy) -> Result<Self, BundleError> {
        Ok(LoadedBundle::new(Bundle::from_files(files, policy)?))
    }

    /// The bundle compiled into this binary (`bundle::embedded()`), without signature
    /// checks: it was part of the reviewed build.
    pub fn embedded() -> Result<Self, BundleError> {
        LoadedBundle::from_files(crate::core::bundle::embedded(), &TrustPolicy::unsigned())
    }

    /// Native: reads and checks a bundle directory.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn from_dir(
        dir: impl AsRef<std::path::Path>,
        policy: &TrustPolicy,
    ) -> Result<Self, BundleError> {
        Ok(LoadedBundle::new(Bundle::from_dir(dir, policy)?))
    }

    pub fn new(bundle: Bundle) -> Self {
        let model = Model::load(bundle.manifest(), bundle.model_bytes());
        LoadedBundle::with_model(bundle, model)
    }

    /// A bundle with the model built from it elsewhere (step by step: `Model::build`).
    pub fn with_model(bundle: Bundle, model: Result<Model, ModelError>) -> Self {
        LoadedBundle { bundle, model }
    }

    pub fn bundle(&self) -> &Bundle {
        &self.bundle
    }

    pub fn model(&self) -> Result<&Model, &ModelError> {
        self.model.as_ref()
    }

    /// Golden-vector check of the built model (fails if the model did not build).
    pub fn verify(&self) -> Result<GoldenReport, ModelError> {
        self.model.as_ref().map_err(Clone::clone)?.verify_golden()
    }

    pub fn classify(&self, features: &Features) -> Classification {
        classify(features, self)
    }
}

/// The one entry point: the model's segment, intent and top signals, plus every rule
/// match. Without a usable model: the top-priority matching rule segment
/// (`Reason::RulesOnly`, confidence 1) and the model's error code.
pub fn classify(features: &Features, loaded: &LoadedBundle) -> Classification {
    let rules = loaded.bundle.rules();
    let matches = rules.map(|r| r.evaluate(features)).unwrap_or_default();
    let mut classification = Classification::bare(Reason::Model);
    classification.model_version = Some(loaded.bundle.manifest().version.clone());
    classification.rules_version = rules.map(|r| r.version().to_string());

    let prediction = match &loaded.model {
        Ok(model) => model.predict(features).map_err(|e| e.code()),
        Err(error) => Err(error.code()),
    };
    match prediction {
        Ok(prediction) => {
            classification.segment = Some(prediction.segment_id);
            classification.confidence = Some(prediction.confidence);
            classification.intent = Some(prediction.intent);
            // A feature at its baseline explains nothing: it is not a signal.
            classification.signals = prediction
                .attributions
                .into_iter()
                .filter(|a| a.contribution != 0.0)
                .take(TOP_SIGNALS)
                .collect();
        }
        Err(code) => {
            classification.reason = Reason::RulesOnly;
            classification.error = Some(code.to_string());
            // Highest priority; the first in file order among equals.
            let top = matches
                .iter()
                .reduce(|best, m| if m.priority > best.priority { m } else { best });
            if let Some(top) = top {
                classification.segment = Some(top.id.clone());
                classification.confidence = Some(1.0);
            }
        }
    }
    classification.rules = matches;
    classification
}
