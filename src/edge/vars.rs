//! The worker's variables and secrets, read from `Env` once per isolate. Bindings do not
//! change under a running isolate (a deploy or a new secret starts new isolates), while
//! each read crosses into JavaScript and a missing one builds an error on the way, and
//! every page needs six of them and the origin's parsed URL.

use std::cell::OnceCell;
use std::rc::Rc;

use worker::{Env, Url};

use super::bindings::{
    CONFIG_VAR, CUSTOMER_KEY_SECRET, HEADER_KEY_SECRET, ORIGIN_VAR, RECORDS_BINDING,
    REFRESH_VAR, STATS_FLUSH_VAR, STORE_TOKEN_KEY_SECRET,
};
use super::error::{Code, Result};

/// Seconds between reads of the model channel's pointer without `EDGESEG_MODEL_REFRESH_SECS`.
const DEFAULT_REFRESH_SECS: f64 = 30.0;
/// Seconds between flushes of the live counts without `EDGESEG_STATS_FLUSH_SECS`.
const DEFAULT_STATS_FLUSH_SECS: f64 = 5.0;

/// What the worker reads from its bindings on every request.
pub struct Vars {
    /// Where every request is forwarded (`ORIGIN`), or why it cannot be.
    pub origin: Result<Url>,
    /// A whole store configuration (`EDGESEG_STORE_CONFIG`), when set and not blank.
    pub store_config: Option<String>,
    /// The worker secret behind customer ids and cookie MACs (`EDGESEG_CUSTOMER_KEY`).
    pub customer_key: Option<Vec<u8>>,
    /// Signs the `edgeseg-*` request headers (`EDGESEG_HEADER_KEY`); `None`: unsigned.
    pub header_key: Option<Vec<u8>>,
    /// Verifies the store's signed customer token (`EDGESEG_STORE_TOKEN_KEY`).
    pub store_token_key: Option<Vec<u8>>,
    /// Milliseconds between reads of the model channel's pointer.
    pub model_refresh_ms: f64,
    /// Milliseconds between flushes of this isolate's live counts.
    pub stats_flush_ms: f64,
    /// Whether the training records' bucket is bound (unbound: no trails, no records).
    pub records_bound: bool,
}

thread_local! {
    static VARS: OnceCell<Rc<Vars>> = const { OnceCell::new() };
}

/// This isolate's variables, read on first use.
pub fn of(env: &Env) -> Rc<Vars> {
    VARS.with(|cell| Rc::clone(cell.get_or_init(|| Rc::new(Vars::read(env)))))
}

impl Vars {
    fn read(env: &Env) -> Vars {
        Vars {
            origin: origin(env),
            store_config: text(env, CONFIG_VAR).filter(|v| !v.trim().is_empty()),
            customer_key: secret(env, CUSTOMER_KEY_SECRET),
            header_key: secret(env, HEADER_KEY_SECRET),
            store_token_key: secret(env, STORE_TOKEN_KEY_SECRET),
            model_refresh_ms: seconds(env, REFRESH_VAR, DEFAULT_REFRESH_SECS) * 1000.0,
            stats_flush_ms: seconds(env, STATS_FLUSH_VAR, DEFAULT_STATS_FLUSH_SECS) * 1000.0,
            records_bound: env.bucket(RECORDS_BINDING).is_ok(),
        }
    }
}

fn text(env: &Env, name: &str) -> Option<String> {
    env.var(name).ok().map(|v| v.to_string())
}

fn secret(env: &Env, name: &str) -> Option<Vec<u8>> {
    env.secret(name)
        .ok()
        .map(|s| s.to_string().into_bytes())
        .filter(|s| !s.is_empty())
}

/// A non-negative number of seconds, else `default`.
fn seconds(env: &Env, name: &str, default: f64) -> f64 {
    text(env, name)
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|secs| secs.is_finite() && *secs >= 0.0)
        .unwrap_or(default)
}

fn origin(env: &Env) -> Result<Url> {
    let not_configured = |why: String| Code::OriginNotConfigured.because(why);
    let raw = text(env, ORIGIN_VAR)
        .ok_or_else(|| not_configured(format!("{ORIGIN_VAR} is not set in wrangler.toml")))?;
    let url = Url::parse(&raw)
        .map_err(|e| not_configured(format!("{ORIGIN_VAR}={raw:?} is not a URL: {e}")))?;
    match url.scheme() {
        "http" | "https" => Ok(url),
        other => Err(not_configured(format!("{ORIGIN_VAR} must be http or https, not {other}"))),
    }
}
