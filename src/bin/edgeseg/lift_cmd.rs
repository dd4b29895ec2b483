//! `edgeseg lift --records DIR`: from pulled training records, the order rate of
//! personalised visits against the holdout, per segment (the one each visit ended
//! with), with 95 % Wilson intervals for each rate and Newcombe's hybrid score interval
//! for the difference (`core::records::lift`).

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use edgeseg::core::records::lift::{by_segment, Arm, SegmentLift};
use serde_json::json;

use crate::record_files;

#[derive(Args)]
pub struct LiftArgs {
    /// Pulled records (`edgeseg logs pull --out`).
    #[arg(long, value_name = "DIR")]
    records: PathBuf,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn run(args: LiftArgs) -> Result<()> {
    let mut records = Vec::new();
    record_files::for_each(&args.records, |_, record| {
        records.push(record);
        Ok(())
    })?;
    anyhow::ensure!(
        !records.is_empty(),
        "no records under {}",
        args.records.display()
    );
    let lifts = by_segment(&records);
    if args.json {
        let rows: Vec<_> = lifts.iter().map(as_json).collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    println!(
        "{:<24} {:>22} {:>22} {:>28}",
        "segment", "personalised", "holdout", "difference (95% CI)"
    );
    for lift in &lifts {
        let difference = match lift.difference() {
            Some((d, low, high)) => format!(
                "{:+.2} pp [{:+.2}, {:+.2}]",
                d * 100.0,
                low * 100.0,
                high * 100.0
            ),
            None => "n/a".into(),
        };
        println!(
            "{:<24} {:>22} {:>22} {:>28}",
            lift.segment,
            arm_text(&lift.personalised),
            arm_text(&lift.holdout),
            difference
        );
    }
    println!("rates: Wilson 95% intervals; difference: Newcombe hybrid score 95% interval");
    Ok(())
}

fn arm_text(arm: &Arm) -> String {
    match (arm.rate(), arm.interval()) {
        (Some(rate), Some((low, high))) => format!(
            "{}/{} {:.1}% [{:.1}, {:.1}]",
            arm.orders,
            arm.visits,
            rate * 100.0,
            low * 100.0,
            high * 100.0
        ),
        _ => "0 visits".into(),
    }
}

fn as_json(lift: &SegmentLift) -> serde_json::Value {
    let arm = |arm: &Arm| {
        json!({"visits": arm.visits, "orders": arm.orders, "rate": arm.rate(),
               "interval": arm.interval().map(|(l, h)| [l, h])})
    };
    json!({
        "segment": lift.segment,
        "personalised": arm(&lift.personalised),
        "holdout": arm(&lift.holdout),
        "difference": lift.difference().map(|(d, l, h)| json!({"value": d, "interval": [l, h]})),
    })
}
