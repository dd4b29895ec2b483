//! `Features` -> one input row, exactly as `docs/contracts.md` section 2 and the
//! Python pipeline encode it.

use crate::core::bundle::{FeatureSpec, Transform};
use crate::core::features::{Features, Observed};

use super::ModelError;

/// Encodes a session's features into rows of the model's input.
#[derive(Debug, Clone)]
pub struct Encoder {
    features: Vec<FeatureSpec>,
    /// First input column of each feature.
    offsets: Vec<usize>,
    width: usize,
    /// Each feature's baseline, already encoded (the occlusion rows reuse them).
    baselines: Vec<Vec<f32>>,
}

impl Encoder {
    pub fn new(features: &[FeatureSpec]) -> Encoder {
        let mut offsets = Vec::with_capacity(features.len());
        let mut width = 0;
        for feature in features {
            offsets.push(width);
            width += feature.width();
        }
        let baselines = features
            .iter()
            .map(|f| {
                let mut cols = vec![0.0; f.width()];
                encode_baseline(f, &mut cols);
                cols
            })
            .collect();
        Encoder {
            features: features.to_vec(),
            offsets,
            width,
            baselines,
        }
    }

    pub fn width(&self) -> usize {
        self.width
    }

    pub fn features(&self) -> &[FeatureSpec] {
        &self.features
    }

    /// Appends the encoded row of `values` to `row`. A missing or non-finite value
    /// takes the feature's baseline; a value of the wrong kind is an error (the schema
    /// check at load makes that a bug, not traffic).
    pub fn encode_into(&self, values: &Features, row: &mut Vec<f32>) -> Result<(), ModelError> {
        let start = row.len();
        row.resize(start + self.width, 0.0);
        for (i, feature) in self.features.iter().enumerate() {
            let cols = &mut row[start + self.offsets[i]..][..feature.width()];
            match (feature, values.get(feature.name())) {
                (_, None) => cols.copy_from_slice(&self.baselines[i]),
                (FeatureSpec::Num { .. }, Some(Observed::Num(x))) if !x.is_finite() => {
                    cols.copy_from_slice(&self.baselines[i])
                }
                (FeatureSpec::Num { .. }, Some(Observed::Num(x))) => {
                    cols[0] = encode_num(feature, *x)
                }
                (FeatureSpec::Label { .. }, Some(Observed::Label(label))) => {
                    encode_label(feature, label, cols)
                }
                (_, Some(_)) => {
                    row.truncate(start);
                    return Err(ModelError::FeatureKind(feature.name().to_string()));
                }
            }
        }
        Ok(())
    }

    pub fn encode(&self, values: &Features) -> Result<Vec<f32>, ModelError> {
        let mut row = Vec::with_capacity(self.width);
        self.encode_into(values, &mut row)?;
        Ok(row)
    }

    /// Writes feature `index`'s baseline over its columns of `row`.
    pub fn occlude(&self, row: &mut [f32], index: usize) {
        let feature = &self.features[index];
        row[self.offsets[index]..][..feature.width()].copy_from_slice(&self.baselines[index]);
    }

    /// The session's value of feature `index`, for display: the number itself, or the
    /// label's position among the categories (-1 when unseen). Missing -> baseline.
    pub fn display_value(&self, values: &Features, index: usize) -> f64 {
        let feature = &self.features[index];
        match (feature, values.get(feature.name())) {
            (FeatureSpec::Num { .. }, Some(Observed::Num(x))) if x.is_finite() => *x,
            (FeatureSpec::Num { baseline, .. }, _) => *baseline,
            (FeatureSpec::Label { categories, .. }, Some(Observed::Label(label))) => {
                category_index(categories, label)
            }
            (
                FeatureSpec::Label {
                    categories,
                    baseline,
                    ..
                },
                _,
            ) => category_index(categories, baseline),
        }
    }
}

fn category_index(categories: &[String], label: &str) -> f64 {
    categories
        .iter()
        .position(|c| c == label)
        .map_or(-1.0, |i| i as f64)
}

fn encode_num(feature: &FeatureSpec, value: f64) -> f32 {
    let FeatureSpec::Num {
        transform,
        mean,
        std,
        ..
    } = feature
    else {
        return 0.0;
    };
    let x = match transform {
        Transform::Identity => value,
        Transform::Log1p => value.max(0.0).ln_1p(),
    };
    ((x - mean) / std) as f32
}

fn encode_label(feature: &FeatureSpec, label: &str, cols: &mut [f32]) {
    cols.fill(0.0);
    if let FeatureSpec::Label { categories, .. } = feature {
        if let Some(i) = categories.iter().position(|c| c == label) {
            cols[i] = 1.0;
        }
    }
}

fn encode_baseline(feature: &FeatureSpec, cols: &mut [f32]) {
    match feature {
        FeatureSpec::Num { baseline, .. } => cols[0] = encode_num(feature, *baseline),
        FeatureSpec::Label { baseline, .. } => encode_label(feature, baseline, cols),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn specs() -> Vec<FeatureSpec> {
        vec![
            FeatureSpec::Num {
                name: "page_values".into(),
                transform: Transform::Log1p,
                mean: 1.0,
                std: 2.0,
                baseline: 0.0,
            },
            FeatureSpec::Label {
                name: "month".into(),
                categories: vec!["Nov".into(), "Dec".into()],
                baseline: "Dec".into(),
            },
            FeatureSpec::Num {
                name: "exit_rates".into(),
                transform: Transform::Identity,
                mean: 0.5,
                std: 0.25,
                baseline: 0.5,
            },
        ]
    }

    #[test]
    fn encodes_per_contract() {
        let encoder = Encoder::new(&specs());
        let mut f = Features::default();
        f.set("page_values", Observed::Num(9.0));
        f.set("month", Observed::Label("Nov".into()));
        f.set("exit_rates", Observed::Num(1.0));
        let row = encoder.encode(&f).expect("encodes");
        let expected_pv = ((10.0f64).ln() - 1.0) / 2.0;
        assert_eq!(row, vec![expected_pv as f32, 1.0, 0.0, 2.0]);
    }

    #[test]
    fn missing_takes_the_baseline_unseen_label_is_zeros_negative_log_clamps() {
        let encoder = Encoder::new(&specs());
        let row = encoder.encode(&Features::default()).expect("encodes");
        assert_eq!(row, vec![-0.5, 0.0, 1.0, 0.0]);

        let mut f = Features::default();
        f.set("month", Observed::Label("Jan".into()));
        f.set("page_values", Observed::Num(-3.0));
        let row = encoder.encode(&f).expect("encodes");
        assert_eq!(&row[..3], &[-0.5, 0.0, 0.0]);
        assert_eq!(encoder.display_value(&f, 1), -1.0);
    }

    #[test]
    fn occlusion_rewrites_only_that_feature() {
        let encoder = Encoder::new(&specs());
        let mut f = Features::default();
        f.set("month", Observed::Label("Nov".into()));
        f.set("exit_rates", Observed::Num(1.0));
        let mut row = encoder.encode(&f).expect("encodes");
        encoder.occlude(&mut row, 1);
        assert_eq!(row, vec![-0.5, 0.0, 1.0, 2.0]);
    }

    #[test]
    fn a_value_of_the_wrong_kind_is_an_error() {
        let encoder = Encoder::new(&specs());
        let mut f = Features::default();
        f.set("month", Observed::Num(11.0));
        assert_eq!(
            encoder.encode(&f),
            Err(ModelError::FeatureKind("month".into()))
        );
    }
}
