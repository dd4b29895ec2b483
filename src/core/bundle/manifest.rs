//! `manifest.json`: the typed form of `docs/contracts.md` section 2, and its checks.
//!
//! Parsing goes section by section (and feature by feature) so that every error names
//! the field it is about (`features[3].std`), without a path-tracking dependency in the
//! worker.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::BundleError;
use crate::core::drift::DriftReference;
use crate::core::features::Kind;

/// The only manifest `format` this build understands.
pub const FORMAT: u64 = 1;

/// A parsed, checked manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    pub name: String,
    /// `[A-Za-z0-9._-]+`, so it can travel in a header as a string.
    pub version: String,
    pub created: String,
    /// File name -> lower-case sha256 hex, for every other file of the bundle.
    pub files: BTreeMap<String, String>,
    pub model: ModelSpec,
    /// Model input features, in input order.
    pub features: Vec<FeatureSpec>,
    /// Segments, index = column of the segment output.
    pub segments: Vec<SegmentSpec>,
    /// Reference figures from the pipeline, kept opaque.
    pub metrics: Value,
    /// onnxruntime's outputs for a few rows, checked by [`crate::core::model::Model::verify_golden`].
    pub golden: Vec<GoldenVector>,
    /// The training rows' distribution over fixed bins of every input and over the
    /// segments, for drift (PSI) at the edge; optional, so older bundles still load.
    pub drift: Option<DriftReference>,
}

/// Where the ONNX graph is and what its tensors are called.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ModelSpec {
    pub file: String,
    pub input: String,
    pub width: usize,
    pub intent_output: String,
    pub segment_output: String,
}

/// How a numeric feature is transformed before standardisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transform {
    Identity,
    Log1p,
}

/// One model input feature and its encoding.
#[derive(Debug, Clone, PartialEq)]
pub enum FeatureSpec {
    Num {
        name: String,
        transform: Transform,
        mean: f64,
        std: f64,
        baseline: f64,
    },
    Label {
        name: String,
        categories: Vec<String>,
        baseline: String,
    },
}

/// What a version name may be, said once for every error that refuses one.
pub const VERSION_RULE: &str = "must be 1 to 64 characters of [A-Za-z0-9._-]";

/// The one rule for version names (bundles, channel pointers, KV keys, headers): a safe
/// alphabet, and short enough for a KV key (`bundles/<version>/<file>`) and a header.
pub fn is_valid_version(version: &str) -> bool {
    (1..=64).contains(&version.len())
        && version
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

impl FeatureSpec {
    pub fn name(&self) -> &str {
        match self {
            FeatureSpec::Num { name, .. } | FeatureSpec::Label { name, .. } => name,
        }
    }

    pub fn kind(&self) -> Kind {
        match self {
            FeatureSpec::Num { .. } => Kind::Num,
            FeatureSpec::Label { .. } => Kind::Label,
        }
    }

    /// Number of input columns this feature takes.
    pub fn width(&self) -> usize {
        match self {
            FeatureSpec::Num { .. } => 1,
            FeatureSpec::Label { categories, .. } => categories.len(),
        }
    }
}

/// One segment of the model's segment head.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SegmentSpec {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub card: Option<String>,
}

/// A row with onnxruntime's outputs, so encoding and inference are tested apart.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct GoldenVector {
    /// Field name -> JSON value (number, string, or list of strings).
    pub features: Map<String, Value>,
    pub input: Vec<f32>,
    pub intent: f32,
    pub segment: Vec<f32>,
}

#[derive(Deserialize)]
struct RawNum {
    name: String,
    transform: Transform,
    mean: f64,
    std: f64,
    baseline: f64,
}

#[derive(Deserialize)]
struct RawLabel {
    name: String,
    categories: Vec<String>,
    baseline: String,
}

impl Manifest {
    /// Parses and checks `manifest.json`. The format number is read first, so a newer
    /// manifest is rejected as such rather than as a pile of field errors.
    pub fn from_json(bytes: &[u8]) -> Result<Manifest, BundleError> {
        let root: Value = serde_json::from_slice(bytes).map_err(|e| BundleError::Json {
            file: "manifest.json".into(),
            message: e.to_string(),
        })?;
        let Value::Object(root) = root else {
            return Err(field_error("(root)", "must be a JSON object"));
        };
        let format = root
            .get("format")
            .ok_or_else(|| field_error("format", "missing"))?;
        match format.as_u64() {
            Some(FORMAT) => {}
            _ => return Err(BundleError::UnsupportedFormat(format.to_string())),
        }

        let manifest = Manifest {
            name: required(&root, "name")?,
            version: required(&root, "version")?,
            created: required(&root, "created")?,
            files: required(&root, "files")?,
            model: required(&root, "model")?,
            features: parse_features(&root)?,
            segments: required(&root, "segments")?,
            metrics: root.get("metrics").cloned().unwrap_or(Value::Null),
            golden: optional(&root, "golden")?.unwrap_or_default(),
            drift: optional(&root, "drift")?,
        };
        manifest.check()?;
        Ok(manifest)
    }

    /// Cross-field checks: widths add up, names are unique, numbers are usable.
    fn check(&self) -> Result<(), BundleError> {
        if !is_valid_version(&self.version) {
            return Err(field_error("version", VERSION_RULE));
        }
        for (file, hash) in &self.files {
            if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(field_error(
                    &format!("files.{file}"),
                    "must be a sha256 in hex (64 digits)",
                ));
            }
        }
        if !self.files.contains_key(&self.model.file) {
            return Err(field_error(
                "model.file",
                &format!("`{}` is not listed in `files`", self.model.file),
            ));
        }
        if self.features.is_empty() {
            return Err(field_error("features", "must list at least one feature"));
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, feature) in self.features.iter().enumerate() {
            let at = |what: &str| format!("features[{i}].{what}");
            if !seen.insert(feature.name()) {
                return Err(field_error(
                    &at("name"),
                    &format!("`{}` is listed twice", feature.name()),
                ));
            }
            match feature {
                FeatureSpec::Num {
                    mean,
                    std,
                    baseline,
                    ..
                } => {
                    if !mean.is_finite() {
                        return Err(field_error(&at("mean"), "must be finite"));
                    }
                    if !(std.is_finite() && *std > 0.0) {
                        return Err(field_error(&at("std"), "must be finite and > 0"));
                    }
                    if !baseline.is_finite() {
                        return Err(field_error(&at("baseline"), "must be finite"));
                    }
                }
                FeatureSpec::Label { categories, .. } => {
                    if categories.is_empty() {
                        return Err(field_error(&at("categories"), "must not be empty"));
                    }
                }
            }
        }
        let width: usize = self.features.iter().map(FeatureSpec::width).sum();
        if width != self.model.width {
            return Err(field_error(
                "model.width",
                &format!(
                    "is {} but the features encode to {width} columns",
                    self.model.width
                ),
            ));
        }
        if self.segments.is_empty() {
            return Err(field_error("segments", "must list at least one segment"));
        }
        for (i, golden) in self.golden.iter().enumerate() {
            if golden.input.len() != width {
                return Err(field_error(
                    &format!("golden[{i}].input"),
                    &format!(
                        "has {} values, the model width is {width}",
                        golden.input.len()
                    ),
                ));
            }
            if golden.segment.len() != self.segments.len() {
                return Err(field_error(
                    &format!("golden[{i}].segment"),
                    &format!(
                        "has {} values for {} segments",
                        golden.segment.len(),
                        self.segments.len()
                    ),
                ));
            }
        }
        if let Some(drift) = &self.drift {
            let names: Vec<&str> = self.features.iter().map(FeatureSpec::name).collect();
            drift
                .check(&names, self.segments.len())
                .map_err(|e| field_error(&e.field, &e.message))?;
        }
        Ok(())
    }

    /// Segment ids in output-column order.
    pub fn segment_ids(&self) -> Vec<String> {
        self.segments.iter().map(|s| s.id.clone()).collect()
    }
}

fn field_error(field: &str, message: &str) -> BundleError {
    BundleError::Field {
        field: field.to_string(),
        message: message.to_string(),
    }
}

fn required<T: DeserializeOwned>(root: &Map<String, Value>, key: &str) -> Result<T, BundleError> {
    optional(root, key)?.ok_or_else(|| field_error(key, "missing"))
}

fn optional<T: DeserializeOwned>(
    root: &Map<String, Value>,
    key: &str,
) -> Result<Option<T>, BundleError> {
    match root.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => T::deserialize(value)
            .map(Some)
            .map_err(|e| field_error(key, &e.to_string())),
    }
}

fn parse_features(root: &Map<String, Value>) -> Result<Vec<FeatureSpec>, BundleError> {
    let Some(Value::Array(items)) = root.get("features") else {
        return Err(field_error("features", "missing or not an array"));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let at = |what: &str| format!("features[{i}]{what}");
            let kind = item
                .get("kind")
                .and_then(Value::as_str)
                .ok_or_else(|| field_error(&at(".kind"), "missing or not a string"))?;
            let spec = match kind {
                "num" => {
                    let raw = RawNum::deserialize(item)
                        .map_err(|e| field_error(&at(""), &e.to_string()))?;
                    FeatureSpec::Num {
                        name: raw.name,
                        transform: raw.transform,
                        mean: raw.mean,
                        std: raw.std,
                        baseline: raw.baseline,
                    }
                }
                "label" => {
                    let raw = RawLabel::deserialize(item)
                        .map_err(|e| field_error(&at(""), &e.to_string()))?;
                    FeatureSpec::Label {
                        name: raw.name,
                        categories: raw.categories,
                        baseline: raw.baseline,
                    }
                }
                other => {
                    return Err(field_error(
                        &at(".kind"),
                        &format!("`{other}` cannot be a model input (expected num or label)"),
                    ))
                }
            };
            Ok(spec)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn minimal() -> Value {
        json!({
            "format": 1, "name": "t", "version": "1.0", "created": "2026-11-21T20:00:00Z",
            "files": { "model.onnx": "0".repeat(64) },
            "model": { "file": "model.onnx", "input": "features", "width": 3,
                       "intent_output": "intent", "segment_output": "segment" },
            "features": [
                { "name": "page_values", "kind": "num", "transform": "log1p",
                  "mean": 1.0, "std": 2.0, "baseline": 0.0 },
                { "name": "month", "kind": "label", "categories": ["Nov", "Dec"], "baseline": "Nov" }
            ],
            "segments": [ { "id": "a", "name": "A" } ]
        })
    }

    fn parse(v: &Value) -> Result<Manifest, BundleError> {
        Manifest::from_json(&serde_json::to_vec(v).expect("serialises"))
    }

    fn field_of(err: BundleError) -> String {
        match err {
            BundleError::Field { field, .. } => field,
            other => panic!("expected a field error, got {other}"),
        }
    }

    #[test]
    fn a_minimal_manifest_parses() {
        let m = parse(&minimal()).expect("parses");
        assert_eq!(m.features.len(), 2);
        assert_eq!(m.features[1].width(), 2);
        assert_eq!(m.segment_ids(), ["a"]);
    }

    #[test]
    fn errors_name_the_field() {
        let mut v = minimal();
        v["features"][0]["std"] = json!(0.0);
        assert_eq!(field_of(parse(&v).unwrap_err()), "features[0].std");

        let mut v = minimal();
        v["features"][1]
            .as_object_mut()
            .expect("object")
            .remove("categories");
        let err = parse(&v).unwrap_err();
        assert!(err.to_string().contains("categories"), "{err}");

        let mut v = minimal();
        v["features"][1]["kind"] = json!("list");
        assert_eq!(field_of(parse(&v).unwrap_err()), "features[1].kind");

        let mut v = minimal();
        v["model"]["file"] = json!("other.onnx");
        assert_eq!(field_of(parse(&v).unwrap_err()), "model.file");

        let mut v = minimal();
        v["version"] = json!("1 0");
        assert_eq!(field_of(parse(&v).unwrap_err()), "version");
        // The channel pointer's limit is the manifest's: a 65-character version is
        // refused here, before `publish` uploads anything.
        let mut v = minimal();
        v["version"] = json!("v".repeat(65));
        assert_eq!(field_of(parse(&v).unwrap_err()), "version");
        v["version"] = json!("v".repeat(64));
        assert!(parse(&v).is_ok());

        let mut v = minimal();
        v.as_object_mut().expect("object").remove("segments");
        assert_eq!(field_of(parse(&v).unwrap_err()), "segments");
    }

    #[test]
    fn a_drift_section_is_optional_and_checked() {
        let mut v = minimal();
        assert_eq!(parse(&v).expect("parses").drift, None);
        v["drift"] = json!({
            "source": "training rows", "rows": 10,
            "inputs": [
                { "name": "page_values", "edges": [0.0, 2.5], "reference": [0.6, 0.3, 0.1] },
                { "name": "month", "categories": ["Nov", "Dec"], "reference": [0.5, 0.5, 0.0] }
            ],
            "segments": [1.0]
        });
        let drift = parse(&v).expect("parses").drift.expect("drift");
        assert_eq!(drift.inputs[1].width(), 3);
        v["drift"]["inputs"][0]["name"] = json!("nonsense");
        assert_eq!(field_of(parse(&v).unwrap_err()), "drift.inputs[0].name");
    }

    #[test]
    fn a_newer_format_is_refused_before_anything_else() {
        let v = json!({ "format": 2, "something": "new" });
        assert!(matches!(parse(&v), Err(BundleError::UnsupportedFormat(_))));
    }
}
