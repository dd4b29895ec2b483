//! The decision log's shell side: a classification id for a tracked response, the record
//! kept in the shopper's session object after the response (`waitUntil`), and the
//! admin's `GET /__edgeseg/admin/explain/{id}`. The record itself is the core's
//! (`crate::core::decision_log`).

use worker::{Env, Request, RequestInit};

use crate::core::decision_log::{DecisionId, DecisionRecord};

use super::bindings::SESSIONS_BINDING;
use super::error::{Code, Result};
use super::failures;
use super::session_protocol::Operation;

/// Query parameter of [`Operation::Recall`].
pub const KEY_PARAM: &str = "key";

/// A fresh id for a decision of the session object `object`: the object's platform id
/// (so the admin endpoint finds it without knowing the session) and 6 random bytes.
pub fn new_id(env: &Env, object: &str) -> Result<DecisionId> {
    let object_id = env
        .durable_object(SESSIONS_BINDING)?
        .id_from_name(object)?
        .to_string();
    let mut key = [0u8; 6];
    getrandom::fill(&mut key).map_err(|e| Code::SessionId.because(e))?;
    Ok(DecisionId::new(&object_id, &key))
}

/// Keeps `record` in the session object `object` (after the response).
pub async fn remember(env: Env, object: String, record: DecisionRecord) {
    let kept = async {
        let body = serde_json::to_string(&record)?;
        let (status, text) =
            super::sessions::call(&env, &object, Operation::Remember, Some(body.into())).await?;
        match status {
            200..=299 => Ok(()),
            _ => {
                Err(Code::StorageError.because(format!("session object answered {status}: {text}")))
            }
        }
    };
    if let Err(e) = kept.await {
        failures::record(&e.context("keeping a decision record"));
    }
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
