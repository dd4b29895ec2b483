//! The request handler, and the worker's single place of fail-open: whatever fails while
//! deciding what to say about a request (config, session storage, model), the request
//! still goes to the origin, with `edgeseg-reason: ERROR` and the failure logged and
//! counted for health. Only an unreachable origin makes the worker answer by itself.

use std::rc::Rc;

use worker::{Context, Date, Env, Method, Request};

use crate::core::classify::{Classification, Reason};
use crate::core::features;
use crate::core::headers::render;
use crate::core::identity::{
    consent_withheld, customer_key, customer_set_cookie, in_holdout, session_id,
};
use crate::core::signals::{request_events, RequestInfo, Untracked};

use super::error::{Code, Error};
use super::settings::{self, Settings};
use super::{admin, beacon, failures, health, models, proxy, respond, sessions};

/// Small url-encoded form bodies (cart forms) are read for their product field.
const FORM_READ_LIMIT: usize = 4096;

/// What the worker says about one request.
#[derive(Default)]
struct Decision {
    /// `edgeseg-*` headers for the origin and the client.
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
async fn decide(req: &Request, env: &Env) -> Result<Decision, Error> {
    let settings = settings::load(env).await?;
    let config = &settings.config;
    let cookie = header(req, "cookie");
    if consent_withheld(header(req, "sec-gpc").as_deref(), cookie.as_deref(), config) {
        return Ok(Decision::said(&Classification::bare(
            Reason::ConsentWithheld,
        )));
    }
    let info = request_info(req).await;
    let events = request_events(&info, config);
    if let Some(why) = Untracked::of(&info, config, &events) {
        // Bots, assets, HEAD: nothing to count; the origin still learns why.
        return Ok(Decision::said(&Classification::bare(Reason::Untracked(why))));
    }
    let (session, is_new) = session_id(cookie.as_deref()).map_err(|e| Code::SessionId.because(e))?;
    let object = sessions::object_for(&session, cookie.as_deref(), &settings)?;
    let bundle = models::for_session(&session)?;
    let stats = bundle.bundle().page_stats();
    let state = sessions::apply(env, object, events, info.now_ms, stats).await?;

    let classification = if in_holdout(&session, config) {
        Classification::bare(Reason::Holdout)
    } else {
        let features = features::compute(&state, info.now_ms, config, stats);
        bundle.classify(&features)
    };
    let mut decision = Decision::said(&classification);
    if is_new {
        decision.set_cookies.push(session.set_cookie(config));
    }
    decision.may_store = Some(Rc::clone(&settings));
    Ok(decision)
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
            failures::record(&Code::CustomerKey.because(e));
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
                failures::record(&e);
                // The detail stays in the log: the client learns only that it is broken.
                respond::error(&e.code().because("the store configuration is broken"))
            }
        },
        (_, p) if p.starts_with("/__edgeseg/admin/") => admin::handle(req, env).await,
        (method, p) => {
            respond::error(&Code::NotFound.because(format!("no edgeseg endpoint {method:?} {p}")))
        }
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
    let origin = match settings::origin(&env) {
        Ok(origin) => origin,
        Err(e) => {
            failures::record(&e);
            return respond::error(&e);
        }
    };
    let decision = match decide(&req, &env).await {
        Ok(decision) => decision,
        Err(e) => {
            failures::record(&e);
            let mut said = Classification::bare(Reason::Error);
            said.error = Some(e.code().token().to_string());
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
        .and_then(|settings| learned_customer(&response, settings));
    for cookie in decision.set_cookies.iter().chain(learned.iter()) {
        let _ = headers.append("set-cookie", cookie);
    }
    response
}
