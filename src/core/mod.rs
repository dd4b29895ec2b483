//! The platform-free core: signals -> session -> features -> model + rules ->
//! classification -> headers.
//!
//! Nothing in here knows HTTP libraries, Cloudflare types or the command line; the
//! worker shell (`crate::edge`, wasm32 only) and the CLI (`src/bin/edgeseg.rs`) both
//! call in, never the other way round.
//!
//! How the worker drives it, per request (`flow` holds these steps as I/O-free
//! functions that the worker, the CLI, the benches and the tests share):
//! 1. `headers::is_reserved` -> drop client-sent `edgeseg-*` headers.
//! 2. `identity::consent_withheld`, `identity::session_id`, `identity::in_holdout`.
//! 3. `signals::request_events(&RequestInfo, &StoreConfig)` (or `beacon::parse_beacon`).
//! 4. `session::SessionState::from_stored` -> `forget_if_expired` -> `apply_all` ->
//!    `to_stored` (a customer: `identity::customer_key`, then `merge` once, `mark_customer`).
//! 5. `features::compute` -> model (`classify`) + `rules::RuleSet::evaluate`.
//! 6. `headers::render(&Classification)`.

pub mod beacon;
pub mod bundle;
pub mod calendar;
pub mod channel;
pub mod classify;
pub mod config;
pub mod decision_log;
pub mod drift;
pub mod features;
pub mod flow;
#[cfg(test)]
mod flow_tests;
pub mod headers;
pub mod identity;
pub mod model;
pub mod page_stats;
pub mod records;
pub mod rules;
pub mod session;
pub mod signals;
pub mod stats;
pub mod traffic;
pub mod traits;
pub mod user_agent;
