//! The central team's page-stats table (`page_stats.json`, contract section 2): bounce
//! rate, exit rate and page value per page, which give the UCI fields `bounce_rates`,
//! `exit_rates` and `page_values` their meaning at the edge.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::core::config::PageType;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum PageStatsError {
    #[error("page_stats.json: {0}")]
    Json(String),
    #[error("page_stats.json {field}: {message}")]
    Invalid { field: String, message: String },
}

/// One page's statistics.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageStat {
    pub bounce_rate: f64,
    pub exit_rate: f64,
    pub page_value: f64,
}

impl PageStat {
    fn check(&self) -> Result<(), String> {
        for (name, v) in [
            ("bounce_rate", self.bounce_rate),
            ("exit_rate", self.exit_rate),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(format!("{name}: {v} is outside 0..1"));
            }
        }
        if !self.page_value.is_finite() || self.page_value < 0.0 {
            return Err(format!("page_value: {} must be >= 0", self.page_value));
        }
        Ok(())
    }
}

/// The table. Lookup order: exact path, then page type, then `default`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PageStats {
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub source: Option<String>,
    pub default: PageStat,
    #[serde(default)]
    pub page_types: BTreeMap<PageType, PageStat>,
    #[serde(default)]
    pub paths: BTreeMap<String, PageStat>,
}

impl Default for PageStats {
    /// An empty table: every page has zero rates and value (used when no bundle is loaded).
    fn default() -> Self {
        PageStats {
            version: None,
            source: None,
            default: PageStat {
                bounce_rate: 0.0,
                exit_rate: 0.0,
                page_value: 0.0,
            },
            page_types: BTreeMap::new(),
            paths: BTreeMap::new(),
        }
    }
}

impl PageStats {
    pub fn from_json(text: &str) -> Result<PageStats, PageStatsError> {
        let stats: PageStats =
            serde_json::from_str(text).map_err(|e| PageStatsError::Json(e.to_string()))?;
        let invalid = |field: String, message: String| PageStatsError::Invalid { field, message };
        stats
            .default
            .check()
            .map_err(|m| invalid("default".into(), m))?;
        for (page_type, stat) in &stats.page_types {
            stat.check()
                .map_err(|m| invalid(format!("page_types.{}", page_type.as_str()), m))?;
        }
        for (path, stat) in &stats.paths {
            stat.check()
                .map_err(|m| invalid(format!("paths.{path:?}"), m))?;
        }
        Ok(stats)
    }

    /// The stats of one page: its path entry, else its page type's, else the default.
    pub fn lookup(&self, path: &str, page_type: PageType) -> PageStat {
        self.paths
            .get(path)
            .or_else(|| self.page_types.get(&page_type))
            .copied()
            .unwrap_or(self.default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"{ "version": "2026.11.21-1", "source": "test",
        "default": { "bounce_rate": 0.02, "exit_rate": 0.04, "page_value": 0.0 },
        "page_types": { "product": { "bounce_rate": 0.01, "exit_rate": 0.03, "page_value": 4.2 } },
        "paths": { "/product/42": { "bounce_rate": 0.0, "exit_rate": 0.02, "page_value": 12.0 } } }"#;

    #[test]
    fn path_wins_over_type_over_default() {
        let s = PageStats::from_json(SAMPLE).unwrap();
        assert_eq!(s.lookup("/product/42", PageType::Product).page_value, 12.0);
        assert_eq!(s.lookup("/product/7", PageType::Product).page_value, 4.2);
        assert_eq!(s.lookup("/about", PageType::Info).exit_rate, 0.04);
    }

    #[test]
    fn rejects_bad_tables() {
        assert!(PageStats::from_json("[]").is_err());
        let bad = SAMPLE.replace("\"bounce_rate\": 0.01", "\"bounce_rate\": 1.5");
        let err = PageStats::from_json(&bad).unwrap_err().to_string();
        assert!(err.contains("page_types.product"), "{err}");
        let bad = SAMPLE.replace("\"product\": {", "\"widget\": {");
        assert!(PageStats::from_json(&bad).is_err());
    }
}
