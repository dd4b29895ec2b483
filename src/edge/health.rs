//! `GET /__edgeseg/health`: what this isolate runs, whether each binding answers, and
//! what has failed since the isolate started.

use std::collections::BTreeMap;

use serde::Serialize;
use worker::{Env, Method};

use super::bindings::KV_BINDING;
use super::failures::{self, FailureRecord};
use super::{models, sessions, settings, traits};

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

impl From<Result<String, String>> for BindingState {
    fn from(result: Result<String, String>) -> Self {
        match result {
            Ok(detail) => BindingState { ok: true, detail },
            Err(detail) => BindingState { ok: false, detail },
        }
    }
}

async fn check_sessions(env: &Env) -> Result<String, String> {
    let (status, body) = sessions::call(env, "health", Method::Get, "/ping", None)
        .await
        .map_err(|e| e.to_string())?;
    if status == 200 && body == "pong" {
        Ok("durable object answered".into())
    } else {
        Err(format!("durable object said {status}: {body}"))
    }
}

async fn check_kv(env: &Env) -> Result<String, String> {
    let kv = env.kv(KV_BINDING).map_err(|e| e.to_string())?;
    kv.get("health-probe")
        .text()
        .await
        .map_err(|e| e.to_string())?;
    Ok("namespace readable".into())
}

pub async fn respond(env: &Env) -> web_sys::Response {
    let bindings = Bindings {
        origin: super::fetch::origin(env).map(|url| url.to_string()).into(),
        sessions: check_sessions(env).await.into(),
        kv: check_kv(env).await.into(),
    };
    let loaded = settings::load(env).await;
    let customer_join = loaded.as_ref().is_ok_and(|s| s.customer_secret.is_some());
    let config: BindingState = loaded
        .map(|s| format!("store config from {}", s.source))
        .map_err(|e| e.0)
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
    };
    super::fetch::json_response(200, &health)
}
