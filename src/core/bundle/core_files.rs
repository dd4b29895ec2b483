//! The bundle's rules and page-stats files, parsed by the core's own parsers so that a
//! bundle the worker would choke on is refused at load (and by `bundle check`).

use super::BundleError;
use crate::core::features::Features;
use crate::core::rules::SegmentMatch;

/// INTERIM until `rules::RuleSet` lands in the core.
#[derive(Debug)]
pub struct RuleSet {
    version: String,
}

impl RuleSet {
    pub fn from_json(bytes: &[u8]) -> Result<RuleSet, String> {
        let v: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        Ok(RuleSet {
            version: v["version"].as_str().unwrap_or_default().to_string(),
        })
    }
    pub fn version(&self) -> &str {
        &self.version
    }
    pub fn evaluate(&self, _features: &Features) -> Vec<SegmentMatch> {
        Vec::new()
    }
}

/// TODO(core): the page-stats table type from the core.
pub type PageStats = serde_json::Value;

pub fn parse_rules(bytes: &[u8]) -> Result<RuleSet, BundleError> {
    RuleSet::from_json(bytes).map_err(BundleError::Rules)
}

pub fn parse_page_stats(bytes: &[u8]) -> Result<PageStats, BundleError> {
    serde_json::from_slice(bytes).map_err(|e| BundleError::PageStats(e.to_string()))
}
