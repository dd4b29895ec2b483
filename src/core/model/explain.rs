//! Occlusion: row 0 is the session, row i+1 is the session with feature i at its
//! baseline; all scored in one run. Contribution = intent(real) - intent(occluded).

use crate::core::features::Features;

use super::{Attribution, Model, ModelError, Prediction};

pub fn predict(model: &Model, features: &Features) -> Result<Prediction, ModelError> {
    let encoder = model.encoder();
    let width = encoder.width();
    let count = encoder.features().len();

    let real = encoder.encode(features)?;
    let mut rows = Vec::with_capacity(width * (count + 1));
    rows.extend_from_slice(&real);
    for index in 0..count {
        let start = rows.len();
        rows.extend_from_slice(&real);
        encoder.occlude(&mut rows[start..], index);
    }
    let scores = model.plan().run(&rows)?;

    // A NaN here would travel into headers and segment choice unnoticed: refuse it, so
    // the caller falls back to the rules.
    if let Some(bad) = scores
        .intent
        .iter()
        .chain(&scores.segment)
        .find(|p| !p.is_finite())
    {
        return Err(ModelError::Run(format!("the model produced {bad}")));
    }
    let intent = scores.intent[0];
    // The most probable segment; the first column among equals.
    let (segment_index, confidence) = scores.segment_row(0).iter().copied().enumerate().fold(
        (0, f32::NEG_INFINITY),
        |best, (i, p)| if p > best.1 { (i, p) } else { best },
    );
    let segment_id = model
        .segment_ids()
        .get(segment_index)
        .cloned()
        .ok_or_else(|| ModelError::Run(format!("segment column {segment_index} has no id")))?;

    let mut attributions: Vec<Attribution> = encoder
        .features()
        .iter()
        .enumerate()
        .map(|(index, spec)| Attribution {
            feature: spec.name().to_string(),
            contribution: intent - scores.intent[index + 1],
            value: encoder.display_value(features, index),
        })
        .collect();
    attributions.sort_by(|a, b| b.contribution.abs().total_cmp(&a.contribution.abs()));

    Ok(Prediction {
        intent,
        segment_index,
        segment_id,
        confidence,
        attributions,
    })
}
