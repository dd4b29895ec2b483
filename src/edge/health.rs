//! `GET|HEAD /__edgeseg/health`. Public: name, version, build and `ok` from what this
//! isolate already knows (config and model), with no storage or KV round trip, and
//! nothing a client could use (no origin, no failure detail). With the admin bearer
//! token: whether each binding answers, and what has failed since the isolate started.

use std::collections::BTreeMap;

use serde::Serialize;
use worker::{Env, Method, Request};

use super::bindings::KV_BINDING;
use super::error::{Code, Result, ResultExt};
use super::failures::{self, FailureRecord};
use super::session_protocol::Operation;
use super::{dashboard, models, respond, sessions, settings, traits, vars};

/// Set by the Makefile (`git describe`); "dev" when built by hand.
pub const BUILD_ID: &str = match option_env!("EDGESEG_BUILD_ID") {
    Some(id) => id,
    None => "dev",
};

#[derive(Serialize)]
struct Health {
    name: &'static str,
    version: &'static str,
    build: &'static str,
    ok: bool,
    model: models::ModelsHealth,
    config: BindingState,
    customer_join: bool,
    /// Customer traits read by this isolate (KV reads, cache hits, values ignored).
    traits: traits::TraitsHealth,
    bindings: Bindings,
    failures: BTreeMap<&'static str, FailureRecord>,
    /// The serving model's drift over the last hour and day (`/__edgeseg/admin/drift`),
    /// or why it could not be read.
    drift: serde_json::Value,
}

#[derive(Serialize)]
struct Bindings {
    origin: BindingState,
    sessions: BindingState,
    kv: BindingState,
}

#[derive(Serialize)]
struct BindingState {
    ok: bool,
    detail: String,
}

impl From<Result<String>> for BindingState {
    fn from(result: Result<String>) -> Self {
        match result {
            Ok(detail) => BindingState { ok: true, detail },
            Err(e) => BindingState {
                ok: false,
                detail: e.detail().to_string(),
            },
        }
    }
}

async fn check_sessions(env: &Env) -> Result<String> {
    match sessions::call(env, "health", Operation::Ping, None).await? {
        (200, body) if body == "pong" => Ok("durable object answered".into()),
        (status, body) => {
            Err(Code::StorageError.because(format!("durable object said {status}: {body}")))
        }
    }
}

async fn check_kv(env: &Env) -> Result<String> {
    let kv = env.kv(KV_BINDING).code(Code::KvUnavailable)?;
    kv.get("health-probe").text().await?;
    Ok("namespace readable".into())
}

/// What anyone may see.
#[derive(Serialize)]
struct PublicHealth {
    name: &'static str,
    version: &'static str,
    build: &'static str,
    ok: bool,
}

pub async fn respond(req: &Request, env: &Env) -> web_sys::Response {
    if !matches!(req.method(), Method::Get | Method::Head) {
        return respond::method_not_allowed(&req.method(), "/__edgeseg/health", "GET, HEAD");
    }
    if super::admin_auth::authorize(req, env).is_ok() {
        return details(env).await;
    }
    let model = models::health(env);
    let config_ok = settings::load(env).await.is_ok();
    let health = PublicHealth {
        name: env!("CARGO_PKG_NAME"),
        version: env!("CARGO_PKG_VERSION"),
        build: BUILD_ID,
        ok: config_ok && model.embedded_error.is_none(),
    };
    respond::json(200, &health)
}

/// Everything, for the operator.
async fn details(env: &Env) -> web_sys::Response {
    let bindings = Bindings {
        origin: vars::of(env).origin.clone().map(|url| url.to_string()).into(),
        sessions: check_sessions(env).await.into(),
        kv: check_kv(env).await.into(),
    };
    let loaded = settings::load(env).await;
    let customer_join = loaded.as_ref().is_ok_and(|s| s.keys.configured());
    let config: BindingState = loaded
        .map(|s| format!("store config from {}", s.source))
        .into();
    let model = models::health(env);
    let health = Health {
        name: env!("CARGO_PKG_NAME"),
        version: env!("CARGO_PKG_VERSION"),
        build: BUILD_ID,
        ok: bindings.origin.ok
            && bindings.sessions.ok
            && bindings.kv.ok
            && config.ok
            && model.embedded_error.is_none()
            && model.rejected.is_empty()
            && model.kv_error.is_none(),
        model,
        config,
        customer_join,
        traits: traits::health(),
        bindings,
        failures: failures::snapshot(),
        drift: dashboard::drift_windows(env)
            .await
            .unwrap_or_else(|e| serde_json::json!({ "error": e.to_string() })),
    };
    respond::json(200, &health)
}
