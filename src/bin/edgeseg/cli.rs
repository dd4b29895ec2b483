//! The command line: subcommands and the options they share.

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use clap::{Args, Parser, Subcommand};
use edgeseg::core::bundle::TrustPolicy;
use edgeseg::core::classify::LoadedBundle;

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

/// Where the bundle is and which publishers to trust.
#[derive(Args)]
pub struct BundleArgs {
    /// Bundle directory (manifest.json and the files it lists).
    #[arg(long = "model", value_name = "DIR", default_value = "model")]
    pub dir: PathBuf,
    /// Trusted publisher public key file (base64 of 32 bytes); repeatable. With at least
    /// one, `manifest.sig` is required and must verify.
    #[arg(long = "trust", value_name = "KEYFILE")]
    pub trust: Vec<PathBuf>,
}

impl BundleArgs {
    pub fn policy(&self) -> Result<TrustPolicy> {
        trust_policy(&self.trust)
    }

    /// Verifies the bundle and builds its plan; a model that does not build is an error
    /// here (the CLI has no rules-only fallback to hide behind).
    pub fn load(&self) -> Result<LoadedBundle> {
        let loaded = LoadedBundle::from_dir(&self.dir, &self.policy()?)
            .with_context(|| format!("loading the bundle in {}", self.dir.display()))?;
        if let Err(error) = loaded.model() {
            anyhow::bail!("{}: the model does not load: {error}", self.dir.display());
        }
        Ok(loaded)
    }
}

pub fn trust_policy(files: &[PathBuf]) -> Result<TrustPolicy> {
    let keys = files
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading trusted key {}", path.display()))?;
            TrustPolicy::parse_public_key(&text)
                .with_context(|| format!("trusted key {}", path.display()))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(TrustPolicy::trusting(keys))
}
