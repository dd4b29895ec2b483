//! Forwarding to the origin: streamed both ways, redirects not followed, every header
//! kept except the ones only this worker may set.

use wasm_bindgen_futures::JsFuture;
use worker::wasm_bindgen::JsCast;
use worker::{js_sys, Url};

use crate::core::headers::is_reserved;

use super::error::Result;

// Every failure here means the request could not reach the origin at all
// (`origin_unreachable`, the only 5xx this worker makes on a page): the JS values that
// fetch and the Headers API fail with convert to it.

/// The origin URL for an incoming request: origin's scheme, host and port, the request's
/// path and query.
pub fn upstream_url(origin: &Url, incoming: &Url) -> Url {
    let mut target = origin.clone();
    target.set_path(incoming.path());
    target.set_query(incoming.query());
    target
}

/// A copy of the client's headers without the reserved `edgeseg-*` names (the origin
/// must be able to trust those), plus `extra`.
pub fn upstream_headers(
    incoming: &web_sys::Headers,
    extra: &[(String, String)],
) -> Result<web_sys::Headers> {
    let headers = web_sys::Headers::new_with_headers(incoming)?;
    let reserved: Vec<String> = worker::Headers(headers.clone())
        .keys()
        .filter(|name| is_reserved(name))
        .collect();
    for name in reserved {
        headers.delete(&name)?;
    }
    for (name, value) in extra {
        headers.set(name, value)?;
    }
    Ok(headers)
}

/// Sends `req` to `url` with `headers`, streaming the body, and returns the origin's
/// response as a new, mutable response (same status, status text, headers and body stream).
pub async fn forward(
    req: &web_sys::Request,
    url: &Url,
    headers: &web_sys::Headers,
) -> Result<web_sys::Response> {
    let init = web_sys::RequestInit::new();
    init.set_method(&req.method());
    init.set_headers(headers);
    init.set_redirect(web_sys::RequestRedirect::Manual);
    if let Some(body) = req.body() {
        init.set_body(&body);
    }
    let upstream = web_sys::Request::new_with_str_and_init(url.as_str(), &init)?;
    let global: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
    let response: web_sys::Response = JsFuture::from(global.fetch_with_request(&upstream))
        .await?
        .dyn_into()?;
    if response.status() == 101 {
        // A websocket upgrade: the response carries the socket; hand it back untouched.
        return Ok(response);
    }
    let init = web_sys::ResponseInit::new();
    init.set_status(response.status());
    init.set_status_text(&response.status_text());
    init.set_headers(&response.headers());
    Ok(web_sys::Response::new_with_opt_readable_stream_and_init(
        response.body().as_ref(),
        &init,
    )?)
}
