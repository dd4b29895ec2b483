//! `edgeseg publish DIR --channel NAME [--canary PERCENT]`: check a signed bundle, upload
//! it to KV under `bundles/<version>/`, then move the channel pointer and write the
//! audit record. The pointer moves only after every file is in KV, so an edge never
//! follows a pointer to a half-uploaded bundle.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use clap::Args;
use edgeseg::core::bundle::{sha256_hex, SignatureStatus, MANIFEST, SIGNATURE};
use edgeseg::core::channel::{
    bundle_key, AuditAction, AuditOutcome, AuditRecord, AuditSource, Pointer, EMBEDDED,
};
use indicatif::{HumanBytes, ProgressBar, ProgressStyle};

use crate::channel_cmd::{self, Clock};
use crate::bundle_args::BundleArgs;
use crate::temp_dir::TempDir;
use crate::wrangler::{KvArgs, Wrangler};

#[derive(Args)]
pub struct PublishArgs {
    /// Bundle directory: manifest.json, manifest.sig and the files the manifest lists.
    pub dir: PathBuf,
    /// Channel whose pointer moves to this bundle.
    #[arg(long, value_name = "NAME")]
    pub channel: String,
    /// Run the bundle as a canary for this percentage of sessions (0 < PERCENT <= 100)
    /// instead of serving it to everyone; `edgeseg promote` finishes the rollout.
    #[arg(long, value_name = "PERCENT")]
    pub canary: Option<f64>,
    /// Trusted publisher public key file; repeatable. With one, the signature must
    /// verify under one of them (as it must at the edge, under EDGESEG_TRUSTED_KEYS).
    #[arg(long = "trust", value_name = "KEYFILE")]
    pub trust: Vec<PathBuf>,
    #[command(flatten)]
    pub kv: KvArgs,
}

pub fn run(args: PublishArgs) -> Result<()> {
    let kv = Wrangler::from_args(&args.kv);
    let progress = ProgressBar::new(4).with_style(
        ProgressStyle::with_template("{spinner} [{bar:20}] {pos}/{len} {msg} {elapsed}")
            .context("progress bar template")?,
    );
    // wrangler calls take seconds each: keep the spinner moving.
    progress.enable_steady_tick(std::time::Duration::from_millis(120));
    let published = publish(&kv, &args, &progress);
    progress.finish_and_clear();
    let published = published?;
    let summary = serde_json::json!({
        "channel": args.channel,
        "version": published.version,
        "pointer": published.pointer,
        "audit": published.audit_key,
    });
    println!("{summary}");
    Ok(())
}

/// What `publish` did.
#[derive(Debug)]
pub struct Published {
    pub version: String,
    pub pointer: Pointer,
    pub audit_key: String,
}

pub fn publish(kv: &Wrangler, args: &PublishArgs, progress: &ProgressBar) -> Result<Published> {
    channel_cmd::check_channel(&args.channel)?;
    let share = args.canary.map(canary_share).transpose()?;

    progress.set_message(format!("checking {}", args.dir.display()));
    let files = check(&args.dir, &args.trust, progress)?;
    let version = manifest_version(&files)?;
    if version == EMBEDDED {
        anyhow::bail!(
            "{}: version `{EMBEDDED}` names the bundle compiled into the worker; \
             give this bundle another version",
            args.dir.display()
        );
    }
    progress.inc(1);

    let total: usize = files.iter().map(|(_, bytes)| bytes.len()).sum();
    progress.set_message(format!(
        "uploading {} files ({}) to {}",
        files.len(),
        HumanBytes(total as u64),
        kv.location()
    ));
    upload(kv, &version, &files)?;
    progress.inc(1);

    progress.set_message(format!("moving channel {}", args.channel));
    let current = channel_cmd::read_pointer(kv, &args.channel)?;
    let next = next_pointer(current.as_ref(), &version, share)
        .with_context(|| format!("channel {}: publishing {version}", args.channel))?;
    let now = Clock::now();
    let pointer = channel_cmd::write_pointer(kv, &args.channel, next, &now)?;
    progress.inc(1);

    progress.set_message("writing the audit record");
    let hashes: BTreeMap<String, String> = files
        .iter()
        .map(|(name, bytes)| (name.clone(), sha256_hex(bytes)))
        .collect();
    let record = AuditRecord {
        at_ms: now.ms,
        source: AuditSource::Cli,
        action: if share.is_some() {
            AuditAction::Canary
        } else {
            AuditAction::Publish
        },
        channel: args.channel.clone(),
        version: version.clone(),
        outcome: AuditOutcome::Ok,
        hashes,
        detail: pointer.to_json(),
    };
    let audit_key = channel_cmd::write_audit(kv, record)?;
    progress.inc(1);
    Ok(Published {
        version,
        pointer,
        audit_key,
    })
}

/// [`Pointer::publish`], except that publishing the version the channel already serves
/// (a retry) keeps the pointer as it is: `publish` would drop `previous`, and with it
/// the rollback.
fn next_pointer(current: Option<&Pointer>, version: &str, share: Option<f64>) -> Result<Pointer> {
    if let Some(current) = current.filter(|p| p.active == version) {
        if share.is_some() {
            anyhow::bail!("{version} is already the active version: nothing to run as a canary");
        }
        if current.canary.is_none() {
            return Ok(current.clone());
        }
    }
    Ok(Pointer::publish(current, version, share)?)
}

/// `--canary 30` is a share of 0.3.
fn canary_share(percent: f64) -> Result<f64> {
    if !(percent > 0.0 && percent <= 100.0) {
        anyhow::bail!("--canary {percent}: a percentage of sessions, 0 < PERCENT <= 100");
    }
    Ok(percent / 100.0)
}

/// The checks of `bundle check` (hashes, schema, tract plan, golden vectors), plus a
/// signature: the edge refuses unsigned bundles. Returns the files to upload, in upload
/// order: manifest.json, manifest.sig, then the listed files.
fn check(dir: &Path, trust: &[PathBuf], progress: &ProgressBar) -> Result<Vec<(String, Vec<u8>)>> {
    let bundle_args = BundleArgs {
        dir: dir.to_path_buf(),
        trust: trust.to_vec(),
    };
    let loaded = bundle_args
        .load()
        .with_context(|| format!("bundle {} refused", dir.display()))?;
    let bundle = loaded.bundle();
    match bundle.signature() {
        SignatureStatus::Verified { .. } => {}
        SignatureStatus::PresentUnchecked => progress.suspend(|| {
            eprintln!(
                "warning: {}/{SIGNATURE} not checked here (pass --trust KEYFILE); the edge \
                 checks it against EDGESEG_TRUSTED_KEYS",
                dir.display()
            )
        }),
        SignatureStatus::Absent => anyhow::bail!(
            "bundle {} has no {SIGNATURE}: the edge refuses unsigned bundles \
             (sign it with `edgeseg bundle sign {} --key KEYFILE`)",
            dir.display(),
            dir.display()
        ),
    }
    let report = loaded
        .verify()
        .with_context(|| format!("{}: golden vectors", dir.display()))?;
    if report.vectors == 0 {
        anyhow::bail!("{}: the manifest has no golden vectors", dir.display());
    }
    let names = [MANIFEST.to_string(), SIGNATURE.to_string()]
        .into_iter()
        .chain(bundle.manifest().files.keys().cloned());
    names
        .map(|name| {
            let bytes = bundle
                .file(&name)
                .with_context(|| format!("{}: {name} is missing", dir.display()))?;
            Ok((name, bytes.to_vec()))
        })
        .collect()
}

fn manifest_version(files: &[(String, Vec<u8>)]) -> Result<String> {
    let manifest = files
        .iter()
        .find(|(name, _)| name == MANIFEST)
        .context("no manifest.json")?;
    let value: serde_json::Value =
        serde_json::from_slice(&manifest.1).context("manifest.json is not JSON")?;
    value
        .get("version")
        .and_then(|v| v.as_str())
        .map(str::to_string)
        .context("manifest.json has no version")
}

/// One `wrangler kv bulk put` of every file, after checking that the version is not
/// already in KV with other content (an edge that loaded it would never see the change).
///
/// In the local store, values that are not UTF-8 are read back: wrangler 4's local
/// `bulk put` decodes `base64` values through a UTF-8 string (cloudflare/workers-sdk
/// #15192, fixed after 4.123), so the ONNX graph arrives mangled. Those are rewritten
/// byte for byte with `kv key put --path` and checked again.
fn upload(kv: &Wrangler, version: &str, files: &[(String, Vec<u8>)]) -> Result<()> {
    let manifest_key = bundle_key(version, MANIFEST);
    let manifest = &files
        .iter()
        .find(|(name, _)| name == MANIFEST)
        .context("no manifest.json")?
        .1;
    let existing = kv
        .get(&manifest_key)
        .with_context(|| format!("reading {manifest_key} from {}", kv.location()))?;
    if existing.as_ref().is_some_and(|bytes| bytes != manifest) {
        anyhow::bail!(
            "version {version} is already published in {} with a different manifest: \
             give this bundle a new version (edges never reload a version they have)",
            kv.location()
        );
    }

    let scratch = TempDir::new("publish")?;
    let entries: Vec<serde_json::Value> = files
        .iter()
        .map(|(name, bytes)| {
            serde_json::json!({
                "key": bundle_key(version, name),
                "value": BASE64.encode(bytes),
                "base64": true,
            })
        })
        .collect();
    let bulk = scratch.path().join("bulk.json");
    let text = serde_json::to_vec(&entries).context("serialising the bulk upload")?;
    std::fs::write(&bulk, text).with_context(|| format!("writing {}", bulk.display()))?;
    kv.bulk_put(&bulk)
        .with_context(|| format!("uploading bundle {version} to {}", kv.location()))?;

    if kv.is_local() {
        for (name, bytes) in files {
            if std::str::from_utf8(bytes).is_err() {
                repair_local(kv, &scratch, version, name, bytes)?;
            }
        }
    }
    Ok(())
}

fn repair_local(
    kv: &Wrangler,
    scratch: &TempDir,
    version: &str,
    name: &str,
    bytes: &[u8],
) -> Result<()> {
    let key = bundle_key(version, name);
    let matches = |stored: Option<Vec<u8>>| stored.as_deref() == Some(bytes);
    if matches(
        kv.get(&key)
            .with_context(|| format!("reading back {key}"))?,
    ) {
        return Ok(());
    }
    let path = scratch
        .path()
        .join(format!("file-{}", sha256_hex(name.as_bytes())));
    std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
    kv.put_path(&key, &path)
        .with_context(|| format!("rewriting {key} byte for byte"))?;
    if !matches(
        kv.get(&key)
            .with_context(|| format!("reading back {key}"))?,
    ) {
        anyhow::bail!(
            "{key} in {} does not read back as the bundle's bytes",
            kv.location()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wrangler::tests::{FakeWrangler, Scratch};
    use edgeseg::core::bundle::PublisherKey;

    const SEED: [u8; 32] = [7; 32];

    /// A signed copy of `model/` and the public key file that verifies it.
    fn signed_bundle() -> (Scratch, PathBuf, PathBuf) {
        let scratch = Scratch::new("publish-bundle");
        let dir = scratch.0.join("bundle");
        std::fs::create_dir_all(&dir).unwrap();
        let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("model");
        for entry in std::fs::read_dir(&model).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_file() && entry.file_name() != SIGNATURE {
                std::fs::copy(entry.path(), dir.join(entry.file_name())).unwrap();
            }
        }
        let key = PublisherKey::from_seed(SEED);
        let manifest = std::fs::read(dir.join(MANIFEST)).unwrap();
        std::fs::write(dir.join(SIGNATURE), key.sign_manifest(&manifest)).unwrap();
        let public = scratch.0.join("publisher.pub");
        std::fs::write(&public, key.public_base64()).unwrap();
        (scratch, dir, public)
    }

    fn args(
        fake: &FakeWrangler,
        dir: &Path,
        canary: Option<f64>,
        trust: &[PathBuf],
    ) -> PublishArgs {
        PublishArgs {
            dir: dir.to_path_buf(),
            channel: "prod".into(),
            canary,
            trust: trust.to_vec(),
            kv: fake.kv_args(),
        }
    }

    fn stored_pointer(fake: &FakeWrangler) -> Pointer {
        Pointer::from_json(std::str::from_utf8(&fake.stored("channels/prod").unwrap()).unwrap())
            .unwrap()
    }

    #[test]
    fn the_command_line_is_the_documented_one() {
        use clap::{CommandFactory as _, Parser as _};
        crate::cli::Cli::command().debug_assert();
        for line in [
            "edgeseg publish DIR --channel c --canary 30 --trust a.pub --trust b.pub --local \
             --persist-to st --config w.toml --wrangler /bin/w --binding KV",
            "edgeseg publish DIR --channel c",
            "edgeseg promote --channel c --local --persist-to st",
            "edgeseg rollback --channel c",
            "edgeseg status --url http://127.0.0.1:8787 --channel c --local",
            "edgeseg status --url http://127.0.0.1:8787",
        ] {
            let words = line.split_whitespace();
            assert!(crate::cli::Cli::try_parse_from(words).is_ok(), "{line}");
        }
        assert!(crate::cli::Cli::try_parse_from(["edgeseg", "promote"]).is_err());

        #[derive(clap::Parser)]
        struct Publish {
            #[command(flatten)]
            args: PublishArgs,
        }
        let parsed = Publish::try_parse_from(
            "publish DIR --channel c --canary 30 --trust a.pub --trust b.pub --persist-to st \
             --config w.toml --wrangler /bin/w"
                .split_whitespace(),
        )
        .unwrap()
        .args;
        assert_eq!(parsed.dir, Path::new("DIR"));
        assert_eq!(parsed.canary, Some(30.0));
        assert_eq!(parsed.trust.len(), 2);
        assert_eq!(parsed.kv.binding, "EDGESEG_KV");
        assert_eq!(parsed.kv.wrangler.as_deref(), Some(Path::new("/bin/w")));
        assert!(Wrangler::from_args(&parsed.kv).is_local());
    }

    #[test]
    fn publish_uploads_every_file_then_moves_the_pointer_and_audits() {
        let (_scratch, dir, public) = signed_bundle();
        let fake = FakeWrangler::new();
        let kv = fake.wrangler();
        let progress = ProgressBar::hidden();
        let published = publish(&kv, &args(&fake, &dir, None, &[public]), &progress).unwrap();
        let manifest: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join(MANIFEST)).unwrap()).unwrap();
        let version = manifest["version"].as_str().unwrap();
        assert_eq!(published.version, version);

        // One bulk upload holding the exact bytes of the manifest, signature and files.
        let bulk: Vec<serde_json::Value> =
            serde_json::from_slice(&std::fs::read(fake.dir.0.join("bulk-0.json")).unwrap())
                .unwrap();
        let mut expected: Vec<String> = vec![MANIFEST.into(), SIGNATURE.into()];
        expected.extend(manifest["files"].as_object().unwrap().keys().cloned());
        assert_eq!(bulk.len(), expected.len());
        for (entry, name) in bulk.iter().zip(&expected) {
            assert_eq!(entry["key"], format!("bundles/{version}/{name}"));
            assert_eq!(entry["base64"], true);
            let bytes = BASE64.decode(entry["value"].as_str().unwrap()).unwrap();
            assert_eq!(bytes, std::fs::read(dir.join(name)).unwrap(), "{name}");
        }

        // The calls: version check, bulk put, then (the fake stored nothing) the ONNX
        // graph read back and rewritten by path, pointer read, pointer and audit writes.
        let calls = fake.calls();
        let verbs: Vec<String> = calls.iter().map(|c| c[1..3].join(" ")).collect();
        assert_eq!(verbs[0], "key get");
        assert_eq!(calls[0][3], format!("bundles/{version}/manifest.json"));
        assert_eq!(verbs[1], "bulk put");
        assert!(verbs[2..].contains(&"key put".to_string()));
        let path_put = calls
            .iter()
            .find(|c| c.get(4).map(String::as_str) == Some("--path"))
            .expect("the ONNX graph rewritten by path");
        assert_eq!(path_put[3], format!("bundles/{version}/model.onnx"));
        assert_eq!(
            fake.stored(&path_put[3]).unwrap(),
            std::fs::read(dir.join("model.onnx")).unwrap()
        );
        for call in &calls {
            assert_eq!(call[0], "kv");
            let tail = &call[call.len() - 5..];
            assert_eq!(tail[..3], ["--binding", "EDGESEG_KV", "--local"]);
            assert_eq!(tail[3], "--persist-to");
        }

        let pointer = stored_pointer(&fake);
        assert_eq!(pointer, published.pointer);
        assert_eq!(pointer.active, version);
        assert_eq!(pointer.previous.as_deref(), Some(EMBEDDED));
        assert!(pointer.updated_at.is_some());

        let stored = fake.stored(&published.audit_key).unwrap();
        let raw: serde_json::Value = serde_json::from_slice(&stored).unwrap();
        assert_eq!(
            (&raw["source"], &raw["action"], &raw["outcome"]),
            (&serde_json::json!("cli"), &serde_json::json!("publish"), &serde_json::json!("ok"))
        );
        let record: AuditRecord = serde_json::from_slice(&stored).unwrap();
        assert_eq!(record.action, AuditAction::Publish);
        assert_eq!(record.version, version);
        assert_eq!(record.hashes.len(), expected.len());
        assert_eq!(
            record.hashes["model.onnx"],
            sha256_hex(&std::fs::read(dir.join("model.onnx")).unwrap())
        );
        assert!(published.audit_key.starts_with("audit/") && published.audit_key.contains("-cli-"));
    }

    #[test]
    fn a_canary_keeps_the_active_version_and_promote_finishes_it() {
        let (_scratch, dir, _public) = signed_bundle();
        let fake = FakeWrangler::new();
        fake.store(
            "channels/prod",
            Pointer::serving("2026.01.01-1").to_json().as_bytes(),
        );
        let kv = fake.wrangler();
        let published = publish(
            &kv,
            &args(&fake, &dir, Some(30.0), &[]),
            &ProgressBar::hidden(),
        )
        .unwrap();
        let pointer = stored_pointer(&fake);
        assert_eq!(pointer.active, "2026.01.01-1");
        let canary = pointer.canary.as_ref().unwrap();
        assert_eq!(canary.version, published.version);
        assert!((canary.share - 0.3).abs() < 1e-12);
        let record: AuditRecord =
            serde_json::from_slice(&fake.stored(&published.audit_key).unwrap()).unwrap();
        assert_eq!(record.action, AuditAction::Canary);

        let promoted = channel_cmd::move_channel(&kv, "prod", channel_cmd::Move::Promote).unwrap();
        assert_eq!(promoted.active, published.version);
        assert_eq!(promoted.previous.as_deref(), Some("2026.01.01-1"));
    }

    #[test]
    fn republishing_the_active_version_keeps_the_rollback() {
        let serving = Pointer::publish(Some(&Pointer::serving("v1")), "v2", None).unwrap();
        assert_eq!(next_pointer(Some(&serving), "v2", None).unwrap(), serving);
        let err = next_pointer(Some(&serving), "v2", Some(0.3)).unwrap_err();
        assert!(
            err.to_string().contains("already the active version"),
            "{err}"
        );
        let next = next_pointer(Some(&serving), "v3", None).unwrap();
        assert_eq!(
            (next.active.as_str(), next.previous.as_deref()),
            ("v3", Some("v2"))
        );
        let first = next_pointer(None, "v1", Some(0.5)).unwrap();
        assert_eq!(first.active, EMBEDDED);
        // Publishing the canary's version to everyone ends the canary.
        let ended = next_pointer(Some(&first), "v1", None).unwrap();
        assert!(ended.canary.is_none() && ended.active == "v1");
    }

    #[test]
    fn refusals_come_before_anything_is_written() {
        let (scratch, dir, _public) = signed_bundle();
        let fake = FakeWrangler::new();
        let kv = fake.wrangler();
        let hidden = ProgressBar::hidden();
        let fails = |args: PublishArgs| format!("{:#}", publish(&kv, &args, &hidden).unwrap_err());

        for bad in [0.0, -5.0, 100.5, f64::NAN] {
            let err = fails(args(&fake, &dir, Some(bad), &[]));
            assert!(err.contains("--canary"), "{bad}: {err}");
        }
        // A key that did not sign it.
        let other = scratch.0.join("other.pub");
        std::fs::write(&other, PublisherKey::from_seed([9; 32]).public_base64()).unwrap();
        let err = fails(args(&fake, &dir, None, &[other]));
        assert!(err.contains("does not verify"), "{err}");
        // Unsigned.
        std::fs::remove_file(dir.join(SIGNATURE)).unwrap();
        let err = fails(args(&fake, &dir, None, &[]));
        assert!(
            err.contains("no manifest.sig") && err.contains("unsigned"),
            "{err}"
        );
        // A version the channel pointer could not name (65 characters), signed.
        let key = PublisherKey::from_seed(SEED);
        let manifest = std::fs::read(dir.join(MANIFEST)).unwrap();
        let mut long: serde_json::Value = serde_json::from_slice(&manifest).unwrap();
        long["version"] = "v".repeat(65).into();
        let long = serde_json::to_vec_pretty(&long).unwrap();
        std::fs::write(dir.join(MANIFEST), &long).unwrap();
        std::fs::write(dir.join(SIGNATURE), key.sign_manifest(&long)).unwrap();
        let err = fails(args(&fake, &dir, None, &[]));
        assert!(err.contains("version") && err.contains("64"), "{err}");
        // A file that does not match its hash.
        std::fs::write(dir.join(MANIFEST), &manifest).unwrap();
        std::fs::write(dir.join(SIGNATURE), key.sign_manifest(&manifest)).unwrap();
        std::fs::write(dir.join("rules.json"), b"{}").unwrap();
        let err = fails(args(&fake, &dir, None, &[]));
        assert!(
            err.contains("rules.json") && err.contains("sha256"),
            "{err}"
        );
        assert!(fake.calls().is_empty(), "nothing reached wrangler");
    }

    #[test]
    fn a_version_published_with_other_content_is_refused() {
        let (_scratch, dir, _public) = signed_bundle();
        let fake = FakeWrangler::new();
        let version = manifest_version(&check(&dir, &[], &ProgressBar::hidden()).unwrap()).unwrap();
        fake.store(&bundle_key(&version, MANIFEST), b"{\"other\":true}");
        let err = format!(
            "{:#}",
            publish(
                &fake.wrangler(),
                &args(&fake, &dir, None, &[]),
                &ProgressBar::hidden()
            )
            .unwrap_err()
        );
        assert!(err.contains("already published"), "{err}");
        assert!(fake.stored("channels/prod").is_none());
    }

    #[test]
    fn a_wrangler_failure_quotes_its_stderr_and_moves_nothing() {
        let (_scratch, dir, _public) = signed_bundle();
        let fake = FakeWrangler::new();
        fake.fail_with(
            "✘ [ERROR] A request to the Cloudflare API failed: Authentication error [code: 10000]",
        );
        let err = format!(
            "{:#}",
            publish(
                &fake.wrangler(),
                &args(&fake, &dir, None, &[]),
                &ProgressBar::hidden()
            )
            .unwrap_err()
        );
        assert!(err.contains("Authentication error [code: 10000]"), "{err}");
        assert!(err.contains("wrangler kv key get"), "{err}");
        assert!(fake.stored("channels/prod").is_none());
    }
}
