//! The worker's admin API (`/__edgeseg/admin/*`) as the CLI reads it: a base URL and the
//! bearer token (`--token`, else `EDGESEG_ADMIN_TOKEN`), JSON back.

use anyhow::{Context as _, Result};
use clap::Args;
use serde_json::Value;

use crate::http;

pub const TOKEN_VAR: &str = "EDGESEG_ADMIN_TOKEN";

#[derive(Args)]
pub struct AdminArgs {
    /// Base URL of the worker, e.g. https://shop.example or http://127.0.0.1:8787.
    #[arg(long, value_name = "URL")]
    pub url: String,
    /// The admin token; default: the EDGESEG_ADMIN_TOKEN environment variable.
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,
}

impl AdminArgs {
    /// `GET URL{path}` with the bearer token; a non-2xx answer is an error naming the
    /// status and the worker's own error body.
    pub fn get_json(&self, path: &str) -> Result<Value> {
        let (url, body) = self.get(path)?;
        serde_json::from_slice(&body).with_context(|| format!("GET {url}: the answer is not JSON"))
    }

    /// `GET URL{path}`'s body as bytes (a record object), with the same checks.
    pub fn get_bytes(&self, path: &str) -> Result<Vec<u8>> {
        Ok(self.get(path)?.1)
    }

    fn get(&self, path: &str) -> Result<(String, Vec<u8>)> {
        let token = match &self.token {
            Some(token) => token.clone(),
            None => std::env::var(TOKEN_VAR)
                .with_context(|| format!("no admin token: pass --token or set {TOKEN_VAR}"))?,
        };
        let url = format!("{}{path}", self.url.trim_end_matches('/'));
        let (status, body) = http::get(&url, Some(&token), None)?;
        if !(200..300).contains(&status) {
            anyhow::bail!(
                "GET {url} answered {status}: {}",
                String::from_utf8_lossy(&body).trim()
            );
        }
        Ok((url, body))
    }
}
