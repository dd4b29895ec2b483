//! `edgeseg eval`: replayed visits through the worker's own path (`core::flow` ->
//! features -> encoding -> tract), scored against whether each visit ordered: AUC and
//! average precision after 1, 3, 5 and 10 requests and at the visit's end, calibration
//! (expected calibration error and the reliability table) at the end.

use anyhow::{bail, Context as _, Result};
use clap::Args;
use edgeseg::core::config::StoreConfig;
use edgeseg::core::features::Features;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{json, Value};

use crate::bundle_args::BundleArgs;
use crate::metrics;
use crate::visits::{self, SourceArgs, UciArgs};

/// Rows per tract run: large enough to amortise the call, small enough to show progress.
const BATCH: usize = 512;
/// "After k requests": each visit's row after min(k, its requests) requests.
const PREFIXES: [usize; 4] = [1, 3, 5, 10];
const BINS: usize = 10;

#[derive(Args)]
pub struct EvalArgs {
    #[command(flatten)]
    bundle: BundleArgs,
    #[command(flatten)]
    source: SourceArgs,
    #[command(flatten)]
    uci: UciArgs,
}

/// One visit's scores: after each tracked request, and at its end.
struct Scored {
    ordered: bool,
    steps: Vec<f32>,
    end: f32,
    cart_events: Option<usize>,
    /// Cart adds the edge counted in the visit by its end.
    visit_cart_adds: f64,
}

pub fn run(args: EvalArgs) -> Result<()> {
    let loaded = args.bundle.load()?;
    let model = loaded
        .model()
        .map_err(|e| anyhow::anyhow!("the model does not load: {e}"))?;
    let config = StoreConfig::default_store();
    let stats = loaded.bundle().page_stats();
    let visits = visits::load(&args.source, &args.uci, false)?;

    let progress = ProgressBar::new(visits.len() as u64).with_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} visits {elapsed}")
            .context("progress bar template")?,
    );
    let mut scored = Vec::with_capacity(visits.len());
    let mut pending: Vec<(usize, Features)> = Vec::new();
    let mut scores_of: Vec<Vec<f32>> = Vec::with_capacity(visits.len());
    for (index, visit) in visits.iter().enumerate() {
        let Some(ordered) = visit.ordered() else {
            bail!("visit {}: no `ordered` label to score against", visit.id);
        };
        let rows = visit
            .recording
            .rows(&config, stats)
            .with_context(|| format!("visit {}", visit.id))?;
        let visit_cart_adds = rows
            .last()
            .and_then(|row| row.features.num("cart_adds"))
            .unwrap_or(0.0);
        scores_of.push(Vec::with_capacity(rows.len()));
        pending.extend(rows.into_iter().map(|row| (index, row.features)));
        scored.push(Scored {
            ordered,
            steps: Vec::new(),
            end: 0.0,
            cart_events: visit.cart_events,
            visit_cart_adds,
        });
        if pending.len() >= BATCH || index + 1 == visits.len() {
            let intents = model
                .score_intents(pending.iter().map(|(_, f)| f))
                .context("scoring a batch")?;
            for ((owner, _), intent) in pending.drain(..).zip(intents) {
                scores_of[owner].push(intent);
            }
        }
        progress.inc(1);
    }
    progress.finish_and_clear();
    for (visit, mut scores) in scored.iter_mut().zip(scores_of) {
        // The last row of a visit is its end row; the others follow its requests.
        visit.end = scores.pop().unwrap_or(0.0);
        visit.steps = scores;
    }

    let labels: Vec<bool> = scored.iter().map(|v| v.ordered).collect();
    let mut report = serde_json::Map::new();
    report.insert("model".into(), json!(loaded.bundle().manifest().version));
    report.insert("visits".into(), json!(scored.len()));
    report.insert(
        "orders".into(),
        json!(labels.iter().filter(|&&l| l).count()),
    );
    for k in PREFIXES {
        let scores: Vec<f32> = scored
            .iter()
            .map(|v| {
                v.steps
                    .get(k.min(v.steps.len()).saturating_sub(1))
                    .copied()
                    .unwrap_or(v.end)
            })
            .collect();
        report.insert(format!("after_{k}"), ranking(&scores, &labels)?);
    }
    let end: Vec<f32> = scored.iter().map(|v| v.end).collect();
    let mut at_end = ranking(&end, &labels)?;
    at_end["ece"] = json!(metrics::expected_calibration_error(&end, &labels, BINS));
    report.insert("end".into(), at_end);
    report.insert(
        "reliability".into(),
        json!(metrics::reliability(&end, &labels, BINS)
            .iter()
            .map(|b| json!({ "bin": [b.low, b.high], "visits": b.count,
                             "predicted": b.predicted, "observed": b.observed }))
            .collect::<Vec<_>>()),
    );
    if scored.iter().all(|v| v.cart_events.is_some()) {
        // OTTO: the cart-add counts intent has to rank at least as well as.
        let in_visit: Vec<f32> = scored.iter().map(|v| v.visit_cart_adds as f32).collect();
        report.insert("cart_adds_in_visit".into(), ranking(&in_visit, &labels)?);
        let in_session: Vec<f32> = scored
            .iter()
            .map(|v| v.cart_events.unwrap_or(0) as f32)
            .collect();
        report.insert(
            "cart_adds_in_session".into(),
            ranking(&in_session, &labels)?,
        );
    }
    println!("{}", serde_json::to_string_pretty(&Value::Object(report))?);
    Ok(())
}

fn ranking(scores: &[f32], labels: &[bool]) -> Result<Value> {
    let auc =
        metrics::roc_auc(scores, labels).context("AUC needs both classes among the visits")?;
    let ap = metrics::average_precision(scores, labels).context("no ordering visit")?;
    Ok(json!({ "auc": auc, "average_precision": ap }))
}
