//! Does the manifest ask for features this build's core computes, of the same kind?

use super::manifest::{FieldKind, Manifest};
use super::BundleError;

/// The kind of `name` as this build's `features` computes it, or `None` when unknown.
// TODO(core): switch to `features::FIELDS` once it lands; this table is contract section 1.
pub fn core_field_kind(name: &str) -> Option<FieldKind> {
    use FieldKind::*;
    let kind = match name {
        "administrative"
        | "administrative_duration"
        | "informational"
        | "informational_duration"
        | "product_related"
        | "product_related_duration"
        | "bounce_rates"
        | "exit_rates"
        | "page_values"
        | "special_day"
        | "operating_systems"
        | "browser"
        | "region"
        | "traffic_type"
        | "weekend"
        | "page_views"
        | "session_duration"
        | "searches"
        | "price_sorts"
        | "filter_uses"
        | "sale_views"
        | "compares"
        | "cart_adds"
        | "cart_removes"
        | "checkouts"
        | "distinct_products"
        | "distinct_categories"
        | "avg_price_viewed"
        | "max_scroll_depth"
        | "hovers"
        | "previous_visits"
        | "is_customer" => Num,
        "month" | "visitor_type" | "device" | "traffic_source" => Label,
        "categories_viewed" => List,
        _ => return None,
    };
    Some(kind)
}

/// Every model feature must be a known field of the same kind.
pub fn check_compatible(manifest: &Manifest) -> Result<(), BundleError> {
    for feature in &manifest.features {
        match core_field_kind(feature.name()) {
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
