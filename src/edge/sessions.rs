//! The worker's side of the session Durable Objects: which object a request belongs to,
//! and the one round trip that updates it.

use worker::{Env, Method, Request, RequestInit};

use crate::core::identity::{customer_object_name, request_customer_key, SessionId};
use crate::core::page_stats::PageStats;
use crate::core::session::SessionState;
use crate::core::signals::Event;

use super::bindings::SESSIONS_BINDING;
use super::session_do::ApplyRequest;
use super::settings::Settings;

/// The object holding a request's state.
pub struct ObjectRef {
    pub name: String,
    /// The customer key (`identity::request_customer_key`) when a customer is known.
    pub customer_key: Option<String>,
    /// The session object to merge into the customer's, the first time they meet.
    pub absorb: Option<String>,
}

/// A logged-in customer's object when a customer is known (and a hashing key is
/// configured), else the session's own.
pub fn object_for(
    session: &SessionId,
    cookie_header: Option<&str>,
    settings: &Settings,
) -> Result<ObjectRef, String> {
    let key = match &settings.customer_secret {
        Some(secret) => request_customer_key(cookie_header, &settings.config, secret)
            .map_err(|e| e.to_string())?,
        None => None,
    };
    Ok(match key {
        Some(key) => ObjectRef {
            name: customer_object_name(&key),
            customer_key: Some(key),
            absorb: Some(session.object_name()),
        },
        None => ObjectRef {
            name: session.object_name(),
            customer_key: None,
            absorb: None,
        },
    })
}

/// One operation on a session object: `METHOD https://session{path}` with an optional
/// body; the object's status and body text. Every caller of the session objects (the
/// pipeline, the beacon, admin, health) goes through here.
pub async fn call(
    env: &Env,
    object: &str,
    method: Method,
    path: &str,
    body: Option<worker::wasm_bindgen::JsValue>,
) -> worker::Result<(u16, String)> {
    let stub = env.durable_object(SESSIONS_BINDING)?.get_by_name(object)?;
    let init = RequestInit {
        method,
        body,
        ..RequestInit::default()
    };
    let url = format!("https://session{path}");
    let mut response = stub
        .fetch_with_request(Request::new_with_init(&url, &init)?)
        .await?;
    let status = response.status_code();
    Ok((status, response.text().await?))
}

/// Counts `events` in the object, with the page stats of the bundle that will classify
/// the result, and returns the updated state.
pub async fn apply(
    env: &Env,
    object: ObjectRef,
    events: Vec<Event>,
    now_ms: i64,
    stats: &PageStats,
) -> Result<SessionState, String> {
    let paths = events.iter().filter_map(|event| match event {
        Event::PageView(view) => Some(view.path.as_str()),
        _ => None,
    });
    let page_stats = Some(stats.slice_for(paths));
    let body = serde_json::to_string(&ApplyRequest {
        now_ms,
        events,
        customer: object.customer_key.is_some(),
        absorb: object.absorb,
        page_stats,
    })
    .map_err(|e| e.to_string())?;
    let call = call(env, &object.name, Method::Post, "/apply", Some(body.into()));
    match call.await {
        Ok((200, text)) => Ok(SessionState::from_stored(Some(text.as_bytes())).0),
        Ok((status, text)) => Err(format!("session object answered {status}: {text}")),
        Err(e) => Err(e.to_string()),
    }
}
