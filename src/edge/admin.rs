//! `/__edgeseg/admin/...`: operator endpoints behind a bearer secret
//! (`EDGESEG_ADMIN_TOKEN`); without the secret they do not exist (404).
//!
//! - `GET /__edgeseg/admin/sessions/{s:<sid>|c:<key>}`: the stored state (access request).
//! - `DELETE` the same: erase it (erasure request), and for `c:<key>` the customer's
//!   traits in KV too.
//! - `GET /__edgeseg/admin/audit[?limit=N]`: the model audit trail, oldest first (the
//!   last N records, default 200): every publication, activation, rejection, promotion
//!   and rollback.

use sha2::{Digest, Sha256};
use worker::{Env, Method, Request};

use crate::core::channel::{AuditRecord, AUDIT_PREFIX};

use super::bindings::{ADMIN_TOKEN_SECRET, KV_BINDING};
use super::fetch::{json_error, raw_json};

const SESSIONS_PREFIX: &str = "/__edgeseg/admin/sessions/";

/// Compares digests, so the time taken says nothing about the token.
fn token_matches(given: &str, expected: &str) -> bool {
    Sha256::digest(given.as_bytes()) == Sha256::digest(expected.as_bytes())
}

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

/// `Err(())` when the token is not configured or does not match.
pub fn authorize(req: &Request, env: &Env) -> Result<(), web_sys::Response> {
    let Ok(expected) = env.secret(ADMIN_TOKEN_SECRET).map(|s| s.to_string()) else {
        return Err(json_error(
            404,
            "not_found",
            "admin endpoints are disabled".into(),
        ));
    };
    let given = req
        .headers()
        .get("authorization")
        .ok()
        .flatten()
        .and_then(|v| v.strip_prefix("Bearer ").map(str::to_string));
    match given {
        Some(token) if !expected.is_empty() && token_matches(&token, &expected) => Ok(()),
        _ => Err(json_error(
            401,
            "unauthorized",
            "a valid bearer token is required".into(),
        )),
    }
}

pub async fn handle(req: Request, env: &Env) -> web_sys::Response {
    if let Err(denied) = authorize(&req, env) {
        return denied;
    }
    let path = req.path();
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
        return match audit_trail(env, limit).await {
            Ok(records) => super::fetch::json_response(200, &records),
            Err(e) => json_error(503, "kv_unavailable", e),
        };
    }
    let Some(name) = path.strip_prefix(SESSIONS_PREFIX) else {
        return json_error(404, "not_found", format!("no admin endpoint {path}"));
    };
    if !is_object_name(name) {
        return json_error(
            400,
            "bad_object_name",
            "expected s:<32 hex> or c:<64 hex>".into(),
        );
    }
    let method = req.method();
    if let (Method::Delete, Some(customer)) = (&method, name.strip_prefix("c:")) {
        // A customer's erasure covers the traits the store published for them.
        if let Err(e) = super::traits::erase(env, customer).await {
            return json_error(503, "kv_unavailable", e);
        }
    }
    let call = super::sessions::call(env, name, method, "/state", None);
    match call.await {
        Ok((200, text)) if req.method() == Method::Get => raw_json(200, &text),
        Ok((200, _)) => raw_json(200, r#"{"erased":true}"#),
        Ok((404, _)) => json_error(404, "no_state", format!("nothing stored for {name}")),
        Ok((status, text)) => json_error(502, "storage_error", format!("{status}: {text}")),
        Err(e) => json_error(503, "storage_unavailable", e.to_string()),
    }
}

/// The last `limit` audit records, oldest first (KV lists keys in order, and the keys
/// start with the time).
async fn audit_trail(env: &Env, limit: usize) -> Result<Vec<AuditRecord>, String> {
    let kv = env.kv(KV_BINDING).map_err(|e| e.to_string())?;
    let mut names = Vec::new();
    let mut cursor = None;
    loop {
        let mut list = kv.list().prefix(AUDIT_PREFIX.to_string());
        if let Some(cursor) = cursor.take() {
            list = list.cursor(cursor);
        }
        let page = list.execute().await.map_err(|e| e.to_string())?;
        names.extend(page.keys.into_iter().map(|key| key.name));
        match page.cursor {
            Some(next) if !page.list_complete => cursor = Some(next),
            _ => break,
        }
    }
    let skip = names.len().saturating_sub(limit);
    let mut records = Vec::new();
    for name in names.into_iter().skip(skip) {
        let text = kv.get(&name).text().await.map_err(|e| e.to_string())?;
        if let Some(record) = text.and_then(|t| serde_json::from_str(&t).ok()) {
            records.push(record);
        }
    }
    Ok(records)
}
