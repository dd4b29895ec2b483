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
mod traits;

use worker::{event, Context, Env, Request};

#[event(start)]
fn start() {
    console_error_panic_hook::set_once();
}

#[event(fetch)]
async fn main(req: Request, env: Env, ctx: Context) -> worker::Result<web_sys::Response> {
    Ok(fetch::handle(req, env, ctx).await)
}
