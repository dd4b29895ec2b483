//! The worker's side of the session Durable Objects: which object a request belongs to,
//! and the one round trip that updates it.

use wasm_bindgen_futures::JsFuture;
use worker::{Env, Request, RequestInit};

use crate::core::identity::{customer_object_name, request_customer_key, SessionId};
use crate::core::page_stats::PageStats;
use crate::core::session::SessionState;
use crate::core::signals::Event;

use super::bindings::SESSIONS_BINDING;
use super::error::{Code, Result, ResultExt};
use super::failures;
use super::session_protocol::{ApplyRequest, Operation, Remembered};
use super::settings::Settings;

/// The object holding a request's state.
pub struct ObjectRef {
    pub name: String,
    /// The customer key (`identity::request_customer_key`) when a customer is known.
    pub customer_key: Option<String>,
    /// The session object to merge into the customer's, the first time they meet.
    pub absorb: Option<String>,
}

/// A logged-in customer's object when a proof names one (a store token, or the
/// worker's signed customer cookie; never a raw id), else the session's own.
pub fn object_for(
    session: &SessionId,
    cookie_header: Option<&str>,
    settings: &Settings,
    now_ms: i64,
) -> ObjectRef {
    let key = request_customer_key(
        cookie_header,
        &settings.config,
        &settings.keys,
        settings.store_token_key.as_deref(),
        now_ms,
    );
    match key {
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
    }
}

/// One operation on a session object, with an optional body; the object's status and
/// body text. Every caller of the session objects (the pipeline, the beacon, admin,
/// health, and a customer object absorbing a session) goes through here.
pub async fn call(
    env: &Env,
    object: &str,
    operation: Operation,
    body: Option<worker::wasm_bindgen::JsValue>,
) -> Result<(u16, String)> {
    let stub = env.durable_object(SESSIONS_BINDING)?.get_by_name(object)?;
    let init = RequestInit {
        method: operation.method(),
        body,
        ..RequestInit::default()
    };
    let request = Request::new_with_init(&operation.url(), &init)?;
    let response = web_sys::Response::from(stub.fetch_with_request(request).await?);
    // The runtime's own `text()`, in one call: workers-rs' `Response::text` reads the
    // body through a stream reader, a trip into and out of the wasm for every chunk.
    let text = JsFuture::from(response.text()?).await?.as_string();
    let text =
        text.ok_or_else(|| Code::StorageUnavailable.because("the object's body is not text"))?;
    Ok((response.status(), text))
}

/// Counts `events` in the object, with the page stats of the bundle that will classify
/// the result, and returns the updated state.
pub async fn apply(
    env: &Env,
    object: ObjectRef,
    events: Vec<Event>,
    now_ms: i64,
    stats: &PageStats,
) -> Result<SessionState> {
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
    .code(Code::StorageUnavailable)?;
    match call(env, &object.name, Operation::Apply, Some(body.into())).await? {
        (200, text) => Ok(SessionState::from_stored(Some(text.as_bytes())).0),
        (status, text) => Err(Code::StorageUnavailable
            .because(format!("session object answered {status}: {text}"))),
    }
}

/// Keeps what a tracked request left in its object, after the response (`waitUntil`):
/// its decision record and its training-record entry, in one round trip. A failure
/// costs the record (logged and counted), never the shopper.
pub async fn remember(env: Env, object: String, remembered: Remembered) {
    let kept = async {
        let body = serde_json::to_string(&remembered).code(Code::StorageError)?;
        match call(&env, &object, Operation::Remember, Some(body.into())).await? {
            (200..=299, _) => Ok(()),
            (status, text) => {
                Err(Code::StorageError.because(format!("session object answered {status}: {text}")))
            }
        }
    };
    if let Err(e) = kept.await {
        failures::record(&e.context("keeping a request's decision record and trail entry"));
    }
}
