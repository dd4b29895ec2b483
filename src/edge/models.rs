//! The model bundles this isolate classifies with, pushed from the centre without a
//! deploy. The embedded bundle serves until a channel pointer in KV names another
//! version; the pointer is re-read at most every `EDGESEG_MODEL_REFRESH_SECS` (30 s),
//! in the background, so no request waits for it. A named bundle is fetched from KV,
//! its signature (keys from `EDGESEG_TRUSTED_KEYS`), hashes and golden vectors are
//! checked and its plan built before it is swapped in; a bundle that fails any check is
//! never activated, the one before it keeps serving and health and the audit trail say
//! why. Requests in flight hold their own `Rc` and finish on the model they started with.
//!
//! An isolate runs one thing at a time, so the CPU-heavy steps of a swap (signature and
//! hashes, each stage of the plan build, golden vectors) run one by one, each only when
//! no request is being served ([`Serving`]): a request waits at most for one step, never
//! for the swap.

use std::cell::{Cell, OnceCell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

use serde::Serialize;
use worker::{Date, Delay, Env};

use crate::core::bundle::{self, BundleFiles, TrustPolicy, MANIFEST, SIGNATURE};
use crate::core::channel::{
    bundle_key, channel_key, AuditAction, AuditOutcome, AuditRecord, AuditSource, Pointer,
    DEFAULT_CHANNEL, EMBEDDED,
};
use crate::core::classify::LoadedBundle;
use crate::core::identity::SessionId;
use crate::core::model::{Model, Progress};
use crate::core::page_stats::PageStats;

use super::bindings::{CHANNEL_VAR, KV_BINDING, TRUSTED_KEYS_VAR};
use super::error::{Code, Error, Result, ResultExt};
use super::{failures, vars};

/// How long a swap step waits for a moment without requests before it runs anyway (an
/// isolate that is never idle must still swap).
const IDLE_WAIT_LIMIT_MS: f64 = 2_000.0;

thread_local! {
    static SERVING: Cell<usize> = const { Cell::new(0) };
    static EMBEDDED_BUNDLE: OnceCell<Result<Rc<LoadedBundle>>> = const { OnceCell::new() };
    /// Why the embedded bundle failed its golden vectors, if it did ([`check_embedded`]).
    static EMBEDDED_GOLDEN: OnceCell<Option<String>> = const { OnceCell::new() };
    static EMBEDDED_STATS: OnceCell<Rc<PageStats>> = const { OnceCell::new() };
    static REGISTRY: RefCell<Registry> = RefCell::new(Registry::default());
}

/// What this isolate knows about its channel.
#[derive(Default)]
struct Registry {
    /// When the pointer was last read (Unix ms); `None` before the first read.
    checked_at: Option<f64>,
    /// When the refresh under way started (Unix ms), if one is.
    refreshing: Option<f64>,
    pointer: Option<Pointer>,
    /// Verified, plan-built bundles by version.
    loaded: BTreeMap<String, Rc<LoadedBundle>>,
    /// Versions that failed a check, with the reason: never retried by this isolate.
    rejected: BTreeMap<String, String>,
    /// The active version last activated successfully: serves while a newer active
    /// version is missing or rejected.
    serving: Option<String>,
    kv_error: Option<String>,
}

/// The bundle compiled into the worker: it works with zero configuration.
pub fn embedded() -> Result<Rc<LoadedBundle>> {
    EMBEDDED_BUNDLE.with(|cell| {
        cell.get_or_init(|| {
            LoadedBundle::embedded()
                .map(Rc::new)
                .map_err(|e| Code::ModelUnavailable.because(format!("embedded bundle: {e}")))
        })
        .clone()
    })
}

/// Holds the embedded bundle to the check every pushed bundle passes before it serves:
/// its plan is built and its golden vectors run, once, as the isolate starts. A failure
/// cannot be rejected (nothing is older to fall back to), so the bundle still serves and
/// health says why. It runs as the isolate starts, where its CPU is billed to no
/// request.
pub fn check_embedded() {
    EMBEDDED_GOLDEN.with(|cell| {
        cell.get_or_init(|| {
            let loaded = embedded().ok()?;
            // A model that did not build is reported as such (`embedded_model_error`).
            loaded.model().ok()?;
            loaded.verify().err().map(|e| format!("embedded bundle: golden vectors: {e}"))
        });
    });
}

fn embedded_golden_error() -> Option<String> {
    EMBEDDED_GOLDEN.with(|cell| cell.get().cloned().flatten())
}

/// The embedded bundle's page-stats table alone, for the session object's beacon
/// events, which look up no page (dwell, scroll, compare): a request's events are
/// counted with the page stats of the bundle that classifies them.
pub fn embedded_page_stats() -> Rc<PageStats> {
    EMBEDDED_STATS.with(|cell| {
        Rc::clone(cell.get_or_init(|| {
            let stats = bundle::embedded()
                .get(bundle::PAGE_STATS)
                .and_then(|bytes| std::str::from_utf8(bytes).ok())
                .and_then(|text| PageStats::from_json(text).ok())
                .unwrap_or_default();
            Rc::new(stats)
        }))
    })
}

/// Held by the fetch handler while it serves a request; background swap steps wait until
/// none is held.
pub struct Serving(());

impl Serving {
    pub fn begin() -> Serving {
        SERVING.with(|n| n.set(n.get() + 1));
        Serving(())
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        SERVING.with(|n| n.set(n.get().saturating_sub(1)));
    }
}

/// Yields to the event loop until no request is being served (or the wait limit passed),
/// so the next CPU-heavy step of a swap delays no request already under way. It polls
/// with timers of its own: a waker from the request that ends would resume this task in
/// that request's context, whose timers the runtime cancels when it ends, and the swap
/// would hang.
async fn until_idle() {
    let started = Date::now().as_millis() as f64;
    loop {
        Delay::from(Duration::ZERO).await;
        let idle = SERVING.with(Cell::get) == 0;
        if idle || Date::now().as_millis() as f64 - started >= IDLE_WAIT_LIMIT_MS {
            return;
        }
    }
}

fn channel(env: &Env) -> String {
    env.var(CHANNEL_VAR)
        .map(|v| v.to_string())
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| DEFAULT_CHANNEL.to_string())
}

fn trust_policy(env: &Env) -> Result<TrustPolicy> {
    let keys = env
        .var(TRUSTED_KEYS_VAR)
        .map(|v| v.to_string())
        .unwrap_or_default();
    let keys = keys
        .split([',', ' ', '\n'])
        .filter(|k| !k.is_empty())
        .map(|k| {
            TrustPolicy::parse_public_key(k)
                .map_err(|e| Code::BundleRejected.because(format!("{TRUSTED_KEYS_VAR}: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    if keys.is_empty() {
        return Err(Code::BundleRejected.because(format!(
            "no trusted publisher keys ({TRUSTED_KEYS_VAR}): published bundles are refused"
        )));
    }
    Ok(TrustPolicy::trusting(keys))
}

/// Whether the pointer is due for a re-read; marks the refresh as under way if so.
pub fn refresh_due(env: &Env) -> bool {
    let now = Date::now().as_millis() as f64;
    let interval = vars::of(env).model_refresh_ms;
    REGISTRY.with(|r| {
        let mut r = r.borrow_mut();
        let due = crate::core::channel::refresh_due(now, r.checked_at, r.refreshing, interval);
        if due {
            r.refreshing = Some(now);
        }
        due
    })
}

/// Re-reads the channel pointer and loads the versions it names. Run in the background
/// (`waitUntil`) after `refresh_due` said yes.
pub async fn refresh(env: Env) {
    let result = refresh_inner(&env).await;
    REGISTRY.with(|r| {
        let mut r = r.borrow_mut();
        r.refreshing = None;
        r.checked_at = Some(Date::now().as_millis() as f64);
        r.kv_error = result.err().map(|e| e.detail().to_string());
    });
}

async fn refresh_inner(env: &Env) -> Result<()> {
    let channel = channel(env);
    let kv = env.kv(KV_BINDING).code(Code::KvUnavailable)?;
    let text = kv
        .get(&channel_key(&channel))
        .text()
        .await
        .context(format_args!("reading channel {channel}"))?;
    let Some(text) = text else {
        REGISTRY.with(|r| r.borrow_mut().pointer = None);
        return Ok(());
    };
    let pointer = Pointer::from_json(&text)
        .map_err(|e| Code::KvUnavailable.because(format!("channel {channel}: {e}")))?;
    for version in pointer.wanted() {
        let known = REGISTRY.with(|r| {
            let r = r.borrow();
            version == EMBEDDED
                || r.loaded.contains_key(version)
                || r.rejected.contains_key(version)
        });
        if !known {
            load_version(env, &kv, &channel, version).await;
        }
    }
    REGISTRY.with(|r| {
        let mut r = r.borrow_mut();
        if pointer.active == EMBEDDED || r.loaded.contains_key(&pointer.active) {
            r.serving = Some(pointer.active.clone());
        }
        // Keep only what the pointer (or the serving fallback) still names.
        let keep: Vec<String> = pointer
            .wanted()
            .into_iter()
            .map(str::to_string)
            .chain(r.serving.clone())
            .collect();
        r.loaded.retain(|version, _| keep.contains(version));
        r.pointer = Some(pointer);
    });
    Ok(())
}

/// A version's files from KV. `Err` means not (yet) there or KV did not answer: KV is
/// eventually consistent, so that is retried at the next refresh, never a rejection.
async fn read_files(kv: &worker::KvStore, version: &str) -> Result<BundleFiles> {
    let mut files = BundleFiles::new();
    let manifest = kv
        .get(&bundle_key(version, MANIFEST))
        .bytes()
        .await
        .code(Code::BundleUnavailable)?
        .ok_or_else(|| Code::BundleUnavailable.because(format!("{MANIFEST} of {version} is not in KV")))?;
    let listed: Vec<String> = serde_json::from_slice::<serde_json::Value>(&manifest)
        .ok()
        .and_then(|m| {
            m.get("files")?
                .as_object()
                .map(|f| f.keys().cloned().collect())
        })
        .unwrap_or_default();
    files.insert(MANIFEST.to_string(), manifest);
    for name in listed.iter().map(String::as_str).chain([SIGNATURE]) {
        let bytes = kv
            .get(&bundle_key(version, name))
            .bytes()
            .await
            .code(Code::BundleUnavailable)?;
        // A missing listed file or signature is reported by the bundle's own checks.
        if let Some(bytes) = bytes {
            files.insert(name.to_string(), bytes);
        }
    }
    Ok(files)
}

/// Fetches, verifies and builds one version; records the outcome in the registry, the
/// log and the audit trail.
async fn load_version(env: &Env, kv: &worker::KvStore, channel: &str, version: &str) {
    let files = match read_files(kv, version).await {
        Ok(files) => files,
        Err(e) => {
            failures::record(&e.context(version));
            return;
        }
    };
    let hashes: BTreeMap<String, String> = files
        .iter()
        .map(|(name, bytes)| (name.clone(), bundle::sha256_hex(bytes)))
        .collect();
    match check(env, files, version).await {
        Ok(loaded) => {
            REGISTRY.with(|r| {
                r.borrow_mut()
                    .loaded
                    .insert(version.to_string(), Rc::new(loaded))
            });
            let record = audit_record(
                channel,
                version,
                AuditAction::Activate,
                AuditOutcome::Ok,
                hashes,
                String::new(),
            );
            write_audit(kv, &record).await;
        }
        Err(e) => reject(kv, channel, version, hashes, e).await,
    }
}

/// Every check a published bundle must pass before it may serve; each CPU-heavy step
/// waits for a moment without requests.
async fn check(env: &Env, files: BundleFiles, version: &str) -> Result<LoadedBundle> {
    let rejected = Code::BundleRejected;
    let policy = trust_policy(env)?;
    until_idle().await;
    let bundle = bundle::Bundle::from_files(files, &policy).map_err(|e| rejected.because(e))?;
    if bundle.manifest().version != version {
        return Err(rejected.because(format!(
            "the manifest says version {}, the pointer {version}",
            bundle.manifest().version
        )));
    }
    // The plan is built one step at a time (read, types, declutter, each of tract's
    // codegen passes, the optimiser's fixed point, plan), each in its own idle moment.
    let mut build = Model::build(bundle.manifest(), bundle.model_bytes());
    let model = loop {
        until_idle().await;
        match build.step() {
            Ok(Progress::More(rest)) => build = rest,
            Ok(Progress::Done(model)) => break Ok(model),
            Err(e) => break Err(e),
        }
    };
    let loaded = LoadedBundle::with_model(bundle, model);
    until_idle().await;
    loaded
        .verify()
        .map_err(|e| rejected.because(format!("golden vectors: {e}")))?;
    Ok(loaded)
}

async fn reject(
    kv: &worker::KvStore,
    channel: &str,
    version: &str,
    hashes: BTreeMap<String, String>,
    why: Error,
) {
    let why = why.recoded(Code::BundleRejected);
    failures::record(&why.clone().context(version));
    let detail = why.detail().to_string();
    REGISTRY.with(|r| {
        r.borrow_mut()
            .rejected
            .insert(version.to_string(), detail.clone())
    });
    let record = audit_record(
        channel,
        version,
        AuditAction::Reject,
        AuditOutcome::Rejected,
        hashes,
        detail,
    );
    write_audit(kv, &record).await;
}

fn audit_record(
    channel: &str,
    version: &str,
    action: AuditAction,
    outcome: AuditOutcome,
    hashes: BTreeMap<String, String>,
    detail: String,
) -> AuditRecord {
    AuditRecord {
        at_ms: Date::now().as_millis(),
        source: AuditSource::Edge,
        action,
        channel: channel.to_string(),
        version: version.to_string(),
        outcome,
        hashes,
        detail,
    }
}

async fn write_audit(kv: &worker::KvStore, record: &AuditRecord) {
    let written: Result<()> = async {
        let (key, text) = record.entry().map_err(|e| Code::AuditWrite.because(e))?;
        kv.put(&key, text)?.execute().await.context(key)?;
        Ok(())
    }
    .await;
    if let Err(e) = written {
        failures::record(&e.recoded(Code::AuditWrite));
    }
}

/// The bundle that classifies this session: the canary for its share, else the active
/// version, else the last good one, else the embedded default.
pub fn for_session(session: &SessionId) -> Result<Rc<LoadedBundle>> {
    let chosen = REGISTRY.with(|r| {
        let r = r.borrow();
        let pointer = r.pointer.as_ref()?;
        let canary = pointer
            .canary
            .as_ref()
            .filter(|_| pointer.on_canary(session))
            .and_then(|c| r.loaded.get(&c.version));
        let active = r
            .serving
            .as_ref()
            .filter(|v| v.as_str() != EMBEDDED)
            .and_then(|v| r.loaded.get(v));
        canary.or(active).cloned()
    });
    match chosen {
        Some(bundle) => Ok(bundle),
        None => embedded(),
    }
}

/// The bundle everyone outside a canary gets: the active version, else the embedded one.
pub fn serving() -> Result<Rc<LoadedBundle>> {
    let active = REGISTRY.with(|r| {
        let r = r.borrow();
        r.serving
            .as_ref()
            .filter(|v| v.as_str() != EMBEDDED)
            .and_then(|v| r.loaded.get(v))
            .cloned()
    });
    match active {
        Some(bundle) => Ok(bundle),
        None => embedded(),
    }
}

/// The version the channel's canary runs, if one does.
pub fn canary_version() -> Option<String> {
    REGISTRY.with(|r| {
        let r = r.borrow();
        r.pointer
            .as_ref()
            .and_then(|p| p.canary.as_ref())
            .map(|c| c.version.clone())
    })
}

/// What `/__edgeseg/health` shows of the models.
#[derive(Serialize)]
pub struct ModelsHealth {
    pub channel: String,
    pub pointer: Option<Pointer>,
    pub serving: String,
    pub loaded: Vec<String>,
    pub rejected: BTreeMap<String, String>,
    pub embedded: Option<String>,
    pub embedded_error: Option<String>,
    /// Seconds since the pointer was last read.
    pub checked_secs_ago: Option<f64>,
    pub kv_error: Option<String>,
}

pub fn health(env: &Env) -> ModelsHealth {
    let embedded = embedded();
    let now = Date::now().as_millis() as f64;
    REGISTRY.with(|r| {
        let r = r.borrow();
        ModelsHealth {
            channel: channel(env),
            pointer: r.pointer.clone(),
            serving: r.serving.clone().unwrap_or_else(|| EMBEDDED.to_string()),
            loaded: r.loaded.keys().cloned().collect(),
            rejected: r.rejected.clone(),
            embedded: embedded
                .as_ref()
                .ok()
                .map(|b| b.bundle().manifest().version.clone()),
            embedded_error: embedded
                .err()
                .map(|e| e.detail().to_string())
                .or_else(embedded_model_error)
                .or_else(embedded_golden_error),
            checked_secs_ago: r.checked_at.map(|at| ((now - at) / 1000.0).max(0.0)),
            kv_error: r.kv_error.clone(),
        }
    })
}

fn embedded_model_error() -> Option<String> {
    embedded()
        .ok()
        .and_then(|b| b.model().err().map(|e| e.to_string()))
}
