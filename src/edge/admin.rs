//! `/__edgeseg/admin/...`: operator endpoints behind a bearer secret
//! (`EDGESEG_ADMIN_TOKEN`); without the secret they do not exist (404).
//!
//! - `GET /__edgeseg/admin/sessions/{s:<sid>|c:<key>}`: the stored state (access request).
//! - `DELETE` the same: erase it (erasure request), and for `c:<key>` the customer's
//!   traits in KV too. Any other method: 405.
//! - `GET /__edgeseg/admin/dashboard.json?window=hour|day`: what the dashboard shows.
//! - `GET /__edgeseg/admin/drift`: the serving model's drift, last hour and day.
//! - `GET /__edgeseg/admin/explain/{id}`: a classification's decision record.
//! - `GET /__edgeseg/admin/audit[?limit=N]`: the model audit trail, oldest first (the
//!   last N records, default 200): every publication, activation, rejection, promotion
//!   and rollback.
//! - `GET /__edgeseg/admin/records?from=YYYY-MM-DD&to=YYYY-MM-DD`: the training-record
//!   objects of those days, `[{"key", "size"}]` (`edgeseg logs pull`).
//! - `GET /__edgeseg/admin/records/object?key=...`: one record object, gzip JSONL.

use worker::{Env, Method, Request};

use crate::core::decision_log::DecisionId;
use crate::core::records::partition::Day;

use super::admin_auth::authorize;
use super::dashboard::{self, Window};
use super::error::{Code, Result};
use super::session_protocol::Operation;
use super::{audit, decisions, records, respond, sessions, traits};

const SESSIONS_PREFIX: &str = "/__edgeseg/admin/sessions/";
const EXPLAIN_PREFIX: &str = "/__edgeseg/admin/explain/";
const DASHBOARD_DATA_PATH: &str = "/__edgeseg/admin/dashboard.json";
const DRIFT_PATH: &str = "/__edgeseg/admin/drift";
const RECORDS_PATH: &str = "/__edgeseg/admin/records";
const RECORD_OBJECT_PATH: &str = "/__edgeseg/admin/records/object";

fn is_object_name(name: &str) -> bool {
    let hex = |s: &str, len: usize| {
        s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    };
    match name.split_once(':') {
        Some(("s", id)) => hex(id, 32),
        Some(("c", key)) => hex(key, 64),
        _ => false,
    }
}

/// `GET /__edgeseg/admin/explain/{id}`: a decision record, as kept.
async fn explain(env: &Env, id: &str) -> Result<String> {
    let id = DecisionId::parse(id).map_err(|e| Code::BadObjectName.because(e))?;
    decisions::recall(env, &id)
        .await?
        .ok_or_else(|| Code::NoState.because(format!("no decision {id} is kept")))
}

fn query(req: &Request, name: &str) -> Option<String> {
    req.url().ok().and_then(|url| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    })
}

pub async fn handle(req: Request, env: &Env) -> web_sys::Response {
    if let Err(denied) = authorize(&req, env) {
        return respond::error(&denied);
    }
    let path = req.path();
    if req.method() == Method::Get {
        let answer = if path == DASHBOARD_DATA_PATH {
            let window = Window::parse(query(&req, "window").as_deref());
            Some(dashboard::data(env, window).await.map(|v| v.to_string()))
        } else if path == DRIFT_PATH {
            Some(dashboard::drift_windows(env).await.map(|v| v.to_string()))
        } else if let Some(id) = path.strip_prefix(EXPLAIN_PREFIX) {
            Some(explain(env, id).await)
        } else {
            None
        };
        if let Some(answer) = answer {
            return match answer {
                Ok(text) => respond::raw_json(200, &text),
                Err(e) => respond::error(&e),
            };
        }
    }
    if path == RECORD_OBJECT_PATH && req.method() == Method::Get {
        return record_object(&req, env).await;
    }
    if path == RECORDS_PATH && req.method() == Method::Get {
        return match record_listing(&req, env).await {
            Ok(listed) => respond::json(200, &listed),
            Err(e) => respond::error(&e),
        };
    }
    if path == "/__edgeseg/admin/audit" && req.method() == Method::Get {
        let limit = req
            .url()
            .ok()
            .and_then(|url| {
                url.query_pairs()
                    .find(|(k, _)| k == "limit")
                    .and_then(|(_, v)| v.parse::<usize>().ok())
            })
            .unwrap_or(200)
            .clamp(1, 1000);
        return match audit::trail(env, limit).await {
            Ok(records) => respond::json(200, &records),
            Err(e) => respond::error(&e),
        };
    }
    let Some(name) = path.strip_prefix(SESSIONS_PREFIX) else {
        return respond::error(&Code::NotFound.because(format!("no admin endpoint {path}")));
    };
    if !is_object_name(name) {
        return respond::error(&Code::BadObjectName.because("expected s:<32 hex> or c:<64 hex>"));
    }
    let method = req.method();
    let operation = match method {
        Method::Get => Operation::Read,
        Method::Delete => Operation::Erase,
        _ => return respond::method_not_allowed(&method, &path, "GET, DELETE"),
    };
    match session_state(env, name, operation).await {
        Ok(text) => respond::raw_json(200, &text),
        Err(e) => respond::error(&e),
    }
}

/// The record objects of the `from..=to` days.
async fn record_listing(req: &Request, env: &Env) -> Result<Vec<records::Listed>> {
    let day = |name: &str| {
        let text = query(req, name).unwrap_or_default();
        Day::parse(&text).map_err(|e| Code::BadQuery.because(format!("{name}: {e}")))
    };
    let (from, to) = (day("from")?, day("to")?);
    records::list(env, from, to).await
}

/// One record object's bytes, as stored (gzip JSONL).
async fn record_object(req: &Request, env: &Env) -> web_sys::Response {
    let Some(key) = query(req, "key") else {
        return respond::error(&Code::BadQuery.because("key is required"));
    };
    match records::read(env, &key).await {
        Ok(Some(bytes)) => respond::bytes(200, bytes, "application/gzip"),
        Ok(None) => respond::error(&Code::NoState.because(format!("no record object {key}"))),
        Err(e) => respond::error(&e),
    }
}

/// Reads or erases one object's state: the JSON to answer with.
async fn session_state(env: &Env, name: &str, operation: Operation) -> Result<String> {
    if let (Operation::Erase, Some(customer)) = (operation, name.strip_prefix("c:")) {
        // A customer's erasure covers the traits the store published for them.
        traits::erase(env, customer).await?;
    }
    match sessions::call(env, name, operation, None).await? {
        (200, text) if operation == Operation::Read => Ok(text),
        (200, _) => Ok(r#"{"erased":true}"#.to_string()),
        (404, _) => Err(Code::NoState.because(format!("nothing stored for {name}"))),
        (status, text) => Err(Code::StorageError.because(format!("{status}: {text}"))),
    }
}

