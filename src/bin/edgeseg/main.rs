//! The edgeseg command-line tool (native only): evaluate the model on the UCI data,
//! classify a session as the worker would, check, sign and key bundles, and publish
//! them to a channel in KV (promote, roll back, status).
//!
//! `main` only parses and dispatches; each subcommand lives in its own module.

/// The CLI is native only (its dependencies are); a wasm32 build of the package sees an
/// empty `main`.
macro_rules! native_only {
    ($($item:item)*) => {$(
        #[cfg(not(target_arch = "wasm32"))]
        $item
    )*};
}

native_only! {
    mod admin_api;
    mod bundle_args;
    mod bundle_cmd;
    mod channel_cmd;
    mod classify_cmd;
    mod cli;
    mod drift_cmd;
    mod eval;
    mod explain_cmd;
    mod http;
    mod keys;
    mod lift_cmd;
    mod logs_cmd;
    mod metrics;
    mod otto;
    mod publish;
    mod record_files;
    mod recording;
    mod replay_cmd;
    mod rows_csv;
    mod status;
    mod store_config;
    mod temp_dir;
    mod traits_cmd;
    mod uci;
    mod uci_visit;
    mod visits;
    mod wrangler;

    /// Errors print as one line with their context chain, and exit with status 1.
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
}

#[cfg(target_arch = "wasm32")]
fn main() {}
