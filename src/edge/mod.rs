//! The Cloudflare shell (wasm32 only): one module per binding, thin.
//!
//! Everything that decides anything lives in `crate::core`; these modules only move
//! bytes between Cloudflare's bindings and the core. Fail-open lives in one place:
//! [`fetch::handle`]. Failures are one type, [`error::Error`], whose code table is
//! also compiled natively, so that its contract test runs with the core's tests.

pub mod error;

/// The bindings themselves exist only in the wasm32 build.
macro_rules! wasm32_only {
    ($($item:item)*) => {$(
        #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
        $item
    )*};
}

wasm32_only! {
    mod admin;
    mod admin_auth;
    mod audit;
    mod beacon;
    mod bindings;
    mod dashboard;
    mod decisions;
    mod failures;
    mod fetch;
    mod health;
    mod models;
    mod proxy;
    mod records;
    mod respond;
    mod session_do;
    mod session_logs;
    mod session_protocol;
    mod sessions;
    mod settings;
    mod stats;
    mod stats_do;
    mod traits;
    mod vars;

    use worker::{event, Context, Env, Request, ScheduleContext, ScheduledEvent};

    /// Runs once per isolate, in the script's startup (global scope), which Cloudflare
    /// does not bill to a request's CPU time: the embedded bundle is verified, its tract
    /// plan built and its golden vectors run here, so a fresh isolate's first request
    /// does none of that work. (It may still compile the code again: README, "Cold
    /// start".)
    #[event(start)]
    fn start() {
        run_constructors_once();
        console_error_panic_hook::set_once();
        models::check_embedded();
    }

    extern "C" {
        /// The linker's function that runs every static constructor (tract registers
        /// its kernels and transforms through `inventory`'s constructors).
        fn __wasm_call_ctors();
    }

    /// Runs the static constructors at instantiation. Without an exported function that
    /// calls them, the linker treats the module as a run-once command and calls them at
    /// the top of every export: on every call from JavaScript into the wasm, dozens per
    /// request (`inventory`'s "WebAssembly and constructors").
    fn run_constructors_once() {
        // SAFETY: the linker synthesises `__wasm_call_ctors` without arguments; the
        // constructors it runs (inventory's) are idempotent, and this runs in the
        // start function, before any other code of the module.
        unsafe { __wasm_call_ctors() }
    }

    #[event(fetch)]
    async fn main(req: Request, env: Env, ctx: Context) -> worker::Result<web_sys::Response> {
        Ok(fetch::handle(req, env, ctx).await)
    }
}

wasm32_only! {
    /// The daily cron trigger (`wrangler.toml`): the training records' retention sweep.
    #[event(scheduled)]
    async fn scheduled(_event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
        match records::sweep(&env).await {
            Ok(deleted) => worker::console_log!("edgeseg: retention sweep deleted {deleted} records"),
            Err(e) => failures::record(&e.context("the retention sweep")),
        }
    }
}
