//! The edgeseg command-line tool (native only): evaluate the model on the UCI data,
//! classify a session as the worker would, check, sign and key bundles, and publish
//! them to a channel in KV (promote, roll back, status).
//!
//! `main` only parses and dispatches; each subcommand lives in its own module.

#[cfg(not(target_arch = "wasm32"))]
#[path = "edgeseg/bundle_cmd.rs"]
mod bundle_cmd;
#[cfg(not(target_arch = "wasm32"))]
#[path = "edgeseg/channel_cmd.rs"]
mod channel_cmd;
#[cfg(not(target_arch = "wasm32"))]
#[path = "edgeseg/classify_cmd.rs"]
mod classify_cmd;
#[cfg(not(target_arch = "wasm32"))]
#[path = "edgeseg/cli.rs"]
mod cli;
#[cfg(not(target_arch = "wasm32"))]
#[path = "edgeseg/eval.rs"]
mod eval;
#[cfg(not(target_arch = "wasm32"))]
#[path = "edgeseg/keys.rs"]
mod keys;
#[cfg(not(target_arch = "wasm32"))]
#[path = "edgeseg/metrics.rs"]
mod metrics;
#[cfg(not(target_arch = "wasm32"))]
#[path = "edgeseg/publish.rs"]
mod publish;
#[cfg(not(target_arch = "wasm32"))]
#[path = "edgeseg/session_input.rs"]
mod session_input;
#[cfg(not(target_arch = "wasm32"))]
#[path = "edgeseg/status.rs"]
mod status;
#[cfg(not(target_arch = "wasm32"))]
#[path = "edgeseg/uci.rs"]
mod uci;
#[cfg(not(target_arch = "wasm32"))]
#[path = "edgeseg/wrangler.rs"]
mod wrangler;

/// Errors print as one line with their context chain, and exit with status 1.
#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    use clap::Parser as _;
    match cli::Cli::parse().run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(target_arch = "wasm32")]
fn main() {}
