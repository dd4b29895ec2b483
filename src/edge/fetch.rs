//! The request handler, and the worker's single place of fail-open: whatever fails while
//! deciding what to say about a request (config, session storage, model), the request
//! still goes to the origin, with `edgeseg-reason: ERROR` and the failure logged and
//! counted for health. Only an unreachable origin makes the worker answer by itself.

use std::rc::Rc;

use worker::{Context, Date, Env, Method, Request, Url};

use crate::core::classify::{Classification, Reason};
use crate::core::features;
use crate::core::headers::{self, render};
use crate::core::identity::{
    consent_withheld, customer_clear_cookie, customer_set_cookie, in_holdout, is_logout,
    proven_customer_key, session_id, SessionId, SESSION_COOKIE,
};
use crate::core::signals::{request_events, Event, RequestInfo};

use super::bindings::ORIGIN_VAR;
use super::settings::{self, Settings};
use super::{admin, beacon, failures, health, models, proxy, sessions};

/// Small url-encoded form bodies (cart forms) are read for their product field.
const FORM_READ_LIMIT: usize = 4096;

/// The origin every request is forwarded to, from `wrangler.toml`'s `ORIGIN`.
pub fn origin(env: &Env) -> Result<Url, String> {
    let raw = env
        .var(ORIGIN_VAR)
        .map_err(|_| format!("{ORIGIN_VAR} is not set in wrangler.toml"))?
        .to_string();
    let url = Url::parse(&raw).map_err(|e| format!("{ORIGIN_VAR}={raw:?} is not a URL: {e}"))?;
    match url.scheme() {
        "http" | "https" => Ok(url),
        other => Err(format!("{ORIGIN_VAR} must be http or https, not {other}")),
    }
}

pub fn text_response(
    status: u16,
    body: &str,
    content_type: &str,
    cache: &str,
) -> web_sys::Response {
    let init = web_sys::ResponseInit::new();
    init.set_status(status);
    if let Ok(headers) = web_sys::Headers::new() {
        let _ = headers.set("content-type", content_type);
        let _ = headers.set("cache-control", cache);
        init.set_headers(&headers);
    }
    let body = (status != 204).then_some(body);
    match web_sys::Response::new_with_opt_str_and_init(body, &init) {
        Ok(response) => response,
        // Only an invalid status can fail here, and every caller passes a literal one.
        Err(_) => web_sys::Response::new().unwrap_or_else(|_| unreachable!()),
    }
}

/// A JSON body that is already serialised.
pub fn raw_json(status: u16, body: &str) -> web_sys::Response {
    text_response(status, body, "application/json", "no-store")
}

pub fn json_response(status: u16, body: &impl serde::Serialize) -> web_sys::Response {
    raw_json(
        status,
        &serde_json::to_string(body).unwrap_or_else(|_| "{}".into()),
    )
}

/// `{"error": code, "detail": ...}` with `status`.
pub fn json_error(status: u16, error: &str, detail: String) -> web_sys::Response {
    json_response(
        status,
        &serde_json::json!({ "error": error, "detail": detail }),
    )
}

pub fn empty_response(status: u16) -> web_sys::Response {
    text_response(status, "", "text/plain", "no-store")
}

/// A failure while deciding: a stable code for the header and health, and the detail for
/// the log.
struct Failure {
    code: &'static str,
    detail: String,
}

impl Failure {
    fn new(code: &'static str, detail: impl ToString) -> Self {
        Failure {
            code,
            detail: detail.to_string(),
        }
    }
}

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
}

impl Decision {
    fn said(classification: &Classification) -> Self {
        Decision {
            headers: render(classification),
            ..Decision::default()
        }
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

/// Consent, session, one Durable Object round trip, features, model and rules.
async fn decide(req: &Request, env: &Env) -> Result<Decision, Failure> {
    let settings = settings::load(env)
        .await
        .map_err(|e| Failure::new("config_invalid", e.0))?;
    let config = &settings.config;
    let cookie = header(req, "cookie");
    if consent_withheld(header(req, "sec-gpc").as_deref(), cookie.as_deref(), config) {
        return Ok(Decision::said(&Classification::bare(
            Reason::ConsentWithheld,
        )));
    }
    let info = request_info(req).await;
    let events = request_events(&info, config);
    // `request_events` puts the request's client context first: no second UA parse.
    let is_bot = matches!(events.first(), Some(Event::Request(client)) if client.is_bot());
    if events.is_empty() || is_bot {
        // Assets, HEAD, bots: nothing to count and nothing to say.
        return Ok(Decision::default());
    }
    let (session, is_new) =
        session_id(cookie.as_deref(), &settings.keys).map_err(|e| Failure::new("session_id", e))?;
    let object = sessions::object_for(&session, cookie.as_deref(), &settings, info.now_ms);
    let bundle = models::for_session(&session).map_err(|e| Failure::new("model_unavailable", e))?;
    let stats = bundle.bundle().page_stats();
    let state = sessions::apply(env, object, events, info.now_ms, stats)
        .await
        .map_err(|e| Failure::new("storage_unavailable", e))?;

    let classification = if in_holdout(&session, config) {
        Classification::bare(Reason::Holdout)
    } else {
        let features = features::compute(&state, info.now_ms, config, stats);
        bundle.classify(&features)
    };
    let mut decision = Decision::said(&classification);
    if is_new {
        decision
            .set_cookies
            .push(session.set_cookie(config, &settings.keys));
    }
    decision.logout = is_logout(&info.path, None, config);
    decision.may_store = Some(Rc::clone(&settings));
    Ok(decision)
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
            Err(e) => failures::record("session_id", &e.to_string()),
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
                failures::record("config_invalid", &e.0);
                json_error(
                    503,
                    "config_invalid",
                    "the store configuration is broken".into(),
                )
            }
        },
        (_, p) if p.starts_with("/__edgeseg/admin/") => admin::handle(req, env).await,
        (method, p) => json_error(
            404,
            "not_found",
            format!("no edgeseg endpoint {method:?} {p}"),
        ),
    }
}

pub async fn handle(req: Request, env: Env, ctx: Context) -> web_sys::Response {
    if models::refresh_due(&env) {
        // In the background: no request waits for a new bundle to be fetched and built.
        ctx.wait_until(models::refresh(env.clone()));
    }
    if req.path().starts_with("/__edgeseg/") {
        return route_internal(req, &env).await;
    }
    let origin = match origin(&env) {
        Ok(origin) => origin,
        Err(detail) => {
            failures::record("origin_not_configured", &detail);
            return json_error(502, "origin_not_configured", detail);
        }
    };
    let decision = match decide(&req, &env).await {
        Ok(decision) => decision,
        Err(failure) => {
            failures::record(failure.code, &failure.detail);
            let mut said = Classification::bare(Reason::Error);
            said.error = Some(failure.code.to_string());
            Decision::said(&said)
        }
    };

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
        Err(proxy::ProxyError(detail)) => {
            failures::record("origin_unreachable", &detail);
            return json_error(502, "origin_unreachable", detail);
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
    response
}
