//! Publisher keys: `edgeseg keygen` and reading a secret key for `bundle sign`.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use clap::Args;
use edgeseg::core::bundle::PublisherKey;

#[derive(Args)]
pub struct KeygenArgs {
    /// Path prefix: writes PREFIX.key (secret, keep it offline) and PREFIX.pub.
    #[arg(long, value_name = "PREFIX")]
    out: PathBuf,
}

pub fn keygen(args: KeygenArgs) -> Result<()> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("no system randomness: {e}"))?;
    let key = PublisherKey::from_seed(seed);
    let secret = with_suffix(&args.out, "key");
    let public = with_suffix(&args.out, "pub");
    write_new(&secret, &key.secret_base64(), true)?;
    write_new(&public, &key.public_base64(), false)?;
    println!("secret key: {}", secret.display());
    println!("public key: {} ({})", public.display(), key.public_base64());
    Ok(())
}

pub fn read_secret(path: &Path) -> Result<PublisherKey> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading secret key {}", path.display()))?;
    PublisherKey::parse(&text).with_context(|| format!("secret key {}", path.display()))
}

fn with_suffix(prefix: &Path, suffix: &str) -> PathBuf {
    let mut name = prefix.as_os_str().to_owned();
    name.push(".");
    name.push(suffix);
    PathBuf::from(name)
}

/// Writes `text` to a file that must not exist yet (never overwrite a key).
fn write_new(path: &Path, text: &str, secret: bool) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = secret;
    let mut file = options.open(path).with_context(|| {
        format!(
            "creating {} (an existing key is never overwritten)",
            path.display()
        )
    })?;
    writeln!(file, "{text}").with_context(|| format!("writing {}", path.display()))
}
