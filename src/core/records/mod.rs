//! Training records (docs/contracts.md section 9): what the worker keeps of a consented
//! visit so the store can train on its own shoppers with the worker's own feature rows.
//!
//! - [`trail`]: the visit's requests as the session object collects them (bounded).
//! - [`record`]: the record written when the visit ends, and its gzip JSONL form.
//! - [`partition`]: where a record goes (day prefix, deterministic key) and retention.
//! - [`lift`]: order rate of personalised visits against the holdout, from records.
//! - [`settings`]: the store config's `records` section (order route, order value).

pub mod lift;
pub mod partition;
pub mod record;
pub mod settings;
pub mod trail;

pub use record::{Outcome, RecordError, RequestEntry, TrainingRecord, Verdict};
pub use settings::RecordsConfig;
pub use trail::TrailHead;
