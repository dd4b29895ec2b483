//! `edgeseg eval`: the Rust inference path (CSV row -> `Features` -> encoding -> tract)
//! scored against the UCI labels, so the shipped model's figures are re-measured where
//! it actually runs.

use std::path::PathBuf;

use anyhow::{bail, Context as _, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::BundleArgs;
use crate::{metrics, uci};

/// Rows per tract run: large enough to amortise the call, small enough to show progress.
const BATCH: usize = 512;
/// Where the pipeline publishes the reference split's test rows, inside the bundle dir.
const DEFAULT_ROWS: &str = "split/test_rows.txt";

#[derive(Args)]
pub struct EvalArgs {
    #[command(flatten)]
    bundle: BundleArgs,
    /// The UCI CSV (online_shoppers_intention.csv).
    #[arg(long, value_name = "CSV")]
    data: PathBuf,
    /// Score every row instead of the reference split's test rows.
    #[arg(long, conflicts_with = "rows")]
    all: bool,
    /// Row indices to score (0-based data rows, one per line); default:
    /// MODEL/split/test_rows.txt, the reference split's test rows.
    #[arg(long, value_name = "FILE")]
    rows: Option<PathBuf>,
}

pub fn run(args: EvalArgs) -> Result<()> {
    let loaded = args.bundle.load()?;
    let model = loaded
        .model()
        .map_err(|e| anyhow::anyhow!("the model does not load: {e}"))?;
    let sessions = uci::read(&args.data)?;

    let (split, rows) = if args.all {
        ("all", (0..sessions.len()).collect())
    } else {
        let path = args
            .rows
            .clone()
            .unwrap_or_else(|| args.bundle.dir.join(DEFAULT_ROWS));
        if !path.is_file() {
            bail!(
                "no row file {} (the reference split's test rows); pass --rows FILE or --all",
                path.display()
            );
        }
        ("rows", uci::read_rows(&path, sessions.len())?)
    };

    let progress = ProgressBar::new(rows.len() as u64).with_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} rows {elapsed}")
            .context("progress bar template")?,
    );
    let mut scores = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(BATCH) {
        let batch = chunk.iter().map(|&i| &sessions[i].features);
        scores.extend(model.score_intents(batch).context("scoring a batch")?);
        progress.inc(chunk.len() as u64);
    }
    progress.finish_and_clear();

    let labels: Vec<bool> = rows.iter().map(|&i| sessions[i].revenue).collect();
    let positives = labels.iter().filter(|&&l| l).count();
    let auc =
        metrics::roc_auc(&scores, &labels).context("AUC needs both classes among the rows")?;
    let ap = metrics::average_precision(&scores, &labels).context("no positive rows")?;
    let report = serde_json::json!({
        "model": loaded.bundle().manifest().version,
        "data": args.data.display().to_string(),
        "split": match (split, &args.rows) {
            ("all", _) => "all rows".to_string(),
            (_, Some(path)) => format!("rows listed in {}", path.display()),
            (_, None) => format!("reference test rows ({DEFAULT_ROWS})"),
        },
        "rows": rows.len(),
        "positives": positives,
        "auc": auc,
        "average_precision": ap,
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
