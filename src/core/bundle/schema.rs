//! Does the manifest ask for features this build's core computes, of the same kind?

use super::manifest::Manifest;
use super::BundleError;
use crate::core::features::field_kind;

/// Every model feature must be a field of [`crate::core::features::FIELDS`] of the same
/// kind: a model trained on a field this build does not compute would silently see its
/// baseline on every request.
pub fn check_compatible(manifest: &Manifest) -> Result<(), BundleError> {
    for feature in &manifest.features {
        match field_kind(feature.name()) {
            None => return Err(BundleError::UnknownFeature(feature.name().to_string())),
            Some(kind) if kind != feature.kind() => {
                return Err(BundleError::FeatureKind {
                    name: feature.name().to_string(),
                    manifest: feature.kind().as_str(),
                    core: kind.as_str(),
                })
            }
            Some(_) => {}
        }
    }
    Ok(())
}
