//! The Cloudflare shell (wasm32 only): one module per binding, thin.
//!
//! Everything that decides anything lives in `crate::core`; these modules only move
//! bytes between Cloudflare's bindings and the core. Fail-open lives in one place:
//! [`fetch::handle`].

mod admin;
mod beacon;
mod bindings;
mod failures;
mod fetch;
mod health;
mod models;
mod proxy;
mod session_do;
mod sessions;
mod settings;

use worker::{event, Context, Env, Request};

/// Runs once per isolate, in the script's startup (global scope), which Cloudflare does
/// not bill to a request's CPU time: the embedded bundle is verified and its tract plan
/// built here, so a fresh isolate's first request does not pay for it.
#[event(start)]
fn start() {
    console_error_panic_hook::set_once();
    let _ = models::embedded();
}

#[event(fetch)]
async fn main(req: Request, env: Env, ctx: Context) -> worker::Result<web_sys::Response> {
    Ok(fetch::handle(req, env, ctx).await)
}
