//! The decision log's shell side: a classification id for a tracked response (the
//! session object that classifies keeps its record in the same write as the state), and
//! the admin's `GET /__edgeseg/admin/explain/{id}`. The record itself is the core's
//! (`crate::core::decision_log`).

use worker::{Env, Request, RequestInit};

use crate::core::decision_log::DecisionId;

use super::bindings::SESSIONS_BINDING;
use super::error::{Code, Result};
use super::session_protocol::Operation;

/// Query parameter of [`Operation::Recall`].
pub const KEY_PARAM: &str = "key";

/// A fresh id for a decision of the session object whose platform id is `object_id` (so
/// the admin endpoint finds it without knowing the session): that id and 6 random bytes.
pub fn new_id(object_id: &str) -> Result<DecisionId> {
    let mut key = [0u8; 6];
    getrandom::fill(&mut key).map_err(|e| Code::SessionId.because(e))?;
    Ok(DecisionId::new(object_id, &key))
}

/// The record of `id` as JSON text, `None` when the object does not have it (any more).
pub async fn recall(env: &Env, id: &DecisionId) -> Result<Option<String>> {
    let stub = env
        .durable_object(SESSIONS_BINDING)?
        .id_from_string(&id.object)
        .map_err(|e| Code::BadObjectName.because(e))?
        .get_stub()?;
    let init = RequestInit {
        method: Operation::Recall.method(),
        ..RequestInit::default()
    };
    let url = format!("{}?{KEY_PARAM}={}", Operation::Recall.url(), id.key);
    let mut response = stub
        .fetch_with_request(Request::new_with_init(&url, &init)?)
        .await?;
    match response.status_code() {
        200 => Ok(Some(response.text().await?)),
        404 => Ok(None),
        status => Err(Code::StorageError.because(format!("session object answered {status}"))),
    }
}
