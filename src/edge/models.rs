//! The model bundle this isolate classifies with: built once (verification, tract plan)
//! and kept, because building it is the cold-start cost.

use std::cell::OnceCell;
use std::rc::Rc;

use crate::core::bundle;
use crate::core::classify::LoadedBundle;
use crate::core::page_stats::PageStats;

thread_local! {
    static EMBEDDED: OnceCell<Result<Rc<LoadedBundle>, String>> = const { OnceCell::new() };
    static EMBEDDED_STATS: OnceCell<Rc<PageStats>> = const { OnceCell::new() };
}

/// The bundle compiled into the worker: it works with zero configuration.
pub fn active() -> Result<Rc<LoadedBundle>, String> {
    EMBEDDED.with(|cell| {
        cell.get_or_init(|| {
            LoadedBundle::embedded()
                .map(Rc::new)
                .map_err(|e| format!("embedded bundle: {e}"))
        })
        .clone()
    })
}

/// The embedded bundle's page-stats table alone, for the session Durable Object, which
/// needs it to count page views but never classifies (so never builds a tract plan).
pub fn page_stats() -> Rc<PageStats> {
    EMBEDDED_STATS.with(|cell| {
        Rc::clone(cell.get_or_init(|| {
            let stats = bundle::embedded()
                .get("page_stats.json")
                .and_then(|bytes| std::str::from_utf8(bytes).ok())
                .and_then(|text| PageStats::from_json(text).ok())
                .unwrap_or_default();
            Rc::new(stats)
        }))
    })
}
