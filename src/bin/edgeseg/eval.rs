//! `edgeseg eval`: the Rust inference path (CSV row -> `Features` -> encoding -> tract)
//! scored against the UCI labels, so the shipped model's figures are re-measured where
//! it actually runs.

use std::path::PathBuf;

use anyhow::{bail, Context as _, Result};
use clap::Args;
use edgeseg::core::bundle::sha256_hex;
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::BundleArgs;
use crate::{metrics, uci};

/// Rows per tract run: large enough to amortise the call, small enough to show progress.
const BATCH: usize = 512;
/// Where the pipeline publishes the reference split's test rows, inside the bundle dir.
const PUBLISHED_ROWS: &str = "split/test_rows.txt";
/// The reference split's test rows of the UCI file whose sha256 is [`UCI_SHA256`],
/// made with scikit-learn (see the file's header): the fallback when the bundle does
/// not publish its own.
const BUILT_IN_ROWS: &str = include_str!("uci_reference_test_rows.txt");
const UCI_SHA256: &str = "44b29f6ac84d6491bcf8d78e3cd544c10df910fe518293454174876f25956c4f";

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
    /// Row indices to score (0-based data rows, one per line). Default: the reference
    /// split's test rows, from MODEL/split/test_rows.txt or, for the UCI file itself,
    /// the built-in list.
    #[arg(long, value_name = "FILE")]
    rows: Option<PathBuf>,
}

pub fn run(args: EvalArgs) -> Result<()> {
    let loaded = args.bundle.load()?;
    let model = loaded
        .model()
        .map_err(|e| anyhow::anyhow!("the model does not load: {e}"))?;
    let text = std::fs::read_to_string(&args.data)
        .with_context(|| format!("reading {}", args.data.display()))?;
    let sessions = uci::parse(&text).with_context(|| format!("parsing {}", args.data.display()))?;
    let (split, rows) = select_rows(&args, &text, sessions.len())?;

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
        "split": split,
        "rows": rows.len(),
        "positives": positives,
        "auc": auc,
        "average_precision": ap,
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

/// Which rows to score, and a description of them for the report.
fn select_rows(args: &EvalArgs, data: &str, row_count: usize) -> Result<(String, Vec<usize>)> {
    if args.all {
        return Ok(("all rows".into(), (0..row_count).collect()));
    }
    let published = args.bundle.dir.join(PUBLISHED_ROWS);
    let path = args
        .rows
        .clone()
        .or(published.is_file().then_some(published));
    if let Some(path) = path {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading row indices {}", path.display()))?;
        let rows = uci::parse_rows(&text, &path.display().to_string(), row_count)?;
        return Ok((format!("rows listed in {}", path.display()), rows));
    }
    if sha256_hex(data.as_bytes()) != UCI_SHA256 {
        bail!(
            "{} is not the UCI file the built-in reference split belongs to, and {} has no \
             {PUBLISHED_ROWS}: pass --rows FILE or --all",
            args.data.display(),
            args.bundle.dir.display()
        );
    }
    let rows = uci::parse_rows(BUILT_IN_ROWS, "built-in reference rows", row_count)?;
    Ok((
        "reference test rows (stratified 80/20 on Revenue, random_state=42)".into(),
        rows,
    ))
}
