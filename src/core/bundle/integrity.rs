//! Hashes and the optional detached signature: is this the bundle its publisher made?

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use sha2::{Digest, Sha256};

use super::{BundleError, BundleFiles, MANIFEST, SIGNATURE};

/// Lower-case hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Every file the manifest lists must be present and hash to the listed value.
pub fn verify_hashes(
    listed: &BTreeMap<String, String>,
    files: &BundleFiles,
) -> Result<(), BundleError> {
    for (name, expected) in listed {
        let bytes = files
            .get(name)
            .ok_or_else(|| BundleError::MissingFile(name.clone()))?;
        let actual = sha256_hex(bytes);
        if !actual.eq_ignore_ascii_case(expected) {
            return Err(BundleError::HashMismatch {
                file: name.clone(),
                expected: expected.to_ascii_lowercase(),
                actual,
            });
        }
    }
    Ok(())
}

/// Which publishers' signatures this deployment accepts.
///
/// With no trusted keys a signature is not checked (development, the embedded bundle);
/// with keys, `manifest.sig` is required and must verify under one of them.
#[derive(Debug, Clone, Default)]
pub struct TrustPolicy {
    keys: Vec<VerifyingKey>,
}

impl TrustPolicy {
    /// Accept any bundle whose hashes match (no signature check).
    pub fn unsigned() -> Self {
        TrustPolicy::default()
    }

    /// Require a signature by one of these raw 32-byte ed25519 public keys.
    pub fn trusting(keys: Vec<VerifyingKey>) -> Self {
        TrustPolicy { keys }
    }

    /// Parses a public key written as base64 of its 32 raw bytes.
    pub fn parse_public_key(text: &str) -> Result<VerifyingKey, BundleError> {
        let bytes = decode_32(text, "public key")?;
        VerifyingKey::from_bytes(&bytes)
            .map_err(|e| BundleError::Key(format!("not an ed25519 public key: {e}")))
    }

    pub fn requires_signature(&self) -> bool {
        !self.keys.is_empty()
    }
}

/// What the signature check established, for `bundle check` to report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureStatus {
    /// Signed by the trusted key at this index of the policy.
    Verified { key_index: usize },
    /// A `manifest.sig` is present but no key was configured to check it with.
    PresentUnchecked,
    /// No `manifest.sig`, and the policy does not require one.
    Absent,
}

/// Checks `manifest.sig` against the exact bytes of `manifest.json`.
pub fn verify_signature(
    policy: &TrustPolicy,
    files: &BundleFiles,
) -> Result<SignatureStatus, BundleError> {
    let manifest = files
        .get(MANIFEST)
        .ok_or_else(|| BundleError::MissingFile(MANIFEST.into()))?;
    let Some(sig_text) = files.get(SIGNATURE) else {
        return if policy.requires_signature() {
            Err(BundleError::SignatureMissing)
        } else {
            Ok(SignatureStatus::Absent)
        };
    };
    if !policy.requires_signature() {
        return Ok(SignatureStatus::PresentUnchecked);
    }
    let text = std::str::from_utf8(sig_text)
        .map_err(|_| BundleError::SignatureMalformed("not UTF-8 text".into()))?;
    let raw = BASE64
        .decode(text.trim())
        .map_err(|e| BundleError::SignatureMalformed(format!("not base64: {e}")))?;
    let signature = Signature::from_slice(&raw).map_err(|_| {
        BundleError::SignatureMalformed(format!("{} bytes, expected 64", raw.len()))
    })?;
    policy
        .keys
        .iter()
        .position(|key| key.verify(manifest, &signature).is_ok())
        .map(|key_index| SignatureStatus::Verified { key_index })
        .ok_or(BundleError::SignatureInvalid)
}

/// A publisher's signing key, as written by `edgeseg keygen` (base64 of the 32-byte seed).
pub struct PublisherKey(SigningKey);

impl PublisherKey {
    pub fn from_seed(seed: [u8; 32]) -> Self {
        PublisherKey(SigningKey::from_bytes(&seed))
    }

    pub fn parse(text: &str) -> Result<Self, BundleError> {
        decode_32(text, "secret key").map(Self::from_seed)
    }

    pub fn secret_base64(&self) -> String {
        BASE64.encode(self.0.to_bytes())
    }

    pub fn public_base64(&self) -> String {
        BASE64.encode(self.0.verifying_key().to_bytes())
    }

    /// The detached signature of `manifest.json`, as the text of `manifest.sig`.
    pub fn sign_manifest(&self, manifest: &[u8]) -> String {
        BASE64.encode(self.0.sign(manifest).to_bytes())
    }
}

fn decode_32(text: &str, what: &str) -> Result<[u8; 32], BundleError> {
    let raw = BASE64
        .decode(text.trim())
        .map_err(|e| BundleError::Key(format!("{what} is not base64: {e}")))?;
    raw.try_into().map_err(|raw: Vec<u8>| {
        BundleError::Key(format!("{what} has {} bytes, expected 32", raw.len()))
    })
}
