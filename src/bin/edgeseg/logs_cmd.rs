//! `edgeseg logs`: the training records (docs/contracts.md section 9). `pull` copies a
//! range of days from a worker's bucket through its admin endpoint (the same for
//! `wrangler dev` and an account: wrangler cannot list R2 objects); `rows` turns pulled
//! records into the training CSV `edgeseg replay` writes.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use clap::{Args, Subcommand};
use edgeseg::core::features::Features;
use edgeseg::core::model::features_from_json;
use edgeseg::core::records::partition::{Day, ROOT};
use indicatif::{HumanBytes, ProgressBar, ProgressStyle};
use serde::Deserialize;

use crate::admin_api::AdminArgs;
use crate::record_files;
use crate::rows_csv::{RowKey, RowWriter};

#[derive(Subcommand)]
pub enum LogsCommand {
    /// Copy the record objects of the days FROM..=TO into DIR (day=YYYY-MM-DD/...);
    /// objects already there with the same size are skipped.
    Pull(PullArgs),
    /// Pulled records -> one CSV row per request, labelled by whether the visit ordered
    /// (the columns of `edgeseg replay`); a visit's rows stop before its first order.
    Rows(RowsArgs),
}

#[derive(Args)]
pub struct PullArgs {
    #[command(flatten)]
    admin: AdminArgs,
    /// First day (UTC), YYYY-MM-DD.
    #[arg(long, value_name = "DAY", value_parser = parse_day)]
    from: Day,
    /// Last day (UTC), included.
    #[arg(long, value_name = "DAY", value_parser = parse_day)]
    to: Day,
    /// Where to write the records.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

#[derive(Args)]
pub struct RowsArgs {
    /// Pulled records (`edgeseg logs pull --out`).
    #[arg(long, value_name = "DIR")]
    records: PathBuf,
    /// Where to write the CSV (default: stdout).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

fn parse_day(text: &str) -> Result<Day, String> {
    Day::parse(text).map_err(|e| e.to_string())
}

pub fn run(command: LogsCommand) -> Result<()> {
    match command {
        LogsCommand::Pull(args) => pull(&args),
        LogsCommand::Rows(args) => rows(&args),
    }
}

#[derive(Deserialize)]
struct Listed {
    key: String,
    size: u64,
}

/// Where a record object goes under `out`: its key below `records/`, checked to stay
/// inside `out` (the listing comes from the network).
fn local_path(out: &Path, key: &str) -> Result<PathBuf> {
    let relative = key
        .strip_prefix(ROOT)
        .with_context(|| format!("{key:?} is not a record key"))?;
    let safe = !relative.is_empty()
        && relative
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != ".." && !part.contains('\\'));
    anyhow::ensure!(safe, "{key:?} is not a record key");
    Ok(out.join(relative))
}

fn pull(args: &PullArgs) -> Result<()> {
    anyhow::ensure!(
        args.from <= args.to,
        "--from {} is after --to {}",
        args.from,
        args.to
    );
    let listing = args
        .admin
        .get_json(&format!(
            "/__edgeseg/admin/records?from={}&to={}",
            args.from, args.to
        ))
        .context("listing the records")?;
    let listed: Vec<Listed> =
        serde_json::from_value(listing).context("the record listing is not [{key, size}]")?;
    let total: u64 = listed.iter().map(|o| o.size).sum();
    let progress = ProgressBar::new(total).with_style(
        ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let (mut fetched, mut skipped) = (0usize, 0usize);
    for object in &listed {
        let path = local_path(&args.out, &object.key)?;
        let have = std::fs::metadata(&path).map(|m| m.len()).ok();
        if have != Some(object.size) {
            let query: String = url_encoded(&object.key);
            let bytes = args
                .admin
                .get_bytes(&format!("/__edgeseg/admin/records/object?key={query}"))
                .with_context(|| format!("fetching {}", object.key))?;
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("creating {}", parent.display()))?;
            }
            std::fs::write(&path, &bytes).with_context(|| format!("writing {}", path.display()))?;
            fetched += 1;
        } else {
            skipped += 1;
        }
        progress.inc(object.size);
        progress.set_message(format!("{} of {} objects", fetched + skipped, listed.len()));
    }
    progress.finish_and_clear();
    println!(
        "{} record objects ({}) of {}..={} in {}: {fetched} fetched, {skipped} already there",
        listed.len(),
        HumanBytes(total),
        args.from,
        args.to,
        args.out.display()
    );
    Ok(())
}

/// A query value with everything but unreserved characters percent-encoded.
fn url_encoded(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn rows(args: &RowsArgs) -> Result<()> {
    let mut out = RowWriter::new(crate::rows_csv::output(args.out.as_deref())?)?;
    let mut visits = 0usize;
    record_files::for_each(&args.records, |path, record| {
        visits += 1;
        let visit = format!("r{visits}");
        let ordered = Some(record.outcome.ordered);
        // Rows up to the order: the confirmation page itself would give the label away.
        let kept: Vec<_> = record.requests.iter().take_while(|r| !r.order).collect();
        for (index, entry) in kept.iter().enumerate() {
            let features: Features = features_from_json(&entry.features)
                .map_err(|e| anyhow::anyhow!("{}: request {}: {e}", path.display(), index + 1))?;
            let key = RowKey {
                visit: &visit,
                variant: "plain",
                requests: index + 1,
                end: index + 1 == kept.len(),
                ordered,
            };
            out.write(&key, &features)?;
        }
        Ok(())
    })?;
    out.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_from_the_network_stay_inside_the_folder() {
        let out = Path::new("pulled");
        assert_eq!(
            local_path(out, "records/day=2026-11-25/ab.jsonl.gz").expect("a key"),
            out.join("day=2026-11-25/ab.jsonl.gz")
        );
        for bad in [
            "records/../x",
            "records/",
            "other/x",
            "records/a//b",
            "records/a\\..\\b",
        ] {
            assert!(local_path(out, bad).is_err(), "{bad}");
        }
        assert_eq!(
            url_encoded("records/day=1/a.gz"),
            "records%2Fday%3D1%2Fa.gz"
        );
    }
}
