//! A model bundle: `manifest.json` plus the files it names and hashes
//! (`docs/contracts.md` section 2), checked before anything in it is used.
//!
//! Checks, in order: signature over the exact manifest bytes (when the policy asks),
//! manifest schema, every listed file's sha256, feature-schema compatibility with this
//! build's core, and the rules and page-stats files parsed by the core's own parsers.
//! Building the tract plan is the model's job ([`crate::core::model::Model`]).

mod core_files;
mod integrity;
mod manifest;
mod schema;

use std::collections::BTreeMap;

pub use core_files::{PageStats, RuleSet};
pub use integrity::{sha256_hex, PublisherKey, SignatureStatus, TrustPolicy};
pub use manifest::{
    is_valid_version, FeatureSpec, GoldenVector, Manifest, ModelSpec, SegmentSpec, Transform,
    FORMAT, VERSION_RULE,
};

/// File name -> bytes: a bundle as the worker gets it (embedded copy, KV) or the CLI
/// reads it from a directory.
pub type BundleFiles = BTreeMap<String, Vec<u8>>;

pub const MANIFEST: &str = "manifest.json";
pub const SIGNATURE: &str = "manifest.sig";
pub const RULES: &str = "rules.json";
pub const PAGE_STATS: &str = "page_stats.json";

/// Why a bundle was refused. Every variant names the file or field at fault.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("{file}: not valid JSON: {message}")]
    Json { file: String, message: String },
    #[error("manifest.json: unsupported format {0} (this build reads format {FORMAT})")]
    UnsupportedFormat(String),
    #[error("manifest.json: field `{field}`: {message}")]
    Field { field: String, message: String },
    #[error("file `{0}` is missing from the bundle")]
    MissingFile(String),
    #[error("file `{file}`: sha256 is {actual}, the manifest says {expected}")]
    HashMismatch {
        file: String,
        expected: String,
        actual: String,
    },
    #[error("manifest.sig is missing and the trust policy requires a signature")]
    SignatureMissing,
    #[error("manifest.sig is malformed: {0}")]
    SignatureMalformed(String),
    #[error("manifest.sig does not verify under any trusted key")]
    SignatureInvalid,
    #[error("key: {0}")]
    Key(String),
    #[error(
        "manifest.json: feature `{0}` is not a field this build computes nor a declared trait"
    )]
    UnknownFeature(String),
    #[error(
        "manifest.json: feature `{name}` is {manifest} in the manifest but {core} in this build"
    )]
    FeatureKind {
        name: String,
        manifest: &'static str,
        core: &'static str,
    },
    #[error("rules.json: {0}")]
    Rules(String),
    #[error("page_stats.json: {0}")]
    PageStats(String),
    #[cfg(not(target_arch = "wasm32"))]
    #[error("reading {path}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// A verified bundle: every byte checked, the JSON files parsed. No tract plan yet.
#[derive(Debug)]
pub struct Bundle {
    manifest: Manifest,
    files: BundleFiles,
    signature: SignatureStatus,
    /// `None` when the manifest lists no `rules.json` (a model-only bundle).
    rules: Option<RuleSet>,
    page_stats: PageStats,
}

impl Bundle {
    /// Checks and parses a bundle given as file name -> bytes.
    pub fn from_files(files: BundleFiles, policy: &TrustPolicy) -> Result<Bundle, BundleError> {
        let signature = integrity::verify_signature(policy, &files)?;
        let manifest_bytes = files
            .get(MANIFEST)
            .ok_or_else(|| BundleError::MissingFile(MANIFEST.into()))?;
        let manifest = Manifest::from_json(manifest_bytes)?;
        if !manifest.files.contains_key(PAGE_STATS) {
            return Err(BundleError::Field {
                field: "files".into(),
                message: format!("must list `{PAGE_STATS}`"),
            });
        }
        integrity::verify_hashes(&manifest.files, &files)?;
        let rules = if manifest.files.contains_key(RULES) {
            Some(core_files::parse_rules(file(&files, RULES)?)?)
        } else {
            None
        };
        schema::check_compatible(&manifest, rules.as_ref().map(RuleSet::traits))?;
        let page_stats = core_files::parse_page_stats(file(&files, PAGE_STATS)?)?;
        Ok(Bundle {
            manifest,
            files,
            signature,
            rules,
            page_stats,
        })
    }

    /// Reads `manifest.json`, `manifest.sig` (if present) and every file the manifest
    /// lists from `dir`, then checks them as [`Bundle::from_files`] does.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn from_dir(
        dir: impl AsRef<std::path::Path>,
        policy: &TrustPolicy,
    ) -> Result<Bundle, BundleError> {
        Bundle::from_files(read_dir(dir.as_ref())?, policy)
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    pub fn signature(&self) -> SignatureStatus {
        self.signature
    }

    pub fn rules(&self) -> Option<&RuleSet> {
        self.rules.as_ref()
    }

    pub fn page_stats(&self) -> &PageStats {
        &self.page_stats
    }

    /// The bytes of a listed file (hash already verified).
    pub fn file(&self, name: &str) -> Option<&[u8]> {
        self.files.get(name).map(Vec::as_slice)
    }

    /// The ONNX graph's bytes.
    pub fn model_bytes(&self) -> &[u8] {
        // `from_files` checked that `model.file` is listed and present.
        self.file(&self.manifest.model.file).unwrap_or_default()
    }
}

fn file<'a>(files: &'a BundleFiles, name: &str) -> Result<&'a [u8], BundleError> {
    files
        .get(name)
        .map(Vec::as_slice)
        .ok_or_else(|| BundleError::MissingFile(name.into()))
}

/// The bundle compiled into this binary (`model/` at build time), for the worker's
/// first request and as the fallback when no newer bundle can be fetched.
pub fn embedded() -> BundleFiles {
    let files: [(&str, &[u8]); 4] = [
        (
            MANIFEST,
            include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/model/manifest.json")),
        ),
        (
            "model.onnx",
            include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/model/model.onnx")),
        ),
        (
            PAGE_STATS,
            include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/model/page_stats.json"
            )),
        ),
        (
            RULES,
            include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/model/rules.json")),
        ),
    ];
    files
        .into_iter()
        .map(|(name, bytes)| (name.to_string(), bytes.to_vec()))
        .collect()
}

/// Native: the bundle files of `dir` (the manifest, its signature if present, and every
/// file the manifest lists), unchecked.
#[cfg(not(target_arch = "wasm32"))]
pub fn read_dir(dir: &std::path::Path) -> Result<BundleFiles, BundleError> {
    use std::path::Component;

    let read = |name: &str| {
        let path = dir.join(name);
        std::fs::read(&path).map_err(|source| BundleError::Io {
            path: path.display().to_string(),
            source,
        })
    };
    let mut files = BundleFiles::new();
    let manifest_bytes = read(MANIFEST)?;
    let manifest = Manifest::from_json(&manifest_bytes)?;
    files.insert(MANIFEST.into(), manifest_bytes);
    if dir.join(SIGNATURE).is_file() {
        files.insert(SIGNATURE.into(), read(SIGNATURE)?);
    }
    for name in manifest.files.keys() {
        // A listed name must stay inside the bundle directory.
        let inside = std::path::Path::new(name)
            .components()
            .all(|c| matches!(c, Component::Normal(_)));
        if !inside {
            return Err(BundleError::Field {
                field: format!("files.{name}"),
                message: "must be a relative path inside the bundle".into(),
            });
        }
        files.insert(name.clone(), read(name)?);
    }
    Ok(files)
}
