//! What a session object keeps beside its state: the decision log
//! (`crate::core::decision_log`) and the current visit's trail of training-record
//! entries (`crate::core::records`). Each record and each entry has its own storage key
//! and the small indexes are cached in memory, so keeping a request's leftovers costs
//! one write however long the visit has run: no read, and no rewrite of what is already
//! stored. Only the object calls these, under its lock.

use std::cell::RefCell;

use serde::de::DeserializeOwned;
use worker::wasm_bindgen::JsValue;
use worker::{js_sys, ListOptions, Result, Storage};

use crate::core::decision_log::{self, DecisionId, DecisionRecord};
use crate::core::records::{RequestEntry, TrailHead, TrainingRecord};

use super::error::Code;

/// The keys of the decision records kept, oldest first.
const DECISION_INDEX_KEY: &str = "decision-index";
/// One decision record, under `decision/{key}` (the key part of its id).
const DECISION_PREFIX: &str = "decision/";
/// The current visit's trail head.
const TRAIL_HEAD_KEY: &str = "trail-head";
/// One request entry of the current visit, under `trail/{slot}` (zero-padded).
const TRAIL_PREFIX: &str = "trail/";
/// Records of ended visits not yet in the bucket: the alarm writes (and retries) them.
const UNWRITTEN_KEY: &str = "records-unwritten";
/// The most keys the platform deletes in one call.
const DELETE_BATCH: usize = 128;

/// A request's entry for the trail of the visit that started at `visit_start_ms`,
/// which keeps at most `cap` entries.
pub struct TrailEntry<'a> {
    pub entry: &'a RequestEntry,
    pub visit_start_ms: i64,
    pub cap: usize,
}

/// The in-memory copies of the indexes; `None` until first read from storage.
#[derive(Default)]
pub struct SessionLogs {
    decision_index: RefCell<Option<Vec<String>>>,
    trail_head: RefCell<Option<TrailHead>>,
}

/// A value kept as JSON text (so feature values come back exactly); unreadable or
/// absent: `None`.
async fn stored_json<T: DeserializeOwned>(storage: &Storage, key: &str) -> Result<Option<T>> {
    let text: Option<String> = storage.get(key).await?;
    Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
}

/// Stores several values (JSON text) in one call: one crossing into the runtime, one
/// write, instead of one of each per key.
async fn put_texts(storage: &Storage, values: &[(String, String)]) -> Result<()> {
    let object = js_sys::Object::new();
    for (key, text) in values {
        js_sys::Reflect::set(&object, &JsValue::from_str(key), &JsValue::from_str(text))?;
    }
    storage.put_multiple_raw(object).await
}

fn decision_key(key: &str) -> String {
    format!("{DECISION_PREFIX}{key}")
}

impl SessionLogs {
    /// Forgets the cached indexes (the object's storage was erased).
    pub fn clear(&self) {
        self.decision_index.replace(None);
        self.trail_head.replace(None);
    }

    /// Keeps what one tracked request leaves in its object, its decision record and
    /// its trail entry (either or both), in one write with the request's other `writes`
    /// (its state): the record with the log's index, the entry with the trail's head.
    /// Records the log no longer keeps are then deleted, when a batch of them has
    /// gathered (`decision_log::remember`).
    pub async fn keep(
        &self,
        storage: &Storage,
        mut writes: Vec<(String, String)>,
        decision: Option<&DecisionRecord>,
        trail: Option<TrailEntry<'_>>,
    ) -> Result<()> {
        let mut dropped = Vec::new();
        let index = match decision {
            Some(record) => {
                let mut index = match self.decision_index.take() {
                    Some(index) => index,
                    None => stored_json(storage, DECISION_INDEX_KEY)
                        .await?
                        .unwrap_or_default(),
                };
                let key = DecisionId::parse(&record.id)
                    .map_err(|e| Code::StorageError.because(e))?
                    .key;
                writes.push((decision_key(&key), serde_json::to_string(record)?));
                dropped = decision_log::remember(&mut index, key);
                writes.push((DECISION_INDEX_KEY.to_string(), serde_json::to_string(&index)?));
                Some(index)
            }
            None => None,
        };
        let head = match trail {
            Some(trail) => {
                let mut head = self.head_for(storage, trail.visit_start_ms).await?;
                if let Some(slot) = head.admit(trail.entry, trail.cap) {
                    let key = format!("{TRAIL_PREFIX}{slot:05}");
                    writes.push((key, serde_json::to_string(trail.entry)?));
                }
                writes.push((TRAIL_HEAD_KEY.to_string(), serde_json::to_string(&head)?));
                Some(head)
            }
            None => None,
        };
        if !writes.is_empty() {
            put_texts(storage, &writes).await?;
        }
        // The caches follow storage only once the write has succeeded.
        if let Some(index) = index {
            self.decision_index.replace(Some(index));
        }
        if let Some(head) = head {
            self.trail_head.replace(Some(head));
        }
        if !dropped.is_empty() {
            let keys: Vec<String> = dropped.iter().map(|k| decision_key(k)).collect();
            storage.delete_multiple(keys).await?;
        }
        Ok(())
    }

    /// The decision record under `key` as JSON text, if it is still kept.
    pub async fn recall(&self, storage: &Storage, key: &str) -> Result<Option<String>> {
        storage.get(&decision_key(key)).await
    }

    /// The trail head, from memory or else from storage; the cache is emptied until
    /// the head is saved again.
    async fn take_head(&self, storage: &Storage) -> Result<Option<TrailHead>> {
        match self.trail_head.take() {
            Some(head) => Ok(Some(head)),
            None => stored_json(storage, TRAIL_HEAD_KEY).await,
        }
    }

    /// The current visit's head: the stored one if it belongs to the visit that
    /// started at `visit_start_ms`, else a new one (an earlier visit's trail is closed
    /// first: its record waits for the alarm with the other unwritten ones).
    async fn head_for(&self, storage: &Storage, visit_start_ms: i64) -> Result<TrailHead> {
        let head = self.take_head(storage).await?;
        match head {
            Some(head) if head.started_ms == visit_start_ms => Ok(head),
            Some(earlier) => {
                self.close(storage, earlier).await?;
                Ok(TrailHead::new(visit_start_ms))
            }
            None => Ok(TrailHead::new(visit_start_ms)),
        }
    }

    async fn save_head(&self, storage: &Storage, head: TrailHead) -> Result<()> {
        storage
            .put(TRAIL_HEAD_KEY, serde_json::to_string(&head)?)
            .await?;
        self.trail_head.replace(Some(head));
        Ok(())
    }

    /// Notes a beacon's arrival: a replay of the record needs its time.
    pub async fn add_beacon(
        &self,
        storage: &Storage,
        visit_start_ms: i64,
        at_ms: i64,
        cap: usize,
    ) -> Result<()> {
        let mut head = self.head_for(storage, visit_start_ms).await?;
        head.add_beacon(at_ms, cap);
        self.save_head(storage, head).await
    }

    /// Closes the stored trail (the visit has ended): its record joins the unwritten.
    pub async fn close_trail(&self, storage: &Storage) -> Result<()> {
        let head = self.take_head(storage).await?;
        match head {
            Some(head) => self.close(storage, head).await,
            None => Ok(()),
        }
    }

    /// Turns a head and its stored entries into a record among the unwritten, and
    /// deletes them.
    async fn close(&self, storage: &Storage, head: TrailHead) -> Result<()> {
        let listed = storage
            .list_with_options(ListOptions::new().prefix(TRAIL_PREFIX))
            .await?;
        let mut keys = Vec::new();
        let mut entries = Vec::new();
        listed.for_each(&mut |value, key| {
            keys.extend(key.as_string());
            let entry = value
                .as_string()
                .and_then(|text| serde_json::from_str::<RequestEntry>(&text).ok());
            entries.extend(entry);
        });
        if let Some(record) = head.into_record(entries) {
            let mut unwritten = self.unwritten(storage).await?;
            unwritten.push(record);
            self.set_unwritten(storage, &unwritten).await?;
        }
        for batch in keys.chunks(DELETE_BATCH) {
            storage.delete_multiple(batch.to_vec()).await?;
        }
        storage.delete(TRAIL_HEAD_KEY).await?;
        Ok(())
    }

    /// Records of ended visits not yet written to the bucket.
    pub async fn unwritten(&self, storage: &Storage) -> Result<Vec<TrainingRecord>> {
        Ok(stored_json(storage, UNWRITTEN_KEY).await?.unwrap_or_default())
    }

    /// Replaces the unwritten records (none: the key is deleted).
    pub async fn set_unwritten(&self, storage: &Storage, records: &[TrainingRecord]) -> Result<()> {
        if records.is_empty() {
            storage.delete(UNWRITTEN_KEY).await?;
            return Ok(());
        }
        storage
            .put(UNWRITTEN_KEY, serde_json::to_string(records)?)
            .await
    }
}
