//! The fuzz targets: every parser of outside input, one function each, fed raw bytes.
//! `cargo fuzz` runs them under libFuzzer (`fuzz_targets/*.rs`); `make test` runs the
//! same functions on the seed corpus and bounded mutations of it (`tests/fuzz.rs`), so
//! a crash found once stays a regression test. A target fails only by panicking.

use std::sync::OnceLock;

use edgeseg::core::beacon::{check_content_type, parse_beacon};
use edgeseg::core::bundle::{self, Bundle, BundleFiles, TrustPolicy};
use edgeseg::core::channel::Pointer;
use edgeseg::core::config::StoreConfig;
use edgeseg::core::headers;
use edgeseg::core::identity::{
    consent_withheld, parse_cookies, request_customer_key, session_id, verify_store_token,
    WorkerKeys,
};
use edgeseg::core::page_stats::PageStats;
use edgeseg::core::rules::RuleSet;
use edgeseg::core::session::SessionState;
use edgeseg::core::signals::{request_events, RequestInfo};
use edgeseg::core::traits::feed::{self, FeedFormat};
use edgeseg::core::traits::{TraitSchema, Traits};

/// 2026-11-24T16:00:00Z: a fixed clock, so a crash replays.
const NOW_MS: i64 = 1_764_000_000_000;

fn config() -> &'static StoreConfig {
    static CONFIG: OnceLock<StoreConfig> = OnceLock::new();
    CONFIG.get_or_init(StoreConfig::default_store)
}

/// The trait schema the shipped rules declare.
fn trait_schema() -> &'static TraitSchema {
    static SCHEMA: OnceLock<TraitSchema> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        RuleSet::from_json(include_str!("../../model/rules.json"))
            .expect("the shipped rules parse")
            .traits()
            .clone()
    })
}

/// The shipped bundle's files, collected once; each input replaces only the manifest.
fn embedded_files() -> &'static BundleFiles {
    static FILES: OnceLock<BundleFiles> = OnceLock::new();
    FILES.get_or_init(bundle::embedded)
}

fn keys() -> &'static WorkerKeys {
    static KEYS: OnceLock<WorkerKeys> = OnceLock::new();
    KEYS.get_or_init(|| WorkerKeys::from_secret(b"fuzz worker key").expect("a non-empty key"))
}

/// Splits input at `\n` into up to `n` text fields (lossy UTF-8), the rest empty.
fn fields(data: &[u8], n: usize) -> Vec<String> {
    let mut out: Vec<String> = data
        .splitn(n, |b| *b == b'\n')
        .map(|part| String::from_utf8_lossy(part).into_owned())
        .collect();
    out.resize(n, String::new());
    out
}

/// `POST /__edgeseg/events`: the content type (first line) and the body (the rest).
pub fn beacon(data: &[u8]) {
    let _ = parse_beacon(data, &config().beacon);
    let split = data.iter().position(|b| *b == b'\n').unwrap_or(data.len());
    let content_type = String::from_utf8_lossy(&data[..split]);
    let _ = check_content_type(Some(&content_type));
    if let Some(body) = data.get(split + 1..) {
        let _ = parse_beacon(body, &config().beacon);
    }
}

/// The request headers the worker reads: `Cookie` (session, customer token and cookie,
/// consent), `Sec-GPC`, and the origin-side `edgeseg-signature` check.
pub fn cookies(data: &[u8]) {
    let f = fields(data, 3);
    let (cookie, gpc, signature) = (&f[0], &f[1], &f[2]);
    let _ = parse_cookies(cookie).count();
    let _ = session_id(Some(cookie), keys());
    let _ = request_customer_key(Some(cookie), config(), keys(), Some(b"store"), NOW_MS);
    let _ = verify_store_token(cookie, b"store", NOW_MS);
    let _ = consent_withheld(Some(gpc), Some(cookie), config());
    let received = [
        (headers::SIGNATURE, signature.as_str()),
        (headers::SEGMENT, cookie.as_str()),
    ];
    let _ = headers::verify(b"k", "GET", gpc, NOW_MS / 1000, 300, &received);
    let _ = headers::is_reserved(cookie);
}

/// Query and path routing: a request line (method, path, query, form, referrer, user
/// agent) through the store config's routes into events.
pub fn routing(data: &[u8]) {
    let f = fields(data, 6);
    let req = RequestInfo {
        method: f[0].clone(),
        host: "shop.example".into(),
        path: f[1].clone(),
        query: f[2].clone(),
        form: (!f[3].is_empty()).then(|| f[3].clone()),
        referrer: (!f[4].is_empty()).then(|| f[4].clone()),
        user_agent: (!f[5].is_empty()).then(|| f[5].clone()),
        continent: None,
        now_ms: NOW_MS,
    };
    let events = request_events(&req, config());
    let mut state = SessionState::default();
    state.apply_all(&events, NOW_MS, config(), &PageStats::default());
    let _ = config().route(&req.method, &req.path);
}

/// The store configuration (`EDGESEG_STORE_CONFIG` or KV `store-config`).
pub fn store_config(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = StoreConfig::from_json(text);
    }
}

/// `rules.json`.
pub fn rules(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = RuleSet::from_json(text);
    }
}

/// A bundle from KV: the input is `manifest.json` beside the shipped bundle's other
/// files (hashes, schema, rules and page stats checked), or, after a leading `P`,
/// `page_stats.json` alone; stored session state (from a Durable Object) too.
pub fn bundle(data: &[u8]) {
    match data.split_first() {
        Some((b'P', rest)) => {
            if let Ok(text) = std::str::from_utf8(rest) {
                let _ = PageStats::from_json(text);
            }
        }
        Some((b'S', rest)) => {
            let _ = SessionState::from_stored(Some(rest));
        }
        _ => {
            let mut files = embedded_files().clone();
            files.insert("manifest.json".into(), data.to_vec());
            let _ = Bundle::from_files(files, &TrustPolicy::unsigned());
        }
    }
}

/// A channel pointer from KV.
pub fn channel(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(pointer) = Pointer::from_json(text) {
            let _ = pointer.to_json();
            let _ = pointer.wanted();
        }
    }
}

/// Customer traits: after `C` a CSV feed, after `J` a JSONL feed (as `edgeseg traits
/// publish` reads them), else a stored value from KV (as the worker decodes it).
pub fn traits(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match text.split_at_checked(1) {
        Some(("C", rest)) => {
            let _ = feed::parse(rest, FeedFormat::Csv, trait_schema(), "fuzz");
        }
        Some(("J", rest)) => {
            let _ = feed::parse(rest, FeedFormat::Jsonl, trait_schema(), "fuzz");
        }
        _ => {
            let _ = Traits::decode(text, trait_schema());
        }
    }
}

/// A fuzz target: takes any bytes, fails only by panicking.
pub type Target = fn(&[u8]);

/// Every target by name, for the bounded stable run.
pub const TARGETS: &[(&str, Target)] = &[
    ("beacon", beacon),
    ("cookies", cookies),
    ("routing", routing),
    ("store_config", store_config),
    ("rules", rules),
    ("bundle", bundle),
    ("channel", channel),
    ("traits", traits),
];
