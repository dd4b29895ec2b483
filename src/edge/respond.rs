//! The worker's own answers (its `/__edgeseg/` endpoints and the 502 of an unreachable
//! origin): text, JSON and the JSON error body of contract section 4,
//! `{"error": "<code>", "detail": "..."}`.

use super::error::{Code, Error};

pub fn text(status: u16, body: &str, content_type: &str, cache: &str) -> web_sys::Response {
    let init = web_sys::ResponseInit::new();
    init.set_status(status);
    if let Ok(headers) = web_sys::Headers::new() {
        let _ = headers.set("content-type", content_type);
        let _ = headers.set("cache-control", cache);
        init.set_headers(&headers);
    }
    let body = (status != 204).then_some(body);
    match web_sys::Response::new_with_opt_str_and_init(body, &init) {
        Ok(response) => response,
        // Only an invalid status can fail here, and every status comes from this crate.
        Err(_) => web_sys::Response::new().unwrap_or_else(|_| unreachable!()),
    }
}

/// A JSON body that is already serialised.
pub fn raw_json(status: u16, body: &str) -> web_sys::Response {
    text(status, body, "application/json", "no-store")
}

pub fn json(status: u16, body: &impl serde::Serialize) -> web_sys::Response {
    raw_json(
        status,
        &serde_json::to_string(body).unwrap_or_else(|_| "{}".into()),
    )
}

/// A binary body (a record object for `edgeseg logs pull`).
pub fn bytes(status: u16, mut body: Vec<u8>, content_type: &str) -> web_sys::Response {
    let init = web_sys::ResponseInit::new();
    init.set_status(status);
    if let Ok(headers) = web_sys::Headers::new() {
        let _ = headers.set("content-type", content_type);
        let _ = headers.set("cache-control", "no-store");
        init.set_headers(&headers);
    }
    web_sys::Response::new_with_opt_u8_array_and_init(Some(&mut body), &init)
        .unwrap_or_else(|_| text(500, "", "text/plain", "no-store"))
}

pub fn empty(status: u16) -> web_sys::Response {
    text(status, "", "text/plain", "no-store")
}

/// `{"error": code, "detail": ...}` with the code's status.
pub fn error(error: &Error) -> web_sys::Response {
    json(
        error.code().status(),
        &serde_json::json!({ "error": error.code().token(), "detail": error.detail() }),
    )
}

/// `405 method_not_allowed` with the `allow` header naming what the endpoint takes.
pub fn method_not_allowed(method: &worker::Method, path: &str, allow: &str) -> web_sys::Response {
    let response = error(&Code::MethodNotAllowed.because(format!(
        "{method:?} {path}: this endpoint takes {allow}"
    )));
    let _ = response.headers().set("allow", allow);
    response
}
