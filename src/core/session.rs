//! Compact session aggregates, kept in the session's Durable Object between requests.
//!
//! Only counts, sums and small bounded sets are stored (no URLs beyond a hash, no
//! search text), so the state stays a few hundred bytes of JSON and says little about
//! the shopper beyond what the features need.
//!
//! A *visit* ends after `ttl.session_secs` without a request; the next event starts a
//! new one: the visit aggregates reset and `previous_visits` grows. The visitor-level
//! fields (`first_seen_ms`, `previous_visits`, `is_customer`) live as long as the stored
//! state does (`ttl.customer_secs`).
//!
//! A new counter touches these places, in order: the field on [`VisitAggregates`] (or
//! [`SessionState`] for a visitor-level one) with its `skip_serializing_if`; the event
//! that counts it (`SessionState::apply`, or a helper such as `page_view`);
//! `VisitAggregates::absorb`, so a customer merge keeps it; the feature that reads it in
//! `features::compute` with its row in `features::FIELDS` and in docs/contracts.md
//! section 1 (a test holds the two together); and, when the model or a rule uses it, the
//! training pipeline's field lists (`model/train/`) and the bundle's manifest. Bump
//! [`STATE_VERSION`] only when an existing field changes meaning.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::core::beacon::BeaconError;
use crate::core::config::{BeaconLimits, PageType, StoreConfig};
use crate::core::page_stats::PageStats;
use crate::core::signals::{ClientContext, Event, PageView};

/// The stored format's version: bump it when a field changes meaning.
pub const STATE_VERSION: u32 = 1;
/// Distinct products remembered per visit (`distinct_products` saturates here).
pub const MAX_PRODUCTS: usize = 64;
/// Distinct categories remembered per visit (`categories_viewed` holds at most this).
pub const MAX_CATEGORIES: usize = 16;
/// Length of the beacon rate-limit window.
const BEACON_WINDOW_MS: i64 = 60_000;

fn is_zero_u32(v: &u32) -> bool {
    *v == 0
}
fn is_zero_u64(v: &u64) -> bool {
    *v == 0
}
fn is_zero_f64(v: &f64) -> bool {
    *v == 0.0
}

/// A page the visit is on or was just on, for dwell times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageSlot {
    /// FNV-1a hash of the normalised path (the path itself is not kept).
    pub path: u64,
    pub page_type: PageType,
    pub start_ms: i64,
    /// Milliseconds charged to `page_type`'s duration for this page so far.
    #[serde(default, skip_serializing_if = "is_zero_u64")]
    pub charged_ms: u64,
    /// Whether `charged_ms` came from a beacon dwell (then the gap is not charged).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dwell: bool,
}

/// What one visit did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct VisitAggregates {
    /// Page views per page type.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub views: BTreeMap<PageType, u32>,
    /// Milliseconds per page type (contract §1 durations).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub duration_ms: BTreeMap<PageType, u64>,
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub searches: u32,
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub price_sorts: u32,
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub filter_uses: u32,
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub sale_views: u32,
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub compares: u32,
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub cart_adds: u32,
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub cart_removes: u32,
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub hovers: u32,
    /// Largest beacon scroll depth, 0..=100.
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub max_scroll: u32,
    /// 32-bit hashes of distinct product ids viewed, at most [`MAX_PRODUCTS`].
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub products: Vec<u32>,
    /// Category slugs viewed, first seen first, at most [`MAX_CATEGORIES`].
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
    /// Sum and count of known product prices viewed.
    #[serde(skip_serializing_if = "is_zero_f64")]
    pub price_sum: f64,
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub price_count: u32,
    /// Sums over page views of the page-stats table's values (means are taken in features).
    #[serde(skip_serializing_if = "is_zero_f64")]
    pub bounce_sum: f64,
    #[serde(skip_serializing_if = "is_zero_f64")]
    pub exit_sum: f64,
    #[serde(skip_serializing_if = "is_zero_f64")]
    pub value_sum: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current: Option<PageSlot>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous: Option<PageSlot>,
}

impl VisitAggregates {
    pub fn views_of(&self, page_type: PageType) -> u32 {
        self.views.get(&page_type).copied().unwrap_or(0)
    }

    pub fn total_views(&self) -> u32 {
        self.views.values().fold(0u32, |a, b| a.saturating_add(*b))
    }

    pub fn duration_ms_of(&self, page_type: PageType) -> u64 {
        self.duration_ms.get(&page_type).copied().unwrap_or(0)
    }

    fn charge(&mut self, page_type: PageType, add_ms: u64, remove_ms: u64) {
        let entry = self.duration_ms.entry(page_type).or_insert(0);
        *entry = entry.saturating_sub(remove_ms).saturating_add(add_ms);
    }

    /// Adds `other`'s counts into `self` (sets are unioned within their caps).
    fn absorb(&mut self, other: &VisitAggregates) {
        for (t, n) in &other.views {
            let e = self.views.entry(*t).or_insert(0);
            *e = e.saturating_add(*n);
        }
        for (t, ms) in &other.duration_ms {
            self.charge(*t, *ms, 0);
        }
        let add = |a: &mut u32, b: u32| *a = a.saturating_add(b);
        add(&mut self.searches, other.searches);
        add(&mut self.price_sorts, other.price_sorts);
        add(&mut self.filter_uses, other.filter_uses);
        add(&mut self.sale_views, other.sale_views);
        add(&mut self.compares, other.compares);
        add(&mut self.cart_adds, other.cart_adds);
        add(&mut self.cart_removes, other.cart_removes);
        add(&mut self.hovers, other.hovers);
        add(&mut self.price_count, other.price_count);
        self.max_scroll = self.max_scroll.max(other.max_scroll);
        for p in &other.products {
            insert_capped(&mut self.products, *p, MAX_PRODUCTS);
        }
        for c in &other.categories {
            insert_capped(&mut self.categories, c.clone(), MAX_CATEGORIES);
        }
        self.price_sum += other.price_sum;
        self.bounce_sum += other.bounce_sum;
        self.exit_sum += other.exit_sum;
        self.value_sum += other.value_sum;
        let mut slots: Vec<PageSlot> = [self.current, self.previous, other.current, other.previous]
            .into_iter()
            .flatten()
            .collect();
        slots.sort_by_key(|s| std::cmp::Reverse(s.start_ms));
        self.current = slots.first().copied();
        self.previous = slots.get(1).copied();
    }
}

fn insert_capped<T: PartialEq>(set: &mut Vec<T>, value: T, cap: usize) {
    if set.len() < cap && !set.contains(&value) {
        set.push(value);
    }
}

/// Counts beacon batches per minute.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateWindow {
    pub start_ms: i64,
    pub count: u32,
}

/// A visitor's (or a customer's) stored state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SessionState {
    /// Format version, [`STATE_VERSION`].
    pub v: u32,
    /// First request of this visitor, Unix ms (0 = never seen).
    pub first_seen_ms: i64,
    /// First request of the current visit.
    pub visit_start_ms: i64,
    /// Latest request.
    pub last_seen_ms: i64,
    /// Visits before the current one.
    pub previous_visits: u32,
    /// A logged-in customer id has been seen.
    pub is_customer: bool,
    /// Device, OS, browser, region, traffic source of the visit's first request.
    pub context: Option<ClientContext>,
    pub visit: VisitAggregates,
    pub beacon: RateWindow,
}

impl Default for SessionState {
    fn default() -> Self {
        SessionState {
            v: STATE_VERSION,
            first_seen_ms: 0,
            visit_start_ms: 0,
            last_seen_ms: 0,
            previous_visits: 0,
            is_customer: false,
            context: None,
            visit: VisitAggregates::default(),
            beacon: RateWindow::default(),
        }
    }
}

/// What loading stored bytes found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    /// Nothing was stored: a new visitor.
    Empty,
    /// The state was read.
    Loaded,
    /// The bytes were unreadable or from an unknown format; a fresh state replaces them.
    Reset(String),
}

/// 64-bit FNV-1a: a stable, dependency-free hash for paths and product ids.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The path as dwell matching sees it: no query, no trailing slash.
fn path_key(path: &str) -> u64 {
    let path = path.split(['?', '#']).next().unwrap_or("");
    let trimmed = path.trim_end_matches('/');
    fnv1a(if trimmed.is_empty() {
        b"/"
    } else {
        trimmed.as_bytes()
    })
}

fn product_key(id: &str) -> u32 {
    let h = fnv1a(id.as_bytes());
    (h ^ (h >> 32)) as u32
}

impl SessionState {
    /// Reads stored bytes. Never fails: unreadable or unknown-version bytes give a fresh
    /// state and [`Stored::Reset`] with the reason (for a log line).
    pub fn from_stored(bytes: Option<&[u8]>) -> (SessionState, Stored) {
        let Some(bytes) = bytes.filter(|b| !b.is_empty()) else {
            return (SessionState::default(), Stored::Empty);
        };
        let value: serde_json::Value = match serde_json::from_slice(bytes) {
            Ok(v) => v,
            Err(e) => {
                return (
                    SessionState::default(),
                    Stored::Reset(format!("not JSON: {e}")),
                )
            }
        };
        match value.get("v").and_then(serde_json::Value::as_u64) {
            Some(v) if v == u64::from(STATE_VERSION) => {}
            other => {
                return (
                    SessionState::default(),
                    Stored::Reset(format!("unknown state version {other:?}")),
                )
            }
        }
        match SessionState::deserialize(&value) {
            Ok(state) => (state, Stored::Loaded),
            Err(e) => (
                SessionState::default(),
                Stored::Reset(format!("bad state: {e}")),
            ),
        }
    }

    /// The JSON to store.
    pub fn to_stored(&self) -> String {
        // Only finite numbers and string map keys are ever stored, so this cannot fail;
        // an empty string would read back as a new visitor, never as a panic.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Whether nothing was ever counted here (a new visitor, or a forgotten one).
    pub fn is_empty(&self) -> bool {
        self.last_seen_ms == 0
    }

    /// Forgets a visitor not seen for longer than `ttl.customer_secs` (the cookie's
    /// lifetime): storage may outlive it, the profile must not. `true` when reset.
    pub fn forget_if_expired(&mut self, now_ms: i64, config: &StoreConfig) -> bool {
        let expired =
            !self.is_empty() && now_ms.saturating_sub(self.last_seen_ms) > config.ttl.customer_ms();
        if expired {
            *self = SessionState::default();
        }
        expired
    }

    /// Marks the state as a logged-in customer's.
    pub fn mark_customer(&mut self) {
        self.is_customer = true;
    }

    /// Records activity at `now_ms`, first closing a visit that timed out.
    fn touch(&mut self, now_ms: i64, ttl_ms: i64) {
        if self.last_seen_ms == 0 {
            self.first_seen_ms = now_ms;
            self.visit_start_ms = now_ms;
        } else if self.visit_start_ms == 0 {
            // The previous visit was already ended by `end_idle_visit`.
            self.visit_start_ms = now_ms;
        } else if now_ms.saturating_sub(self.last_seen_ms) > ttl_ms {
            self.end_visit();
            self.visit_start_ms = now_ms;
        }
        if self.first_seen_ms == 0 || now_ms < self.first_seen_ms {
            self.first_seen_ms = now_ms;
        }
        // Clocks of different edge machines may disagree a little: never go backwards.
        self.last_seen_ms = self.last_seen_ms.max(now_ms);
    }

    fn end_visit(&mut self) {
        self.previous_visits = self.previous_visits.saturating_add(1);
        self.visit = VisitAggregates::default();
        self.context = None;
        self.visit_start_ms = 0;
    }

    /// Ends a visit idle past the session TTL, so its behavioural detail is erased when
    /// the retention policy says (the Durable Object's alarm calls this) rather than at
    /// the next request; only the visit count stays. `true` when a visit was ended.
    pub fn end_idle_visit(&mut self, now_ms: i64, config: &StoreConfig) -> bool {
        if !self.visit_open() || self.visit_active(now_ms, config) {
            return false;
        }
        self.end_visit();
        true
    }

    /// Whether a visit has begun that [`Self::end_idle_visit`] has not ended yet; it
    /// may have timed out already (the session object's alarm is what ends it).
    pub fn visit_open(&self) -> bool {
        self.visit_start_ms != 0
    }

    /// Whether a visit is under way at `now_ms` (it would not roll over).
    pub fn visit_active(&self, now_ms: i64, config: &StoreConfig) -> bool {
        self.last_seen_ms != 0
            && now_ms.saturating_sub(self.last_seen_ms) <= config.ttl.session_ms()
    }

    /// Counts one event at `now_ms`.
    pub fn apply(&mut self, event: &Event, now_ms: i64, config: &StoreConfig, stats: &PageStats) {
        let ttl_ms = config.ttl.session_ms();
        self.touch(now_ms, ttl_ms);
        let visit = &mut self.visit;
        match event {
            Event::Request(ctx) => {
                if self.context.is_none() {
                    self.context = Some(*ctx);
                }
            }
            Event::PageView(view) => page_view(visit, view, now_ms, ttl_ms, stats),
            Event::CartAdd { .. } => visit.cart_adds = visit.cart_adds.saturating_add(1),
            Event::CartRemove { .. } => visit.cart_removes = visit.cart_removes.saturating_add(1),
            Event::Compare { .. } => visit.compares = visit.compares.saturating_add(1),
            Event::Hover { .. } => visit.hovers = visit.hovers.saturating_add(1),
            Event::Scroll { depth, .. } => {
                visit.max_scroll = visit.max_scroll.max(u32::from((*depth).min(100)));
            }
            Event::Dwell { page, ms } => dwell(visit, path_key(page), *ms, ttl_ms),
        }
    }

    /// Applies a whole batch (one request's or one beacon's events).
    pub fn apply_all(
        &mut self,
        events: &[Event],
        now_ms: i64,
        config: &StoreConfig,
        stats: &PageStats,
    ) {
        for event in events {
            self.apply(event, now_ms, config, stats);
        }
    }

    /// Counts a beacon batch against the per-minute limit; `Err` when over it.
    pub fn admit_beacon(&mut self, now_ms: i64, limits: &BeaconLimits) -> Result<(), BeaconError> {
        let window = &mut self.beacon;
        if now_ms.saturating_sub(window.start_ms) >= BEACON_WINDOW_MS || now_ms < window.start_ms {
            *window = RateWindow {
                start_ms: now_ms,
                count: 0,
            };
        }
        if window.count >= limits.per_minute {
            return Err(BeaconError::RateLimited {
                per_minute: limits.per_minute,
            });
        }
        window.count += 1;
        Ok(())
    }

    /// Joins another state of the same person into this one: an anonymous session
    /// into the customer's state when the shopper logs in.
    ///
    /// - A side whose visit had timed out by the later side's last request has that
    ///   visit closed first (it becomes a previous visit).
    /// - The current visits are then treated as one (concurrent tabs or devices): counts
    ///   and durations are summed, product/category sets are unioned within their caps,
    ///   the dwell slots keep the two latest pages, the visit starts at the earlier start.
    /// - `previous_visits` is the larger of the two, not the sum: a device that was
    ///   merged before carries visits the customer state already counted, so summing
    ///   would count them twice (at the price of undercounting some cross-device visits).
    /// - `first_seen_ms` is the earliest, `last_seen_ms` the latest; the visit context
    ///   comes from the side seen last; `is_customer` holds if either says so.
    ///
    /// Not idempotent: merge a session once, when it is first linked to the customer,
    /// then apply events to the merged state only.
    pub fn merge(&mut self, other: &SessionState, config: &StoreConfig) {
        let ttl_ms = config.ttl.session_ms();
        let latest = self.last_seen_ms.max(other.last_seen_ms);
        let mut other = other.clone();
        for side in [&mut *self, &mut other] {
            if side.last_seen_ms != 0 && latest.saturating_sub(side.last_seen_ms) > ttl_ms {
                side.end_visit();
            }
        }
        let context = if other.last_seen_ms >= self.last_seen_ms {
            other.context.or(self.context)
        } else {
            self.context.or(other.context)
        };
        let earliest_nonzero = |a: i64, b: i64| match (a, b) {
            (0, x) | (x, 0) => x,
            (a, b) => a.min(b),
        };
        self.first_seen_ms = earliest_nonzero(self.first_seen_ms, other.first_seen_ms);
        self.visit_start_ms = earliest_nonzero(self.visit_start_ms, other.visit_start_ms);
        self.last_seen_ms = latest;
        self.previous_visits = self.previous_visits.max(other.previous_visits);
        self.is_customer |= other.is_customer;
        self.context = context;
        self.visit.absorb(&other.visit);
    }
}

fn page_view(
    visit: &mut VisitAggregates,
    view: &PageView,
    now_ms: i64,
    ttl_ms: i64,
    stats: &PageStats,
) {
    // Close the page the visitor is leaving: the gap is its duration (capped at the TTL)
    // unless a beacon already reported the real dwell.
    if let Some(mut leaving) = visit.current.take() {
        if !leaving.dwell {
            let gap = now_ms
                .saturating_sub(leaving.start_ms)
                .clamp(0, ttl_ms.max(0));
            let gap = u64::try_from(gap).unwrap_or(0);
            visit.charge(leaving.page_type, gap, leaving.charged_ms);
            leaving.charged_ms = gap;
        }
        visit.previous = Some(leaving);
    }
    let page_type = view.page_type;
    visit.current = Some(PageSlot {
        path: path_key(&view.path),
        page_type,
        start_ms: now_ms,
        charged_ms: 0,
        dwell: false,
    });
    let views = visit.views.entry(page_type).or_insert(0);
    *views = views.saturating_add(1);
    let stat = stats.lookup(&view.path, page_type);
    visit.bounce_sum += stat.bounce_rate;
    visit.exit_sum += stat.exit_rate;
    visit.value_sum += stat.page_value;
    let bump = |n: &mut u32, yes: bool| {
        if yes {
            *n = n.saturating_add(1);
        }
    };
    bump(&mut visit.searches, view.search_query.is_some());
    bump(&mut visit.price_sorts, view.price_sort);
    bump(&mut visit.filter_uses, view.filtered);
    bump(&mut visit.sale_views, view.sale);
    if let Some(product) = &view.product {
        insert_capped(&mut visit.products, product_key(product), MAX_PRODUCTS);
    }
    if let Some(category) = &view.category {
        insert_capped(&mut visit.categories, category.clone(), MAX_CATEGORIES);
    }
    if let Some(price) = view.price.filter(|p| p.is_finite() && *p >= 0.0) {
        visit.price_sum += price;
        visit.price_count = visit.price_count.saturating_add(1);
    }
}

/// A beacon dwell replaces the estimate for that page (the current or the previous one;
/// the beacon of a page often arrives just after the next page's request).
fn dwell(visit: &mut VisitAggregates, path: u64, ms: u64, ttl_ms: i64) {
    let ms = ms.min(u64::try_from(ttl_ms).unwrap_or(0));
    let slot = [visit.current.as_mut(), visit.previous.as_mut()]
        .into_iter()
        .flatten()
        .find(|s| s.path == path)
        .map(|s| {
            let old = s.charged_ms;
            s.charged_ms = ms;
            s.dwell = true;
            (s.page_type, old)
        });
    if let Some((page_type, old)) = slot {
        visit.charge(page_type, ms, old);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::signals::{Device, TrafficSource};

    const T0: i64 = 1_795_000_000_000;
    const MIN: i64 = 60_000;

    fn view(path: &str, page_type: PageType) -> Event {
        Event::PageView(PageView {
            path: path.into(),
            page_type,
            ..PageView::default()
        })
    }

    fn product(id: &str, price: f64) -> Event {
        Event::PageView(PageView {
            path: format!("/product/{id}"),
            page_type: PageType::Product,
            product: Some(id.into()),
            category: Some("shoes".into()),
            price: Some(price),
            ..PageView::default()
        })
    }

    fn apply(state: &mut SessionState, events: &[Event], at: i64) {
        state.apply_all(
            events,
            at,
            &StoreConfig::default_store(),
            &PageStats::default(),
        );
    }

    #[test]
    fn a_state_is_empty_until_something_is_counted_and_again_once_forgotten() {
        let config = StoreConfig::default_store();
        let mut s = SessionState::default();
        assert!(s.is_empty());
        apply(&mut s, &[view("/", PageType::Home)], T0);
        assert!(!s.is_empty());
        let gone = T0 + config.ttl.customer_ms() + MIN;
        assert!(s.forget_if_expired(gone, &config));
        assert!(s.is_empty());
    }

    #[test]
    fn an_idle_visit_ends_once_and_counts_once() {
        let config = StoreConfig::default_store();
        let mut s = SessionState::default();
        assert!(!s.visit_open());
        apply(&mut s, &[product("42", 10.0)], T0);
        assert!(!s.end_idle_visit(T0 + MIN, &config), "still active");
        let later = T0 + config.ttl.session_ms() + MIN;
        assert!(s.visit_open(), "timed out, but open until it is ended");
        assert!(s.end_idle_visit(later, &config));
        assert!(!s.visit_open());
        assert_eq!(s.visit, VisitAggregates::default(), "detail erased");
        assert!(
            !s.end_idle_visit(later + MIN, &config),
            "nothing left to end"
        );
        apply(&mut s, &[view("/", PageType::Home)], later + 2 * MIN);
        assert_eq!(s.previous_visits, 1);
        assert_eq!(s.visit.total_views(), 1);
    }

    #[test]
    fn events_survive_the_trip_to_the_durable_object() {
        let events = vec![
            product("42", 10.0),
            Event::CartAdd {
                product: Some("42".into()),
            },
            Event::Dwell {
                page: "/product/42".into(),
                ms: 1_000,
            },
        ];
        let text = serde_json::to_string(&events).unwrap();
        let back: Vec<Event> = serde_json::from_str(&text).unwrap();
        assert_eq!(back, events);
    }

    #[test]
    fn durations_from_gaps_and_dwell() {
        let mut s = SessionState::default();
        apply(&mut s, &[view("/", PageType::Home)], T0);
        apply(&mut s, &[product("42", 10.0)], T0 + MIN);
        apply(&mut s, &[view("/about", PageType::Info)], T0 + 3 * MIN);
        assert_eq!(s.visit.duration_ms_of(PageType::Home), 60_000);
        assert_eq!(s.visit.duration_ms_of(PageType::Product), 120_000);
        // The product page's beacon arrives after the next request: it replaces the gap.
        apply(
            &mut s,
            &[Event::Dwell {
                page: "/product/42/".into(),
                ms: 30_000,
            }],
            T0 + 3 * MIN + 500,
        );
        assert_eq!(s.visit.duration_ms_of(PageType::Product), 30_000);
        // A dwell for the current page is charged now, and its gap is not charged later.
        apply(
            &mut s,
            &[Event::Dwell {
                page: "/about".into(),
                ms: 5_000,
            }],
            T0 + 4 * MIN,
        );
        apply(
            &mut s,
            &[Event::Dwell {
                page: "/about".into(),
                ms: 7_000,
            }],
            T0 + 4 * MIN,
        );
        apply(&mut s, &[view("/", PageType::Home)], T0 + 9 * MIN);
        assert_eq!(s.visit.duration_ms_of(PageType::Info), 7_000);
        // A dwell for a page not in the slots is ignored.
        apply(
            &mut s,
            &[Event::Dwell {
                page: "/elsewhere".into(),
                ms: 9_000,
            }],
            T0 + 9 * MIN,
        );
        assert_eq!(
            s.visit.duration_ms.values().sum::<u64>(),
            60_000 + 30_000 + 7_000
        );
    }

    #[test]
    fn gaps_are_capped_and_visits_roll_over() {
        let mut s = SessionState::default();
        apply(
            &mut s,
            &[
                Event::Request(ClientContext {
                    device: Device::Mobile,
                    ..Default::default()
                }),
                view("/", PageType::Home),
            ],
            T0,
        );
        apply(&mut s, &[view("/search", PageType::Search)], T0 + 29 * MIN);
        assert_eq!(s.visit.duration_ms_of(PageType::Home), 29 * 60_000);
        assert_eq!(s.previous_visits, 0);
        apply(
            &mut s,
            &[
                Event::Request(ClientContext {
                    device: Device::Desktop,
                    ..Default::default()
                }),
                view("/", PageType::Home),
            ],
            T0 + 61 * MIN,
        );
        assert_eq!(s.previous_visits, 1);
        assert_eq!(s.visit.total_views(), 1);
        assert_eq!(s.visit.duration_ms_of(PageType::Search), 0);
        assert_eq!(s.visit_start_ms, T0 + 61 * MIN);
        assert_eq!(s.first_seen_ms, T0);
        assert_eq!(s.context.map(|c| c.device), Some(Device::Desktop));
    }

    #[test]
    fn counters_and_bounded_sets() {
        let mut s = SessionState::default();
        for i in 0..100 {
            apply(&mut s, &[product(&i.to_string(), 20.0)], T0 + i);
        }
        assert_eq!(s.visit.products.len(), MAX_PRODUCTS);
        assert_eq!(s.visit.price_count, 100);
        for i in 0..40 {
            let e = Event::PageView(PageView {
                path: format!("/category/c{i}"),
                page_type: PageType::Category,
                category: Some(format!("c{i}")),
                price_sort: i % 2 == 0,
                filtered: true,
                ..PageView::default()
            });
            apply(&mut s, &[e], T0 + 200 + i);
        }
        assert_eq!(s.visit.categories.len(), MAX_CATEGORIES);
        assert_eq!(s.visit.categories[0], "shoes");
        assert_eq!((s.visit.price_sorts, s.visit.filter_uses), (20, 40));
        apply(
            &mut s,
            &[
                Event::CartAdd { product: None },
                Event::Scroll {
                    page: "/".into(),
                    depth: 80,
                },
                Event::Scroll {
                    page: "/".into(),
                    depth: 30,
                },
            ],
            T0 + 300,
        );
        assert_eq!((s.visit.cart_adds, s.visit.max_scroll), (1, 80));
    }

    #[test]
    fn stored_round_trip_and_bad_bytes() {
        let mut s = SessionState::default();
        apply(
            &mut s,
            &[
                Event::Request(ClientContext {
                    traffic_source: TrafficSource::Email,
                    ..Default::default()
                }),
                product("42", 12.5),
            ],
            T0,
        );
        let json = s.to_stored();
        assert!(json.len() < 600, "{json}");
        let (back, how) = SessionState::from_stored(Some(json.as_bytes()));
        assert_eq!((back, how), (s, Stored::Loaded));
        for junk in [
            &b"\xff\xfe"[..],
            b"{}",
            b"[]",
            br#"{"v":99}"#,
            br#"{"v":1,"visit":{"views":{"nope":1}}}"#,
            b"null",
        ] {
            let (state, how) = SessionState::from_stored(Some(junk));
            assert_eq!(state, SessionState::default());
            assert!(matches!(how, Stored::Reset(_)), "{junk:?}");
        }
        assert_eq!(SessionState::from_stored(None).1, Stored::Empty);
        // Fields added later within v1 default when missing.
        let (state, how) = SessionState::from_stored(Some(br#"{"v":1,"previous_visits":3}"#));
        assert_eq!((state.previous_visits, how), (3, Stored::Loaded));
    }

    #[test]
    fn profiles_expire_after_the_customer_ttl() {
        let config = StoreConfig::default_store();
        let mut s = SessionState::default();
        apply(&mut s, &[view("/", PageType::Home)], T0);
        assert!(!s.forget_if_expired(T0 + 29 * 86_400_000, &config));
        assert_eq!(s.first_seen_ms, T0);
        assert!(s.forget_if_expired(T0 + 31 * 86_400_000, &config));
        assert_eq!(s, SessionState::default());
    }

    #[test]
    fn beacon_rate_limit() {
        let mut s = SessionState::default();
        let limits = BeaconLimits::default();
        for _ in 0..60 {
            assert!(s.admit_beacon(T0, &limits).is_ok());
        }
        assert_eq!(
            s.admit_beacon(T0 + 59_000, &limits).unwrap_err().status(),
            429
        );
        assert!(s.admit_beacon(T0 + 60_000, &limits).is_ok());
    }

    #[test]
    fn merge_joins_a_session_into_a_customer() {
        let config = StoreConfig::default_store();
        let stats = PageStats::default();
        // The customer's state: two earlier visits, the latest 2 days ago.
        let mut customer = SessionState::default();
        customer.apply_all(&[product("1", 10.0)], T0 - 2 * 86_400_000, &config, &stats);
        customer.previous_visits = 2;
        customer.mark_customer();
        // This device's anonymous session, active now.
        let mut session = SessionState::default();
        session.apply_all(
            &[
                Event::Request(ClientContext {
                    device: Device::Mobile,
                    ..Default::default()
                }),
                product("1", 10.0),
                product("2", 30.0),
            ],
            T0,
            &config,
            &stats,
        );
        session.apply(
            &Event::CartAdd {
                product: Some("2".into()),
            },
            T0 + MIN,
            &config,
            &stats,
        );
        customer.merge(&session, &config);
        assert!(customer.is_customer);
        assert_eq!(
            customer.previous_visits, 3,
            "the customer's stale visit was closed first"
        );
        assert_eq!(customer.visit.total_views(), 2);
        assert_eq!(customer.visit.cart_adds, 1);
        assert_eq!(customer.first_seen_ms, T0 - 2 * 86_400_000);
        assert_eq!(customer.last_seen_ms, T0 + MIN);
        assert_eq!(customer.visit_start_ms, T0);
        assert_eq!(customer.context.map(|c| c.device), Some(Device::Mobile));

        // Concurrent visits are summed and the product sets unioned.
        let mut a = SessionState::default();
        a.apply_all(
            &[product("1", 10.0), product("2", 10.0)],
            T0,
            &config,
            &stats,
        );
        let mut b = SessionState::default();
        b.apply_all(
            &[product("2", 10.0), product("3", 10.0)],
            T0 + MIN,
            &config,
            &stats,
        );
        a.merge(&b, &config);
        assert_eq!((a.visit.total_views(), a.visit.products.len()), (4, 3));
        assert_eq!(a.visit.current.map(|c| c.start_ms), Some(T0 + MIN));
        assert_eq!(a.previous_visits, 0);
    }
}
