//! The worker's side of the session Durable Objects: which object a request belongs to,
//! and the one round trip that updates and classifies it.

use wasm_bindgen_futures::JsFuture;
use worker::{Env, Request, RequestInit};

use crate::core::identity::{customer_object_name, request_customer_key, SessionId};
use crate::core::records::RequestEntry;

use super::bindings::SESSIONS_BINDING;
use super::error::{Code, Result, ResultExt};
use super::failures;
use super::session_protocol::{ApplyRequest, Decided, Operation};
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

/// Counts a request in its object, which classifies the updated state: what it decided.
pub async fn apply(env: &Env, object: &str, apply: &ApplyRequest) -> Result<Decided> {
    let body = serde_json::to_string(apply).code(Code::StorageUnavailable)?;
    match call(env, object, Operation::Apply, Some(body.into())).await? {
        (200, text) => serde_json::from_str(&text).code(Code::StorageUnavailable),
        (status, text) => Err(Code::StorageUnavailable
            .because(format!("session object answered {status}: {text}"))),
    }
}

/// Keeps an order page's trail entry, completed with the value the origin's response
/// named, after the response (`waitUntil`). A failure costs the entry (logged and
/// counted), never the shopper.
pub async fn remember(env: Env, object: String, entry: RequestEntry) {
    let kept = async {
        let body = serde_json::to_string(&entry).code(Code::StorageError)?;
        match call(&env, &object, Operation::Remember, Some(body.into())).await? {
            (200..=299, _) => Ok(()),
            (status, text) => {
                Err(Code::StorageError.because(format!("session object answered {status}: {text}")))
            }
        }
    };
    if let Err(e) = kept.await {
        failures::record(&e.context("keeping an order's trail entry"));
    }
}
