//! `edgeseg classify`: one session through the same entry point the worker calls, printed
//! as the exact headers the worker would attach.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use clap::Args;
use edgeseg::core::classify::Classification;
use edgeseg::core::features::{field_kind, Features};
use edgeseg::core::headers;
use edgeseg::core::model::{features_from_json, features_to_json};
use serde_json::{json, Value};

use crate::bundle_args::BundleArgs;
use crate::recording::Recording;

#[derive(Args)]
#[group(id = "input", required = true, multiple = false, args = ["features", "session"])]
pub struct ClassifyArgs {
    #[command(flatten)]
    bundle: BundleArgs,
    /// The session's feature values as a JSON object (`-` for stdin), e.g.
    /// `{"product_related": 12, "page_values": 30.5, "month": "Nov"}`. Missing fields
    /// take the model's baselines.
    #[arg(long, value_name = "FILE|-")]
    features: Option<PathBuf>,
    /// A recorded session as JSON (`-` for stdin): `{"requests": [...]}` of requests
    /// and beacon batches, replayed through the core's signals and session code.
    #[arg(long, value_name = "FILE|-")]
    session: Option<PathBuf>,
    /// Storefront config for `--session` (default: the built-in demo store).
    #[arg(long, value_name = "FILE", requires = "session")]
    config: Option<PathBuf>,
    /// Print the classification as JSON (with the computed features) instead of headers.
    #[arg(long)]
    json: bool,
}

pub fn run(args: ClassifyArgs) -> Result<()> {
    let loaded = args.bundle.load()?;
    let features = match (&args.features, &args.session) {
        (Some(path), _) => parse_features(&read_input(path)?)?,
        (None, Some(path)) => {
            let config = crate::store_config::load(args.config.as_deref())?;
            Recording::parse(&read_input(path)?)
                .and_then(|visit| visit.features(&config, loaded.bundle().page_stats()))
                .with_context(|| format!("replaying {}", path.display()))?
        }
        (None, None) => bail!("pass --features or --session"),
    };
    let classification = loaded.classify(&features);
    if args.json {
        let report = json!({
            "classification": to_json(&classification),
            "features": Value::Object(features_to_json(&features)),
        });
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for (name, value) in headers::render(&classification) {
            println!("{name}: {value}");
        }
    }
    Ok(())
}

fn read_input(path: &Path) -> Result<String> {
    if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("reading stdin")?;
        Ok(text)
    } else {
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
    }
}

fn parse_features(text: &str) -> Result<Features> {
    let value: Value = serde_json::from_str(text).context("features: not JSON")?;
    let Value::Object(values) = value else {
        bail!("features: expected a JSON object of field name -> value");
    };
    let features = features_from_json(&values).map_err(|e| anyhow::anyhow!("features: {e}"))?;
    for (name, observed) in features.iter() {
        let Some(kind) = field_kind(name) else {
            bail!("features: `{name}` is not a field of this build");
        };
        if observed.kind() != kind {
            bail!(
                "features: `{name}` is a {}, got a {}",
                kind.as_str(),
                observed.kind().as_str()
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
