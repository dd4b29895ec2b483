//! The intent model: a tract plan built once from the bundle's ONNX bytes, the row
//! encoding of the contract, and an occlusion explanation scored in the same batch as
//! the real row.

mod encode;
mod explain;
mod golden;
mod operators;
mod plan;

pub use encode::Encoder;
pub use golden::{features_from_json, features_to_json, GoldenReport, TOLERANCE};
pub use plan::{Plan, Progress, Scores};

use plan::PlanBuild;

use serde::{Deserialize, Serialize};

use crate::core::bundle::{GoldenVector, Manifest};
use crate::core::features::Features;

/// One signal's contribution to the intent score, signed, with the observed value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attribution {
    /// Feature name (a `features` field name, e.g. `product_related_duration`).
    pub feature: String,
    /// Change in intent probability this signal causes against the baseline.
    pub contribution: f32,
    /// The session's value of the feature, for display (numbers only; labels are coded).
    pub value: f64,
}

/// Why the model could not be built or run. `code()` is what the headers carry.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    #[error("tract failed {stage}: {message}")]
    Tract {
        stage: &'static str,
        message: String,
    },
    #[error("the graph uses operator `{operator}`, which the worker does not load (it loads {supported:?})")]
    Operator {
        operator: String,
        supported: Vec<&'static str>,
    },
    #[error("the graph's inputs are {found:?}, the manifest expects exactly [{expected:?}]")]
    Input {
        expected: String,
        found: Vec<String>,
    },
    #[error("the graph has no output `{expected}` (outputs: {found:?})")]
    Output {
        expected: String,
        found: Vec<String>,
    },
    #[error("tensor `{tensor}`: the manifest says width {manifest}, the graph has {model}")]
    Width {
        tensor: String,
        manifest: usize,
        model: String,
    },
    #[error("feature `{0}` has a value of the wrong kind")]
    FeatureKind(String),
    #[error("inference failed: {0}")]
    Run(String),
    #[error("golden vector {index}: {message}")]
    Golden { index: usize, message: String },
}

impl ModelError {
    /// A short RFC 9651 token for `edgeseg-error`.
    pub fn code(&self) -> &'static str {
        match self {
            ModelError::Tract { .. } => "model_load",
            ModelError::Operator { .. }
            | ModelError::Input { .. }
            | ModelError::Output { .. }
            | ModelError::Width { .. } => "model_mismatch",
            ModelError::FeatureKind(_) => "feature_kind",
            ModelError::Run(_) => "model_run",
            ModelError::Golden { .. } => "model_golden",
        }
    }
}

/// The model's verdict on one session.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// Purchase-intent probability.
    pub intent: f32,
    /// Column of the most probable segment.
    pub segment_index: usize,
    pub segment_id: String,
    /// Probability of that segment.
    pub confidence: f32,
    /// Every model feature's contribution to `intent`, largest |contribution| first.
    pub attributions: Vec<Attribution>,
}

/// A ready-to-run model: plan, encoder, segment ids and the manifest's golden vectors.
#[derive(Debug, Clone)]
pub struct Model {
    plan: Plan,
    encoder: Encoder,
    segment_ids: Vec<String>,
    version: String,
    golden: Vec<GoldenVector>,
}

impl Model {
    /// Builds the plan from the ONNX bytes the manifest describes (the expensive step:
    /// do it once per isolate / process).
    pub fn load(manifest: &Manifest, onnx: &[u8]) -> Result<Model, ModelError> {
        Model::build(manifest, onnx).finish()
    }

    /// The same build, one stage at a time ([`ModelBuild::step`]).
    pub fn build<'a>(manifest: &'a Manifest, onnx: &'a [u8]) -> ModelBuild<'a> {
        ModelBuild {
            manifest,
            plan: PlanBuild::new(&manifest.model, manifest.segments.len(), onnx),
        }
    }

    pub fn version(&self) -> &str {
        &self.version
    }

    pub fn encoder(&self) -> &Encoder {
        &self.encoder
    }

    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    pub fn segment_ids(&self) -> &[String] {
        &self.segment_ids
    }

    /// Intent, segment and the occlusion explanation, in one batched run.
    pub fn predict(&self, features: &Features) -> Result<Prediction, ModelError> {
        explain::predict(self, features)
    }

    /// Intent probabilities only, for many sessions in one run (evaluation).
    pub fn score_intents<'a>(
        &self,
        sessions: impl IntoIterator<Item = &'a Features>,
    ) -> Result<Vec<f32>, ModelError> {
        let mut rows = Vec::new();
        for features in sessions {
            self.encoder.encode_into(features, &mut rows)?;
        }
        Ok(self.plan.run(&rows)?.intent)
    }

    /// Checks the manifest's golden vectors: our encoding equals the pipeline's `input`
    /// and tract's outputs equal onnxruntime's, both within [`TOLERANCE`].
    pub fn verify_golden(&self) -> Result<GoldenReport, ModelError> {
        golden::verify(self, &self.golden)
    }
}

/// A [`Model`] being built: its plan's steps (read, types, declutter, tract's codegen
/// passes one by one, the optimiser's fixed point, runnable plan), then the rest of the
/// model from the manifest.
pub struct ModelBuild<'a> {
    manifest: &'a Manifest,
    plan: PlanBuild<'a>,
}

impl<'a> ModelBuild<'a> {
    /// What the next step does, for benchmarks and logs.
    pub fn next_step(&self) -> &'static str {
        self.plan.next_step()
    }

    /// Runs one stage of the plan's build; the last one also makes the model.
    pub fn step(self) -> Result<Progress<Self, Model>, ModelError> {
        let manifest = self.manifest;
        Ok(match self.plan.step()? {
            Progress::More(plan) => Progress::More(ModelBuild { manifest, plan }),
            Progress::Done(plan) => Progress::Done(Model {
                plan,
                encoder: Encoder::new(&manifest.features),
                segment_ids: manifest.segment_ids(),
                version: manifest.version.clone(),
                golden: manifest.golden.clone(),
            }),
        })
    }

    /// Runs every stage left.
    pub fn finish(mut self) -> Result<Model, ModelError> {
        loop {
            match self.step()? {
                Progress::More(rest) => self = rest,
                Progress::Done(model) => return Ok(model),
            }
        }
    }
}
