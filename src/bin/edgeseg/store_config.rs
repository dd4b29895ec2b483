//! A store's configuration file for the commands that replay visits (`classify
//! --session`, `replay`): the worker's own config, so a replay counts as the worker did.

use std::path::Path;

use anyhow::{Context as _, Result};
use edgeseg::core::config::StoreConfig;

/// The config in `path`, or the built-in demo store's without one.
pub fn load(path: Option<&Path>) -> Result<StoreConfig> {
    let Some(path) = path else {
        return Ok(StoreConfig::default_store());
    };
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    StoreConfig::from_json(&text).with_context(|| format!("store config {}", path.display()))
}
