//! The edgeseg command-line tool (native only): evaluate the model on the UCI data,
//! classify a session as the worker would, check, sign and key bundles, and publish
//! them to a channel in KV (promote, roll back, status).
//!
//! `main` only parses and dispatches; each subcommand lives in its own module.

#[cfg(not(target_arch = "wasm32"))]
#[path = "edgeseg/admin_api.rs"]
mod admin_api;
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
#[path = "edgeseg/drift_cmd.rs"]
mod drift_cmd;
#[cfg(not(target_arch = "wasm32"))]
#[path = "edgeseg/eval.rs"]
mod eval;
#[cfg(not(target_arch = "wasm32"))]
#[path = "edgeseg/explain_cmd.rs"]
mod explain_cmd;
#[cfg(not(target_arch = "wasm32"))]
#[path = "edgeseg/keys.rs"]
mod keys;
#[cfg(not(target_arch = "wasm32"))]
#[path = "edgeseg/lift_cmd.rs"]
mod lift_cmd;
#[cfg(not(target_arch = "wasm32"))]
#[path = "edgeseg/logs_cmd.rs"]
mod logs_cmd;
#[cfg(not(target_arch = "wasm32"))]
#[path = "edgeseg/metrics.rs"]
mod metrics;
#[cfg(not(target_arch = "wasm32"))]
#[path = "edgeseg/otto.rs"]
mod otto;
#[cfg(not(target_arch = "wasm32"))]
#[path = "edgeseg/publish.rs"]
mod publish;
#[cfg(not(target_arch = "wasm32"))]
#[path = "edgeseg/record_files.rs"]
mod record_files;
#[cfg(not(target_arch = "wasm32"))]
#[path = "edgeseg/recording.rs"]
mod recording;
#[cfg(not(target_arch = "wasm32"))]
#[path = "edgeseg/replay_cmd.rs"]
mod replay_cmd;
#[cfg(not(target_arch = "wasm32"))]
#[path = "edgeseg/rows_csv.rs"]
mod rows_csv;
#[cfg(not(target_arch = "wasm32"))]
#[path = "edgeseg/status.rs"]
mod status;
#[cfg(not(target_arch = "wasm32"))]
#[path = "edgeseg/traits_cmd.rs"]
mod traits_cmd;
#[cfg(not(target_arch = "wasm32"))]
#[path = "edgeseg/uci.rs"]
mod uci;
#[cfg(not(target_arch = "wasm32"))]
#[path = "edgeseg/uci_visit.rs"]
mod uci_visit;
#[cfg(not(target_arch = "wasm32"))]
#[path = "edgeseg/visits.rs"]
mod visits;
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
