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
    pub customer: bool,
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
            customer: true,
            absorb: Some(session.object_name()),
        },
        None => ObjectRef {
            name: session.object_name(),
            customer: false,
            absorb: None,
        },
    })
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
    let call = async {
        let body = serde_json::to_string(&ApplyRequest {
            now_ms,
            events,
            customer: object.customer,
            absorb: object.absorb,
            page_stats,
        })?;
        let stub = env
            .durable_object(SESSIONS_BINDING)?
            .get_by_name(&object.name)?;
        let init = RequestInit {
            method: Method::Post,
            body: Some(body.into()),
            ..RequestInit::default()
        };
        let mut response = stub
            .fetch_with_request(Request::new_with_init("https://session/apply", &init)?)
            .await?;
        let status = response.status_code();
        let text = response.text().await?;
        Ok::<_, worker::Error>((status, text))
    };
    match call.await {
        Ok((200, text)) => Ok(SessionState::from_stored(Some(text.as_bytes())).0),
        Ok((status, text)) => Err(format!("session object answered {status}: {text}")),
        Err(e) => Err(e.to_string()),
    }
}
