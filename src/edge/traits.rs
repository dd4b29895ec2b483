//! A logged-in customer's traits (contract section 8) from the KV namespace: at most one
//! read per request, kept per isolate for a minute, never for anonymous shoppers (the
//! caller only asks with a customer key, after consent), and their erasure. A malformed
//! or oversized value is ignored and counted for health.

use std::cell::RefCell;
use std::collections::HashMap;

use serde::Serialize;
use worker::{console_error, Date, Env};

use crate::core::traits::{kv_key, TraitSchema, Traits};

use super::bindings::KV_BINDING;
use super::error::{Code, Result, ResultExt};

/// How long a read value (or its absence) serves this isolate.
const CACHE_MS: f64 = 60_000.0;
/// Customers remembered per isolate; the cache starts afresh beyond this.
const CACHE_ENTRIES: usize = 2_000;

/// What this isolate did, for `/__edgeseg/health`.
#[derive(Clone, Copy, Default, Serialize)]
pub struct TraitsHealth {
    /// KV reads made (at most one per request, only for known customers).
    pub kv_reads: u64,
    /// Requests answered from the isolate's cache.
    pub cache_hits: u64,
    /// Stored values ignored as malformed or oversized.
    pub ignored: u64,
}

struct Cached {
    at_ms: f64,
    /// Decoded once per read; empty when the customer has none (or they were ignored).
    traits: Traits,
}

thread_local! {
    static CACHE: RefCell<HashMap<String, Cached>> = RefCell::new(HashMap::new());
    static HEALTH: RefCell<TraitsHealth> = RefCell::new(TraitsHealth::default());
}

fn count(update: impl FnOnce(&mut TraitsHealth)) {
    HEALTH.with(|h| update(&mut h.borrow_mut()));
}

pub fn health() -> TraitsHealth {
    HEALTH.with(|h| *h.borrow())
}

/// The traits of the customer `customer_key`, as `schema` declares them. A schema that
/// declares nothing needs no read.
pub async fn for_customer(
    env: &Env,
    customer_key: &str,
    schema: &TraitSchema,
) -> Result<Traits> {
    if schema.is_empty() {
        return Ok(Traits::default());
    }
    let now = Date::now().as_millis() as f64;
    let cached = CACHE.with(|c| {
        c.borrow()
            .get(customer_key)
            .filter(|entry| now - entry.at_ms < CACHE_MS)
            .map(|entry| entry.traits.clone())
    });
    if let Some(traits) = cached {
        count(|h| h.cache_hits += 1);
        return Ok(traits);
    }
    count(|h| h.kv_reads += 1);
    let kv = env.kv(KV_BINDING).code(Code::KvUnavailable)?;
    let text = kv
        .get(&kv_key(customer_key))
        .text()
        .await
        .context("reading a customer's traits")?;
    let traits = match text.as_deref().map(|t| Traits::decode(t, schema)) {
        None => Traits::default(),
        Some(Ok(traits)) => traits,
        Some(Err(e)) => {
            count(|h| h.ignored += 1);
            console_error!("edgeseg: traits of a customer ignored: {e}");
            Traits::default()
        }
    };
    CACHE.with(|c| {
        let mut cache = c.borrow_mut();
        if cache.len() >= CACHE_ENTRIES {
            cache.clear();
        }
        let entry = Cached {
            at_ms: now,
            traits: traits.clone(),
        };
        cache.insert(customer_key.to_string(), entry);
    });
    Ok(traits)
}

/// Deletes a customer's traits from KV and from this isolate's cache (an erasure).
pub async fn erase(env: &Env, customer_key: &str) -> Result<()> {
    CACHE.with(|c| c.borrow_mut().remove(customer_key));
    let kv = env.kv(KV_BINDING).code(Code::KvUnavailable)?;
    kv.delete(&kv_key(customer_key))
        .await
        .context("erasing a customer's traits")
}
