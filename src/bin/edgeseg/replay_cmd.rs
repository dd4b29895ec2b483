//! `edgeseg replay`: visits -> one feature row per request prefix, as CSV, labelled by
//! whether the visit ends in an order. The training pipeline learns from these rows, so
//! its features are the worker's own.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::{Context as _, Result};
use clap::Args;
use edgeseg::core::config::StoreConfig;
use edgeseg::core::features::{Kind, Observed, FIELDS};
use edgeseg::core::page_stats::PageStats;

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
    /// Where to write the CSV (default: stdout).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// The columns before the features.
const KEY_COLUMNS: &str = "visit,variant,requests,end,ordered";

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
    let config = StoreConfig::default_store();
    let visits = visits::load(&args.source, &args.uci, args.funnel)?;
    let columns: Vec<&str> = FIELDS
        .iter()
        .filter(|(_, kind)| *kind != Kind::List)
        .map(|(name, _)| *name)
        .collect();

    let mut out: Box<dyn std::io::Write> = match &args.out {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    writeln!(out, "{KEY_COLUMNS},{}", columns.join(","))?;
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
        let ordered = match visit.ordered() {
            Some(true) => "1",
            Some(false) => "0",
            None => "",
        };
        for row in rows {
            write!(
                out,
                "{},{},{},{},{ordered}",
                visit.id,
                visit.variant,
                row.requests,
                u8::from(row.end)
            )?;
            for name in &columns {
                match row.features.get(name) {
                    Some(Observed::Num(x)) => write!(out, ",{x}")?,
                    Some(Observed::Label(label)) => write!(out, ",{label}")?,
                    Some(Observed::List(_)) | None => write!(out, ",")?,
                }
            }
            writeln!(out)?;
        }
    }
    out.flush()?;
    Ok(())
}
