//! The request handler, and the worker's single place of fail-open: whatever fails while
//! deciding what to say about a request (config, session storage, model), the request
//! still goes to the origin, with `edgeseg-reason: ERROR` and the failure logged and
//! counted for health. Only an unreachable origin makes the worker answer by itself.

use std::rc::Rc;

use worker::{Context, Date, Env, Method, Request, Url};

use crate::core::classify::{Classification, LoadedBundle, Reason};
use crate::core::features;
use crate::core::headers::render;
use crate::core::identity::{
    consent_withheld, customer_key, customer_set_cookie, in_holdout, session_id,
};
use crate::core::signals::{request_events, Event, RequestInfo};
use crate::core::traits::Traits;

use super::bindings::ORIGIN_VAR;
use super::settings::{self, Settings};
use super::{admin, beacon, failures, health, models, proxy, sessions, traits};

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
    /// us a customer id.
    may_store: Option<Rc<Settings>>,
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
        session_id(cookie.as_deref()).map_err(|e| Failure::new("session_id", e))?;
    let object = sessions::object_for(&session, cookie.as_deref(), &settings)
        .map_err(|e| Failure::new("customer_key", e))?;
    let customer = object.customer_key.clone();
    let bundle = models::for_session(&session).map_err(|e| Failure::new("model_unavailable", e))?;
    let stats = bundle.bundle().page_stats();
    let state = sessions::apply(env, object, events, info.now_ms, stats)
        .await
        .map_err(|e| Failure::new("storage_unavailable", e))?;

    let classification = if in_holdout(&session, config) {
        Classification::bare(Reason::Holdout)
    } else {
        let mut features = features::compute(&state, info.now_ms, config, stats);
        if let Some(customer) = &customer {
            customer_traits(env, customer, &bundle)
                .await
                .apply_to(&mut features);
        }
        bundle.classify(&features)
    };
    let mut decision = Decision::said(&classification);
    if is_new {
        decision.set_cookies.push(session.set_cookie(config));
    }
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
            failures::record("kv_unavailable", &e);
            Traits::default()
        })
}

/// The origin named a logged-in customer in a response header: remember its keyed hash
/// in a cookie, so the next request joins the customer's state.
fn learned_customer(response: &web_sys::Response, settings: &Settings) -> Option<String> {
    let header_name = settings.config.customer.origin_header.as_deref()?;
    let secret = settings.customer_secret.as_deref()?;
    let raw = response.headers().get(header_name).ok().flatten()?;
    match customer_key(&raw, secret) {
        Ok(Some(key)) => Some(customer_set_cookie(&key, &settings.config)),
        Ok(None) => None,
        Err(e) => {
            failures::record("customer_key", &e.to_string());
            None
        }
    }
}

/// The worker's own paths, under `/__edgeseg/`; never forwarded.
async fn route_internal(req: Request, env: &Env) -> web_sys::Response {
    let path = req.path();
    match (req.method(), path.as_str()) {
        (_, "/__edgeseg/health") => health::respond(env).await,
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
    let forwarded = async {
        let url = proxy::upstream_url(&origin, &raw.url())?;
        let headers = proxy::upstream_headers(&raw.headers(), &decision.headers)?;
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
        .and_then(|settings| learned_customer(&response, settings));
    for cookie in decision.set_cookies.iter().chain(learned.iter()) {
        let _ = headers.append("set-cookie", cookie);
    }
    response
}
