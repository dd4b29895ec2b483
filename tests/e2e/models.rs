//! Models pushed to the edge: publish, verified hot swap, rejection of bad bundles,
//! canary share and rollback, through the real CLI and the worker's local KV store.

use std::fs;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use base64::Engine;
use edgeseg::core::bundle::PublisherKey;
use serde_json::Value;

use crate::harness::{
    cli, client, config_without_holdout, get_json, model_version, signed_bundle, Origin, Shopper,
    Worker,
};

const ADMIN_TOKEN: &str = "e2e-admin-token";
const TRUSTED_SEED: [u8; 32] = [7; 32];
const STRANGER_SEED: [u8; 32] = [9; 32];

/// The version of the bundle the worker embeds (`model/`), as its manifest says.
fn embedded_version() -> String {
    let text = include_str!("../../model/manifest.json");
    let manifest: Value = serde_json::from_str(text).expect("model/manifest.json is JSON");
    manifest["version"]
        .as_str()
        .expect("the manifest names its version")
        .to_string()
}

fn start() -> (Origin, Worker) {
    let origin = Origin::start();
    let trusted = PublisherKey::from_seed(TRUSTED_SEED).public_base64();
    let worker = Worker::start(
        &origin.url,
        &[
            ("EDGESEG_ADMIN_TOKEN", ADMIN_TOKEN),
            ("EDGESEG_TRUSTED_KEYS", &trusted),
            ("EDGESEG_MODEL_REFRESH_SECS", "1"),
            ("EDGESEG_STORE_CONFIG", &config_without_holdout()),
        ],
    );
    (origin, worker)
}

/// A signed copy of the shipped bundle under `version`, beside the worker's state.
fn bundle(worker: &Worker, version: &str, seed: [u8; 32]) -> PathBuf {
    let dir = worker.state_dir.with_file_name(format!("bundle-{version}"));
    signed_bundle(&dir, version, seed);
    dir
}

/// Writes keys straight into the worker's KV, as anyone with KV access could: the
/// edge must not trust what it finds there.
fn kv_put_raw(worker: &Worker, entries: &[(String, Vec<u8>)]) {
    let json: Vec<Value> = entries
        .iter()
        .map(|(key, bytes)| {
            serde_json::json!({
                "key": key,
                "value": base64::engine::general_purpose::STANDARD.encode(bytes),
                "base64": true,
            })
        })
        .collect();
    let file = worker.state_dir.with_file_name("raw-bulk.json");
    fs::write(&file, serde_json::to_vec(&json).unwrap()).unwrap();
    let file = file.to_string_lossy();
    crate::harness::wrangler_local(
        worker,
        &["kv", "bulk", "put", &file, "--binding", "EDGESEG_KV"],
    );
}

fn upload_raw(worker: &Worker, version: &str, dir: &Path) {
    let entries: Vec<(String, Vec<u8>)> = fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            (
                format!("bundles/{version}/{name}"),
                fs::read(entry.path()).unwrap(),
            )
        })
        .collect();
    kv_put_raw(worker, &entries);
}

/// Browses until the model version is `version`, at most `limit`; the time it took.
fn wait_for_version(shopper: &mut Shopper, version: &str, limit: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let page = shopper.get("/product/101");
        if model_version(&page) == version {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < limit,
            "still on {} after {limit:?}, waiting for {version}",
            model_version(&page)
        );
        thread::sleep(Duration::from_millis(200));
    }
}

fn health(worker: &Worker) -> Value {
    get_json(
        &format!("{}/__edgeseg/health", worker.url),
        Some(ADMIN_TOKEN),
    )
}

fn audit(worker: &Worker) -> Vec<Value> {
    let trail = get_json(
        &format!("{}/__edgeseg/admin/audit", worker.url),
        Some(ADMIN_TOKEN),
    );
    trail
        .as_array()
        .cloned()
        .expect("the audit trail is a JSON array")
}

fn stored_views(worker: &Worker, sid: &str) -> u32 {
    let text = client()
        .get(format!("{}/__edgeseg/admin/sessions/s:{sid}", worker.url))
        .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
        .call()
        .expect("admin")
        .into_body()
        .read_to_string()
        .expect("state");
    edgeseg::core::session::SessionState::from_stored(Some(text.as_bytes()))
        .0
        .visit
        .total_views()
}

#[test]
fn a_published_bundle_serves_within_the_interval_and_rolls_back_keeping_sessions() {
    let (_origin, worker) = start();
    let mut shopper = Shopper::new(&worker.url);
    assert_eq!(model_version(&shopper.get("/")), embedded_version());
    let sid = shopper.session_id().expect("sid").to_string();

    let v2 = bundle(&worker, "e2e-v2", TRUSTED_SEED);
    let summary = cli(
        &worker,
        &["publish", v2.to_str().unwrap(), "--channel", "production"],
    );
    assert!(summary.contains("e2e-v2"), "{summary}");
    let took = wait_for_version(&mut shopper, "e2e-v2", Duration::from_secs(20));
    eprintln!("publish -> serving e2e-v2 took {took:?}");
    let views_on_v2 = stored_views(&worker, &sid);

    cli(&worker, &["rollback", "--channel", "production"]);
    let embedded = embedded_version();
    let took = wait_for_version(&mut shopper, &embedded, Duration::from_secs(20));
    eprintln!("rollback -> serving {embedded} took {took:?}");
    // The session's counters went on through both swaps: state is not the model's.
    let after_rollback = stored_views(&worker, &sid);
    assert!(
        after_rollback > views_on_v2,
        "counters continued, not reset"
    );
    shopper.get("/cart");
    assert_eq!(stored_views(&worker, &sid), after_rollback + 1);

    let trail = audit(&worker);
    let actions: Vec<(String, String)> = trail
        .iter()
        .map(|r| {
            (
                r["action"].as_str().unwrap_or_default().to_string(),
                r["version"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    for expected in [
        ("publish", "e2e-v2"),
        ("activate", "e2e-v2"),
        ("rollback", "e2e-v2"), // a rollback names the version it left
    ] {
        assert!(
            actions
                .iter()
                .any(|(a, v)| a == expected.0 && v == expected.1),
            "audit lacks {expected:?}: {actions:?}"
        );
    }
    let activation = trail
        .iter()
        .find(|r| r["action"] == "activate")
        .expect("an activation record");
    assert_eq!(
        activation["hashes"]["model.onnx"].as_str().map(str::len),
        Some(64),
        "activations record the bundle's hashes"
    );
}

#[test]
fn tampered_and_unknown_key_bundles_are_rejected_and_the_previous_keeps_serving() {
    let (_origin, worker) = start();
    let mut shopper = Shopper::new(&worker.url);
    let v2 = bundle(&worker, "e2e-v2", TRUSTED_SEED);
    cli(
        &worker,
        &["publish", v2.to_str().unwrap(), "--channel", "production"],
    );
    wait_for_version(&mut shopper, "e2e-v2", Duration::from_secs(20));

    // One byte of the ONNX changed after signing, uploaded behind the CLI's back.
    let v3 = bundle(&worker, "e2e-v3", TRUSTED_SEED);
    let mut onnx = fs::read(v3.join("model.onnx")).unwrap();
    let middle = onnx.len() / 2;
    onnx[middle] ^= 0x01;
    fs::write(v3.join("model.onnx"), onnx).unwrap();
    upload_raw(&worker, "e2e-v3", &v3);
    kv_put_raw(
        &worker,
        &[(
            "channels/production".into(),
            br#"{"active":"e2e-v3","previous":"e2e-v2"}"#.to_vec(),
        )],
    );
    // Signed by a key the worker does not trust.
    let v4 = bundle(&worker, "e2e-v4", STRANGER_SEED);
    upload_raw(&worker, "e2e-v4", &v4);

    let deadline = Instant::now() + Duration::from_secs(20);
    while health(&worker)["model"]["rejected"].get("e2e-v3").is_none() {
        assert!(
            Instant::now() < deadline,
            "no rejection of e2e-v3 in health"
        );
        thread::sleep(Duration::from_millis(300));
    }
    kv_put_raw(
        &worker,
        &[(
            "channels/production".into(),
            br#"{"active":"e2e-v4","previous":"e2e-v2"}"#.to_vec(),
        )],
    );
    while health(&worker)["model"]["rejected"].get("e2e-v4").is_none() {
        assert!(
            Instant::now() < deadline,
            "no rejection of e2e-v4 in health"
        );
        thread::sleep(Duration::from_millis(300));
    }
    for _ in 0..5 {
        assert_eq!(model_version(&shopper.get("/product/102")), "e2e-v2");
    }
    let health = health(&worker);
    let why_v3 = health["model"]["rejected"]["e2e-v3"]
        .as_str()
        .unwrap_or_default();
    let why_v4 = health["model"]["rejected"]["e2e-v4"]
        .as_str()
        .unwrap_or_default();
    assert!(why_v3.contains("model.onnx"), "v3 rejected for: {why_v3}");
    assert!(
        why_v4.contains("manifest.sig") && why_v4.contains("trusted key"),
        "v4 rejected for: {why_v4}"
    );
    assert_eq!(health["model"]["serving"], "e2e-v2");
    assert_eq!(health["ok"], false, "health reports the rejections");
    let rejected: Vec<String> = audit(&worker)
        .iter()
        .filter(|r| r["action"] == "reject" && r["outcome"] == "rejected")
        .filter_map(|r| r["version"].as_str().map(str::to_string))
        .collect();
    for version in ["e2e-v3", "e2e-v4"] {
        assert!(rejected.iter().any(|v| v == version), "audit: {rejected:?}");
    }
}

#[test]
fn a_canary_takes_its_share_and_each_session_keeps_its_version() {
    let (_origin, worker) = start();
    let v2 = bundle(&worker, "e2e-canary", TRUSTED_SEED);
    cli(
        &worker,
        &[
            "publish",
            v2.to_str().unwrap(),
            "--channel",
            "production",
            "--canary",
            "30",
        ],
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let loaded = health(&worker)["model"]["loaded"].clone();
        if loaded
            .as_array()
            .is_some_and(|l| l.iter().any(|v| v == "e2e-canary"))
        {
            break;
        }
        assert!(Instant::now() < deadline, "canary never loaded: {loaded}");
        thread::sleep(Duration::from_millis(300));
    }

    // No holdout in this worker; were there one, its sessions would be left out here.
    let mut sessions = 0;
    let embedded = embedded_version();
    let mut on_canary = 0;
    for _ in 0..2000 {
        let mut shopper = Shopper::new(&worker.url);
        let first = shopper.get("/product/101");
        let second = shopper.get("/product/102");
        assert_eq!(
            model_version(&first),
            model_version(&second),
            "a session changed model version"
        );
        if first.header("edgeseg-reason") == Some("HOLDOUT") {
            continue;
        }
        sessions += 1;
        match model_version(&first) {
            v if v == "e2e-canary" => on_canary += 1,
            v if v == embedded => {}
            other => panic!("unexpected model version {other}"),
        }
    }
    assert!(sessions > 1800, "{sessions} sessions outside the holdout");
    let share = on_canary as f64 / sessions as f64;
    assert!((0.27..=0.33).contains(&share), "canary share {share}");
}
