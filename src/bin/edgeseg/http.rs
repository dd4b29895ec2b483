//! The CLI's one HTTP(S) client (ureq: rustls with Mozilla's roots, never in the wasm),
//! for the worker's own endpoints: health (`edgeseg status`) and the admin API
//! (`edgeseg drift`, `edgeseg explain`).

use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, Result};

const TIMEOUT: Duration = Duration::from_secs(15);

/// `GET url` asking for JSON, with a bearer token if given; the status and body of any
/// answer (an unhealthy or refusing worker says why in its body). `cacert`: trust the
/// authorities in this PEM file instead of the built-in roots.
pub fn get(url: &str, bearer: Option<&str>, cacert: Option<&Path>) -> Result<(u16, Vec<u8>)> {
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        anyhow::bail!("{url}: expected an http:// or https:// URL");
    }
    let mut request = agent(cacert)?
        .get(url)
        .header("accept", "application/json")
        .header("user-agent", concat!("edgeseg/", env!("CARGO_PKG_VERSION")));
    if let Some(token) = bearer {
        request = request.header("authorization", &format!("Bearer {token}"));
    }
    let mut response = request.call().with_context(|| format!("GET {url}"))?;
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .read_to_vec()
        .with_context(|| format!("reading the answer to GET {url}"))?;
    Ok((status, body))
}

fn agent(cacert: Option<&Path>) -> Result<ureq::Agent> {
    let mut config = ureq::Agent::config_builder()
        .timeout_global(Some(TIMEOUT))
        .http_status_as_error(false);
    if let Some(path) = cacert {
        let pem = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let mut roots = Vec::new();
        for item in ureq::tls::parse_pem(&pem) {
            if let ureq::tls::PemItem::Certificate(cert) =
                item.with_context(|| format!("{}: not PEM", path.display()))?
            {
                roots.push(cert);
            }
        }
        if roots.is_empty() {
            anyhow::bail!("{}: no certificate in it", path.display());
        }
        let tls = ureq::tls::TlsConfig::builder()
            .root_certs(ureq::tls::RootCerts::from(roots))
            .build();
        config = config.tls_config(tls);
    }
    Ok(config.build().new_agent())
}
