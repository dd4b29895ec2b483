//! Does the manifest ask for features this build's core computes (or the bundle's rules
//! declare as customer traits), of the same kind?

use super::manifest::Manifest;
use super::BundleError;
use crate::core::features::field_kind;
use crate::core::traits::{self, TraitSchema};

/// Every model feature must be a field of [`crate::core::features::FIELDS`], or a
/// `trait.<name>` the rules file declares, of the same kind: a model trained on a field
/// the edge never fills would silently see its baseline on every request.
pub fn check_compatible(
    manifest: &Manifest,
    declared: Option<&TraitSchema>,
) -> Result<(), BundleError> {
    for feature in &manifest.features {
        let name = feature.name();
        let kind = field_kind(name).or_else(|| declared.and_then(|d| traits::field_kind(name, d)));
        match kind {
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
