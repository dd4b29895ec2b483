//! A UCI session row -> a recorded visit (requests plus beacon dwell events) that the
//! worker's own code turns back into the row's page counts and durations.
//!
//! Deterministic and label-free: the same function builds training and evaluation
//! visits, and `Revenue` is never read. The page order it chooses: the row's three page
//! kinds (product-related, informational, administrative = account pages) are spread
//! evenly over the visit, page `i` of a kind with `n` pages at position `(i + 0.5) / n`,
//! ties in that kind order. Each page's dwell is its kind's duration divided by its
//! page count (capped at the session timeout, as the edge caps it), sent as a beacon
//! just before the next request. Product-related pages are a category page, then
//! three product pages, in turn. A row with no page at all becomes one landing page of
//! no known type. A `Returning_Visitor` is a visitor with one earlier visit.
//!
//! UCI has no cart, checkout or search events, no devices or traffic sources the edge
//! can map, and no special-day dates: those stay at what a plain visit gives.

use edgeseg::core::calendar::CivilDate;
use edgeseg::core::features::Features;
use serde_json::json;

use crate::recording::{Entry, Recording, USER_AGENT};

/// Longest dwell a beacon may report (the session timeout).
const MAX_DWELL_MS: i64 = 1_800_000;
/// Every replayed visit starts at this time of day (UTC).
const START_HOUR_MS: i64 = 10 * 3_600_000;
const YEAR: i32 = 2026;

/// Which date a replayed visit happens on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Dates {
    /// The row's month in 2026: its first Saturday for a weekend row, else its first
    /// Wednesday.
    Own,
    /// Every visit on Wednesday 2026-03-11, an ordinary weekday far from special days.
    Weekday,
}

/// Funnel steps appended to a visit to teach what UCI cannot (see the model card).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Funnel {
    /// A cart add of the last product seen, then the cart page.
    Cart,
    /// The cart steps, then the checkout and payment pages.
    Checkout,
}

impl Funnel {
    pub fn as_str(self) -> &'static str {
        match self {
            Funnel::Cart => "cart",
            Funnel::Checkout => "checkout",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Product,
    Info,
    Account,
}

/// The recorded visit of one UCI row.
pub fn visit_of(row: &Features, dates: Dates, funnel: Option<Funnel>) -> Recording {
    let page_kinds = [
        (Kind::Product, "product_related"),
        (Kind::Info, "informational"),
        (Kind::Account, "administrative"),
    ];
    let mut pages: Vec<(f64, Kind, usize, i64)> = Vec::new();
    for (kind, field) in page_kinds {
        let count = row.num(field).unwrap_or(0.0).max(0.0).round() as usize;
        let seconds = row
            .num(&format!("{field}_duration"))
            .unwrap_or(0.0)
            .max(0.0);
        if count == 0 {
            continue;
        }
        let dwell_ms = ((seconds * 1000.0 / count as f64).round() as i64).min(MAX_DWELL_MS);
        for i in 0..count {
            pages.push(((i as f64 + 0.5) / count as f64, kind, i, dwell_ms));
        }
    }
    pages.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));

    let mut visit = Timeline {
        at_ms: start_ms(row, dates),
        requests: Vec::new(),
    };
    if pages.is_empty() {
        visit.step(Entry::get(0, "/landing"), 0);
    }
    let mut last_product = None;
    for (_, kind, i, dwell_ms) in pages {
        let path = match kind {
            Kind::Product if i % 4 == 0 => format!("/category/c{}", (i / 4) % 8),
            Kind::Product => {
                last_product = Some(format!("p{i}"));
                format!("/product/p{i}")
            }
            Kind::Info => format!("/help/topic-{i}"),
            Kind::Account => format!("/account/page-{i}"),
        };
        visit.step(Entry::get(0, path), dwell_ms);
    }
    if let Some(funnel) = funnel {
        let product = last_product.unwrap_or_else(|| "p1".into());
        let add = Entry {
            method: Some("POST".into()),
            ..Entry::get(0, format!("/cart/add/{product}"))
        };
        visit.step(add, 1_000);
        visit.step(Entry::get(0, "/cart"), 30_000);
        if funnel == Funnel::Checkout {
            visit.step(Entry::get(0, "/checkout"), 60_000);
            visit.step(Entry::get(0, "/checkout/payment"), 60_000);
        }
    }
    let returning = row.get("visitor_type").and_then(|v| v.as_label()) == Some("Returning_Visitor");
    Recording {
        previous_visits: u32::from(returning),
        ordered: None,
        requests: visit.requests,
    }
}

/// The visit being written: each request, then the beacon reporting its page's dwell
/// just before the next request.
struct Timeline {
    at_ms: i64,
    requests: Vec<Entry>,
}

impl Timeline {
    fn step(&mut self, mut entry: Entry, dwell_ms: i64) {
        entry.at_ms = self.at_ms;
        entry.user_agent = Some(USER_AGENT.into());
        let page = entry.path.clone().unwrap_or_default();
        self.requests.push(entry);
        if dwell_ms > 0 {
            self.at_ms += dwell_ms;
            let events = json!([{ "type": "dwell", "page": page, "ms": dwell_ms }]);
            self.requests.push(Entry {
                at_ms: self.at_ms,
                beacon: Some(json!({ "v": 1, "events": events })),
                ..Entry::default()
            });
        }
    }
}

fn start_ms(row: &Features, dates: Dates) -> i64 {
    let (month, weekday) = match dates {
        Dates::Weekday => (3, 3),
        Dates::Own => {
            let label = row.get("month").and_then(|v| v.as_label()).unwrap_or("Mar");
            let month = (1..=12)
                .find(|m| edgeseg::core::calendar::month_label(*m) == label)
                .unwrap_or(3);
            let weekend = row.num("weekend").unwrap_or(0.0) > 0.5;
            (month, if weekend { 6 } else { 3 })
        }
    };
    let first = CivilDate {
        year: YEAR,
        month,
        day: 1,
    };
    let offset = (i64::from(weekday) - i64::from(first.weekday())).rem_euclid(7);
    // Weekday mode: the second Wednesday of March 2026 (the 11th).
    let extra_week = if dates == Dates::Weekday { 7 } else { 0 };
    (first.days_since_epoch() + offset + extra_week) * 86_400_000 + START_HOUR_MS
}

#[cfg(test)]
mod tests {
    use super::*;
    use edgeseg::core::config::StoreConfig;
    use edgeseg::core::features::Observed;
    use edgeseg::core::page_stats::PageStats;

    fn row(values: &[(&str, f64)], month: &str, visitor: &str) -> Features {
        let mut f = Features::default();
        for (name, value) in values {
            f.set(*name, Observed::Num(*value));
        }
        f.set("month", Observed::Label(month.into()));
        f.set("visitor_type", Observed::Label(visitor.into()));
        f
    }

    #[test]
    fn the_replayed_visit_gives_back_the_row() {
        let uci = row(
            &[
                ("administrative", 2.0),
                ("administrative_duration", 40.0),
                ("informational", 1.0),
                ("informational_duration", 12.5),
                ("product_related", 9.0),
                ("product_related_duration", 300.0),
                ("weekend", 1.0),
            ],
            "Nov",
            "Returning_Visitor",
        );
        let visit = visit_of(&uci, Dates::Own, None);
        let config = StoreConfig::default_store();
        let f = visit.features(&config, &PageStats::default()).unwrap();
        for field in [
            "administrative",
            "administrative_duration",
            "informational",
            "informational_duration",
            "product_related",
            "product_related_duration",
        ] {
            let want = uci.num(field).unwrap();
            assert!((f.num(field).unwrap() - want).abs() < 0.01, "{field}");
        }
        assert_eq!(f.get("month"), Some(&Observed::Label("Nov".into())));
        assert_eq!(f.num("weekend"), Some(1.0));
        assert_eq!(f.num("previous_visits"), Some(1.0));
        let weekday = visit_of(&uci, Dates::Weekday, None)
            .features(&config, &PageStats::default())
            .unwrap();
        assert_eq!(weekday.get("month"), Some(&Observed::Label("Mar".into())));
        assert_eq!(
            (weekday.num("weekend"), weekday.num("special_day")),
            (Some(0.0), Some(0.0))
        );
    }

    #[test]
    fn funnel_steps_are_edge_events() {
        let uci = row(
            &[("product_related", 3.0), ("product_related_duration", 90.0)],
            "May",
            "New_Visitor",
        );
        let config = StoreConfig::default_store();
        let f = visit_of(&uci, Dates::Weekday, Some(Funnel::Checkout))
            .features(&config, &PageStats::default())
            .unwrap();
        assert_eq!(
            (f.num("cart_adds"), f.num("cart_views"), f.num("checkouts")),
            (Some(1.0), Some(1.0), Some(2.0))
        );
        assert_eq!(f.num("product_related"), Some(3.0));
    }
}
