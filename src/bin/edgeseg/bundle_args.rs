//! The options every command that reads a bundle shares: where it is, whom to trust.

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use clap::Args;
use edgeseg::core::bundle::TrustPolicy;
use edgeseg::core::classify::LoadedBundle;

/// Where the bundle is and which publishers to trust.
#[derive(Args)]
pub struct BundleArgs {
    /// Bundle directory (manifest.json and the files it lists).
    #[arg(long = "model", value_name = "DIR", default_value = "model")]
    pub dir: PathBuf,
    /// Trusted publisher public key file (base64 of 32 bytes); repeatable. With at least
    /// one, `manifest.sig` is required and must verify.
    #[arg(long = "trust", value_name = "KEYFILE")]
    pub trust: Vec<PathBuf>,
}

impl BundleArgs {
    pub fn policy(&self) -> Result<TrustPolicy> {
        trust_policy(&self.trust)
    }

    /// Verifies the bundle and builds its plan; a model that does not build is an error
    /// here (the CLI has no rules-only fallback to hide behind).
    pub fn load(&self) -> Result<LoadedBundle> {
        let loaded = LoadedBundle::from_dir(&self.dir, &self.policy()?)
            .with_context(|| format!("loading the bundle in {}", self.dir.display()))?;
        if let Err(error) = loaded.model() {
            anyhow::bail!("{}: the model does not load: {error}", self.dir.display());
        }
        Ok(loaded)
    }
}

pub fn trust_policy(files: &[PathBuf]) -> Result<TrustPolicy> {
    let keys = files
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading trusted key {}", path.display()))?;
            TrustPolicy::parse_public_key(&text)
                .with_context(|| format!("trusted key {}", path.display()))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(TrustPolicy::trusting(keys))
}
