//! `edgeseg replay`: visits -> one feature row per request prefix, as CSV, labelled by
//! whether the visit ends in an order. The training pipeline learns from these rows, so
//! its features are the worker's own.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::{Context as _, Result};
use clap::Args;
use edgeseg::core::page_stats::PageStats;

use crate::rows_csv::{RowKey, RowWriter};
use crate::visits::{self, SourceArgs, UciArgs};

#[derive(Args)]
pub struct ReplayArgs {
    #[command(flatten)]
    source: SourceArgs,
    #[command(flatten)]
    uci: UciArgs,
    /// Also write each UCI visit with a cart add (variant `cart`) and with cart and
    /// checkout (variant `checkout`) appended: the funnel steps UCI cannot show.
    #[arg(long)]
    funnel: bool,
    /// A page-stats table for the page-stats fields (default: none; they are no
    /// model input). Replay needs no model, so the pipeline runs it before it has one.
    #[arg(long, value_name = "FILE")]
    page_stats: Option<PathBuf>,
    /// Request counts that get a row, comma-separated (default: every request). The
    /// end row of each visit, and every row of a funnel copy, is always written.
    #[arg(long, value_name = "N,N,...", value_delimiter = ',')]
    prefixes: Vec<usize>,
    /// The store's config (default: the built-in demo store's): replay counts as the
    /// worker with this config does (session timeout, routes, dwell caps).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Where to write the CSV (default: stdout).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Write the visits themselves, one recording per line (docs/contracts.md section
    /// 6), instead of their rows: what a load driver sends through a worker.
    #[arg(long)]
    recordings: bool,
}

pub fn run(args: ReplayArgs) -> Result<()> {
    let stats = match &args.page_stats {
        Some(path) => PageStats::from_json(
            &std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?,
        )
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?,
        None => PageStats::default(),
    };
    let stats = &stats;
    let config = crate::store_config::load(args.config.as_deref())?;
    let visits = visits::load(&args.source, &args.uci, args.funnel)?;
    if args.recordings {
        let mut out = crate::rows_csv::output(args.out.as_deref())?;
        for visit in &visits {
            serde_json::to_writer(&mut out, &visit.recording)?;
            writeln!(out)?;
        }
        out.flush()?;
        return Ok(());
    }
    let mut out = RowWriter::new(crate::rows_csv::output(args.out.as_deref())?)?;
    for visit in &visits {
        let funnel_copy = visit.first_row > 1;
        let keep = |requests: usize| {
            requests >= visit.first_row
                && (funnel_copy || args.prefixes.is_empty() || args.prefixes.contains(&requests))
        };
        let rows = visit
            .recording
            .rows_where(&config, stats, keep)
            .with_context(|| format!("visit {}", visit.id))?;
        for row in rows {
            let key = RowKey {
                visit: &visit.id,
                variant: visit.variant,
                requests: row.requests,
                end: row.end,
                ordered: visit.ordered(),
            };
            out.write(&key, &row.features)?;
        }
    }
    out.finish()
}
