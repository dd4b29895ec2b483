//! The store config's `records` section (docs/contracts.md section 9): which route
//! confirms an order, which origin header carries its value, how long records live and
//! how many requests of one visit are kept.

use serde::{Deserialize, Serialize};

use crate::core::config::Pattern;

/// Default days a record is kept in the bucket.
pub const DEFAULT_RETENTION_DAYS: u32 = 90;
/// Default cap of requests kept per visit; later requests are counted, not kept.
pub const DEFAULT_MAX_REQUESTS: usize = 200;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RecordsConfig {
    /// Path patterns of the order-confirmation page (a tracked page view): a visit
    /// that requests one has ordered.
    pub order_routes: Vec<String>,
    /// Origin response header with the order's value on an order-confirmation page
    /// (a plain decimal number; anything else is ignored).
    pub order_value_header: Option<String>,
    /// Days a record is kept; older day prefixes are deleted by the daily sweep.
    pub retention_days: u32,
    /// Requests kept per visit (the record says how many were left out).
    pub max_requests: usize,
}

impl Default for RecordsConfig {
    fn default() -> Self {
        RecordsConfig {
            order_routes: vec![
                "/checkout/complete/*".into(),
                "/checkout/confirmation/*".into(),
            ],
            order_value_header: Some("x-order-value".into()),
            retention_days: DEFAULT_RETENTION_DAYS,
            max_requests: DEFAULT_MAX_REQUESTS,
        }
    }
}

impl RecordsConfig {
    /// Checks the section; the message names the field.
    pub fn check(&self) -> Result<(), String> {
        for (i, route) in self.order_routes.iter().enumerate() {
            Pattern::parse(route).map_err(|e| format!("order_routes[{i}]: {e}"))?;
        }
        if self.retention_days == 0 {
            return Err("retention_days must be positive".into());
        }
        if self.max_requests == 0 {
            return Err("max_requests must be positive".into());
        }
        Ok(())
    }

    /// Whether `path` is an order-confirmation page.
    pub fn is_order(&self, path: &str) -> bool {
        self.order_routes
            .iter()
            .filter_map(|route| Pattern::parse(route).ok())
            .any(|pattern| pattern.matches(path).is_some())
    }
}

/// An order value as the origin wrote it: digits, optionally a dot and up to four
/// decimals, at most 12 integer digits. Anything else (signs, exponents, spaces,
/// currency symbols, `NaN`) is `None`: the header is outside input.
pub fn parse_order_value(raw: &str) -> Option<f64> {
    let (whole, fraction) = match raw.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (raw, None),
    };
    let digits = |s: &str, max: usize| {
        !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_digit())
    };
    if !digits(whole, 12) || fraction.is_some_and(|f| !digits(f, 4)) {
        return None;
    }
    raw.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_values_are_parsed_strictly() {
        assert_eq!(parse_order_value("129.90"), Some(129.9));
        assert_eq!(parse_order_value("7"), Some(7.0));
        for bad in [
            "",
            "-5",
            "+5",
            "1e3",
            " 5",
            "5 ",
            "5.",
            ".5",
            "NaN",
            "inf",
            "€5",
            "1,5",
            "1.23456",
            "1234567890123",
        ] {
            assert_eq!(parse_order_value(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn order_routes_match_and_are_checked() {
        let config = RecordsConfig::default();
        assert!(config.is_order("/checkout/complete"));
        assert!(config.is_order("/checkout/complete/FH-1"));
        assert!(!config.is_order("/checkout"));
        let bad = RecordsConfig {
            order_routes: vec!["checkout".into()],
            ..RecordsConfig::default()
        };
        assert!(bad.check().is_err());
        assert!(RecordsConfig::default().check().is_ok());
    }
}
