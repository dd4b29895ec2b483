//! The request handler, and the worker's single place of fail-open: whatever fails while
//! deciding what to say about a request (config, session storage, model), the request
//! still goes to the origin, with `edgeseg-reason: ERROR` and the failure logged and
//! counted for health. Only an unreachable origin makes the worker answer by itself.

use std::rc::Rc;

use futures_util::FutureExt;
use worker::{Context, Date, Env, Method, Request, Url};

use crate::core::classify::{Classification, LoadedBundle, Reason};
use crate::core::features::Features;
use crate::core::flow;
use crate::core::headers::{self, owned, render};
use crate::core::identity::{
    customer_clear_cookie, customer_set_cookie, in_holdout, is_logout, proven_customer_key,
    session_id, SessionId, SESSION_COOKIE,
};
use crate::core::records::{settings::parse_order_value, RequestEntry};
use crate::core::signals::{RequestInfo, Untracked};
use crate::core::stats::Observation;
use crate::core::traits::Traits;

use super::error::{Code, Error};
use super::session_protocol::{ApplyRequest, Decided};
use super::settings::{self, Settings};
use super::{
    admin, beacon, dashboard, failures, health, models, proxy, respond, sessions, stats, traits,
    vars,
};

/// Small url-encoded form bodies (cart forms) are read for their product field.
const FORM_READ_LIMIT: usize = 4096;

/// What the worker says about one request.
#[derive(Default)]
struct Decision {
    /// `edgeseg-*` headers for the origin and the client; empty for untracked requests.
    headers: Vec<(String, String)>,
    set_cookies: Vec<String>,
    /// Present when the shopper consented and the config loaded: the response may teach
    /// us a customer id, or log the customer out.
    may_store: Option<Rc<Settings>>,
    /// The request logs the customer out (a configured logout path).
    logout: bool,
    /// What the live aggregates count; absent for untracked requests.
    counted: Option<Counted>,
    /// An order page's trail entry, for its object, waiting for the order's value in
    /// the origin's response.
    awaiting_response: Option<(String, RequestEntry)>,
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
            headers: owned(render(classification)),
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
            headers: owned(render(&Classification::bare(Reason::Untracked(why)))),
            ..Decision::default()
        }
    }

    /// What the session object `object` decided. Its inputs are binned for drift with
    /// this isolate's copy of the classifying bundle: with `bundle` when that is the
    /// version the object classified with (an object in another isolate may still be on
    /// another version for a moment; its row is then counted without the histograms).
    fn decided(object: String, decided: Decided, bundle: Rc<LoadedBundle>) -> Self {
        let version = decided.classification.model_version.as_deref();
        let same = version == Some(bundle.bundle().manifest().version.as_str());
        Decision {
            headers: decided.headers,
            counted: Some(Counted {
                classification: decided.classification,
                features: decided.features,
                bundle: same.then_some(bundle),
            }),
            awaiting_response: decided.awaiting_response.map(|entry| (object, entry)),
            ..Decision::default()
        }
    }

    /// An order page's trail entry, completed with the order's value from the origin's
    /// response, for its object.
    fn order_entry(&mut self, response: &web_sys::Response) -> Option<(String, RequestEntry)> {
        let (object, mut entry) = self.awaiting_response.take()?;
        let header = self
            .may_store
            .as_deref()
            .and_then(|s| s.config.records.order_value_header.as_deref());
        if let Some(name) = header {
            entry.order_value = response
                .headers()
                .get(name)
                .ok()
                .flatten()
                .and_then(|raw| parse_order_value(raw.trim()));
        }
        Some((object, entry))
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

async fn request_info(req: &Request, url: &Url) -> RequestInfo {
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
        host: url.host_str().unwrap_or_default().to_string(),
        path: url.path().to_string(),
        query: url.query().unwrap_or_default().to_string(),
        form,
        referrer: header(req, "referer"),
        user_agent: header(req, "user-agent"),
        continent: req.cf().and_then(|cf| cf.continent()),
        now_ms: Date::now().as_millis() as i64,
    }
}

/// Consent and session here, then one Durable Object round trip in which the session's
/// object counts the request and classifies it (features, model and rules): the steps
/// of `core::flow`, with the I/O between them.
async fn decide(req: &Request, url: &Url, env: &Env) -> Result<Decision, Error> {
    let settings = settings::load(env).await?;
    let config = &settings.config;
    let cookie = header(req, "cookie");
    let info = request_info(req, url).await;
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
    // The session object classifies with its own copy of the bundle; this one names the
    // traits to read and the drift reference to count against.
    let bundle = models::for_session(&session)?;
    let holdout = in_holdout(&session, config);
    let traits = match (&object.customer_key, holdout) {
        (Some(customer), false) => customer_traits(env, customer, &bundle).await,
        _ => Traits::default(),
    };
    let apply = ApplyRequest {
        now_ms: info.now_ms,
        events,
        customer: object.customer_key.is_some(),
        absorb: object.absorb,
        session: session.as_str().to_string(),
        holdout,
        traits,
        request: (&info).into(),
    };
    let decided = sessions::apply(env, &object.name, &apply).await?;
    let mut decision = Decision::decided(object.name, decided, bundle);
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
    // Parsed once here for the whole request: routing, the request's signals, the
    // origin's URL.
    let url = match req.url() {
        Ok(url) => url,
        Err(e) => {
            let e = Code::OriginUnreachable.because(format!("request url: {e}"));
            failures::record(&e);
            return respond::error(&e);
        }
    };
    if url.path().starts_with("/__edgeseg/") {
        // A boxed future behind dynamic dispatch, which the compiler cannot inline here:
        // V8 compiles the worker's own endpoints (admin, dashboard, health, beacon) when
        // one is first called, not with the first page.
        return route_internal(req, &env).boxed_local().await;
    }
    let vars = vars::of(&env);
    let origin = match &vars.origin {
        Ok(origin) => origin,
        Err(e) => {
            failures::record(e);
            return respond::error(e);
        }
    };
    let started_ms = Date::now().as_millis();
    let mut decision = match decide(&req, &url, &env).await {
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
    let forwarded = async {
        let target = proxy::upstream_url(origin, &url);
        let mut upstream = decision.headers.clone();
        if let (Some(key), false) = (&vars.header_key, decision.headers.is_empty()) {
            // For the origin only: the client never sees the signature.
            let signature = headers::sign(
                key,
                &raw.method(),
                target.path(),
                now_ms / 1000,
                &decision.headers,
            );
            upstream.push((headers::SIGNATURE.to_string(), signature));
        }
        let headers = proxy::upstream_headers(&raw.headers(), &upstream)?;
        proxy::forward(raw, &target, &headers).await
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
    if let Some((object, entry)) = decision.order_entry(&response) {
        ctx.wait_until(sessions::remember(env, object, entry));
    }
    response
}
