//! The platform-free core: signals -> session -> features -> model + rules ->
//! classification -> headers.
//!
//! Nothing in here knows HTTP libraries, Cloudflare types or the command line; the
//! worker shell (`crate::edge`, wasm32 only) and the CLI (`src/bin/edgeseg.rs`) both
//! call in, never the other way round.

pub mod beacon;
pub mod bundle;
pub mod calendar;
pub mod classify;
pub mod config;
pub mod features;
#[cfg(test)]
mod flow_tests;
pub mod headers;
pub mod identity;
pub mod model;
pub mod page_stats;
pub mod rules;
pub mod session;
pub mod signals;
pub mod traffic;
pub mod user_agent;
