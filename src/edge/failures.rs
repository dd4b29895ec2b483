//! The isolate's memory of what went wrong, for `/__edgeseg/health`; every failure is
//! also logged as it happens.

use std::cell::RefCell;
use std::collections::BTreeMap;

use serde::Serialize;
use worker::{console_error, Date};

use super::error::Error;

#[derive(Clone, Serialize)]
pub struct FailureRecord {
    pub count: u64,
    pub last_detail: String,
    /// Unix milliseconds.
    pub last_at: u64,
}

thread_local! {
    static FAILURES: RefCell<BTreeMap<&'static str, FailureRecord>> = const { RefCell::new(BTreeMap::new()) };
}

/// Logs a failure and counts it under its code's token.
pub fn record(error: &Error) {
    console_error!("edgeseg: {error}");
    let now = Date::now().as_millis();
    FAILURES.with(|f| {
        let mut f = f.borrow_mut();
        let entry = f.entry(error.code().token()).or_insert(FailureRecord {
            count: 0,
            last_detail: String::new(),
            last_at: now,
        });
        entry.count += 1;
        entry.last_detail = error.detail().chars().take(300).collect();
        entry.last_at = now;
    });
}

pub fn snapshot() -> BTreeMap<&'static str, FailureRecord> {
    FAILURES.with(|f| f.borrow().clone())
}
