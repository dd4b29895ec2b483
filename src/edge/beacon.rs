//! `POST /__edgeseg/events` (the client beacon) and `GET /__edgeseg/beacon.js` (the
//! script a store includes). Validation happens here, before any storage is touched;
//! the per-session rate limit is counted in the session's Durable Object.

use worker::Request;

use crate::core::beacon::{parse_beacon, BeaconError};
use crate::core::identity::{consent_withheld, SessionId};

use super::error::{Code, ResultExt};
use super::session_protocol::Operation;
use super::settings::Settings;
use super::{failures, respond, sessions};

const SCRIPT: &str = include_str!("../../assets/beacon.js");

pub fn script() -> web_sys::Response {
    respond::text(
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
        return respond::empty(204);
    }
    // No session cookie: nothing to attach the events to, and nothing is stored.
    let Some(session) = SessionId::from_cookie_header(cookie.as_deref()) else {
        return respond::empty(204);
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
        return respond::raw_json(error.status(), &error.body());
    }
    let body = match req.bytes().await.code(Code::UnreadableBody) {
        Ok(body) => body,
        Err(e) => return respond::error(&e),
    };
    if let Err(e) = parse_beacon(&body, limits) {
        return respond::raw_json(e.status(), &e.body());
    }
    let object = match sessions::object_for(&session, cookie.as_deref(), settings) {
        Ok(object) => object,
        Err(e) => {
            failures::record(&e);
            return respond::error(&e);
        }
    };
    let bytes = worker::js_sys::Uint8Array::from(body.as_slice()).into();
    match sessions::call(env, &object.name, Operation::Beacon, Some(bytes)).await {
        // The object's own answer: 202, or the beacon error (rate limit) as JSON.
        Ok((202, _)) => respond::empty(202),
        Ok((status, text)) => respond::raw_json(status, &text),
        Err(e) => {
            failures::record(&e.context("storing beacon events"));
            // The detail stays in the log.
            respond::error(&Code::StorageUnavailable.because("the events could not be stored"))
        }
    }
}
