//! The per-session (or per-customer) Durable Object: the one strongly consistent home of
//! a session's aggregates, and where a request is classified: the object counts the
//! request's events, runs the model and the rules on the updated state and keeps the
//! decision record and trail entry in the same write, so a request costs one round trip
//! and one `put`. Each operation that changes state holds the object's lock from its
//! read to its write, so concurrent requests never lose an update, even across the one
//! await that leaves the object (a customer object taking a session's state at login:
//! the platform lets other requests in while it waits for another object). Alarms
//! enforce retention: a visit's detail is erased after the session timeout, the whole
//! profile after the customer timeout.

use std::cell::{Cell, RefCell};

use futures_util::lock::Mutex;
use futures_util::FutureExt;
use worker::wasm_bindgen::JsValue;
use worker::{
    console_warn, durable_object, js_sys, Date, DurableObject, Env, Request, Response, Result,
    ScheduledTime, State,
};

use crate::core::decision_log::DecisionRecord;
use crate::core::flow::{self, Conclusion};
use crate::core::headers::{owned, render, render_with_id};
use crate::core::identity::SessionId;
use crate::core::records::RequestEntry;
use crate::core::session::{SessionState, Stored};

use super::decisions::{self, KEY_PARAM};
use super::error::Code;
use super::session_logs::{SessionLogs, TrailEntry};
use super::session_protocol::{ApplyRequest, Decided, Operation};
use super::settings::{self, Settings};
use super::{failures, models, records, sessions};

const STATE_KEY: &str = "state";
const ABSORBED_KEY: &str = "absorbed";
/// How soon the alarm tries again after a record could not be written.
const RECORD_RETRY_MS: i64 = 60_000;
/// How many joined sessions a customer object remembers (to merge each only once).
const ABSORBED_CAP: usize = 64;

/// How far the retention alarm may be from its exact time before it is re-armed: an
/// alarm that fires early finds the visit still active and re-arms itself.
const ALARM_SLACK_MS: i64 = 60_000;

/// An alarm time from Unix ms: workers-rs reads a bare `i64` as an offset from now, so
/// an absolute time passed as one lands decades away and the alarm never fires.
fn at(unix_ms: i64) -> ScheduledTime {
    ScheduledTime::new(js_sys::Date::new(&JsValue::from_f64(unix_ms as f64)))
}

#[durable_object]
pub struct SessionStore {
    state: State,
    env: Env,
    /// The stored state, kept in memory while the object is alive: the object is the
    /// only writer (single-threaded, write-through), so a request need not read storage.
    cached: RefCell<Option<SessionState>>,
    /// When the retention alarm is set for, as far as this instance knows.
    alarm_at: Cell<Option<i64>>,
    /// The decision log and the visit's trail, erased with the rest.
    logs: SessionLogs,
    /// Held by every operation that changes state, from its read to its write: one at a
    /// time, in arrival order.
    turn: Mutex<()>,
}

impl SessionStore {
    async fn settings(&self) -> Result<std::rc::Rc<Settings>> {
        Ok(settings::load(&self.env).await?)
    }

    async fn load(&self) -> Result<SessionState> {
        if let Some(state) = self.cached.borrow().as_ref() {
            return Ok(state.clone());
        }
        let stored: Option<String> = self.state.storage().get(STATE_KEY).await?;
        let (state, how) = SessionState::from_stored(stored.as_deref().map(str::as_bytes));
        if let Stored::Reset(reason) = how {
            console_warn!("edgeseg: stored session state reset: {reason}");
        }
        Ok(state)
    }

    async fn erase(&self) -> Result<()> {
        self.cached.replace(None);
        self.alarm_at.set(None);
        self.logs.clear();
        self.state.storage().delete_all().await
    }

    /// Saves the state and sets the alarm for the next retention step.
    async fn save(&self, state: &SessionState, settings: &Settings) -> Result<()> {
        self.state.storage().put(STATE_KEY, state.to_stored()).await?;
        self.saved(state, settings).await
    }

    /// After the state was written: caches it and sets the alarm for the next retention
    /// step.
    async fn saved(&self, state: &SessionState, settings: &Settings) -> Result<()> {
        let storage = self.state.storage();
        self.cached.replace(Some(state.clone()));
        let ttl = &settings.config.ttl;
        // A visit the alarm has not ended needs the alarm at its end, even when that has
        // passed (the object ran late): the alarm then fires at once, ends the visit and
        // writes its record. The profile's expiry comes after that.
        let due = if state.visit_open() {
            state.last_seen_ms + ttl.session_ms() + 1_000
        } else {
            state.last_seen_ms + ttl.customer_ms() + 1_000
        }
        .max(0);
        let close_enough = self
            .alarm_at
            .get()
            .is_some_and(|at| at <= due && due - at < ALARM_SLACK_MS);
        if !close_enough {
            storage.set_alarm(at(due)).await?;
            self.alarm_at.set(Some(due));
        }
        Ok(())
    }

    /// Counts a request's events, classifies the updated state with the session's
    /// bundle, and keeps the state, the decision record and the trail entry in one write.
    async fn apply(&self, mut req: Request) -> Result<Response> {
        let apply: ApplyRequest = serde_json::from_str(&req.text().await?)?;
        let settings = self.settings().await?;
        let config = &settings.config;
        let session = SessionId::parse(&apply.session)
            .ok_or_else(|| Code::SessionId.because("the worker sent no valid session id"))?;
        let bundle = models::for_session(&session)?;
        let mut state = self.load().await?;
        state.forget_if_expired(apply.now_ms, config);
        if let Some(session) = apply.absorb.as_deref() {
            self.absorb(&mut state, session, &settings).await?;
        }
        if apply.customer {
            state.mark_customer();
        }
        let now_ms = apply.now_ms;
        flow::record(&mut state, &apply.events, now_ms, config, bundle.bundle().page_stats());
        let conclusion =
            flow::conclude(&state, now_ms, config, &bundle, apply.holdout, &apply.traits);
        let entry = records::enabled(&self.env).then(|| {
            let page_type = flow::page_type(&apply.events);
            flow::training_entry(&apply.request, page_type, &state, config, &bundle, &conclusion)
        });
        // An order's entry waits for the origin's response when that names its value.
        let awaits_value = |e: &RequestEntry| e.order && config.records.order_value_header.is_some();
        let (awaiting_response, entry) = match entry {
            Some(entry) if awaits_value(&entry) => (Some(entry), None),
            entry => (None, entry),
        };
        let (headers, record) = self.headers_and_record(&conclusion, now_ms);
        let trail = entry.as_ref().map(|entry| TrailEntry {
            entry,
            visit_start_ms: state.visit_start_ms,
            cap: config.records.max_requests,
        });
        let state_write = vec![(STATE_KEY.to_string(), state.to_stored())];
        let storage = self.state.storage();
        self.logs
            .keep(&storage, state_write, record.as_ref(), trail)
            .await?;
        self.saved(&state, &settings).await?;
        Response::from_json(&Decided {
            classification: conclusion.classification,
            features: conclusion.features,
            headers,
            awaiting_response,
        })
    }

    /// The headers of a conclusion and, when something was classified, its decision
    /// record, whose id the headers then carry (without an id only the record is lost).
    fn headers_and_record(
        &self,
        conclusion: &Conclusion,
        now_ms: i64,
    ) -> (Vec<(String, String)>, Option<DecisionRecord>) {
        let classification = &conclusion.classification;
        let Some(features) = &conclusion.features else {
            return (owned(render(classification)), None);
        };
        match decisions::new_id(&self.state.id().to_string()) {
            Ok(id) => {
                let headers = render_with_id(classification, &id.to_string());
                let record = DecisionRecord::new(&id, now_ms, classification, features, &headers);
                (owned(headers), Some(record))
            }
            Err(e) => {
                failures::record(&e);
                (owned(render(classification)), None)
            }
        }
    }

    /// Merges a session object's state into this (customer) object, once per session.
    /// Runs under the object's lock, so the `absorbed` list, the take and the merge are
    /// one step; a retried take finds the session already erased and adds nothing.
    async fn absorb(
        &self,
        state: &mut SessionState,
        session: &str,
        settings: &Settings,
    ) -> Result<()> {
        let storage = self.state.storage();
        let mut absorbed: Vec<String> = storage.get(ABSORBED_KEY).await?.unwrap_or_default();
        if absorbed.iter().any(|s| s == session) {
            return Ok(());
        }
        let text = match sessions::call(&self.env, session, Operation::Take, None).await? {
            (200, text) => text,
            (status, text) => {
                let why = format!("taking {session} answered {status}: {text}");
                return Err(Code::StorageError.because(why).into());
            }
        };
        if !text.is_empty() {
            let (other, _) = SessionState::from_stored(Some(text.as_bytes()));
            state.merge(&other, &settings.config);
        }
        absorbed.push(session.to_string());
        if absorbed.len() > ABSORBED_CAP {
            absorbed.remove(0);
        }
        storage.put(ABSORBED_KEY, &absorbed).await
    }

    async fn beacon(&self, mut req: Request) -> Result<Response> {
        let settings = self.settings().await?;
        let config = &settings.config;
        let body = req.bytes().await?;
        let now_ms = Date::now().as_millis() as i64;
        let mut state = self.load().await?;
        match flow::beacon_events(&mut state, &body, now_ms, config) {
            Ok(events) => {
                // Beacon events carry no page stats (dwell, scroll, compare, ...).
                let stats = models::embedded_page_stats();
                flow::record(&mut state, &events, now_ms, config, &stats);
                self.save(&state, &settings).await?;
                self.note_beacon(&state, now_ms, &settings).await?;
                Ok(Response::empty()?.with_status(202))
            }
            Err(e) => Ok(Response::from_bytes(e.body().into_bytes())?.with_status(e.status())),
        }
    }

    /// Hands the state over (to a customer object) and forgets it here.
    async fn take(&self) -> Result<Response> {
        let stored = self.load().await?;
        self.erase().await?;
        Response::ok(if stored.is_empty() {
            String::new()
        } else {
            stored.to_stored()
        })
    }

    /// Keeps a trail entry that waited for the origin's response (an order's value).
    async fn remember(&self, mut req: Request) -> Result<Response> {
        let entry: RequestEntry = serde_json::from_str(&req.text().await?)?;
        let state = self.load().await?;
        // A taken (login) or erased state has no visit to join, and an object without
        // state sets no alarm that would ever write the trail. An entry that arrives
        // after the alarm ended its visit (and wrote the record) would start a trail no
        // alarm closes: it is dropped.
        if !state.is_empty() && state.visit_open() {
            let trail = TrailEntry {
                entry: &entry,
                visit_start_ms: state.visit_start_ms,
                cap: self.settings().await?.config.records.max_requests,
            };
            let storage = self.state.storage();
            self.logs.keep(&storage, Vec::new(), None, Some(trail)).await?;
        }
        Response::empty().map(|r| r.with_status(204))
    }

    /// The decision record whose id ends in `.{key}` (the `key` query parameter), or 404.
    async fn recall(&self, req: &Request) -> Result<Response> {
        let key = req
            .url()?
            .query_pairs()
            .find(|(k, _)| k == KEY_PARAM)
            .map(|(_, v)| v.into_owned());
        let Some(key) = key else {
            return Response::error("key is required", 400);
        };
        match self.logs.recall(&self.state.storage(), &key).await? {
            Some(record) => Response::ok(record),
            None => Response::error("no such decision", 404),
        }
    }

    /// Notes a beacon's arrival in the trail: a replay of the record needs its time.
    async fn note_beacon(&self, state: &SessionState, now_ms: i64, settings: &Settings) -> Result<()> {
        if !records::enabled(&self.env) {
            return Ok(());
        }
        let cap = settings.config.records.max_requests;
        let storage = self.state.storage();
        self.logs
            .add_beacon(&storage, state.visit_start_ms, now_ms, cap)
            .await
    }

    /// At the alarm: closes the trail of a visit that has ended and writes every
    /// unwritten record; `false` when one could not be written (kept for a retry). A
    /// record's key is fixed by its visit, so writing it twice leaves one object.
    async fn write_records(
        &self,
        state: &SessionState,
        now_ms: i64,
        settings: &Settings,
    ) -> Result<bool> {
        let storage = self.state.storage();
        if !state.visit_active(now_ms, &settings.config) {
            self.logs.close_trail(&storage).await?;
        }
        let unwritten = self.logs.unwritten(&storage).await?;
        if unwritten.is_empty() {
            return Ok(true);
        }
        let object = self.state.id().to_string();
        let mut failed = Vec::new();
        for record in unwritten {
            if let Err(e) = records::write(&self.env, &object, &record).await {
                failures::record(&e);
                failed.push(record);
            }
        }
        self.logs.set_unwritten(&storage, &failed).await?;
        Ok(failed.is_empty())
    }

    async fn read(&self) -> Result<Response> {
        let state = self.load().await?;
        if state.is_empty() {
            return Response::error("no state", 404);
        }
        Response::ok(state.to_stored())
    }
}

impl DurableObject for SessionStore {
    fn new(state: State, env: Env) -> Self {
        SessionStore {
            state,
            env,
            cached: RefCell::new(None),
            alarm_at: Cell::new(None),
            logs: SessionLogs::default(),
            turn: Mutex::new(()),
        }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        let _turn = self.turn.lock().await;
        let (method, path) = (req.method(), req.path());
        // Each operation a boxed future behind dynamic dispatch, which the compiler cannot
        // inline here: V8 compiles an operation when it is first asked for, not all of
        // them with the first.
        match Operation::of(&method, &path) {
            Some(Operation::Apply) => {
                // This object classifies, so its isolate keeps its channel's bundles
                // fresh as the worker's does (one registry when they share an isolate),
                // and a swap step waits while it serves.
                let _serving = models::Serving::begin();
                if models::refresh_due(&self.env) {
                    self.state.wait_until(models::refresh(self.env.clone()));
                }
                self.apply(req).boxed_local().await
            }
            Some(Operation::Beacon) => self.beacon(req).boxed_local().await,
            Some(Operation::Take) => self.take().boxed_local().await,
            Some(Operation::Read) => self.read().boxed_local().await,
            Some(Operation::Erase) => {
                self.erase().boxed_local().await?;
                Response::ok("erased")
            }
            Some(Operation::Ping) => Response::ok("pong"),
            Some(Operation::Remember) => self.remember(req).boxed_local().await,
            Some(Operation::Recall) => self.recall(&req).boxed_local().await,
            None => Response::error(format!("no session operation {method:?} {path}"), 404),
        }
    }

    async fn alarm(&self) -> Result<Response> {
        let _turn = self.turn.lock().await;
        let settings = self.settings().await?;
        let now_ms = Date::now().as_millis() as i64;
        let mut state = self.load().await?;
        // The alarm that fired is spent.
        self.alarm_at.set(None);
        if !self.write_records(&state, now_ms, &settings).await? {
            // Nothing is erased before its record is written: try again shortly.
            let retry = now_ms + RECORD_RETRY_MS;
            self.state.storage().set_alarm(at(retry)).await?;
            self.alarm_at.set(Some(retry));
            return Response::ok("records pending");
        }
        if state.forget_if_expired(now_ms, &settings.config) || state.is_empty() {
            self.erase().await?;
            return Response::ok("deleted");
        }
        state.end_idle_visit(now_ms, &settings.config);
        self.save(&state, &settings).await?;
        Response::ok("visit closed")
    }
}
