//! End-to-end tests: the built worker (build/index.js + wasm) runs in workerd through
//! `wrangler dev --local`, in front of the demo origin, both on 127.0.0.1, with real
//! Durable Objects and KV, driven over HTTP. Run with `make e2e` (it builds the worker
//! and sets WRANGLER).

mod dashboard;
mod drift;
mod harness;
mod load;
mod models;
mod pipeline;
mod proxy;
mod records;
mod soak;
mod traits;
mod trust;
