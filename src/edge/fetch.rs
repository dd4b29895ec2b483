//! The request handler, and the worker's single place of fail-open: whatever fails while
//! deciding what to say about a request (config, session storage, model), the request
//! still goes to the origin, with `edgeseg-reason: ERROR` and the failure logged and
//! counted for health. Only an unreachable origin makes the worker answer by itself.

use std::rc::Rc;

use futures_util::FutureExt;
use worker::{Context, Date, Env, Method, Request};

use crate::core::classify::{Classification, LoadedBundle, Reason};
use crate::core::decision_log::DecisionRecord;
use crate::core::features::Features;
use crate::core::flow;
use crate::core::headers::{self, render, render_with_id};
use crate::core::records::{settings::parse_order_value, RequestEntry};
use crate::core::identity::{
    customer_clear_cookie, customer_set_cookie, in_holdout, is_logout,
    proven_customer_key, session_id, SessionId, SESSION_COOKIE,
};
use crate::core::signals::{RequestInfo, Untracked};
use crate::core::stats::Observation;
use crate::core::traits::Traits;

use super::error::{Code, Error};
use super::session_protocol::Remembered;
use super::settings::{self, Settings};
use super::{
    admin, beacon, dashboard, decisions, failures, health, models, proxy, records, respond, sessions,
    stats, traits,
};

/// Small url-encoded form bodies (cart forms) are read for their product field.
const FORM_READ_LIMIT: usize = 4096;

/// What the worker says about one request.
#[derive(Default)]
struct Decision {
    /// `edgeseg-*` headers for the origin and the client; empty for untracked requests.
    headers: Vec<(&'static str, String)>,
    set_cookies: Vec<String>,
    /// Present when the shopper consented and the config loaded: the response may teach
    /// us a customer id, or log the customer out.
    may_store: Option<Rc<Settings>>,
    /// The request logs the customer out (a configured logout path).
    logout: bool,
    /// What the live aggregates count; absent for untracked requests.
    counted: Option<Counted>,
    /// The decision record to keep in the session object after the response.
    record: Option<(String, DecisionRecord)>,
    /// The training-record entry to add to the visit's trail after the response.
    trail: Option<(String, RequestEntry)>,
}

/// A tracked request as the live aggregates see it.
struct Counted {
    classification: Classification,
    /// The feature row, when something was classified.
    features: Option<Features>,
    bundle: Option<Rc<LoadedBundle>>,
}

impl Decision {
    fn said(classification: &Classification) -> Self {
        Decision {
            headers: render(classification),
            counted: Some(Counted {
                classification: classification.clone(),
                features: None,
                bundle: None,
            }),
            ..Decision::default()
        }
    }

    /// A request deliberately left alone: the origin learns why; nothing is counted.
    fn untracked(why: Untracked) -> Self {
        Decision {
            headers: render(&Classification::bare(Reason::Untracked(why))),
            ..Decision::default()
        }
    }

    /// A classified request: its headers carry a classification id whose record is kept
    /// (without an id, only the record is lost).
    fn classified(
        env: &Env,
        object: String,
        now_ms: i64,
        classification: Classification,
        features: Features,
        bundle: Rc<LoadedBundle>,
    ) -> Self {
        let mut decision = Decision::said(&classification);
        if let Ok(id) = decisions::new_id(env, &object) {
            decision.headers = render_with_id(&classification, &id.to_string());
            let record =
                DecisionRecord::new(&id, now_ms, &classification, &features, &decision.headers);
            decision.record = Some((object, record));
        }
        decision.counted = Some(Counted {
            classification,
            features: Some(features),
            bundle: Some(bundle),
        });
        decision
    }

    /// What the session object keeps of this request after the response: the decision
    /// record and the trail entry (with the order value the response names), both for
    /// the same object, in one round trip.
    fn remembered(self, response: &web_sys::Response) -> Option<(String, Remembered)> {
        let settings = self.may_store.as_deref();
        let (from_record, decision) = self.record.unzip();
        let (from_trail, entry) = self
            .trail
            .map(|(o, e)| (o, with_order_value(e, response, settings)))
            .unzip();
        let object = from_record.or(from_trail)?;
        Some((object, Remembered { decision, entry }))
    }

    /// Counts the request in this isolate's live aggregates (no I/O).
    fn count(&self, pipeline_ms: f64) {
        let Some(counted) = &self.counted else {
            return;
        };
        let version = counted.classification.model_version.as_deref();
        let canary = models::canary_version().is_some_and(|v| Some(v.as_str()) == version);
        stats::record(&Observation {
            classification: &counted.classification,
            features: counted.features.as_ref(),
            reference: counted
                .bundle
                .as_ref()
                .and_then(|b| b.bundle().manifest().drift.as_ref()),
            canary,
            pipeline_ms,
        });
    }
}

fn header(req: &Request, name: &str) -> Option<String> {
    req.headers().get(name).ok().flatten()
}

async fn request_info(req: &Request) -> RequestInfo {
    let url = req.url().ok();
    let content_type = header(req, "content-type").unwrap_or_default();
    let small_form = req.method() == Method::Post
        && content_type.starts_with("application/x-www-form-urlencoded")
        && header(req, "content-length")
            .and_then(|v| v.trim().parse::<usize>().ok())
            .is_some_and(|n| n <= FORM_READ_LIMIT);
    // A clone tees the body: the origin still gets the original stream.
    let form = match small_form {
        true => match req.clone() {
            Ok(mut copy) => copy.text().await.ok(),
            Err(_) => None,
        },
        false => None,
    };
    RequestInfo {
        method: req.method().to_string(),
        host: url
            .as_ref()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_default(),
        path: url
            .as_ref()
            .map(|u| u.path().to_string())
            .unwrap_or_default(),
        query: url
            .as_ref()
            .and_then(|u| u.query().map(str::to_string))
            .unwrap_or_default(),
        form,
        referrer: header(req, "referer"),
        user_agent: header(req, "user-agent"),
        continent: req.cf().and_then(|cf| cf.continent()),
        now_ms: Date::now().as_millis() as i64,
    }
}

/// Consent, session, one Durable Object round trip, features, model and rules: the
/// steps of `core::flow`, with the I/O between them.
async fn decide(req: &Request, env: &Env) -> Result<Decision, Error> {
    let settings = settings::load(env).await?;
    let config = &settings.config;
    let cookie = header(req, "cookie");
    let info = request_info(req).await;
    let events = match flow::prepare(&info, header(req, "sec-gpc").as_deref(), cookie.as_deref(), config) {
        flow::Prepared::Track(events) => events,
        flow::Prepared::ConsentWithheld => {
            return Ok(Decision::said(&Classification::bare(Reason::ConsentWithheld)))
        }
        // Bots, assets, HEAD: nothing to count; the origin still learns why.
        flow::Prepared::Untracked(why) => return Ok(Decision::untracked(why)),
    };
    let (session, is_new) =
        session_id(cookie.as_deref(), &settings.keys).map_err(|e| Code::SessionId.because(e))?;
    let object = sessions::object_for(&session, cookie.as_deref(), &settings, info.now_ms);
    let object_name = object.name.clone();
    let customer = object.customer_key.clone();
    let bundle = models::for_session(&session)?;
    let stats = bundle.bundle().page_stats();
    let page_type = flow::page_type(&events);
    let state = sessions::apply(env, object, events, info.now_ms, stats).await?;

    let holdout = in_holdout(&session, config);
    let traits = match (&customer, holdout) {
        (Some(customer), false) => customer_traits(env, customer, &bundle).await,
        _ => Traits::default(),
    };
    let conclusion = flow::conclude(&state, info.now_ms, config, &bundle, holdout, &traits);
    let trail = records::enabled(env).then(|| {
        let entry = flow::training_entry(&info, page_type, &state, config, &bundle, &conclusion);
        (object_name.clone(), entry)
    });
    let mut decision = match conclusion {
        flow::Conclusion {
            features: Some(features),
            classification,
        } => Decision::classified(env, object_name, info.now_ms, classification, features, bundle),
        flow::Conclusion { classification, .. } => Decision::said(&classification),
    };
    decision.trail = trail;
    if is_new {
        decision
            .set_cookies
            .push(session.set_cookie(config, &settings.keys));
    }
    decision.logout = is_logout(&info.path, None, config);
    decision.may_store = Some(Rc::clone(&settings));
    Ok(decision)
}

/// A logged-in customer's traits as the bundle's rules declare them. Failing to read
/// them costs the request its traits (logged, counted), never its classification.
async fn customer_traits(env: &Env, customer: &str, bundle: &LoadedBundle) -> Traits {
    let Some(rules) = bundle.bundle().rules() else {
        return Traits::default();
    };
    traits::for_customer(env, customer, rules.traits())
        .await
        .unwrap_or_else(|e| {
            failures::record(&e);
            Traits::default()
        })
}

/// What the origin's response teaches about the customer, as `Set-Cookie` values: a
/// logout (the request's path, or the origin's logout header) clears the worker's
/// customer cookie and starts a new session, so the next person on the device is not
/// joined; a customer named in the origin's header is remembered in a signed cookie.
fn customer_cookies(
    response: &web_sys::Response,
    settings: &Settings,
    logout_path: bool,
    now_ms: i64,
) -> Vec<String> {
    let customer = &settings.config.customer;
    let header =
        |name: Option<&str>| name.and_then(|name| response.headers().get(name).ok().flatten());
    let logout_header = header(customer.logout_header.as_deref());
    if logout_path || is_logout("", logout_header.as_deref(), &settings.config) {
        let mut cookies = vec![customer_clear_cookie()];
        match SessionId::generate() {
            Ok(fresh) => cookies.push(fresh.set_cookie(&settings.config, &settings.keys)),
            Err(e) => failures::record(&Code::SessionId.because(e)),
        }
        return cookies;
    }
    header(customer.origin_header.as_deref())
        .and_then(|raw| proven_customer_key(&raw, &settings.keys))
        .map(|key| customer_set_cookie(&key, &settings.config, &settings.keys, now_ms))
        .into_iter()
        .collect()
}

/// The worker's own paths, under `/__edgeseg/`; never forwarded.
async fn route_internal(req: Request, env: &Env) -> web_sys::Response {
    let path = req.path();
    match (req.method(), path.as_str()) {
        (_, "/__edgeseg/health") => health::respond(&req, env).await,
        (Method::Get, "/__edgeseg/beacon.js") => beacon::script(),
        (Method::Post, "/__edgeseg/events") => match settings::load(env).await {
            Ok(settings) => beacon::receive(req, env, &settings).await,
            Err(e) => {
                failures::record(&e);
                // The detail stays in the log: the client learns only that it is broken.
                respond::error(&e.code().because("the store configuration is broken"))
            }
        },
        (_, p) if p.starts_with("/__edgeseg/admin/") => admin::handle(req, env).await,
        (_, dashboard::PAGE_PATH | dashboard::LOGIN_PATH) => dashboard::handle(req, env).await,
        (method, p) => {
            respond::error(&Code::NotFound.because(format!("no edgeseg endpoint {method:?} {p}")))
        }
    }
}

pub async fn handle(req: Request, env: Env, ctx: Context) -> web_sys::Response {
    let _serving = models::Serving::begin();
    if models::refresh_due(&env) {
        // In the background: no request waits for a new bundle to be fetched and built.
        ctx.wait_until(models::refresh(env.clone()));
    }
    if req.path().starts_with("/__edgeseg/") {
        // A boxed future behind dynamic dispatch, which the compiler cannot inline here:
        // V8 compiles the worker's own endpoints (admin, dashboard, health, beacon) when
        // one is first called, not with the first page.
        return route_internal(req, &env).boxed_local().await;
    }
    let origin = match settings::origin(&env) {
        Ok(origin) => origin,
        Err(e) => {
            failures::record(&e);
            return respond::error(&e);
        }
    };
    let started_ms = Date::now().as_millis();
    let decision = match decide(&req, &env).await {
        Ok(decision) => decision,
        Err(e) => {
            failures::record(&e);
            let mut said = Classification::bare(Reason::Error);
            said.error = Some(e.code().token().to_string());
            Decision::said(&said)
        }
    };
    decision.count(Date::now().as_millis().saturating_sub(started_ms) as f64);

    let raw = req.inner();
    let now_ms = Date::now().as_millis() as i64;
    let header_key = settings::header_key(&env);
    let forwarded = async {
        let url = proxy::upstream_url(&origin, &raw.url())?;
        let mut upstream = decision.headers.clone();
        if let (Some(key), false) = (&header_key, decision.headers.is_empty()) {
            // For the origin only: the client never sees the signature.
            let signature = headers::sign(
                key,
                &raw.method(),
                url.path(),
                now_ms / 1000,
                &decision.headers,
            );
            upstream.push((headers::SIGNATURE, signature));
        }
        let headers = proxy::upstream_headers(&raw.headers(), &upstream)?;
        proxy::forward(raw, &url, &headers).await
    };
    let response = match forwarded.await {
        Ok(response) => response,
        Err(e) => {
            let e = e.recoded(Code::OriginUnreachable);
            failures::record(&e);
            return respond::error(&e);
        }
    };
    if response.status() == 101 {
        return response;
    }
    let headers = response.headers();
    for (name, value) in &decision.headers {
        let _ = headers.set(name, value);
    }
    let learned = decision
        .may_store
        .as_deref()
        .map(|settings| customer_cookies(&response, settings, decision.logout, now_ms))
        .unwrap_or_default();
    // A logout's fresh session replaces the one just issued, if any.
    let is_session = |c: &&String| {
        c.strip_prefix(SESSION_COOKIE)
            .is_some_and(|r| r.starts_with('='))
    };
    let replaces_session = learned.iter().any(|c| is_session(&c));
    let issued = decision
        .set_cookies
        .iter()
        .filter(|c| !(replaces_session && is_session(c)));
    for cookie in issued.chain(learned.iter()) {
        let _ = headers.append("set-cookie", cookie);
    }
    // After the response: the shopper waits for neither.
    stats::flush_in_background(&env, &ctx);
    if let Some((object, remembered)) = decision.remembered(&response) {
        ctx.wait_until(sessions::remember(env, object, remembered));
    }
    response
}

/// An order-confirmation entry takes the order's value from the origin's header, if
/// the store configured one and the value is a plain number.
fn with_order_value(
    mut entry: RequestEntry,
    response: &web_sys::Response,
    settings: Option<&Settings>,
) -> RequestEntry {
    let header = settings.and_then(|s| s.config.records.order_value_header.as_deref());
    if let (true, Some(name)) = (entry.order, header) {
        entry.order_value = response
            .headers()
            .get(name)
            .ok()
            .flatten()
            .and_then(|raw| parse_order_value(raw.trim()));
    }
    entry
}
