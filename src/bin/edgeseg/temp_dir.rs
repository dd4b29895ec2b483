//! Private scratch directories for the files wrangler reads (bulk uploads, bundles).

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

/// A private scratch directory, removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Result<TempDir> {
        let mut nonce = [0u8; 8];
        getrandom::fill(&mut nonce).map_err(|e| anyhow::anyhow!("no system randomness: {e}"))?;
        let path = std::env::temp_dir().join(format!(
            "edgeseg-{tag}-{}-{}",
            std::process::id(),
            hex::encode(nonce)
        ));
        std::fs::create_dir(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(TempDir(path))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
