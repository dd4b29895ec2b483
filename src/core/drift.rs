//! Drift of live traffic against the training data: the manifest's `drift` section
//! (`docs/contracts.md` section 2), the binning of a live value into its bins, and the
//! population stability index (PSI) per model input and for the segment mix.
//!
//! The bins are the training pipeline's (`model/train/edgeseg_train/drift_reference.py`):
//! a numeric input falls in the first bin whose edge is >= its value (the last bin is
//! open); a label input in its category's bin, or the last bin when it is none of them.

use serde::{Deserialize, Serialize};

use crate::core::features::Observed;

/// PSI levels: the conventional 0.1 (watch) and 0.25 (act), configurable.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    pub watch: f64,
    pub act: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            watch: 0.1,
            act: 0.25,
        }
    }
}

/// How far a distribution moved, in the words of the PSI convention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Below `watch`: no meaningful change.
    Stable,
    /// Between `watch` and `act`: worth a look.
    Watch,
    /// At or above `act`: the model sees traffic unlike its training data.
    Act,
}

impl Thresholds {
    pub fn level(&self, psi: f64) -> Level {
        if psi >= self.act {
            Level::Act
        } else if psi >= self.watch {
            Level::Watch
        } else {
            Level::Stable
        }
    }
}

/// The manifest's `drift` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftReference {
    /// Which rows the reference was computed from (for people).
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub rows: u64,
    /// One entry per model input, in any order.
    pub inputs: Vec<InputReference>,
    /// Share of training rows per segment, in the manifest's segment order.
    pub segments: Vec<f64>,
}

/// One model input's bins and the training rows' share in each.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputReference {
    pub name: String,
    /// Numeric input: upper-inclusive bin edges, strictly increasing; edges.len() + 1 bins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edges: Option<Vec<f64>>,
    /// Label input: one bin per category plus one for any other label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub categories: Option<Vec<String>>,
    /// Share of training rows per bin.
    pub reference: Vec<f64>,
}

/// Why a `drift` section cannot be used; the manifest turns it into a field error.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ReferenceError {
    pub field: String,
    pub message: String,
}

impl InputReference {
    /// Number of bins.
    pub fn width(&self) -> usize {
        match (&self.edges, &self.categories) {
            (Some(edges), _) => edges.len() + 1,
            (None, Some(categories)) => categories.len() + 1,
            (None, None) => 0,
        }
    }

    /// The bin of a live value; `None` for a value of the other kind or not finite.
    pub fn bin_of(&self, value: &Observed) -> Option<usize> {
        match (value, &self.edges, &self.categories) {
            (Observed::Num(x), Some(edges), _) if x.is_finite() => {
                Some(edges.partition_point(|edge| edge < x))
            }
            (Observed::Label(label), None, Some(categories)) => Some(
                categories
                    .iter()
                    .position(|c| c == label)
                    .unwrap_or(categories.len()),
            ),
            _ => None,
        }
    }
}

impl DriftReference {
    /// Checks the section against the manifest's feature names and segment count.
    pub fn check(&self, features: &[&str], segments: usize) -> Result<(), ReferenceError> {
        let error = |field: String, message: &str| ReferenceError {
            field,
            message: message.to_string(),
        };
        for (i, input) in self.inputs.iter().enumerate() {
            let at = |what: &str| format!("drift.inputs[{i}].{what}");
            if !features.contains(&input.name.as_str()) {
                return Err(error(at("name"), "is not a model input"));
            }
            match (&input.edges, &input.categories) {
                (Some(edges), None) => {
                    let increasing = edges.windows(2).all(|w| w[0] < w[1]);
                    if !edges.iter().all(|e| e.is_finite()) || !increasing {
                        return Err(error(at("edges"), "must be finite, strictly increasing"));
                    }
                }
                (None, Some(_)) => {}
                _ => return Err(error(at("edges"), "exactly one of edges, categories")),
            }
            check_shares(&input.reference, input.width())
                .map_err(|message| error(at("reference"), message))?;
        }
        check_shares(&self.segments, segments)
            .map_err(|message| error("drift.segments".into(), message))
    }

    pub fn input(&self, name: &str) -> Option<&InputReference> {
        self.inputs.iter().find(|i| i.name == name)
    }
}

/// Shares are one per bin, non-negative, and add up to 1 (rounding allowed).
fn check_shares(shares: &[f64], width: usize) -> Result<(), &'static str> {
    if shares.len() != width {
        return Err("must have one share per bin");
    }
    if !shares.iter().all(|s| s.is_finite() && *s >= 0.0) {
        return Err("shares must be finite and >= 0");
    }
    if (shares.iter().sum::<f64>() - 1.0).abs() > 1e-3 {
        return Err("shares must add up to 1");
    }
    Ok(())
}

/// Proportions below this are taken as this, so an empty bin on either side gives a large
/// but finite PSI (the usual convention).
const FLOOR: f64 = 1e-4;

/// The population stability index of live `counts` against the `reference` shares:
/// sum over bins of (live - reference) * ln(live / reference). `None` without live counts
/// or when the widths differ.
pub fn psi(reference: &[f64], counts: &[u64]) -> Option<f64> {
    let total: u64 = counts.iter().sum();
    if total == 0 || reference.len() != counts.len() {
        return None;
    }
    let value = reference
        .iter()
        .zip(counts)
        .map(|(expected, count)| {
            let expected = expected.max(FLOOR);
            let actual = (*count as f64 / total as f64).max(FLOOR);
            (actual - expected) * (actual / expected).ln()
        })
        .sum();
    Some(value)
}

/// One distribution's drift: PSI over `n` live observations and its level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Drift {
    pub name: String,
    /// `None` when nothing was observed in the window.
    pub psi: Option<f64>,
    pub level: Option<Level>,
    pub n: u64,
}

impl Drift {
    pub fn of(name: &str, reference: &[f64], counts: &[u64], thresholds: &Thresholds) -> Drift {
        let psi = psi(reference, counts);
        Drift {
            name: name.to_string(),
            psi,
            level: psi.map(|p| thresholds.level(p)),
            n: counts.iter().sum(),
        }
    }
}

/// Drift of every model input and of the segment mix for one model version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftReport {
    pub model_version: String,
    pub thresholds: Thresholds,
    pub inputs: Vec<Drift>,
    pub segments: Drift,
    /// The highest level of any line (`None` when nothing was observed).
    pub level: Option<Level>,
}

impl DriftReport {
    /// `inputs`: live counts per input name (bins of `reference`); `segments`: live counts
    /// in the manifest's segment order.
    pub fn new<'a>(
        model_version: &str,
        reference: &DriftReference,
        mut inputs: impl FnMut(&str) -> Option<&'a [u64]>,
        segments: &[u64],
        thresholds: Thresholds,
    ) -> DriftReport {
        let inputs: Vec<Drift> = reference
            .inputs
            .iter()
            .map(|input| {
                let counts = inputs(&input.name).unwrap_or(&[]);
                let counts = padded(counts, input.width());
                Drift::of(&input.name, &input.reference, &counts, &thresholds)
            })
            .collect();
        let segments = Drift::of(
            "segment mix",
            &reference.segments,
            &padded(segments, reference.segments.len()),
            &thresholds,
        );
        DriftReport {
            model_version: model_version.to_string(),
            thresholds,
            inputs,
            segments,
            level: None,
        }
        .judged_by(thresholds)
    }

    /// The same PSI values judged by other thresholds (`edgeseg drift --watch --act`).
    pub fn judged_by(mut self, thresholds: Thresholds) -> DriftReport {
        let lines = self
            .inputs
            .iter_mut()
            .chain(std::iter::once(&mut self.segments));
        for line in lines {
            line.level = line.psi.map(|p| thresholds.level(p));
        }
        self.level = self
            .inputs
            .iter()
            .chain(std::iter::once(&self.segments))
            .filter_map(|d| d.level)
            .max();
        self.thresholds = thresholds;
        self
    }

    /// Every line at or above `level`.
    pub fn at_or_above(&self, level: Level) -> impl Iterator<Item = &Drift> {
        self.inputs
            .iter()
            .chain(std::iter::once(&self.segments))
            .filter(move |d| d.level.is_some_and(|l| l >= level))
    }
}

/// Counts resized to `width` bins (missing bins are empty).
fn padded(counts: &[u64], width: usize) -> Vec<u64> {
    let mut counts = counts.to_vec();
    counts.resize(width, 0);
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric(edges: &[f64], reference: &[f64]) -> InputReference {
        InputReference {
            name: "x".into(),
            edges: Some(edges.to_vec()),
            categories: None,
            reference: reference.to_vec(),
        }
    }

    #[test]
    fn binning_matches_the_pipeline_rule() {
        let input = numeric(&[0.0, 1.0, 5.0], &[0.25; 4]);
        let bins: Vec<_> = [-1.0, 0.0, 0.5, 1.0, 4.9, 5.0, 5.1]
            .iter()
            .map(|x| input.bin_of(&Observed::Num(*x)))
            .collect();
        let expected = [0, 0, 1, 1, 2, 2, 3].map(Some);
        assert_eq!(bins, expected);
        assert_eq!(input.bin_of(&Observed::Num(f64::NAN)), None);
        assert_eq!(input.bin_of(&Observed::Label("a".into())), None);

        let label = InputReference {
            name: "device".into(),
            edges: None,
            categories: Some(vec!["desktop".into(), "mobile".into()]),
            reference: vec![0.5, 0.5, 0.0],
        };
        assert_eq!(label.bin_of(&Observed::Label("mobile".into())), Some(1));
        assert_eq!(label.bin_of(&Observed::Label("tv".into())), Some(2));
    }

    #[test]
    fn psi_is_zero_for_the_same_mix_and_large_for_a_shift() {
        let reference = [0.5, 0.3, 0.2];
        assert!(psi(&reference, &[50, 30, 20]).expect("counts") < 1e-12);
        // The textbook example: a moderate shift lands between watch and act.
        let moderate = psi(&reference, &[40, 35, 25]).expect("counts");
        assert!((0.02..0.1).contains(&moderate), "{moderate}");
        // Everything in one bin: far above act.
        assert!(psi(&reference, &[0, 0, 100]).expect("counts") > 1.0);
        assert_eq!(psi(&reference, &[0, 0, 0]), None);
        assert_eq!(psi(&reference, &[1, 2]), None);
    }

    #[test]
    fn levels_follow_the_thresholds() {
        let t = Thresholds::default();
        assert_eq!(t.level(0.05), Level::Stable);
        assert_eq!(t.level(0.1), Level::Watch);
        assert_eq!(t.level(0.3), Level::Act);
        let strict = Thresholds {
            watch: 0.01,
            act: 0.02,
        };
        assert_eq!(strict.level(0.05), Level::Act);
    }

    #[test]
    fn a_report_names_the_shifted_input() {
        let reference = DriftReference {
            source: "t".into(),
            rows: 100,
            inputs: vec![
                numeric(&[1.0], &[0.5, 0.5]),
                InputReference {
                    name: "y".into(),
                    ..numeric(&[1.0], &[0.5, 0.5])
                },
            ],
            segments: vec![0.5, 0.5],
        };
        let live = |name: &str| -> Option<&'static [u64]> {
            match name {
                "x" => Some(&[50, 50]),
                "y" => Some(&[5, 95]),
                _ => None,
            }
        };
        let report = DriftReport::new("v1", &reference, live, &[48, 52], Thresholds::default());
        let acting: Vec<_> = report.at_or_above(Level::Act).map(|d| &d.name).collect();
        assert_eq!(acting, ["y"]);
        assert_eq!(report.level, Some(Level::Act));
        assert_eq!(report.segments.level, Some(Level::Stable));
    }

    #[test]
    fn checks_name_the_broken_field() {
        let good = DriftReference {
            source: String::new(),
            rows: 1,
            inputs: vec![numeric(&[1.0, 2.0], &[0.2, 0.3, 0.5])],
            segments: vec![1.0],
        };
        assert_eq!(good.check(&["x"], 1), Ok(()));
        assert_eq!(
            good.check(&["z"], 1).unwrap_err().field,
            "drift.inputs[0].name"
        );
        assert_eq!(good.check(&["x"], 2).unwrap_err().field, "drift.segments");
        let mut bad = good.clone();
        bad.inputs[0].edges = Some(vec![2.0, 1.0]);
        assert_eq!(
            bad.check(&["x"], 1).unwrap_err().field,
            "drift.inputs[0].edges"
        );
        let mut bad = good;
        bad.inputs[0].reference = vec![0.5, 0.5];
        assert_eq!(
            bad.check(&["x"], 1).unwrap_err().field,
            "drift.inputs[0].reference"
        );
    }
}
