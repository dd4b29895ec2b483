//! `edgeseg classify`: one session through the same entry point the worker calls.

use std::io::Read as _;
use std::path::PathBuf;

use anyhow::{bail, Context as _, Result};
use clap::Args;
use edgeseg::core::bundle::core_field_kind;
use edgeseg::core::bundle::FieldKind;
use edgeseg::core::classify::Classification;
use edgeseg::core::features::{Features, Observed};
use edgeseg::core::model::features_from_json;
use serde_json::{json, Value};

use crate::cli::BundleArgs;

#[derive(Args)]
pub struct ClassifyArgs {
    #[command(flatten)]
    bundle: BundleArgs,
    /// The session's feature values as a JSON object (`-` for stdin), e.g.
    /// `{"product_related": 12, "page_values": 30.5, "month": "Nov"}`. Missing fields
    /// take the model's baselines.
    #[arg(long, value_name = "FILE|-")]
    features: PathBuf,
}

pub fn run(args: ClassifyArgs) -> Result<()> {
    let loaded = args.bundle.load()?;
    let features = read_features(&args.features)?;
    let classification = loaded.classify(&features);
    println!(
        "{}",
        serde_json::to_string_pretty(&to_json(&classification))?
    );
    Ok(())
}

fn read_features(path: &PathBuf) -> Result<Features> {
    let text = if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("reading features from stdin")?;
        text
    } else {
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
    };
    let value: Value = serde_json::from_str(&text).context("features: not JSON")?;
    let Value::Object(values) = value else {
        bail!("features: expected a JSON object of field name -> value");
    };
    let features = features_from_json(&values).map_err(|e| anyhow::anyhow!("features: {e}"))?;
    for (name, observed) in features.iter() {
        let Some(kind) = core_field_kind(name) else {
            bail!("features: `{name}` is not a field of this build");
        };
        let given = match observed {
            Observed::Num(_) => FieldKind::Num,
            Observed::Label(_) => FieldKind::Label,
            Observed::List(_) => FieldKind::List,
        };
        if given != kind {
            bail!(
                "features: `{name}` is a {}, got a {}",
                kind.as_str(),
                given.as_str()
            );
        }
    }
    Ok(features)
}

/// The classification as JSON, field for field.
fn to_json(c: &Classification) -> Value {
    json!({
        "reason": c.reason.as_token(),
        "segment": c.segment,
        "confidence": c.confidence,
        "intent": c.intent,
        "signals": c.signals.iter().map(|a| json!({
            "feature": a.feature, "contribution": a.contribution, "value": a.value,
        })).collect::<Vec<_>>(),
        "rules": c.rules.iter().map(|m| json!({
            "id": m.id, "name": m.name, "priority": m.priority, "conditions": m.conditions,
        })).collect::<Vec<_>>(),
        "model_version": c.model_version,
        "rules_version": c.rules_version,
        "error": c.error,
    })
}
