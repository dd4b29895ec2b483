//! `POST /__edgeseg/events` (the client beacon) and `GET /__edgeseg/beacon.js` (the
//! script a store includes). Validation happens here, before any storage is touched:
//! the content type (contract §5), the body limit while reading (chunked bodies too)
//! within a time limit, the schema; the per-session rate limit is counted in the
//! session's Durable Object. Only a session id the worker issued is accepted.

use std::time::Duration;

use futures_util::future::{select, Either};
use futures_util::StreamExt;
use worker::{Delay, Request};

use crate::core::beacon::{check_content_type, parse_beacon, BeaconError, BoundedBody};
use crate::core::identity::{consent_withheld, SessionId};

use super::error::Code;
use super::session_protocol::Operation;
use super::settings::Settings;
use super::{failures, respond, sessions};

const SCRIPT: &str = include_str!("../../assets/beacon.js");

/// How long a beacon body may take to arrive.
const BODY_TIMEOUT_MS: u32 = 5_000;

pub fn script() -> web_sys::Response {
    respond::text(
        200,
        SCRIPT,
        "text/javascript; charset=utf-8",
        "public, max-age=3600",
    )
}

fn refuse(error: &BeaconError) -> web_sys::Response {
    respond::raw_json(error.status(), &error.body())
}

/// The body, read chunk by chunk: refused at the first byte over `max`, or when it has
/// not all arrived within [`BODY_TIMEOUT_MS`].
async fn read_bounded(req: &mut Request, max: usize) -> Result<Vec<u8>, BeaconError> {
    let unreadable = |e: worker::Error| BeaconError::BadJson(format!("body: unreadable: {e}"));
    let mut stream = match req.stream() {
        Ok(stream) => stream,
        // No body at all.
        Err(_) => return Ok(Vec::new()),
    };
    let read = async move {
        let mut body = BoundedBody::new(max);
        while let Some(chunk) = stream.next().await {
            body.push(&chunk.map_err(unreadable)?)?;
        }
        Ok(body.into_bytes())
    };
    let timeout = Delay::from(Duration::from_millis(u64::from(BODY_TIMEOUT_MS)));
    let outcome = select(Box::pin(read), timeout).await;
    match outcome {
        Either::Left((body, _)) => body,
        Either::Right(_) => Err(BeaconError::SlowBody(BODY_TIMEOUT_MS)),
    }
}

/// Whether a session object's answer is one of our own beacon errors (JSON with an
/// `error` code), which may be passed to the client as is.
fn is_our_error(status: u16, text: &str) -> bool {
    (400..500).contains(&status)
        && serde_json::from_str::<serde_json::Value>(text)
            .is_ok_and(|v| v.get("error").is_some_and(|e| e.is_string()))
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
    if let Err(e) = check_content_type(headers.get("content-type").ok().flatten().as_deref()) {
        return refuse(&e);
    }
    // No session this worker issued: nothing to attach the events to, nothing stored.
    let Some(session) = SessionId::from_cookie_header(cookie.as_deref(), &settings.keys) else {
        return respond::empty(204);
    };
    let declared = headers
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.trim().parse::<usize>().ok());
    if let Some(size) = declared.filter(|n| *n > limits.max_bytes) {
        // Refused before reading, with the same error the parser gives.
        return refuse(&BeaconError::TooLarge {
            size,
            max: limits.max_bytes,
        });
    }
    let body = match read_bounded(&mut req, limits.max_bytes).await {
        Ok(body) => body,
        Err(e) => return refuse(&e),
    };
    if let Err(e) = parse_beacon(&body, limits) {
        return refuse(&e);
    }
    let now_ms = worker::Date::now().as_millis() as i64;
    let object = sessions::object_for(&session, cookie.as_deref(), settings, now_ms);
    let bytes = worker::js_sys::Uint8Array::from(body.as_slice()).into();
    let failure = match sessions::call(env, &object.name, Operation::Beacon, Some(bytes)).await {
        Ok((202, _)) => return respond::empty(202),
        // The object's own beacon error (the rate limit), as JSON.
        Ok((status, text)) if is_our_error(status, &text) => {
            return respond::raw_json(status, &text)
        }
        Ok((status, text)) => {
            Code::StorageError.because(format!("session object answered {status}: {text}"))
        }
        Err(e) => e,
    };
    // Never the platform's text to the client: the detail stays in the log and health.
    failures::record(&failure.context("storing beacon events"));
    respond::error(&Code::StorageUnavailable.because("the events could not be stored"))
}
