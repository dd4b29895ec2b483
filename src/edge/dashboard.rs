//! `GET /__edgeseg/dashboard`: the store team's live view, one self-contained page
//! (`assets/dashboard.html`, plain SVG, no third-party code) behind the admin token,
//! and the JSON it refreshes from (`/__edgeseg/admin/dashboard.json`) and that
//! `edgeseg drift` reads (`/__edgeseg/admin/drift`).
//!
//! Signing in: the bearer header, or the login form, which sets an `HttpOnly; Secure;
//! SameSite=Strict` cookie holding a digest of the token (never the token itself).

use serde::Serialize;
use serde_json::{json, Value};
use worker::{Date, Env, Method, Request};

use crate::core::drift::{DriftReport, Thresholds};
use crate::core::stats::{Minutes, MINUTE_MS};

use super::bindings::{DRIFT_ACT_VAR, DRIFT_WATCH_VAR};
use super::error::{Code, Result};
use super::{admin_auth, audit, models, respond, stats};

pub const PAGE_PATH: &str = "/__edgeseg/dashboard";
pub const LOGIN_PATH: &str = "/__edgeseg/dashboard/login";
const PAGE: &str = include_str!("../../assets/dashboard.html");
/// The page runs only its own inline script and talks only to this worker.
const CSP: &str = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
                   connect-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'";
/// How many audit records the page shows.
const AUDIT_SHOWN: usize = 20;

fn login_form(status: u16, message: &str) -> web_sys::Response {
    let page = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>edgeseg dashboard: sign in</title>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <style>body{{font:16px system-ui,sans-serif;max-width:26em;margin:12vh auto;padding:0 1em;color:#1d2433}}\
         input{{font:inherit;padding:6px;width:100%;margin:8px 0}}button{{font:inherit;padding:6px 16px}}\
         .m{{color:#b3261e}}</style></head><body><h1>edgeseg dashboard</h1>\
         <p>Enter the admin token (the worker's <code>EDGESEG_ADMIN_TOKEN</code> secret).</p>\
         <p class=\"m\">{message}</p>\
         <form method=\"post\" action=\"{LOGIN_PATH}\"><input type=\"password\" name=\"token\" id=\"token\" \
         autocomplete=\"current-password\" required><button type=\"submit\" id=\"sign-in\">Sign in</button></form>\
         </body></html>"
    );
    html(status, &page)
}

fn html(status: u16, body: &str) -> web_sys::Response {
    let response = respond::text(status, body, "text/html; charset=utf-8", "no-store");
    let headers = response.headers();
    let _ = headers.set("content-security-policy", CSP);
    let _ = headers.set("x-content-type-options", "nosniff");
    let _ = headers.set("referrer-policy", "no-referrer");
    response
}

/// `/__edgeseg/dashboard[/login]`.
pub async fn handle(mut req: Request, env: &Env) -> web_sys::Response {
    let token = match admin_auth::configured_token(env) {
        Ok(token) => token,
        Err(e) => return respond::error(&e),
    };
    match (req.method(), req.path().as_str()) {
        (Method::Get, PAGE_PATH) => match admin_auth::authorize(&req, env) {
            Ok(()) => html(200, PAGE),
            Err(_) => login_form(401, ""),
        },
        (Method::Post, LOGIN_PATH) => {
            let body = req.text().await.unwrap_or_default();
            let given = worker::Url::parse(&format!("http://form/?{body}"))
                .ok()
                .and_then(|url| {
                    url.query_pairs()
                        .find(|(k, _)| k == "token")
                        .map(|(_, v)| v.into_owned())
                });
            match given {
                Some(given) if admin_auth::same_secret(&given, &token) => {
                    let response = respond::text(303, "", "text/plain", "no-store");
                    let headers = response.headers();
                    let _ = headers.set("location", PAGE_PATH);
                    let _ = headers.set("set-cookie", &admin_auth::sign_in_cookie(&token));
                    response
                }
                _ => login_form(401, "That token is not right."),
            }
        }
        (method, path) => respond::error(
            &Code::NotFound.because(format!("no dashboard endpoint {method:?} {path}")),
        ),
    }
}

/// The period a view covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Window {
    Hour,
    Day,
}

impl Window {
    pub fn parse(text: Option<&str>) -> Window {
        match text {
            Some("day") => Window::Day,
            _ => Window::Hour,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Window::Hour => "hour",
            Window::Day => "day",
        }
    }

    fn minutes(self) -> i64 {
        match self {
            Window::Hour => 60,
            Window::Day => 24 * 60,
        }
    }

    /// Slices of the time series: one per minute for an hour, a quarter hour for a day.
    fn bucket(self) -> i64 {
        match self {
            Window::Hour => 1,
            Window::Day => 15,
        }
    }

    /// First and last minute of the window ending now.
    fn range(self) -> (i64, i64) {
        let now = Minutes::minute_of(Date::now().as_millis() as i64);
        (now - self.minutes() + 1, now)
    }
}

/// PSI levels from `EDGESEG_DRIFT_WATCH` / `EDGESEG_DRIFT_ACT`, else 0.1 / 0.25.
pub fn thresholds(env: &Env) -> Thresholds {
    let read = |name: &str| {
        env.var(name)
            .ok()
            .and_then(|v| v.to_string().trim().parse::<f64>().ok())
            .filter(|x| x.is_finite() && *x > 0.0)
    };
    let default = Thresholds::default();
    Thresholds {
        watch: read(DRIFT_WATCH_VAR).unwrap_or(default.watch),
        act: read(DRIFT_ACT_VAR).unwrap_or(default.act),
    }
}

/// Drift of the serving model's traffic in `minutes` (`None` without a reference).
fn drift(minutes: &Minutes, thresholds: Thresholds) -> Option<DriftReport> {
    let bundle = models::serving().ok()?;
    let manifest = bundle.bundle().manifest();
    let reference = manifest.drift.as_ref()?;
    let total = minutes.total_since(i64::MIN);
    Some(total.drift(
        &manifest.version,
        reference,
        &manifest.segment_ids(),
        thresholds,
    ))
}

#[derive(Serialize)]
struct Named {
    id: String,
    name: String,
    description: String,
}

/// `GET /__edgeseg/admin/dashboard.json?window=hour|day`: everything the page shows.
pub async fn data(env: &Env, window: Window) -> Result<Value> {
    let (from, to) = window.range();
    let minutes = stats::window(env, from, to).await?;
    let thresholds = thresholds(env);
    let serving = models::serving().ok();
    let (segments, rules): (Vec<Named>, Vec<Named>) = match &serving {
        Some(bundle) => {
            let segments = bundle.bundle().manifest().segments.iter().map(|s| Named {
                id: s.id.clone(),
                name: s.name.clone(),
                description: s.description.clone(),
            });
            let rules = bundle
                .bundle()
                .rules()
                .into_iter()
                .flat_map(|r| r.segments());
            let rules = rules.map(|s| Named {
                id: s.id.clone(),
                name: s.name.clone(),
                description: s.description.clone(),
            });
            (segments.collect(), rules.collect())
        }
        None => (Vec::new(), Vec::new()),
    };
    // The page still shows the counts when the audit trail cannot be read.
    let audit = audit::trail(env, AUDIT_SHOWN)
        .await
        .unwrap_or_default();
    Ok(json!({
        "generated_ms": Date::now().as_millis(),
        "window": window.name(),
        "minute_ms": MINUTE_MS,
        "totals": minutes.total_since(i64::MIN),
        "series": minutes.series(from, to, window.bucket()),
        "segments": segments,
        "rules": rules,
        "model": {
            "active": serving.as_ref().map(|b| b.bundle().manifest().version.clone()),
            "canary": models::canary_version(),
        },
        "thresholds": thresholds,
        "drift": drift(&minutes, thresholds),
        "audit": audit,
    }))
}

/// `GET /__edgeseg/admin/drift`: the serving model's drift over the last hour and day.
pub async fn drift_windows(env: &Env) -> Result<Value> {
    let thresholds = thresholds(env);
    let (from, to) = Window::Day.range();
    let day = stats::window(env, from, to).await?;
    let (hour_from, _) = Window::Hour.range();
    let hour = Minutes(
        day.0
            .range(hour_from..)
            .map(|(m, c)| (*m, c.clone()))
            .collect(),
    );
    Ok(json!({
        "thresholds": thresholds,
        "windows": { "hour": drift(&hour, thresholds), "day": drift(&day, thresholds) },
    }))
}
