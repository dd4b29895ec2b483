//! `edgeseg bundle check|sign`: what a publisher runs before a bundle ships.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context as _, Result};
use clap::Subcommand;
use edgeseg::core::bundle::{self, SignatureStatus, TrustPolicy, SIGNATURE};
use edgeseg::core::classify::LoadedBundle;

use crate::bundle_args::trust_policy;
use crate::keys;

#[derive(Subcommand)]
pub enum BundleCommand {
    /// Schema, hashes, signature, feature schema, tract load and golden vectors.
    Check {
        /// Bundle directory.
        dir: PathBuf,
        /// Trusted publisher public key file; repeatable. With one, a signature is required.
        #[arg(long = "trust", value_name = "KEYFILE")]
        trust: Vec<PathBuf>,
    },
    /// Check the bundle, then write DIR/manifest.sig signed with the secret key.
    Sign {
        /// Bundle directory.
        dir: PathBuf,
        /// Secret key file written by `edgeseg keygen`.
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
    },
}

pub fn run(command: BundleCommand) -> Result<()> {
    match command {
        BundleCommand::Check { dir, trust } => check(&dir, &trust_policy(&trust)?),
        BundleCommand::Sign { dir, key } => sign(&dir, &key),
    }
}

fn check(dir: &std::path::Path, policy: &TrustPolicy) -> Result<()> {
    let started = Instant::now();
    let loaded = LoadedBundle::from_dir(dir, policy)
        .with_context(|| format!("bundle {} refused", dir.display()))?;
    let load_ms = started.elapsed().as_secs_f64() * 1e3;
    let manifest = loaded.bundle().manifest();
    println!(
        "manifest: format {}, {} {} ({} features, width {}, {} segments)",
        bundle::FORMAT,
        manifest.name,
        manifest.version,
        manifest.features.len(),
        manifest.model.width,
        manifest.segments.len()
    );
    println!("hashes: {} files match", manifest.files.len());
    match loaded.bundle().signature() {
        SignatureStatus::Verified { key_index } => {
            println!("signature: verified by trusted key #{}", key_index + 1)
        }
        SignatureStatus::PresentUnchecked => {
            println!("signature: present, not checked (pass --trust KEYFILE)")
        }
        SignatureStatus::Absent => println!("signature: none"),
    }
    println!("feature schema: compatible with this build");
    match loaded.bundle().rules() {
        Some(rules) => println!("rules: version {}", rules.version()),
        None => println!("rules: none in this bundle"),
    }
    let model = loaded
        .model()
        .map_err(|e| anyhow::anyhow!("{}: the model does not load: {e}", dir.display()))?;
    println!("model: tract plan built (bundle load + plan {load_ms:.1} ms)");
    let report = loaded
        .verify()
        .with_context(|| format!("{}: golden vectors", dir.display()))?;
    println!(
        "golden: {} vectors, max |diff| input {:.2e}, outputs {:.2e} (tolerance {:.0e})",
        report.vectors,
        report.max_input_diff,
        report.max_output_diff,
        edgeseg::core::model::TOLERANCE
    );
    if report.vectors == 0 {
        anyhow::bail!("{}: the manifest has no golden vectors", dir.display());
    }
    println!("ok: {} {}", manifest.name, model.version());
    Ok(())
}

fn sign(dir: &std::path::Path, key_file: &std::path::Path) -> Result<()> {
    let key = keys::read_secret(key_file)?;
    check(dir, &TrustPolicy::unsigned())
        .context("refusing to sign a bundle that fails its checks")?;
    let manifest_path = dir.join(bundle::MANIFEST);
    let manifest = std::fs::read(&manifest_path)
        .with_context(|| format!("reading {}", manifest_path.display()))?;
    let sig_path = dir.join(SIGNATURE);
    std::fs::write(&sig_path, format!("{}\n", key.sign_manifest(&manifest)))
        .with_context(|| format!("writing {}", sig_path.display()))?;
    // Read it back the way the worker will.
    let public = TrustPolicy::parse_public_key(&key.public_base64())?;
    bundle::Bundle::from_dir(dir, &TrustPolicy::trusting(vec![public]))
        .context("the freshly written signature does not verify")?;
    println!(
        "signed: {} (public key {})",
        sig_path.display(),
        key.public_base64()
    );
    Ok(())
}
