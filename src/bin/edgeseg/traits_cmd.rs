//! `edgeseg traits publish FILE` and `edgeseg traits delete --customer ID`: the store's
//! batch feed of customer traits into KV (contract section 8), through wrangler.
//!
//! The whole file is checked before anything is written; each raw customer id is
//! replaced here by the keyed hash the worker computes (`EDGESEG_CUSTOMER_KEY`), so raw
//! ids never leave this machine.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use clap::{Args, Subcommand};
use edgeseg::core::bundle::sha256_hex;
use edgeseg::core::identity::customer_key;
use edgeseg::core::traits::feed::{self, FeedFormat, FeedRecord};
use edgeseg::core::traits::{kv_key, TraitSchema, KV_PREFIX};
use indicatif::{ProgressBar, ProgressStyle};

use crate::channel_cmd::Clock;
use crate::temp_dir::TempDir;
use crate::wrangler::{KvArgs, ListedKey, Wrangler};

/// The environment variable holding the worker's customer-id key (the same secret).
pub const CUSTOMER_KEY_ENV: &str = "EDGESEG_CUSTOMER_KEY";
/// Customers per `wrangler kv bulk put` (the API takes at most 10,000 per request).
const CHUNK: usize = 10_000;
/// KV refuses expirations under a minute.
const MIN_TTL_SECS: u64 = 60;

#[derive(Subcommand)]
pub enum TraitsCommand {
    /// Check a traits file (CSV or JSONL) against the schema and write every customer's
    /// traits to KV under the keyed hash of their id, with a version and a TTL.
    Publish(PublishArgs),
    /// Remove one customer's traits from KV (an erasure request).
    Delete(DeleteArgs),
}

#[derive(Args)]
pub struct PublishArgs {
    /// The traits file: `.csv` (header `customer_id,<trait>,...`) or `.jsonl`.
    pub file: PathBuf,
    /// The declared traits: a rules file or any JSON object with a `traits` object.
    #[arg(long, value_name = "FILE", default_value = "model/rules.json")]
    pub schema: PathBuf,
    /// Check the file and report what would change in KV; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// The version stamped on every stored value (default: now, RFC 3339).
    #[arg(long, value_name = "TEXT")]
    pub feed_version: Option<String>,
    /// Days until a customer's traits expire unless a later feed rewrites them.
    #[arg(long, value_name = "DAYS", default_value_t = 7.0)]
    pub ttl_days: f64,
    #[command(flatten)]
    pub kv: KvArgs,
}

#[derive(Args)]
pub struct DeleteArgs {
    /// The store's customer id (hashed here, as the worker does).
    #[arg(long, value_name = "ID")]
    pub customer: String,
    #[command(flatten)]
    pub kv: KvArgs,
}

pub fn run(command: TraitsCommand) -> Result<()> {
    let secret = customer_secret()?;
    match command {
        TraitsCommand::Publish(args) => {
            let kv = Wrangler::from_args(&args.kv);
            let progress = ProgressBar::new(0).with_style(
                ProgressStyle::with_template(
                    "{spinner} [{bar:30}] {pos}/{len} customers {msg} {elapsed}",
                )
                .context("progress bar template")?,
            );
            progress.enable_steady_tick(std::time::Duration::from_millis(120));
            let report = publish(&kv, &args, &secret, &progress);
            progress.finish_and_clear();
            println!("{}", report?.to_json());
            Ok(())
        }
        TraitsCommand::Delete(args) => {
            let kv = Wrangler::from_args(&args.kv);
            let key = delete(&kv, &args.customer, &secret)?;
            println!("{}", serde_json::json!({ "deleted": key }));
            Ok(())
        }
    }
}

fn customer_secret() -> Result<Vec<u8>> {
    let secret = std::env::var(CUSTOMER_KEY_ENV).unwrap_or_default();
    if secret.is_empty() {
        anyhow::bail!(
            "{CUSTOMER_KEY_ENV} is not set: it must hold the worker's secret of the same \
             name, so that the stored keys are the hashes the worker looks up"
        );
    }
    Ok(secret.into_bytes())
}

/// The schema declared in a rules file or schema file.
pub fn read_schema(path: &Path) -> Result<TraitSchema> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let root: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    let object = root
        .as_object()
        .with_context(|| format!("{} is not a JSON object", path.display()))?;
    let schema = TraitSchema::from_document(object).with_context(|| path.display().to_string())?;
    if schema.is_empty() {
        anyhow::bail!("{} declares no traits", path.display());
    }
    Ok(schema)
}

/// What a publication changes, customer by customer (counted), against what KV holds.
#[derive(Debug, PartialEq)]
pub struct Report {
    pub dry_run: bool,
    pub feed_version: String,
    pub location: String,
    pub customers: usize,
    /// Customers without traits in KV yet.
    pub new: usize,
    /// Customers whose traits differ from what KV holds.
    pub changed: usize,
    /// Customers whose traits are the same (rewritten all the same: a new TTL).
    pub unchanged: usize,
    /// Customers in KV that the file does not name: their traits expire at their TTL.
    pub not_in_file: usize,
    /// How many customers carry each trait.
    pub traits: BTreeMap<String, usize>,
    pub ttl_secs: u64,
}

impl Report {
    fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "dry_run": self.dry_run,
            "feed_version": self.feed_version,
            "location": self.location,
            "customers": self.customers,
            "new": self.new,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "not_in_file": self.not_in_file,
            "traits": self.traits,
            "ttl_secs": self.ttl_secs,
        })
    }
}

/// One KV entry to write, with the digest that tells a later run whether it changed.
struct Entry {
    key: String,
    value: String,
    digest: String,
}

/// The digest of a customer's traits, without the feed version (which always changes).
fn digest(record: &FeedRecord) -> String {
    sha256_hex(record.traits.encode("").as_bytes())[..16].to_string()
}

fn ttl_secs(days: f64) -> Result<u64> {
    let secs = days * 86_400.0;
    if !secs.is_finite() || secs < MIN_TTL_SECS as f64 || secs > 3650.0 * 86_400.0 {
        anyhow::bail!("--ttl-days {days}: between one minute and ten years");
    }
    Ok(secs as u64)
}

pub fn publish(
    kv: &Wrangler,
    args: &PublishArgs,
    secret: &[u8],
    progress: &ProgressBar,
) -> Result<Report> {
    let ttl = ttl_secs(args.ttl_days)?;
    let feed_version = args
        .feed_version
        .clone()
        .unwrap_or_else(|| Clock::now().rfc3339());
    let schema = read_schema(&args.schema)?;
    progress.set_message(format!("checking {}", args.file.display()));
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("reading {}", args.file.display()))?;
    let name = args.file.file_name().map(|n| n.to_string_lossy());
    let format = FeedFormat::detect(name.as_deref().unwrap_or_default(), &text);
    let records = feed::parse(&text, format, &schema, &feed_version).map_err(|errors| {
        anyhow::anyhow!(
            "{} refused, nothing written:\n{errors}",
            args.file.display()
        )
    })?;

    let entries = records
        .iter()
        .map(|record| {
            let hashed = customer_key(&record.customer_id, secret)?
                .with_context(|| format!("line {}: unusable customer id", record.line))?;
            Ok(Entry {
                key: kv_key(&hashed),
                value: record.traits.encode(&feed_version),
                digest: digest(record),
            })
        })
        .collect::<Result<Vec<_>>>()?;

    progress.set_message(format!("listing traits in {}", kv.location()));
    let existing = kv
        .list(KV_PREFIX)
        .with_context(|| format!("listing {KV_PREFIX} in {}", kv.location()))?;
    let mut report = compare(&entries, &existing);
    report.dry_run = args.dry_run;
    report.feed_version = feed_version.clone();
    report.location = kv.location();
    report.ttl_secs = ttl;
    for record in &records {
        for (name, _) in record.traits.iter() {
            *report.traits.entry(name.to_string()).or_default() += 1;
        }
    }
    if args.dry_run {
        return Ok(report);
    }

    progress.set_length(entries.len() as u64);
    progress.set_message(format!("to {}", kv.location()));
    let scratch = TempDir::new("traits")?;
    for (index, chunk) in entries.chunks(CHUNK).enumerate() {
        let bulk: Vec<serde_json::Value> = chunk
            .iter()
            .map(|entry| {
                serde_json::json!({
                    "key": entry.key,
                    "value": entry.value,
                    "expiration_ttl": ttl,
                    "metadata": { "feed": feed_version, "digest": entry.digest },
                })
            })
            .collect();
        let path = scratch.path().join(format!("traits-{index}.json"));
        let text = serde_json::to_vec(&bulk).context("serialising the bulk upload")?;
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        kv.bulk_put(&path).with_context(|| {
            format!(
                "writing customers {}..{} to {} (the ones before are written)",
                index * CHUNK + 1,
                index * CHUNK + chunk.len(),
                kv.location()
            )
        })?;
        progress.inc(chunk.len() as u64);
    }
    Ok(report)
}

/// Counts new, changed and unchanged customers against the listed keys' digests.
fn compare(entries: &[Entry], existing: &[ListedKey]) -> Report {
    let stored: HashMap<&str, Option<&str>> = existing
        .iter()
        .map(|listed| {
            let digest = listed
                .metadata
                .as_ref()
                .and_then(|m| m.get("digest"))
                .and_then(|d| d.as_str());
            (listed.name.as_str(), digest)
        })
        .collect();
    let mut report = Report {
        dry_run: true,
        feed_version: String::new(),
        location: String::new(),
        customers: entries.len(),
        new: 0,
        changed: 0,
        unchanged: 0,
        not_in_file: 0,
        traits: BTreeMap::new(),
        ttl_secs: 0,
    };
    for entry in entries {
        match stored.get(entry.key.as_str()) {
            None => report.new += 1,
            Some(Some(digest)) if *digest == entry.digest => report.unchanged += 1,
            Some(_) => report.changed += 1,
        }
    }
    let named: std::collections::HashSet<&str> = entries.iter().map(|e| e.key.as_str()).collect();
    report.not_in_file = stored.keys().filter(|k| !named.contains(*k)).count();
    report
}

/// Removes one customer's traits; the KV key it removed.
pub fn delete(kv: &Wrangler, customer: &str, secret: &[u8]) -> Result<String> {
    let hashed = customer_key(customer, secret)?
        .context("--customer: an empty or over-long id is no customer")?;
    let key = kv_key(&hashed);
    kv.delete(&key)
        .with_context(|| format!("deleting {key} from {}", kv.location()))?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wrangler::tests::{FakeWrangler, Scratch};

    const SECRET: &[u8] = b"test-customer-key";

    fn args(fake: &FakeWrangler, file: PathBuf, dry_run: bool) -> PublishArgs {
        PublishArgs {
            file,
            schema: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("model/rules.json"),
            dry_run,
            feed_version: Some("2026-11-25".into()),
            ttl_days: 7.0,
            kv: fake.kv_args(),
        }
    }

    /// A traits file `name` holding `text`, in a scratch directory (kept alive by the
    /// caller).
    fn feed_file(name: &str, text: &str) -> (Scratch, PathBuf) {
        let dir = Scratch::new("traits-feed");
        let file = dir.0.join(name);
        std::fs::write(&file, text).expect("write feed");
        (dir, file)
    }

    /// Publishes `file` through the fake wrangler.
    fn run(fake: &FakeWrangler, file: &Path, dry_run: bool) -> Result<Report> {
        let args = args(fake, file.to_path_buf(), dry_run);
        publish(&fake.wrangler(), &args, SECRET, &ProgressBar::hidden())
    }

    fn bulk(fake: &FakeWrangler, n: usize) -> Vec<serde_json::Value> {
        let path = fake.dir.0.join(format!("bulk-{n}.json"));
        serde_json::from_slice(&std::fs::read(path).expect("bulk file")).expect("bulk json")
    }

    #[test]
    fn a_feed_is_written_under_keyed_hashes_with_version_and_ttl() {
        let fake = FakeWrangler::new();
        let (_dir, file) = feed_file(
            "traits.csv",
            "customer_id,lifetime_value,loyalty_tier\nalice,2450.5,gold\nbob,12,\n",
        );
        let report = run(&fake, &file, false).unwrap();
        assert_eq!((report.customers, report.new, report.changed), (2, 2, 0));
        assert_eq!(report.traits["lifetime_value"], 2);
        assert_eq!(report.traits["loyalty_tier"], 1);
        let written = bulk(&fake, 0);
        let alice = kv_key(&customer_key("alice", SECRET).unwrap().unwrap());
        assert_eq!(written[0]["key"], alice);
        assert_eq!(
            written[0]["value"],
            r#"{"feed":"2026-11-25","traits":{"lifetime_value":2450.5,"loyalty_tier":"gold"},"v":1}"#
        );
        assert_eq!(written[0]["expiration_ttl"], 7 * 86_400);
        assert_eq!(written[0]["metadata"]["feed"], "2026-11-25");
        let text = std::fs::read_to_string(fake.dir.0.join("bulk-0.json")).unwrap();
        assert!(
            !text.contains("alice") && !text.contains("bob"),
            "raw ids never leave the machine"
        );
    }

    #[test]
    fn a_bad_row_writes_nothing_and_names_line_and_field() {
        let fake = FakeWrangler::new();
        let (_dir, file) = feed_file("traits.jsonl", "{\"customer_id\":\"a\",\"lifetime_value\":5}\n{\"customer_id\":\"b\",\"loyalty_tier\":\"diamond\"}\n");
        let err = run(&fake, &file, false).unwrap_err().to_string();
        assert!(
            err.contains("nothing written") && err.contains("line 2, field loyalty_tier"),
            "{err}"
        );
        assert!(fake.calls().is_empty(), "no wrangler call at all");
    }

    #[test]
    fn a_dry_run_reports_the_change_and_writes_nothing() {
        let fake = FakeWrangler::new();
        let (_dir, file) = feed_file(
            "traits.csv",
            "customer_id,lifetime_orders\nalice,3\nbob,4\ncarol,5\n",
        );
        // KV holds alice as the file has her, bob with other traits, and dave.
        run(&fake, &file, false).unwrap();
        let mut listed: Vec<serde_json::Value> = bulk(&fake, 0)
            .into_iter()
            .take(2)
            .map(|e| serde_json::json!({ "name": e["key"], "metadata": e["metadata"] }))
            .collect();
        listed[1]["metadata"]["digest"] = "0000".into();
        listed.push(serde_json::json!({ "name": "traits/dave" }));
        fake.set_list(&serde_json::Value::Array(listed).to_string());

        let report = run(&fake, &file, true).unwrap();
        assert_eq!(
            (
                report.new,
                report.changed,
                report.unchanged,
                report.not_in_file
            ),
            (1, 1, 1, 1)
        );
        let verbs: Vec<String> = fake.calls().iter().map(|c| c[1..3].join(" ")).collect();
        assert_eq!(verbs, ["key list", "bulk put", "key list"]);
    }

    #[test]
    fn delete_removes_the_hashed_key() {
        let fake = FakeWrangler::new();
        let key = kv_key(&customer_key("alice", SECRET).unwrap().unwrap());
        fake.store(&key, b"{}");
        assert_eq!(delete(&fake.wrangler(), " alice ", SECRET).unwrap(), key);
        assert_eq!(fake.stored(&key), None);
        assert!(delete(&fake.wrangler(), "", SECRET).is_err());
    }

    #[test]
    fn ttl_bounds() {
        assert_eq!(ttl_secs(7.0).unwrap(), 604_800);
        assert!(ttl_secs(0.0).is_err());
        assert!(ttl_secs(f64::NAN).is_err());
    }
}
