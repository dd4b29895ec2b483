//! The request handler: the worker's single place of fail-open.

use serde::Serialize;
use worker::{console_error, Context, Env, Request, Url};

use super::{health, proxy};

pub const ORIGIN_VAR: &str = "ORIGIN";
pub const SESSIONS_BINDING: &str = "SESSIONS";
pub const KV_BINDING: &str = "EDGESEG_KV";

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

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    detail: String,
}

pub fn json_response(status: u16, body: &impl Serialize) -> web_sys::Response {
    let text = serde_json::to_string(body).unwrap_or_else(|_| "{}".into());
    let init = web_sys::ResponseInit::new();
    init.set_status(status);
    let headers = web_sys::Headers::new().ok();
    if let Some(headers) = &headers {
        let _ = headers.set("content-type", "application/json");
        let _ = headers.set("cache-control", "no-store");
        init.set_headers(headers);
    }
    web_sys::Response::new_with_opt_str_and_init(Some(&text), &init).unwrap_or_else(|_| {
        web_sys::Response::new().expect("an empty Response is always constructible")
    })
}

fn error_response(status: u16, error: &str, detail: String) -> web_sys::Response {
    json_response(status, &ErrorBody { error, detail })
}

pub async fn handle(req: Request, env: Env, _ctx: Context) -> web_sys::Response {
    if req.path() == "/__edgeseg/health" {
        return health::respond(&env).await;
    }
    let origin = match origin(&env) {
        Ok(origin) => origin,
        Err(detail) => {
            console_error!("edgeseg: {detail}");
            return error_response(502, "origin_not_configured", detail);
        }
    };
    let raw = req.inner();
    let forwarded = async {
        let url = proxy::upstream_url(&origin, &raw.url())?;
        let headers = proxy::upstream_headers(&raw.headers(), &[])?;
        proxy::forward(raw, &url, &headers).await
    };
    match forwarded.await {
        Ok(response) => response,
        Err(proxy::ProxyError(detail)) => {
            console_error!("edgeseg: origin unreachable: {detail}");
            error_response(502, "origin_unreachable", detail)
        }
    }
}
