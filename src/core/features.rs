//! Session state -> the named fields of `docs/contracts.md` section 1.
//!
//! The contract is the user-facing documentation of every field; the doc comments on
//! [`compute`]'s helpers say how each is derived from the stored aggregates.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::core::calendar::{month_label, special_day, CivilDate};
use crate::core::config::{PageType, StoreConfig};
use crate::core::page_stats::PageStats;
use crate::core::session::{SessionState, MAX_CATEGORIES, MAX_PRODUCTS};
use crate::core::signals::{Device, TrafficSource};

/// One field's value as the rules and the model see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Observed {
    Num(f64),
    Label(String),
    List(Vec<String>),
}

impl Observed {
    pub fn kind(&self) -> Kind {
        match self {
            Observed::Num(_) => Kind::Num,
            Observed::Label(_) => Kind::Label,
            Observed::List(_) => Kind::List,
        }
    }

    pub fn as_num(&self) -> Option<f64> {
        match self {
            Observed::Num(v) => Some(*v),
            _ => None,
        }
    }

    pub fn as_label(&self) -> Option<&str> {
        match self {
            Observed::Label(v) => Some(v),
            _ => None,
        }
    }
}

/// The kind of a field (contract §1): `num` (f64), `label` (string), `list` (strings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Num,
    Label,
    List,
}

impl Kind {
    /// Reads the contract's spelling (`num`, `label`, `list`), as in a manifest.
    pub fn parse(text: &str) -> Option<Kind> {
        match text {
            "num" => Some(Kind::Num),
            "label" => Some(Kind::Label),
            "list" => Some(Kind::List),
            _ => None,
        }
    }

    /// The contract's (and the manifest's) spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Num => "num",
            Kind::Label => "label",
            Kind::List => "list",
        }
    }
}

/// Every field [`compute`] produces, with its kind, in contract order.
pub const FIELDS: &[(&str, Kind)] = &[
    ("administrative", Kind::Num),
    ("administrative_duration", Kind::Num),
    ("informational", Kind::Num),
    ("informational_duration", Kind::Num),
    ("product_related", Kind::Num),
    ("product_related_duration", Kind::Num),
    ("bounce_rates", Kind::Num),
    ("exit_rates", Kind::Num),
    ("page_values", Kind::Num),
    ("special_day", Kind::Num),
    ("month", Kind::Label),
    ("operating_systems", Kind::Num),
    ("browser", Kind::Num),
    ("region", Kind::Num),
    ("traffic_type", Kind::Num),
    ("visitor_type", Kind::Label),
    ("weekend", Kind::Num),
    ("page_views", Kind::Num),
    ("session_duration", Kind::Num),
    ("searches", Kind::Num),
    ("price_sorts", Kind::Num),
    ("filter_uses", Kind::Num),
    ("sale_views", Kind::Num),
    ("compares", Kind::Num),
    ("cart_adds", Kind::Num),
    ("cart_removes", Kind::Num),
    ("checkouts", Kind::Num),
    ("cart_views", Kind::Num),
    ("cart_duration", Kind::Num),
    ("checkout_duration", Kind::Num),
    ("search_duration", Kind::Num),
    ("distinct_products", Kind::Num),
    ("distinct_categories", Kind::Num),
    ("avg_price_viewed", Kind::Num),
    ("max_scroll_depth", Kind::Num),
    ("hovers", Kind::Num),
    ("previous_visits", Kind::Num),
    ("is_customer", Kind::Num),
    ("device", Kind::Label),
    ("traffic_source", Kind::Label),
    ("categories_viewed", Kind::List),
];

/// The kind of a known field, `None` for a name the core does not compute.
pub fn field_kind(name: &str) -> Option<Kind> {
    FIELDS.iter().find(|(n, _)| *n == name).map(|(_, k)| *k)
}

/// A session's fields by name. Built by `compute` at the edge, or from explicit values
/// (the CLI's `classify --features`, the golden vectors, tests).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Features {
    values: BTreeMap<String, Observed>,
}

impl Features {
    pub fn get(&self, name: &str) -> Option<&Observed> {
        self.values.get(name)
    }

    pub fn set(&mut self, name: impl Into<String>, value: Observed) {
        self.values.insert(name.into(), value);
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Observed)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// A numeric field's value (`None` when missing or not a number).
    pub fn num(&self, name: &str) -> Option<f64> {
        self.get(name).and_then(Observed::as_num)
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// UCI's "Administrative" pages: the shopper's own account. Cart, checkout and search are
/// funnel stages of their own (`cart_views`, `checkouts`, `searches` and their
/// durations): counting them here made a purchase look like account housekeeping.
const ADMINISTRATIVE: &[PageType] = &[PageType::Account];
/// UCI's "Informational" pages.
const INFORMATIONAL: &[PageType] = &[PageType::Info];
/// UCI's "ProductRelated" pages: the pages that show products, search results aside.
const PRODUCT_RELATED: &[PageType] = &[
    PageType::Home,
    PageType::Category,
    PageType::Product,
    PageType::Sale,
];

/// Computes every field of [`FIELDS`] for the state at `now_ms`.
///
/// - Page counts and durations (`administrative`, `informational`, `product_related` and
///   their `_duration`s, in seconds) sum the visit's views and charged milliseconds over
///   the page types above; `other` pages count only in `page_views`.
/// - `bounce_rates`, `exit_rates`, `page_values`: the sums taken from the page-stats table
///   at each page view, divided by the visit's page views (0 without page views).
///   `_stats` is accepted for symmetry with `apply`; the sums were taken there already.
/// - `special_day`, `month`, `weekend`: from `now_ms`'s UTC date and the store calendar.
/// - `operating_systems`, `browser`, `region`, `traffic_type`, `device`,
///   `traffic_source`: the visit's first request's context (0 / `unknown` / `direct`
///   before any request).
/// - `visitor_type`: `Returning_Visitor` after an earlier visit or for a known customer.
/// - `session_duration`: seconds from the visit's first to its latest request.
/// - `checkouts`, `cart_views`: checkout and cart page views; `cart_duration`,
///   `checkout_duration`, `search_duration`: seconds on those page types.
/// - `distinct_products` saturates at 64.
/// - `avg_price_viewed`: mean of the known prices of product views (0 if none).
pub fn compute(
    state: &SessionState,
    now_ms: i64,
    config: &StoreConfig,
    _stats: &PageStats,
) -> Features {
    let visit = &state.visit;
    let mut f = Features::default();
    let mut num = |name: &str, value: f64| f.set(name, Observed::Num(value));

    let count =
        |types: &[PageType]| -> f64 { types.iter().map(|t| f64::from(visit.views_of(*t))).sum() };
    let seconds = |types: &[PageType]| -> f64 {
        types
            .iter()
            .map(|t| visit.duration_ms_of(*t) as f64)
            .sum::<f64>()
            / 1000.0
    };
    num("administrative", count(ADMINISTRATIVE));
    num("administrative_duration", seconds(ADMINISTRATIVE));
    num("informational", count(INFORMATIONAL));
    num("informational_duration", seconds(INFORMATIONAL));
    num("product_related", count(PRODUCT_RELATED));
    num("product_related_duration", seconds(PRODUCT_RELATED));

    let views = f64::from(visit.total_views());
    let mean = |sum: f64| if views > 0.0 { sum / views } else { 0.0 };
    num("bounce_rates", mean(visit.bounce_sum));
    num("exit_rates", mean(visit.exit_sum));
    num("page_values", mean(visit.value_sum));

    let today = CivilDate::from_unix_ms(now_ms);
    num("special_day", special_day(now_ms, &config.calendar));
    num(
        "weekend",
        if matches!(today.weekday(), 0 | 6) {
            1.0
        } else {
            0.0
        },
    );

    let ctx = state.context.unwrap_or_default();
    num("operating_systems", f64::from(ctx.os));
    num("browser", f64::from(ctx.browser));
    num("region", f64::from(ctx.region));
    num("traffic_type", f64::from(ctx.traffic_source.code()));

    num("page_views", views);
    let duration_ms = if state.visit_start_ms > 0 {
        state
            .last_seen_ms
            .saturating_sub(state.visit_start_ms)
            .max(0)
    } else {
        0
    };
    num("session_duration", duration_ms as f64 / 1000.0);
    num("searches", f64::from(visit.searches));
    num("price_sorts", f64::from(visit.price_sorts));
    num("filter_uses", f64::from(visit.filter_uses));
    num("sale_views", f64::from(visit.sale_views));
    num("compares", f64::from(visit.compares));
    num("cart_adds", f64::from(visit.cart_adds));
    num("cart_removes", f64::from(visit.cart_removes));
    num("checkouts", f64::from(visit.views_of(PageType::Checkout)));
    num("cart_views", f64::from(visit.views_of(PageType::Cart)));
    num("cart_duration", seconds(&[PageType::Cart]));
    num("checkout_duration", seconds(&[PageType::Checkout]));
    num("search_duration", seconds(&[PageType::Search]));
    // Stored sets are capped on insert; the `min`s keep a tampered state in bounds too.
    num(
        "distinct_products",
        visit.products.len().min(MAX_PRODUCTS) as f64,
    );
    num(
        "distinct_categories",
        visit.categories.len().min(MAX_CATEGORIES) as f64,
    );
    let avg_price = if visit.price_count > 0 {
        visit.price_sum / f64::from(visit.price_count)
    } else {
        0.0
    };
    num("avg_price_viewed", avg_price);
    num("max_scroll_depth", f64::from(visit.max_scroll.min(100)));
    num("hovers", f64::from(visit.hovers));
    num("previous_visits", f64::from(state.previous_visits));
    num("is_customer", if state.is_customer { 1.0 } else { 0.0 });

    let label = |v: &str| Observed::Label(v.to_string());
    f.set("month", label(month_label(today.month)));
    let returning = state.previous_visits > 0 || state.is_customer;
    f.set(
        "visitor_type",
        label(if returning {
            "Returning_Visitor"
        } else {
            "New_Visitor"
        }),
    );
    let device = state.context.map_or(Device::Unknown, |c| c.device);
    f.set("device", label(device.as_str()));
    let source = state
        .context
        .map_or(TrafficSource::Direct, |c| c.traffic_source);
    f.set("traffic_source", label(source.as_str()));
    let categories = visit
        .categories
        .iter()
        .take(MAX_CATEGORIES)
        .cloned()
        .collect();
    f.set("categories_viewed", Observed::List(categories));
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::signals::{request_events, Event, RequestInfo};

    // 2026-11-21 (a Saturday, six days before Black Friday) 12:00 UTC.
    const NOW: i64 = 1_795_262_400_000;
    const MIN: i64 = 60_000;

    fn request(path: &str, query: &str, at: i64) -> RequestInfo {
        RequestInfo {
            method: "GET".into(),
            host: "shop.example".into(),
            path: path.into(),
            query: query.into(),
            referrer: Some("https://www.google.com/".into()),
            user_agent: Some("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1".into()),
            continent: Some("NA".into()),
            now_ms: at,
            ..RequestInfo::default()
        }
    }

    #[test]
    fn every_field_is_computed_with_its_kind() {
        let f = compute(
            &SessionState::default(),
            NOW,
            &StoreConfig::default_store(),
            &PageStats::default(),
        );
        assert_eq!(f.len(), FIELDS.len());
        for (name, kind) in FIELDS {
            assert_eq!(f.get(name).map(Observed::kind), Some(*kind), "{name}");
        }
        assert_eq!(
            f.get("visitor_type"),
            Some(&Observed::Label("New_Visitor".into()))
        );
        assert_eq!(f.get("device"), Some(&Observed::Label("unknown".into())));
        assert_eq!(field_kind("cart_adds"), Some(Kind::Num));
        assert_eq!(field_kind("nope"), None);
    }

    /// `FIELDS` is exactly the field tables of contract section 1, names and kinds.
    #[test]
    fn fields_match_the_contract() {
        let contract = include_str!("../../docs/contracts.md");
        let section = contract
            .split("## 1.")
            .nth(1)
            .and_then(|s| s.split("## 2.").next())
            .unwrap();
        let documented: Vec<(String, String)> = section
            .lines()
            .filter_map(|line| {
                let cells: Vec<&str> = line.split('|').map(str::trim).collect();
                let name = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
                Some((name.to_string(), cells.get(2)?.to_string()))
            })
            .collect();
        let ours: Vec<(String, String)> = FIELDS
            .iter()
            .map(|(n, k)| (n.to_string(), k.as_str().to_string()))
            .collect();
        assert_eq!(ours, documented);
        for (_, kind) in FIELDS {
            assert_eq!(Kind::parse(kind.as_str()), Some(*kind));
        }
    }

    #[test]
    fn a_browsing_session() {
        let config = StoreConfig::default_store();
        let stats = PageStats::from_json(
            r#"{"default":{"bounce_rate":0.02,"exit_rate":0.04,"page_value":0.0},
            "page_types":{"product":{"bounce_rate":0.01,"exit_rate":0.02,"page_value":6.0}}}"#,
        )
        .unwrap();
        let mut s = SessionState::default();
        let steps = [
            ("/", "", 0),
            ("/category/boots", "sort=price_asc&size=42", MIN),
            ("/product/b1", "price=80", 2 * MIN),
            ("/product/b2", "price=120", 4 * MIN),
            ("/help/shipping", "", 5 * MIN),
            ("/cart", "", 6 * MIN),
        ];
        for (path, query, at) in steps {
            let events = request_events(&request(path, query, NOW + at), &config);
            s.apply_all(&events, NOW + at, &config, &stats);
        }
        s.apply(
            &Event::CartAdd {
                product: Some("b2".into()),
            },
            NOW + 6 * MIN,
            &config,
            &stats,
        );
        s.apply(
            &Event::Scroll {
                page: "/product/b2".into(),
                depth: 60,
            },
            NOW + 6 * MIN,
            &config,
            &stats,
        );
        let f = compute(&s, NOW + 6 * MIN, &config, &stats);
        let n = |name: &str| f.num(name).unwrap();
        assert_eq!(n("product_related"), 4.0);
        assert_eq!(n("product_related_duration"), 300.0);
        assert_eq!(n("informational"), 1.0);
        assert_eq!(n("informational_duration"), 60.0);
        assert_eq!(n("administrative"), 0.0);
        assert_eq!((n("cart_views"), n("cart_duration")), (1.0, 0.0));
        assert_eq!(n("administrative_duration"), 0.0);
        assert_eq!(n("page_views"), 6.0);
        assert_eq!(n("session_duration"), 360.0);
        assert!((n("page_values") - 2.0).abs() < 1e-9);
        assert!((n("bounce_rates") - (0.02 * 4.0 + 0.01 * 2.0) / 6.0).abs() < 1e-9);
        assert_eq!(
            (n("price_sorts"), n("filter_uses"), n("cart_adds")),
            (1.0, 1.0, 1.0)
        );
        assert_eq!(
            (n("distinct_products"), n("distinct_categories")),
            (2.0, 1.0)
        );
        assert_eq!(n("avg_price_viewed"), 100.0);
        assert_eq!(n("max_scroll_depth"), 60.0);
        assert_eq!(
            (
                n("operating_systems"),
                n("browser"),
                n("region"),
                n("traffic_type")
            ),
            (3.0, 2.0, 2.0, 2.0)
        );
        assert_eq!((n("special_day"), n("weekend")), (1.0, 1.0));
        assert_eq!(f.get("month"), Some(&Observed::Label("Nov".into())));
        assert_eq!(f.get("device"), Some(&Observed::Label("mobile".into())));
        assert_eq!(
            f.get("traffic_source"),
            Some(&Observed::Label("organic".into()))
        );
        assert_eq!(
            f.get("categories_viewed"),
            Some(&Observed::List(vec!["boots".into()]))
        );
    }

    #[test]
    fn returning_and_customer() {
        let config = StoreConfig::default_store();
        let mut s = SessionState {
            previous_visits: 2,
            ..SessionState::default()
        };
        let f = compute(&s, NOW, &config, &PageStats::default());
        assert_eq!(
            f.get("visitor_type"),
            Some(&Observed::Label("Returning_Visitor".into()))
        );
        s.previous_visits = 0;
        s.mark_customer();
        let f = compute(&s, NOW, &config, &PageStats::default());
        assert_eq!(f.num("is_customer"), Some(1.0));
        assert_eq!(
            f.get("visitor_type"),
            Some(&Observed::Label("Returning_Visitor".into()))
        );
    }
}
