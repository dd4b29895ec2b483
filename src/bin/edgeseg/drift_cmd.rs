//! `edgeseg drift --url URL`: the population stability index of live traffic against the
//! model's training data, per input and for the segment mix, over the last hour and day,
//! from a running worker; exits non-zero at or above a level, for a scheduler.

use anyhow::{Context as _, Result};
use clap::{Args, ValueEnum};
use edgeseg::core::drift::{DriftReport, Level, Thresholds};
use serde_json::Value;

use crate::admin_api::AdminArgs;

pub const DRIFT_PATH: &str = "/__edgeseg/admin/drift";

#[derive(Clone, Copy, ValueEnum)]
enum FailAt {
    Watch,
    Act,
    Never,
}

#[derive(Args)]
pub struct DriftArgs {
    #[command(flatten)]
    admin: AdminArgs,
    /// PSI from which an input is worth watching.
    #[arg(long, default_value_t = Thresholds::default().watch)]
    watch: f64,
    /// PSI from which the model sees traffic unlike its training data.
    #[arg(long, default_value_t = Thresholds::default().act)]
    act: f64,
    /// Exit with an error when any line reaches this level.
    #[arg(long, value_enum, default_value = "act")]
    fail_at: FailAt,
    /// Print the reports as JSON instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn run(args: DriftArgs) -> Result<()> {
    let thresholds = Thresholds {
        watch: args.watch,
        act: args.act,
    };
    if !(0.0 < thresholds.watch && thresholds.watch <= thresholds.act) {
        anyhow::bail!("--watch must be > 0 and <= --act");
    }
    let answer = args.admin.get_json(DRIFT_PATH)?;
    let mut reports = Vec::new();
    for window in ["hour", "day"] {
        let report = match answer.get("windows").and_then(|w| w.get(window)) {
            None | Some(Value::Null) => continue,
            Some(value) => serde_json::from_value::<DriftReport>(value.clone())
                .with_context(|| format!("the worker's {window} drift report"))?,
        };
        reports.push((window, report.judged_by(thresholds)));
    }
    if reports.is_empty() {
        anyhow::bail!("the worker has no drift reference (its bundle's manifest has no `drift`)");
    }
    if args.json {
        let value: serde_json::Map<String, Value> = reports
            .iter()
            .map(|(w, r)| Ok((w.to_string(), serde_json::to_value(r)?)))
            .collect::<Result<_>>()?;
        println!("{}", Value::Object(value));
    } else {
        for (window, report) in &reports {
            print!("{}", table(window, report));
        }
    }
    let fail_level = match args.fail_at {
        FailAt::Watch => Level::Watch,
        FailAt::Act => Level::Act,
        FailAt::Never => return Ok(()),
    };
    let reached: Vec<String> = reports
        .iter()
        .flat_map(|(window, report)| {
            report
                .at_or_above(fail_level)
                .map(move |d| format!("{} {window} {:.3}", d.name, d.psi.unwrap_or(f64::NAN)))
        })
        .collect();
    if !reached.is_empty() {
        anyhow::bail!("drift at or above {fail_level:?}: {}", reached.join(", "));
    }
    Ok(())
}

fn table(window: &str, report: &DriftReport) -> String {
    let t = report.thresholds;
    let mut out = format!(
        "model {} over the last {window} (PSI; watch >= {}, act >= {})\n{:<28} {:>8} {:>8}  level\n",
        report.model_version, t.watch, t.act, "distribution", "psi", "n"
    );
    for line in report
        .inputs
        .iter()
        .chain(std::iter::once(&report.segments))
    {
        let psi = line.psi.map_or("-".to_string(), |p| format!("{p:.3}"));
        let level = line.level.map_or("no traffic".to_string(), |l| {
            format!("{l:?}").to_lowercase()
        });
        out += &format!("{:<28} {psi:>8} {:>8}  {level}\n", line.name, line.n);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use edgeseg::core::drift::Drift;

    #[test]
    fn this_commands_thresholds_decide_the_levels() {
        let t = Thresholds::default();
        let report = DriftReport {
            model_version: "v".into(),
            thresholds: t,
            inputs: vec![Drift::of("device", &[0.5, 0.5], &[10, 90], &t)],
            segments: Drift::of("segment mix", &[1.0], &[5], &t),
            level: None,
        };
        assert_eq!(report.inputs[0].level, Some(Level::Act));
        let lenient = report.judged_by(Thresholds {
            watch: 1.0,
            act: 2.0,
        });
        assert_eq!(lenient.inputs[0].level, Some(Level::Stable));
        assert_eq!(lenient.level, Some(Level::Stable));
        assert!(table("hour", &lenient).contains("device"));
    }
}
