//! The bundle's rules and page-stats files, parsed by the core's own parsers so that a
//! bundle the worker would choke on is refused at load (and by `bundle check`).

use super::BundleError;

pub use crate::core::page_stats::PageStats;
pub use crate::core::rules::RuleSet;

pub fn parse_rules(bytes: &[u8]) -> Result<RuleSet, BundleError> {
    let text = std::str::from_utf8(bytes).map_err(|e| BundleError::Rules(e.to_string()))?;
    RuleSet::from_json(text).map_err(|e| BundleError::Rules(e.to_string()))
}

pub fn parse_page_stats(bytes: &[u8]) -> Result<PageStats, BundleError> {
    let text = std::str::from_utf8(bytes).map_err(|e| BundleError::PageStats(e.to_string()))?;
    PageStats::from_json(text).map_err(|e| BundleError::PageStats(e.to_string()))
}
