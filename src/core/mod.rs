//! The platform-free core: signals -> session -> features -> model + rules ->
//! classification -> headers.
//!
//! Nothing in here knows HTTP libraries, Cloudflare types or the command line; the
//! worker shell (`crate::edge`, wasm32 only) and the CLI (`src/bin/edgeseg/`) both
//! call in, never the other way round.
//!
//! How the worker drives it, per request (`flow` holds these steps as I/O-free
//! functions that the worker, the CLI, the benches and the tests share):
//! 1. `identity::consent_withheld`, then `signals::request_events(&RequestInfo,
//!    &StoreConfig)` (or `beacon::parse_beacon`); `signals::Untracked::of` says why a
//!    bot, an asset or a non-page request is left untracked.
//! 2. `identity::session_id`, `identity::in_holdout`.
//! 3. In the session's Durable Object: `session::SessionState::from_stored` ->
//!    `forget_if_expired` -> `apply_all` -> `to_stored` (a customer:
//!    `identity::customer_key`, then `merge` once, `mark_customer`).
//! 4. `features::compute` -> model (`classify`) + `rules::RuleSet::evaluate`.
//! 5. `headers::render(&Classification)`.
//!
//! Client-sent `edgeseg-*` headers (`headers::is_reserved`) never reach the origin: the
//! shell drops them when it builds the origin request (`edge::proxy::upstream_headers`);
//! no step above reads them.

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
pub mod page_type;
pub mod records;
pub mod routing;
pub mod rules;
pub mod session;
pub mod signals;
pub mod stats;
pub mod traffic;
pub mod traits;
pub mod user_agent;
