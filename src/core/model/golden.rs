//! Golden vectors: the pipeline's encoded rows and onnxruntime outputs, replayed here.

use serde_json::{Map, Value};

use crate::core::bundle::GoldenVector;
use crate::core::features::{Features, Observed};

use super::{Model, ModelError};

/// Largest accepted absolute difference from the pipeline's numbers.
pub const TOLERANCE: f32 = 1e-5;

/// What the check compared, for `bundle check` to print.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GoldenReport {
    pub vectors: usize,
    /// Largest |difference| seen between our encoding and the pipeline's `input`.
    pub max_input_diff: f32,
    /// Largest |difference| seen between tract's and onnxruntime's outputs.
    pub max_output_diff: f32,
}

pub fn verify(model: &Model, golden: &[GoldenVector]) -> Result<GoldenReport, ModelError> {
    let mut report = GoldenReport {
        vectors: golden.len(),
        max_input_diff: 0.0,
        max_output_diff: 0.0,
    };
    let fail = |index, message| ModelError::Golden { index, message };
    for (index, vector) in golden.iter().enumerate() {
        let features =
            features_from_json(&vector.features).map_err(|message| fail(index, message))?;
        let row = model.encoder().encode(&features)?;
        if let Some((col, diff)) = worst(&row, &vector.input) {
            report.max_input_diff = report.max_input_diff.max(diff);
            if diff > TOLERANCE {
                return Err(fail(
                    index,
                    format!(
                        "encoded column {col} is {}, the pipeline's input has {} ({})",
                        row[col],
                        vector.input[col],
                        column_owner(model, col)
                    ),
                ));
            }
        }
        // Score the pipeline's own row, so inference is tested apart from encoding.
        let scores = model.plan().run(&vector.input)?;
        let outputs = [
            (
                "intent",
                &scores.intent[..],
                std::slice::from_ref(&vector.intent),
            ),
            ("segment", scores.segment_row(0), &vector.segment[..]),
        ];
        for (name, ours, theirs) in outputs {
            if ours.len() != theirs.len() {
                return Err(fail(
                    index,
                    format!("{name}: {} values, expected {}", ours.len(), theirs.len()),
                ));
            }
            if let Some((col, diff)) = worst(ours, theirs) {
                report.max_output_diff = report.max_output_diff.max(diff);
                if diff > TOLERANCE {
                    return Err(fail(
                        index,
                        format!(
                            "{name}[{col}] is {} in tract, {} in onnxruntime",
                            ours[col], theirs[col]
                        ),
                    ));
                }
            }
        }
    }
    Ok(report)
}

/// Index and size of the largest absolute difference (NaN counts as infinite).
fn worst(ours: &[f32], theirs: &[f32]) -> Option<(usize, f32)> {
    ours.iter()
        .zip(theirs)
        .map(|(a, b)| {
            let d = (a - b).abs();
            if d.is_nan() {
                f32::INFINITY
            } else {
                d
            }
        })
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(&b.1))
}

/// Which feature an input column belongs to, for error messages.
fn column_owner(model: &Model, col: usize) -> String {
    let mut start = 0;
    for spec in model.encoder().features() {
        if col < start + spec.width() {
            return format!("feature `{}`", spec.name());
        }
        start += spec.width();
    }
    "past the last feature".into()
}

/// The inverse of [`features_from_json`]: the same JSON shape `--features` reads (a
/// non-finite number becomes `null`).
pub fn features_to_json(features: &Features) -> Map<String, Value> {
    features
        .iter()
        .map(|(name, value)| {
            let value = match value {
                Observed::Num(x) => serde_json::json!(x),
                Observed::Label(label) => Value::String(label.clone()),
                Observed::List(items) => serde_json::json!(items),
            };
            (name.to_string(), value)
        })
        .collect()
}

/// Feature values written as JSON (golden vectors, `edgeseg classify --features`):
/// a number is `num` (a boolean counts as 0/1), a string a `label`, an array of
/// strings a `list`.
pub fn features_from_json(values: &Map<String, Value>) -> Result<Features, String> {
    let mut features = Features::default();
    for (name, value) in values {
        let observed = match value {
            Value::Number(n) => Observed::Num(
                n.as_f64()
                    .ok_or_else(|| format!("`{name}`: {n} is not a usable number"))?,
            ),
            Value::Bool(b) => Observed::Num(if *b { 1.0 } else { 0.0 }),
            Value::String(s) => Observed::Label(s.clone()),
            Value::Array(items) => Observed::List(
                items
                    .iter()
                    .map(|item| {
                        item.as_str()
                            .map(str::to_string)
                            .ok_or_else(|| format!("`{name}`: list items must be strings"))
                    })
                    .collect::<Result<_, _>>()?,
            ),
            Value::Null | Value::Object(_) => {
                return Err(format!("`{name}`: expected a number, string or list"))
            }
        };
        features.set(name.clone(), observed);
    }
    Ok(features)
}
