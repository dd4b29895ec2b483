//! The training records' binding (an R2 bucket, docs/contracts.md section 9): a tracked
//! request's entry sent to its session object after the response, a finished visit's
//! record written (by the session object's alarm), the daily retention sweep, and the
//! admin's listing and download for `edgeseg logs pull`. What a record holds is the
//! core's (`crate::core::records`).

use serde::Serialize;
use worker::{Bucket, Date, Env};

use crate::core::records::partition::{self, object_key, Day};
use crate::core::records::record::to_jsonl_gz;
use crate::core::records::TrainingRecord;

use super::bindings::RECORDS_BINDING;
use super::error::{Code, Result, ResultExt};
use super::{settings, vars};

fn bucket(env: &Env) -> Result<Bucket> {
    env.bucket(RECORDS_BINDING).code(Code::RecordsUnavailable)
}

/// Whether this worker keeps training records at all (the bucket is bound).
pub fn enabled(env: &Env) -> bool {
    vars::of(env).records_bound
}

/// Writes one visit's record under its deterministic key: written again, it replaces
/// itself. `object` is the session object's platform id.
pub async fn write(env: &Env, object: &str, record: &TrainingRecord) -> Result<()> {
    let bytes = to_jsonl_gz(std::slice::from_ref(record))
        .map_err(|e| Code::RecordsUnavailable.because(e))?;
    let key = object_key(object, record.started_ms);
    bucket(env)?
        .put(&key, bytes)
        .execute()
        .await
        .code(Code::RecordsUnavailable)
        .context(format!("writing {key}"))?;
    Ok(())
}

/// The day partitions the bucket holds (`records/day=.../`).
async fn partitions(bucket: &Bucket) -> Result<Vec<String>> {
    let mut prefixes = Vec::new();
    let mut cursor = None;
    loop {
        let mut list = bucket.list().prefix(partition::ROOT).delimiter("/");
        if let Some(cursor) = cursor.take() {
            list = list.cursor(cursor);
        }
        let page = list.execute().await.code(Code::RecordsUnavailable)?;
        prefixes.extend(page.delimited_prefixes());
        match page.cursor() {
            Some(next) if page.truncated() => cursor = Some(next),
            _ => break,
        }
    }
    Ok(prefixes)
}

/// Every object key under `prefix`, with its size.
async fn objects(bucket: &Bucket, prefix: &str) -> Result<Vec<Listed>> {
    let mut found = Vec::new();
    let mut cursor = None;
    loop {
        let mut list = bucket.list().prefix(prefix);
        if let Some(cursor) = cursor.take() {
            list = list.cursor(cursor);
        }
        let page = list.execute().await.code(Code::RecordsUnavailable)?;
        found.extend(page.objects().into_iter().map(|o| Listed {
            key: o.key(),
            size: o.size(),
        }));
        match page.cursor() {
            Some(next) if page.truncated() => cursor = Some(next),
            _ => break,
        }
    }
    Ok(found)
}

/// Retention: deletes the day partitions older than `records.retention_days` (the
/// daily cron trigger runs this; it works the same against local R2). An account may
/// add an R2 lifecycle rule on the `records/` prefix as well (README).
pub async fn sweep(env: &Env) -> Result<usize> {
    let settings = settings::load(env).await?;
    let bucket = bucket(env)?;
    let today = Day::of_ms(Date::now().as_millis() as i64);
    let retention = settings.config.records.retention_days;
    let prefixes = partitions(&bucket).await?;
    let mut deleted = 0;
    for prefix in partition::expired(&prefixes, today, retention) {
        let keys: Vec<String> = objects(&bucket, prefix)
            .await?
            .into_iter()
            .map(|o| o.key)
            .collect();
        for chunk in keys.chunks(1000) {
            bucket
                .delete_multiple(chunk.to_vec())
                .await
                .code(Code::RecordsUnavailable)?;
            deleted += chunk.len();
        }
    }
    Ok(deleted)
}

/// One stored record object, as the admin listing shows it.
#[derive(Serialize)]
pub struct Listed {
    pub key: String,
    pub size: u64,
}

/// The record objects of the days `from..=to`, in key order.
pub async fn list(env: &Env, from: Day, to: Day) -> Result<Vec<Listed>> {
    let bucket = bucket(env)?;
    let mut found = Vec::new();
    for day in from.through(to) {
        found.extend(objects(&bucket, &day.prefix()).await?);
    }
    Ok(found)
}

/// One record object's bytes (gzip JSONL), `None` when there is none under `key`.
pub async fn read(env: &Env, key: &str) -> Result<Option<Vec<u8>>> {
    if !key.starts_with(partition::ROOT) {
        return Err(Code::BadQuery.because(format!("{key} is not a record key")));
    }
    let Some(object) = bucket(env)?
        .get(key)
        .execute()
        .await
        .code(Code::RecordsUnavailable)?
    else {
        return Ok(None);
    };
    match object.body() {
        Some(body) => Ok(Some(body.bytes().await.code(Code::RecordsUnavailable)?)),
        None => Ok(None),
    }
}
