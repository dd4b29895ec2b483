//! `edgeseg explain ID`: why a shopper got a header. Reads the decision record from a
//! running worker (`/__edgeseg/admin/explain/{id}`, or a saved record with `--record`),
//! classifies its feature row again with the named bundle version through the same core
//! functions as the worker, and prints the headers; any byte that differs from what
//! was sent is an error.

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use clap::Args;
use edgeseg::core::decision_log::{DecisionId, DecisionRecord};

use crate::admin_api::AdminArgs;
use crate::bundle_args::BundleArgs;

pub const EXPLAIN_PATH: &str = "/__edgeseg/admin/explain/";

#[derive(Args)]
pub struct ExplainArgs {
    /// The classification id (the `edgeseg-id` header, without its quotes).
    #[arg(value_name = "ID", required_unless_present = "record")]
    id: Option<String>,
    /// Base URL of the worker that made the decision.
    #[arg(long, value_name = "URL", conflicts_with = "record")]
    url: Option<String>,
    /// The admin token; default: the EDGESEG_ADMIN_TOKEN environment variable.
    #[arg(long, value_name = "TOKEN")]
    token: Option<String>,
    /// A saved decision record (the JSON the explain endpoint answers) instead of --url.
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,
    /// The bundle version the record names (its directory).
    #[command(flatten)]
    bundle: BundleArgs,
    /// Print the record and the replayed headers as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: ExplainArgs) -> Result<()> {
    let record = read_record(&args)?;
    let loaded = args.bundle.load()?;
    let replayed = record
        .replay(&loaded)
        .with_context(|| format!("replaying {} with {}", record.id, args.bundle.dir.display()))?;
    let differences = record.differences(&replayed);
    if args.json {
        let out = serde_json::json!({
            "record": record,
            "replayed": replayed,
            "identical": differences.is_empty(),
        });
        println!("{out}");
    } else {
        println!(
            "decision {} at {} ms, model {}, rules {}; replayed:",
            record.id,
            record.at_ms,
            record.model_version.as_deref().unwrap_or("-"),
            record.rules_version.as_deref().unwrap_or("-")
        );
        for (name, value) in &replayed {
            println!("{name}: {value}");
        }
    }
    if !differences.is_empty() {
        anyhow::bail!(
            "the replay differs from what was sent:\n{}",
            differences.join("\n")
        );
    }
    Ok(())
}

fn read_record(args: &ExplainArgs) -> Result<DecisionRecord> {
    if let Some(path) = &args.record {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        return serde_json::from_str(&text)
            .with_context(|| format!("{}: not a decision record", path.display()));
    }
    let (Some(id), Some(url)) = (&args.id, &args.url) else {
        anyhow::bail!("pass ID with --url URL, or --record FILE");
    };
    let id = DecisionId::parse(id.trim().trim_matches('"'))?;
    let admin = AdminArgs {
        url: url.clone(),
        token: args.token.clone(),
    };
    let value = admin.get_json(&format!("{EXPLAIN_PATH}{id}"))?;
    serde_json::from_value(value).context("the worker's answer is not a decision record")
}
