//! The storefront configuration: which URLs are which pages, which query parameters
//! carry the search, sort and filters, and the knobs of consent, identity, holdout,
//! session lifetime, the beacon and the special-day calendar.
//!
//! Its vocabulary lives beside it: page types in [`crate::core::page_type`], URL routes
//! (patterns -> page types and events) in [`crate::core::routing`]; both are re-exported
//! here.
//!
//! A store overrides it as a whole JSON document ([`StoreConfig::from_json`]); only
//! `routes` is required, every other section falls back to the built-in defaults, which
//! are also spelled out in `default_store.json` (embedded, [`StoreConfig::default_store`]).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use thiserror::Error;

use crate::core::calendar::{default_special_days, SpecialDay};
pub use crate::core::page_type::PageType;
use crate::core::records::RecordsConfig;
use crate::core::routing::{self, RouteError};
pub use crate::core::routing::{Pattern, Route, RouteTarget, UrlEvent};

/// The embedded default storefront config.
pub const DEFAULT_STORE_JSON: &str = include_str!("default_store.json");

/// A config that could not be used; `field` is the path of the offending value.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum ConfigError {
    #[error("config is not valid JSON: {0}")]
    Json(String),
    #[error("config {field}: {message}")]
    Invalid { field: String, message: String },
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

impl From<RouteError> for ConfigError {
    fn from(e: RouteError) -> Self {
        invalid(e.field, e.message)
    }
}

/// Query (or form) parameter names that carry meaning. Names compare case-insensitively.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ParamNames {
    /// The search query (`/search?q=boots`).
    pub search: Vec<String>,
    /// The sort order of a listing.
    pub sort: Vec<String>,
    /// Sort values that mean price sorting. A value matches when it equals one of these
    /// (case-insensitively, ignoring a leading `-`/`+`) or starts with one followed by a
    /// non-alphanumeric character (`price` covers `price_asc`, `price-desc`, `price:asc`).
    pub price_sort_values: Vec<String>,
    /// Filter parameters of a listing (any non-empty one counts as a filter use).
    pub filters: Vec<String>,
    /// Prefixes of filter parameters (`filter_color`, `filter[size]`).
    pub filter_prefixes: Vec<String>,
    /// Product id, when not a `:product` path parameter (e.g. a cart form).
    pub product: Vec<String>,
    /// Category slug, when not a `:category` path parameter.
    pub category: Vec<String>,
    /// The product's price, when the store puts it in product links.
    pub price: Vec<String>,
    /// A flag marking a listing as a sale view (`?sale=1`).
    pub sale: Vec<String>,
}

fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|s| (*s).to_string()).collect()
}

impl Default for ParamNames {
    fn default() -> Self {
        ParamNames {
            search: strings(&["q", "query", "search", "s"]),
            sort: strings(&["sort", "sort_by", "sortby", "order", "orderby"]),
            price_sort_values: strings(&["price", "lowest_price", "highest_price", "cheapest"]),
            filters: strings(&[
                "filter",
                "color",
                "colour",
                "size",
                "brand",
                "material",
                "min_price",
                "max_price",
                "price_min",
                "price_max",
                "rating",
            ]),
            filter_prefixes: strings(&["filter_", "filter[", "filter.", "f_"]),
            product: strings(&["product", "product_id", "pid", "sku"]),
            category: strings(&["category", "cat"]),
            price: strings(&["price"]),
            sale: strings(&["sale", "on_sale"]),
        }
    }
}

impl ParamNames {
    /// Whether a sort parameter's value asks for price order.
    pub fn is_price_sort(&self, value: &str) -> bool {
        let value = value
            .trim()
            .trim_start_matches(['-', '+'])
            .to_ascii_lowercase();
        self.price_sort_values.iter().any(|known| {
            let known = known.to_ascii_lowercase();
            value == known
                || value
                    .strip_prefix(known.as_str())
                    .and_then(|rest| rest.chars().next())
                    .is_some_and(|c| !c.is_ascii_alphanumeric())
        })
    }

    /// Whether a query parameter name is a filter.
    pub fn is_filter(&self, name: &str) -> bool {
        let lower = name.to_ascii_lowercase();
        self.filters.iter().any(|f| f.eq_ignore_ascii_case(&lower))
            || self
                .filter_prefixes
                .iter()
                .any(|p| lower.starts_with(&p.to_ascii_lowercase()))
    }
}

/// Requests that are not page views: static assets, the worker's own endpoints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IgnoreRules {
    /// Path prefixes (case-sensitive, as paths are).
    pub prefixes: Vec<String>,
    /// Path suffixes (case-insensitive): file extensions.
    pub suffixes: Vec<String>,
    /// Exact paths.
    pub paths: Vec<String>,
}

impl Default for IgnoreRules {
    fn default() -> Self {
        IgnoreRules {
            prefixes: strings(&[
                "/assets/",
                "/static/",
                "/__edgeseg/",
                "/api/",
                "/.well-known/",
            ]),
            suffixes: strings(&[
                ".css", ".js", ".mjs", ".map", ".json", ".png", ".jpg", ".jpeg", ".gif", ".webp",
                ".avif", ".svg", ".ico", ".woff", ".woff2", ".ttf", ".txt", ".xml",
            ]),
            paths: strings(&["/favicon.ico", "/robots.txt", "/sitemap.xml"]),
        }
    }
}

impl IgnoreRules {
    pub fn is_ignored(&self, path: &str) -> bool {
        let lower = path.to_ascii_lowercase();
        self.paths.iter().any(|p| p == path)
            || self.prefixes.iter().any(|p| path.starts_with(p.as_str()))
            || self
                .suffixes
                .iter()
                .any(|s| lower.ends_with(&s.to_ascii_lowercase()))
    }
}

/// The store's own consent cookie, besides `Sec-GPC: 1`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsentConfig {
    pub cookie: String,
    /// Cookie values (case-insensitive) that mean "no".
    pub no_values: Vec<String>,
}

impl Default for ConsentConfig {
    fn default() -> Self {
        ConsentConfig {
            cookie: "consent".into(),
            no_values: strings(&[
                "0",
                "no",
                "false",
                "deny",
                "denied",
                "reject",
                "rejected",
                "withdrawn",
            ]),
        }
    }
}

/// Where a logged-in customer is learnt, and how a logout is seen. A customer id is only
/// ever taken from a proof: the origin's response header, or a store-signed token in a
/// cookie (verified with `EDGESEG_STORE_TOKEN_KEY`); a raw id in a cookie grants nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CustomerConfig {
    /// Cookie carrying the store-signed token `<id>.<expires>.<hmac>` (contract §7).
    #[serde(alias = "cookie")]
    pub token_cookie: Option<String>,
    /// Origin response header carrying the logged-in customer's id.
    pub origin_header: Option<String>,
    /// Paths (exact) whose request logs the customer out: the device is unlinked.
    pub logout_paths: Vec<String>,
    /// Origin response header whose presence logs the customer out.
    pub logout_header: Option<String>,
}

impl Default for CustomerConfig {
    fn default() -> Self {
        CustomerConfig {
            token_cookie: Some("customer_token".into()),
            origin_header: Some("x-customer-id".into()),
            logout_paths: strings(&["/account/logout", "/logout"]),
            logout_header: Some("x-customer-logout".into()),
        }
    }
}

/// The share of sessions kept out of segmentation, to measure its effect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HoldoutConfig {
    /// 0..=1
    pub share: f64,
    /// Changing the salt reshuffles who is held out.
    pub salt: String,
}

impl Default for HoldoutConfig {
    fn default() -> Self {
        HoldoutConfig {
            share: 0.05,
            salt: "edgeseg".into(),
        }
    }
}

/// Lifetimes, in seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TtlConfig {
    /// Inactivity after which the next request starts a new visit (GA's 30 minutes).
    pub session_secs: u64,
    /// How long a visitor (cookie) and a customer profile are remembered.
    pub customer_secs: u64,
}

impl Default for TtlConfig {
    fn default() -> Self {
        TtlConfig {
            session_secs: 1800,
            customer_secs: 30 * 86_400,
        }
    }
}

impl TtlConfig {
    pub fn session_ms(&self) -> i64 {
        i64::try_from(self.session_secs.saturating_mul(1000)).unwrap_or(i64::MAX)
    }

    pub fn customer_ms(&self) -> i64 {
        i64::try_from(self.customer_secs.saturating_mul(1000)).unwrap_or(i64::MAX)
    }
}

/// Limits of the client beacon (contract section 5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BeaconLimits {
    pub max_bytes: usize,
    pub max_events: usize,
    /// Batches per session per minute.
    pub per_minute: u32,
}

impl Default for BeaconLimits {
    fn default() -> Self {
        BeaconLimits {
            max_bytes: 8 * 1024,
            max_events: 50,
            per_minute: 60,
        }
    }
}

/// The whole storefront configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct StoreConfig {
    pub routes: Vec<Route>,
    pub params: ParamNames,
    pub ignore: IgnoreRules,
    pub consent: ConsentConfig,
    pub customer: CustomerConfig,
    pub holdout: HoldoutConfig,
    pub ttl: TtlConfig,
    pub beacon: BeaconLimits,
    pub calendar: Vec<SpecialDay>,
    /// Training records: order route, order value header, retention (contract section 9).
    pub records: RecordsConfig,
}

const SECTIONS: [&str; 10] = [
    "routes", "params", "ignore", "consent", "customer", "holdout", "ttl", "beacon", "calendar",
    "records",
];

/// Deserialises one section, naming it in the error.
fn section<T: serde::de::DeserializeOwned + Default>(
    object: &serde_json::Map<String, Value>,
    name: &str,
) -> Result<T, ConfigError> {
    match object.get(name) {
        None => Ok(T::default()),
        Some(value) => T::deserialize(value).map_err(|e| invalid(name, e.to_string())),
    }
}

impl StoreConfig {
    /// The embedded default config.
    pub fn default_store() -> StoreConfig {
        // The embedded file is checked by a unit test; fall back to a routeless config
        // rather than panic should it ever be broken.
        StoreConfig::from_json(DEFAULT_STORE_JSON).unwrap_or_else(|_| StoreConfig {
            routes: Vec::new(),
            params: ParamNames::default(),
            ignore: IgnoreRules::default(),
            consent: ConsentConfig::default(),
            customer: CustomerConfig::default(),
            holdout: HoldoutConfig::default(),
            ttl: TtlConfig::default(),
            beacon: BeaconLimits::default(),
            calendar: default_special_days(),
            records: RecordsConfig::default(),
        })
    }

    /// Parses and checks a whole config. Errors name the field (`routes[3].pattern`).
    pub fn from_json(text: &str) -> Result<StoreConfig, ConfigError> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| ConfigError::Json(e.to_string()))?;
        let Value::Object(object) = value else {
            return Err(invalid("(root)", "must be a JSON object"));
        };
        if let Some(unknown) = object.keys().find(|k| !SECTIONS.contains(&k.as_str())) {
            return Err(invalid(unknown.as_str(), "unknown section"));
        }
        let routes = routing::parse_routes(object.get("routes"))?;
        let calendar = match object.get("calendar") {
            None => default_special_days(),
            Some(Value::Array(items)) => {
                let mut days = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    let field = format!("calendar[{i}]");
                    let day = SpecialDay::deserialize(item)
                        .map_err(|e| invalid(&field, e.to_string()))?;
                    day.validate().map_err(|m| invalid(&field, m))?;
                    days.push(day);
                }
                days
            }
            Some(_) => return Err(invalid("calendar", "must be an array")),
        };
        let config = StoreConfig {
            routes,
            params: section(&object, "params")?,
            ignore: section(&object, "ignore")?,
            consent: section(&object, "consent")?,
            customer: section(&object, "customer")?,
            holdout: section(&object, "holdout")?,
            ttl: section(&object, "ttl")?,
            beacon: section(&object, "beacon")?,
            calendar,
            records: section(&object, "records")?,
        };
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), ConfigError> {
        let share = self.holdout.share;
        if !(0.0..=1.0).contains(&share) {
            return Err(invalid("holdout.share", format!("{share} is outside 0..1")));
        }
        if self.ttl.session_secs == 0 {
            return Err(invalid("ttl.session_secs", "must be positive"));
        }
        if self.ttl.customer_secs < self.ttl.session_secs {
            return Err(invalid(
                "ttl.customer_secs",
                "must be at least ttl.session_secs",
            ));
        }
        if self.beacon.max_bytes == 0 || self.beacon.max_events == 0 || self.beacon.per_minute == 0
        {
            return Err(invalid("beacon", "limits must be positive"));
        }
        if !is_cookie_name(&self.consent.cookie) {
            return Err(invalid("consent.cookie", "not a valid cookie name"));
        }
        self.records.check().map_err(|m| invalid("records", m))?;
        if let Some(name) = &self.customer.token_cookie {
            if !is_cookie_name(name) {
                return Err(invalid("customer.token_cookie", "not a valid cookie name"));
            }
        }
        Ok(())
    }

    /// The first route matching `method` and `path`, with its captured parameters.
    pub fn route(&self, method: &str, path: &str) -> Option<(&Route, Vec<(String, String)>)> {
        routing::first_match(&self.routes, method, path)
    }
}

fn is_cookie_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_store_loads_and_matches_rust_defaults() {
        let config = StoreConfig::from_json(DEFAULT_STORE_JSON).expect("default config");
        assert!(!config.routes.is_empty());
        assert_eq!(config.params, ParamNames::default());
        assert_eq!(config.ignore, IgnoreRules::default());
        assert_eq!(config.consent, ConsentConfig::default());
        assert_eq!(config.customer, CustomerConfig::default());
        assert_eq!(config.holdout, HoldoutConfig::default());
        assert_eq!(config.ttl, TtlConfig::default());
        assert_eq!(config.beacon, BeaconLimits::default());
        assert_eq!(config.calendar, default_special_days());
        assert_eq!(StoreConfig::default_store(), config);
    }

    #[test]
    fn routes_match() {
        let c = StoreConfig::default_store();
        let page = |m: &str, p: &str| c.route(m, p).map(|(r, params)| (r.target, params));
        assert_eq!(
            page("GET", "/"),
            Some((RouteTarget::Page(PageType::Home), vec![]))
        );
        assert_eq!(
            page("GET", "/product/42"),
            Some((
                RouteTarget::Page(PageType::Product),
                vec![("product".into(), "42".into())]
            ))
        );
        assert_eq!(
            page("GET", "/Category/shoes/boots/").map(|p| p.0),
            Some(RouteTarget::Page(PageType::Category))
        );
        assert_eq!(
            page("POST", "/cart/add").map(|p| p.0),
            Some(RouteTarget::Event(UrlEvent::CartAdd))
        );
        // A GET of the add URL without a product is just the cart page.
        assert_eq!(
            page("GET", "/cart/add").map(|p| p.0),
            Some(RouteTarget::Page(PageType::Cart))
        );
        assert_eq!(
            page("GET", "/help/returns").map(|p| p.0),
            Some(RouteTarget::Page(PageType::Info))
        );
        assert_eq!(page("GET", "/nowhere"), None);
    }

    #[test]
    fn errors_name_the_field() {
        let err = |json: &str| StoreConfig::from_json(json).unwrap_err().to_string();
        assert!(err("{").contains("not valid JSON"));
        assert!(err("{}").contains("routes"));
        assert!(
            err(r#"{"routes":[{"pattern":"/x/*/y","page":"home"}]}"#).contains("routes[0].pattern")
        );
        assert!(err(r#"{"routes":[{"pattern":"/","page":"nope"}]}"#).contains("routes[0]"));
        assert!(err(r#"{"routes":[{"pattern":"/"}]}"#).contains("exactly one"));
        assert!(err(r#"{"routes":[],"holdout":{"share":1.5}}"#).contains("holdout.share"));
        assert!(err(r#"{"routes":[],"ttl":{"session_secs":"x"}}"#).contains("ttl"));
        assert!(err(r#"{"routes":[],"bogus":1}"#).contains("bogus"));
        assert!(
            err(r#"{"routes":[],"calendar":[{"name":"x","date":"2-30"}]}"#).contains("calendar[0]")
        );
        assert!(err(r#"{"routes":[],"params":{"serch":["q"]}}"#).contains("params"));
    }

    #[test]
    fn partial_override_keeps_defaults() {
        let c = StoreConfig::from_json(
            r#"{"routes":[{"pattern":"/shop/:product","page":"product"}],"holdout":{"share":0.1}}"#,
        )
        .unwrap();
        assert_eq!(c.holdout.share, 0.1);
        assert_eq!(c.holdout.salt, "edgeseg");
        assert_eq!(c.ttl.session_secs, 1800);
        assert_eq!(c.calendar.len(), 4);
    }

    #[test]
    fn price_sort_and_filters() {
        let p = ParamNames::default();
        for v in [
            "price",
            "price_asc",
            "-price",
            "Price-Desc",
            "price:asc",
            "lowest_price",
        ] {
            assert!(p.is_price_sort(v), "{v}");
        }
        for v in ["pricey", "newest", "", "rating"] {
            assert!(!p.is_price_sort(v), "{v}");
        }
        assert!(p.is_filter("Color"));
        assert!(p.is_filter("filter_size"));
        assert!(!p.is_filter("page"));
    }

    #[test]
    fn ignore_rules() {
        let i = IgnoreRules::default();
        for p in [
            "/assets/app.css",
            "/x/site.CSS",
            "/favicon.ico",
            "/__edgeseg/events",
            "/img/a.webp",
        ] {
            assert!(i.is_ignored(p), "{p}");
        }
        assert!(!i.is_ignored("/product/42"));
    }
}
