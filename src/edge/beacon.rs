//! `POST /__edgeseg/events` (the client beacon) and `GET /__edgeseg/beacon.js` (the
//! script a store includes). Validation happens here, before any storage is touched;
//! the per-session rate limit is counted in the session's Durable Object.

use worker::{Method, Request};

use crate::core::beacon::{parse_beacon, BeaconError};
use crate::core::identity::{consent_withheld, SessionId};

use super::fetch::{empty_response, json_error, text_response};
use super::sessions;
use super::settings::Settings;

const SCRIPT: &str = include_str!("../../assets/beacon.js");

pub fn script() -> web_sys::Response {
    text_response(
        200,
        SCRIPT,
        "text/javascript; charset=utf-8",
        "public, max-age=3600",
    )
}

pub async fn receive(
    mut req: Request,
    env: &worker::Env,
    settings: &Settings,
) -> web_sys::Response {
    let limits = &settings.config.beacon;
    let headers = req.headers();
    let cookie = headers.get("cookie").ok().flatten();
    let gpc = headers.get("sec-gpc").ok().flatten();
    if consent_withheld(gpc.as_deref(), cookie.as_deref(), &settings.config) {
        return empty_response(204);
    }
    // No session cookie: nothing to attach the events to, and nothing is stored.
    let Some(session) = SessionId::from_cookie_header(cookie.as_deref()) else {
        return empty_response(204);
    };
    let declared = headers
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.trim().parse::<usize>().ok());
    if let Some(size) = declared.filter(|n| *n > limits.max_bytes) {
        // Refused before reading, with the same error the parser gives.
        let error = BeaconError::TooLarge {
            size,
            max: limits.max_bytes,
        };
        return super::fetch::raw_json(error.status(), &error.body());
    }
    let body = match req.bytes().await {
        Ok(body) => body,
        Err(e) => return json_error(400, "unreadable_body", e.to_string()),
    };
    if let Err(e) = parse_beacon(&body, limits) {
        return super::fetch::raw_json(e.status(), &e.body());
    }
    let object = match sessions::object_for(&session, cookie.as_deref(), settings) {
        Ok(object) => object,
        Err(e) => return json_error(503, "session_unavailable", e),
    };
    let bytes = worker::js_sys::Uint8Array::from(body.as_slice()).into();
    let forwarded = sessions::call(env, &object.name, Method::Post, "/beacon", Some(bytes));
    match forwarded.await {
        Ok((202, _)) => empty_response(202),
        Ok((status, text)) => super::fetch::raw_json(status, &text),
        Err(e) => {
            super::failures::record("beacon_storage", &e.to_string());
            json_error(
                503,
                "storage_unavailable",
                "the events could not be stored".into(),
            )
        }
    }
}
