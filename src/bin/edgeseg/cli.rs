//! The command line: subcommands and the options they share.

use anyhow::Result;
use clap::{Parser, Subcommand};

use crate::channel_cmd::{self, ChannelArgs, Move};
use crate::{
    bundle_cmd, classify_cmd, drift_cmd, eval, explain_cmd, keys, lift_cmd, logs_cmd, publish,
    replay_cmd, status, traits_cmd,
};

#[derive(Parser)]
#[command(
    name = "edgeseg",
    version,
    about = "Shopper segmentation at the edge: model, rules and bundles"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// ROC AUC and average precision of the Rust inference path on the UCI data.
    Eval(eval::EvalArgs),
    /// Classify one session and print what the worker would attach.
    Classify(classify_cmd::ClassifyArgs),
    /// Replay visits (recordings, OTTO sessions or UCI rows) into one feature row per
    /// request prefix, as CSV: the training data of the pipeline.
    Replay(replay_cmd::ReplayArgs),
    /// Check or sign a bundle directory.
    #[command(subcommand)]
    Bundle(bundle_cmd::BundleCommand),
    /// Write a new ed25519 publisher key pair (PREFIX.key, PREFIX.pub).
    Keygen(keys::KeygenArgs),
    /// Check a signed bundle, upload it to KV and point a channel at it (or start a
    /// canary), through wrangler.
    Publish(publish::PublishArgs),
    /// Make the channel's canary the active version for everyone.
    Promote(ChannelArgs),
    /// Stop the channel's canary, or return to the previous active version.
    Rollback(ChannelArgs),
    /// What a running worker serves (--url) and the channel pointer in KV (--channel).
    Status(status::StatusArgs),
    /// Drift of live traffic against the training data (PSI per input and for the
    /// segment mix); exits non-zero at or above a level.
    Drift(drift_cmd::DriftArgs),
    /// Why a shopper got a header: replay a recorded classification with its bundle.
    Explain(explain_cmd::ExplainArgs),
    /// The store's customer traits in KV: publish a feed, delete a customer.
    #[command(subcommand)]
    Traits(traits_cmd::TraitsCommand),
    /// Training records written at the edge: pull a range of days, turn them into rows.
    #[command(subcommand)]
    Logs(logs_cmd::LogsCommand),
    /// Order rate of personalised visits against the holdout, per segment, from records.
    Lift(lift_cmd::LiftArgs),
}

impl Cli {
    pub fn run(self) -> Result<()> {
        match self.command {
            Command::Eval(args) => eval::run(args),
            Command::Classify(args) => classify_cmd::run(args),
            Command::Replay(args) => replay_cmd::run(args),
            Command::Bundle(command) => bundle_cmd::run(command),
            Command::Keygen(args) => keys::keygen(args),
            Command::Publish(args) => publish::run(args),
            Command::Promote(args) => channel_cmd::run(args, Move::Promote),
            Command::Rollback(args) => channel_cmd::run(args, Move::Rollback),
            Command::Status(args) => status::run(args),
            Command::Drift(args) => drift_cmd::run(args),
            Command::Explain(args) => explain_cmd::run(args),
            Command::Traits(command) => traits_cmd::run(command),
            Command::Logs(command) => logs_cmd::run(command),
            Command::Lift(args) => lift_cmd::run(args),
        }
    }
}
