//! Drift in workerd: a bundle whose drift reference is the feature rows the edge itself
//! recorded for a load (its decision records, as training rows would be), then the same
//! load again (every input stays below 0.1) and the same load shifted (the shifted
//! inputs rise above 0.25, the others stay below 0.1), read through `edgeseg drift`.

use std::collections::BTreeMap;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use edgeseg::core::bundle::PublisherKey;
use serde_json::{json, Value};

use crate::harness::{
    config_without_holdout, get_json, repo_root, signed_bundle_with, Origin, Worker,
};
use crate::load::{replay, Rng, Shift};

const ADMIN_TOKEN: &str = "e2e-admin-token";
const SEED: [u8; 32] = [7; 32];
const REFERENCE_ROWS: usize = 600;
/// Seconds between a visit's first and latest request: wall-clock time, which a replay
/// on a busy machine cannot hold fixed, so it is reported, not judged.
const WALL_CLOCK: &str = "session_duration";

fn start() -> (Origin, Worker) {
    let origin = Origin::start();
    let trusted = PublisherKey::from_seed(SEED).public_base64();
    let worker = Worker::start(
        &origin.url,
        &[
            ("EDGESEG_ADMIN_TOKEN", ADMIN_TOKEN),
            ("EDGESEG_TRUSTED_KEYS", &trusted),
            ("EDGESEG_MODEL_REFRESH_SECS", "1"),
            ("EDGESEG_STATS_FLUSH_SECS", "1"),
            ("EDGESEG_STORE_CONFIG", &config_without_holdout()),
        ],
    );
    (origin, worker)
}

/// Quantile edges of `values` as the training pipeline takes them (deciles, distinct).
fn decile_edges(values: &mut [f64]) -> Vec<f64> {
    values.sort_by(f64::total_cmp);
    let mut edges: Vec<f64> = (1..10)
        .map(|q| values[(values.len() - 1) * q / 10])
        .collect();
    edges.dedup();
    edges
}

fn shares(counts: &[u64]) -> Vec<f64> {
    let total: u64 = counts.iter().sum();
    counts.iter().map(|c| *c as f64 / total as f64).collect()
}

/// The manifest's drift section computed from feature rows (as the pipeline computes it
/// from training rows) and their AI segments.
fn drift_section(manifest: &Value, rows: &[Value], segments: &[String]) -> Value {
    let mut inputs = Vec::new();
    for feature in manifest["features"].as_array().expect("features") {
        let name = feature["name"].as_str().expect("name");
        if feature["kind"] == "num" {
            let mut values: Vec<f64> = rows.iter().filter_map(|r| r[name].as_f64()).collect();
            let edges = decile_edges(&mut values);
            let mut counts = vec![0u64; edges.len() + 1];
            for v in &values {
                counts[edges.partition_point(|e| e < v)] += 1;
            }
            inputs.push(json!({ "name": name, "edges": edges, "reference": shares(&counts) }));
        } else {
            let categories: Vec<&str> = feature["categories"]
                .as_array()
                .expect("categories")
                .iter()
                .filter_map(Value::as_str)
                .collect();
            let mut counts = vec![0u64; categories.len() + 1];
            for row in rows {
                let label = row[name].as_str().unwrap_or("");
                let bin = categories.iter().position(|c| *c == label);
                counts[bin.unwrap_or(categories.len())] += 1;
            }
            inputs.push(
                json!({ "name": name, "categories": categories, "reference": shares(&counts) }),
            );
        }
    }
    let ids: Vec<&str> = manifest["segments"]
        .as_array()
        .expect("segments")
        .iter()
        .filter_map(|s| s["id"].as_str())
        .collect();
    let mut counts = vec![0u64; ids.len()];
    for segment in segments {
        if let Some(i) = ids.iter().position(|id| id == segment) {
            counts[i] += 1;
        }
    }
    json!({ "source": "e2e decision records", "rows": rows.len(), "inputs": inputs, "segments": shares(&counts) })
}

fn publish(worker: &Worker, version: &str, drift: &Value) {
    let dir = worker.state_dir.with_file_name(format!("bundle-{version}"));
    signed_bundle_with(&dir, version, SEED, |manifest| {
        manifest["drift"] = drift.clone();
    });
    crate::harness::cli(
        worker,
        &[
            "publish",
            dir.to_str().expect("utf-8"),
            "--channel",
            "production",
        ],
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        // Public health is minimal; the dashboard's data names the serving version.
        let url = format!("{}/__edgeseg/admin/dashboard.json", worker.url);
        let data = get_json(&url, Some(ADMIN_TOKEN));
        if data["model"]["active"] == version {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{version} never served: {}",
            data["model"]
        );
        thread::sleep(Duration::from_millis(300));
    }
}

/// `edgeseg drift --url --json`: the hour's report, and whether the command failed.
fn drift_report(worker: &Worker) -> (Value, bool) {
    let output = Command::new(env!("CARGO_BIN_EXE_edgeseg"))
        .args([
            "drift",
            "--url",
            &worker.url,
            "--token",
            ADMIN_TOKEN,
            "--json",
        ])
        .current_dir(repo_root())
        .output()
        .expect("run edgeseg drift");
    let stdout: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|_| {
        panic!(
            "edgeseg drift printed no JSON: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (stdout["hour"].clone(), output.status.success())
}

fn psi_by_input(report: &Value) -> BTreeMap<String, f64> {
    report["inputs"]
        .as_array()
        .expect("inputs")
        .iter()
        .filter_map(|d| Some((d["name"].as_str()?.to_string(), d["psi"].as_f64()?)))
        .collect()
}

#[test]
fn a_shifted_load_raises_psi_for_the_shifted_inputs_only() {
    let (_origin, worker) = start();
    let manifest: Value = serde_json::from_slice(
        &std::fs::read(repo_root().join("model/manifest.json")).expect("manifest"),
    )
    .expect("JSON");

    // The reference: feature rows the edge recorded for an ordinary load.
    let calibration = replay(&worker.url, 11, 500, Shift::default());
    let mut rng = Rng::new(5);
    let agent = crate::harness::client();
    let (mut rows, mut segments) = (Vec::new(), Vec::new());
    for _ in 0..REFERENCE_ROWS.min(calibration.decisions.len()) {
        let (id, _) =
            &calibration.decisions[rng.below(calibration.decisions.len() as u64) as usize];
        let text = agent
            .get(format!("{}/__edgeseg/admin/explain/{id}", worker.url))
            .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
            .call()
            .expect("explain")
            .body_mut()
            .read_to_string()
            .expect("a body");
        let record: Value = serde_json::from_str(&text).expect("a record");
        rows.push(record["features"].clone());
        let headers: Vec<(String, String)> =
            serde_json::from_value(record["headers"].clone()).expect("headers");
        if let Some((_, segment)) = headers.iter().find(|(n, _)| n == "edgeseg-segment") {
            segments.push(segment.split(';').next().unwrap_or("").to_string());
        }
    }
    let drift = drift_section(&manifest, &rows, &segments);

    // The same load again: nothing moves.
    publish(&worker, "e2e-drift-same", &drift);
    replay(&worker.url, 12, 1_000, Shift::default());
    let (same, ok) = drift_report(&worker);
    assert_eq!(same["model_version"], "e2e-drift-same");
    // Only the wall-clock input may make `edgeseg drift` fail here (a busy machine
    // replays slower than the reference load was).
    let acting: Vec<&str> = same["inputs"]
        .as_array()
        .expect("inputs")
        .iter()
        .filter(|d| d["level"] == "act")
        .filter_map(|d| d["name"].as_str())
        .collect();
    assert!(
        ok || acting == [WALL_CLOCK],
        "edgeseg drift failed on an unshifted load: {same}"
    );
    for (name, psi) in psi_by_input(&same) {
        if name != WALL_CLOCK {
            assert!(psi < 0.1, "{name} drifted ({psi}) on the same load: {same}");
        }
    }
    assert!(
        same["segments"]["psi"].as_f64().expect("segment psi") < 0.1,
        "{same}"
    );

    // The same load shifted: every visit on a phone when the model sees the device,
    // else every dwell time doubled.
    let names: Vec<String> = psi_by_input(&same).into_keys().collect();
    let (shift, shifted): (Shift, fn(&str) -> bool) = if names.iter().any(|n| n == "device") {
        let shift = Shift {
            all_mobile: true,
            ..Shift::default()
        };
        (shift, |name| name == "device")
    } else {
        let shift = Shift {
            dwell_factor: 2,
            ..Shift::default()
        };
        (shift, |name| {
            name.ends_with("_duration") && name != WALL_CLOCK
        })
    };
    publish(&worker, "e2e-drift-shifted", &drift);
    replay(&worker.url, 13, 1_000, shift);
    let (moved, ok) = drift_report(&worker);
    assert_eq!(moved["model_version"], "e2e-drift-shifted");
    assert!(
        !ok,
        "edgeseg drift must exit non-zero at the act level: {moved}"
    );
    // The operator's health shows the same hour, at the same level.
    let health = crate::harness::get_json(
        &format!("{}/__edgeseg/health", worker.url),
        Some(ADMIN_TOKEN),
    );
    let in_health = &health["drift"]["windows"]["hour"];
    assert_eq!(in_health["model_version"], "e2e-drift-shifted", "{health}");
    assert_eq!(in_health["level"], moved["level"], "{health}");
    let references: BTreeMap<&str, f64> = drift["inputs"]
        .as_array()
        .expect("inputs")
        .iter()
        .map(|i| {
            (
                i["name"].as_str().unwrap_or(""),
                i["reference"][0].as_f64().unwrap_or(1.0),
            )
        })
        .collect();
    let mut raised = 0;
    for (name, psi) in psi_by_input(&moved) {
        if name == WALL_CLOCK {
            eprintln!("{WALL_CLOCK} (wall clock, not held by a replay): PSI {psi}");
        } else if !shifted(&name) {
            assert!(psi < 0.1, "{name} (not shifted) drifted ({psi}): {moved}");
        } else if references[name.as_str()] < 0.5 {
            // An input mostly at zero barely moves when its values double.
            assert!(psi > 0.25, "{name} (shifted) stayed at {psi}: {moved}");
            raised += 1;
        }
    }
    assert!(raised >= 1, "no shifted input to check: {moved}");
}
