//! Traits feed benchmark: `edgeseg traits publish` of a synthetic feed of
//! `BENCH_CUSTOMERS` customers (default 100,000) into a fresh local KV store, timed end
//! to end (check, hashing, listing, bulk writes through wrangler), then a sample of
//! customers read back from KV to prove they landed. `BENCH_OUT` names a JSON file for
//! the figures.
//!
//! `make bench` runs it; alone: `source .tools.env && cargo bench --features e2e --bench
//! traits_publish`.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use edgeseg::core::identity::customer_key;
use edgeseg::core::traits::kv_key;
use serde_json::json;

const SECRET: &str = "bench-customer-key";
const TIERS: [&str; 5] = ["none", "bronze", "silver", "gold", "platinum"];
const CATEGORIES: [&str; 6] = ["audio", "cameras", "computers", "phones", "tv", "gaming"];

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A deterministic synthetic customer base: every declared trait, plausible spreads.
fn synthetic_feed(customers: usize) -> String {
    let mut text = String::with_capacity(customers * 80);
    text.push_str(
        "customer_id,lifetime_orders,lifetime_value,days_since_last_order,crm_segment,\
         loyalty_tier,favourite_categories\n",
    );
    for i in 0..customers {
        let orders = (i * 7919) % 40;
        let value = orders as f64 * (35.0 + (i % 97) as f64);
        let days = (i * 104_729) % 720;
        let segment = ["new", "regular", "vip", "at_risk"][i % 4];
        let tier = TIERS[(i / 3) % TIERS.len()];
        let favourites = format!(
            "{}|{}",
            CATEGORIES[i % CATEGORIES.len()],
            CATEGORIES[(i / 6) % CATEGORIES.len()]
        );
        let _ = writeln!(
            text,
            "cust-{i:07},{orders},{value:.2},{days},{segment},{tier},{favourites}"
        );
    }
    text
}

fn wrangler() -> String {
    std::env::var("WRANGLER").expect("WRANGLER is not set: source .tools.env first")
}

fn kv_get(state: &Path, key: &str) -> String {
    let output = Command::new(wrangler())
        .args([
            "kv",
            "key",
            "get",
            key,
            "--binding",
            "EDGESEG_KV",
            "--local",
        ])
        .arg("--persist-to")
        .arg(state)
        .current_dir(repo_root())
        .env("WRANGLER_SEND_METRICS", "false")
        .output()
        .expect("wrangler kv key get");
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

fn main() {
    let customers: usize = std::env::var("BENCH_CUSTOMERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = repo_root().join("target").join("bench-traits");
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("bench dir");
    let file = dir.join("traits.csv");
    fs::write(&file, synthetic_feed(customers)).expect("write feed");
    let state = dir.join("state");

    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_edgeseg"))
        .args(["traits", "publish"])
        .arg(&file)
        .args(["--feed-version", "bench", "--local", "--persist-to"])
        .arg(&state)
        .env("EDGESEG_CUSTOMER_KEY", SECRET)
        .env("WRANGLER", wrangler())
        .current_dir(repo_root())
        .output()
        .expect("run edgeseg traits publish");
    let seconds = started.elapsed().as_secs_f64();
    assert!(
        output.status.success(),
        "publish failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("report");
    assert_eq!(report["customers"], customers);

    // The first, a middle and the last customer are in KV.
    for i in [0, customers / 2, customers - 1] {
        let hashed = customer_key(&format!("cust-{i:07}"), SECRET.as_bytes())
            .unwrap()
            .expect("a key");
        let stored = kv_get(&state, &kv_key(&hashed));
        assert!(stored.contains("\"v\":1"), "customer {i}: {stored}");
    }

    let bytes = fs::metadata(&file).map_or(0, |m| m.len());
    let figures = json!({
        "customers": customers,
        "file_bytes": bytes,
        "publish_seconds": (seconds * 100.0).round() / 100.0,
        "customers_per_second": (customers as f64 / seconds).round(),
    });
    println!("traits publish, local KV: {figures}");
    if let Ok(out) = std::env::var("BENCH_OUT") {
        fs::write(&out, figures.to_string()).expect("write BENCH_OUT");
    }
}
