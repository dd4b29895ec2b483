//! The worker's per-request flow as I/O-free steps: [`prepare`] in the worker before the
//! one session-object round trip, then [`record`], [`conclude`] and [`training_entry`]
//! inside it, in the session object, where the state is. The worker, `edgeseg classify`,
//! `replay` and `eval`, the benches and the tests all call these, so a feature row
//! computed offline is the row the worker classified on. [`Replay`] strings them
//! together for a recorded visit.

use serde::{Deserialize, Serialize};

use crate::core::beacon::{parse_beacon, BeaconError};
use crate::core::classify::{Classification, LoadedBundle, Reason};
use crate::core::config::StoreConfig;
use crate::core::features::{compute, Features};
use crate::core::identity::consent_withheld;
use crate::core::page_stats::PageStats;
use crate::core::records::{RequestEntry, Verdict};
use crate::core::session::SessionState;
use crate::core::signals::{request_events, Event, RequestInfo, Untracked};
use crate::core::traits::Traits;

/// What a request asks of the session state, decided before any storage is touched.
#[derive(Debug, Clone, PartialEq)]
pub enum Prepared {
    /// `Sec-GPC: 1` or the consent cookie: store nothing, say so.
    ConsentWithheld,
    /// Nothing to count (a bot, a static asset, `HEAD`): nothing is stored; the origin
    /// is told why.
    Untracked(Untracked),
    /// The request's events, to be recorded in the session state.
    Track(Vec<Event>),
}

/// Consent, then the request's events; bots and assets are left untracked.
pub fn prepare(
    request: &RequestInfo,
    sec_gpc: Option<&str>,
    cookie: Option<&str>,
    config: &StoreConfig,
) -> Prepared {
    if consent_withheld(sec_gpc, cookie, config) {
        return Prepared::ConsentWithheld;
    }
    let events = request_events(request, config);
    match Untracked::of(request, config, &events) {
        Some(why) => Prepared::Untracked(why),
        None => Prepared::Track(events),
    }
}

/// A beacon batch's events, once the session's per-minute limit admits it.
pub fn beacon_events(
    state: &mut SessionState,
    body: &[u8],
    now_ms: i64,
    config: &StoreConfig,
) -> Result<Vec<Event>, BeaconError> {
    state.admit_beacon(now_ms, &config.beacon)?;
    parse_beacon(body, &config.beacon)
}

/// What the session object does with one batch of events: forget an expired profile,
/// then count the events.
pub fn record(
    state: &mut SessionState,
    events: &[Event],
    now_ms: i64,
    config: &StoreConfig,
    stats: &PageStats,
) {
    state.forget_if_expired(now_ms, config);
    state.apply_all(events, now_ms, config, stats);
}

/// The request's answer after the round trip: its features (none in the holdout) and
/// the classification the headers carry.
#[derive(Debug, Clone, PartialEq)]
pub struct Conclusion {
    pub features: Option<Features>,
    pub classification: Classification,
}

/// Features (with a known customer's `traits`, `trait.<name>`) -> model + rules ->
/// classification; the holdout gets the baseline answer.
pub fn conclude(
    state: &SessionState,
    now_ms: i64,
    config: &StoreConfig,
    loaded: &LoadedBundle,
    in_holdout: bool,
    traits: &Traits,
) -> Conclusion {
    if in_holdout {
        return Conclusion {
            features: None,
            classification: Classification::bare(Reason::Holdout),
        };
    }
    let mut features = compute(state, now_ms, config, loaded.bundle().page_stats());
    traits.apply_to(&mut features);
    let classification = loaded.classify(&features);
    Conclusion {
        features: Some(features),
        classification,
    }
}

/// The page type of a request's page view, if it has one (a cart add has none).
pub fn page_type(events: &[Event]) -> Option<&'static str> {
    events.iter().find_map(|event| match event {
        Event::PageView(view) => Some(view.page_type.as_str()),
        _ => None,
    })
}

/// What a tracked request is recorded with for training (contract section 9): its
/// feature row and the model's and rules' verdict. In the holdout the shopper got the
/// baseline answer; the row and verdict are still computed here, since the holdout is
/// lift's control group and needs the segment it would have had. The conclusion's own
/// row is reused when it has one, so the recorded row is the one classified on.
pub fn training_entry(
    request: &TrailRequest,
    page_type: Option<&str>,
    state: &SessionState,
    config: &StoreConfig,
    loaded: &LoadedBundle,
    conclusion: &Conclusion,
) -> RequestEntry {
    let holdout = conclusion.classification.reason == Reason::Holdout;
    let (features, verdict) = match &conclusion.features {
        Some(features) => (
            features.clone(),
            Verdict::of(&conclusion.classification, holdout),
        ),
        None => {
            let features = compute(state, request.now_ms, config, loaded.bundle().page_stats());
            let would_get = loaded.classify(&features);
            (features, Verdict::of(&would_get, holdout))
        }
    };
    let mut entry = RequestEntry::new(
        request.now_ms,
        &request.method,
        &request.path,
        page_type,
        &features,
        verdict,
    );
    entry.order = config.records.is_order(&request.path);
    entry
}

/// What a trail entry records of its request; the worker sends it to the session object,
/// which writes the entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrailRequest {
    pub now_ms: i64,
    pub method: String,
    /// The path; the entry never keeps a query string.
    pub path: String,
}

impl From<&RequestInfo> for TrailRequest {
    fn from(request: &RequestInfo) -> Self {
        TrailRequest {
            now_ms: request.now_ms,
            method: request.method.clone(),
            path: request.path.clone(),
        }
    }
}

/// One visitor's recorded requests and beacons, replayed through [`prepare`] and
/// [`record`] into a state of its own (no consent headers, no holdout).
#[derive(Debug, Clone)]
pub struct Replay<'a> {
    config: &'a StoreConfig,
    stats: &'a PageStats,
    state: SessionState,
    now_ms: i64,
}

impl<'a> Replay<'a> {
    pub fn new(config: &'a StoreConfig, stats: &'a PageStats) -> Self {
        Replay {
            config,
            stats,
            state: SessionState::default(),
            now_ms: 0,
        }
    }

    /// A visitor the store has seen on `visits` earlier visits.
    pub fn returning(mut self, visits: u32) -> Self {
        self.state.previous_visits = visits;
        self
    }

    /// Replays one request; `false` when the worker would leave it untracked.
    pub fn request(&mut self, request: &RequestInfo) -> bool {
        self.now_ms = request.now_ms;
        match prepare(request, None, None, self.config) {
            Prepared::Track(events) => {
                record(
                    &mut self.state,
                    &events,
                    request.now_ms,
                    self.config,
                    self.stats,
                );
                true
            }
            Prepared::ConsentWithheld | Prepared::Untracked(_) => false,
        }
    }

    /// Replays one beacon batch, refused as the worker would refuse it.
    pub fn beacon(&mut self, body: &[u8], now_ms: i64) -> Result<(), BeaconError> {
        self.now_ms = now_ms;
        let events = beacon_events(&mut self.state, body, now_ms, self.config)?;
        record(&mut self.state, &events, now_ms, self.config, self.stats);
        Ok(())
    }

    /// The features as of the latest request or beacon.
    pub fn features(&self) -> Features {
        compute(&self.state, self.now_ms, self.config, self.stats)
    }

    /// The classification the worker would attach now.
    pub fn conclude(&self, loaded: &LoadedBundle) -> Conclusion {
        conclude(
            &self.state,
            self.now_ms,
            self.config,
            loaded,
            false,
            &Traits::default(),
        )
    }

    pub fn state(&self) -> &SessionState {
        &self.state
    }
}
