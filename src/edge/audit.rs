//! The model audit trail in KV (`audit/<time>...`: publications, activations,
//! rejections, promotions, rollbacks), as the admin API and the dashboard read it.

use worker::Env;

use crate::core::channel::{AuditRecord, AUDIT_PREFIX};

use super::bindings::KV_BINDING;
use super::error::{Code, Result, ResultExt};

/// The last `limit` audit records, oldest first (KV lists keys in order, and the keys
/// start with the time).
pub async fn trail(env: &Env, limit: usize) -> Result<Vec<AuditRecord>> {
    let kv = env.kv(KV_BINDING).code(Code::KvUnavailable)?;
    let mut names = Vec::new();
    let mut cursor = None;
    loop {
        let mut list = kv.list().prefix(AUDIT_PREFIX.to_string());
        if let Some(cursor) = cursor.take() {
            list = list.cursor(cursor);
        }
        let page = list.execute().await?;
        names.extend(page.keys.into_iter().map(|key| key.name));
        match page.cursor {
            Some(next) if !page.list_complete => cursor = Some(next),
            _ => break,
        }
    }
    let skip = names.len().saturating_sub(limit);
    let mut records = Vec::new();
    for name in names.into_iter().skip(skip) {
        let text = kv.get(&name).text().await?;
        if let Some(record) = text.and_then(|t| serde_json::from_str(&t).ok()) {
            records.push(record);
        }
    }
    Ok(records)
}
