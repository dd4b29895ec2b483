//! `GET /__edgeseg/health`: what this isolate runs and whether each binding answers.

use serde::Serialize;
use worker::Env;

use super::fetch::{KV_BINDING, SESSIONS_BINDING};

#[derive(Serialize)]
struct Health {
    name: &'static str,
    version: &'static str,
    build: &'static str,
    model: Option<String>,
    ok: bool,
    bindings: Bindings,
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

impl BindingState {
    fn from_result(result: Result<String, String>) -> Self {
        match result {
            Ok(detail) => BindingState { ok: true, detail },
            Err(detail) => BindingState { ok: false, detail },
        }
    }
}

/// Set by the Makefile (`git describe`); "dev" when built by hand.
pub const BUILD_ID: &str = match option_env!("EDGESEG_BUILD_ID") {
    Some(id) => id,
    None => "dev",
};

async fn check_sessions(env: &Env) -> Result<String, String> {
    let namespace = env
        .durable_object(SESSIONS_BINDING)
        .map_err(|e| e.to_string())?;
    let stub = namespace.get_by_name("health").map_err(|e| e.to_string())?;
    let mut response = stub
        .fetch_with_str("https://session/ping")
        .await
        .map_err(|e| e.to_string())?;
    let body = response.text().await.map_err(|e| e.to_string())?;
    if response.status_code() == 200 && body == "pong" {
        Ok("durable object answered".into())
    } else {
        Err(format!(
            "durable object said {}: {body}",
            response.status_code()
        ))
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

fn check_origin(env: &Env) -> Result<String, String> {
    super::fetch::origin(env).map(|url| url.to_string())
}

pub async fn respond(env: &Env) -> web_sys::Response {
    let bindings = Bindings {
        origin: BindingState::from_result(check_origin(env)),
        sessions: BindingState::from_result(check_sessions(env).await),
        kv: BindingState::from_result(check_kv(env).await),
    };
    let health = Health {
        name: env!("CARGO_PKG_NAME"),
        version: env!("CARGO_PKG_VERSION"),
        build: BUILD_ID,
        model: None,
        ok: bindings.origin.ok && bindings.sessions.ok && bindings.kv.ok,
        bindings,
    };
    super::fetch::json_response(200, &health)
}
