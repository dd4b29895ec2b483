//! Model swap benchmark: how long a newly published bundle takes from publication to
//! serving (the isolate's pointer read, KV fetch, signature, hash and
//! golden-vector checks, plan build), and what the requests around the swap pay.
//!
//! `make bench` runs it after the load benchmark. It starts the demo origin and the
//! worker (pointer re-read every `EDGESEG_MODEL_REFRESH_SECS` = 1 s here), keeps one
//! shopper browsing, publishes a signed copy of the shipped bundle under a new version
//! with the real CLI, and records every request's latency and model version. The shopper
//! waits while the command runs (on a small machine its processes would take the CPU
//! from the worker), so a swap's first request comes after a pause; the control is the
//! same pause and as many requests with no swap behind them.
//! `BENCH_SWAPS` (default 5) swaps alternate between two versions; `BENCH_OUT` names a
//! JSON file for the figures.

#[path = "../tests/e2e/harness.rs"]
#[allow(dead_code)]
mod harness;

use std::fs;
use std::time::{Duration, Instant};

use edgeseg::core::bundle::PublisherKey;
use harness::{model_version, Origin, Shopper, Worker};
use serde_json::json;

const SEED: [u8; 32] = [11; 32];
/// Between the publishing command's return and the first request of a swap: on a small
/// machine, the command's processes (wrangler, its runtime) are still exiting and take
/// the CPU from the worker; in production the publisher runs elsewhere.
const SETTLE: Duration = Duration::from_millis(1000);

fn percentile(mut values: Vec<f64>, p: f64) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    let rank = ((p / 100.0) * values.len().saturating_sub(1) as f64).round() as usize;
    values.get(rank).copied().unwrap_or(f64::NAN)
}

fn median(values: Vec<f64>) -> f64 {
    percentile(values, 50.0)
}

fn main() {
    let swaps: usize = std::env::var("BENCH_SWAPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let origin = Origin::start();
    let worker = Worker::start(
        &origin.url,
        &[
            (
                "EDGESEG_TRUSTED_KEYS",
                &PublisherKey::from_seed(SEED).public_base64(),
            ),
            ("EDGESEG_MODEL_REFRESH_SECS", "1"),
            // The one shopper followed here must not be in the holdout by chance.
            ("EDGESEG_STORE_CONFIG", &harness::config_without_holdout()),
        ],
    );
    let mut shopper = Shopper::new(&worker.url);
    // Steady state first: the latency a request pays when nothing changes.
    let mut steady = Vec::new();
    for _ in 0..300 {
        let started = Instant::now();
        shopper.get("/product/101");
        steady.push(started.elapsed().as_secs_f64() * 1000.0);
    }

    let mut to_serving = Vec::new();
    let mut from_publish = Vec::new();
    let mut publish_took = Vec::new();
    let mut worst_during = Vec::new();
    // Per swap: the slowest request still on the old version, and the first on the new.
    let mut worst_before_switch = Vec::new();
    let mut first_on_new = Vec::new();
    let mut requests_per_swap = Vec::new();
    for swap in 0..swaps {
        let version = format!("bench-swap-{}", swap % 2);
        let dir = worker.state_dir.with_file_name(format!("bundle-{version}"));
        harness::signed_bundle(&dir, &version, SEED);
        let publish_started = Instant::now();
        let bundle = dir.to_str().unwrap_or_default();
        harness::cli(&worker, &["publish", bundle, "--channel", "production"]);
        // The pointer has changed. The isolate reads it again only when a request comes
        // (at most every second), and none comes while the command runs: let the
        // command's own processes end first, then browse until the new version answers.
        std::thread::sleep(SETTLE);
        let changed = Instant::now();
        let mut before: f64 = 0.0;
        let mut requests = 0;
        loop {
            requests += 1;
            let started = Instant::now();
            let page = shopper.get("/product/101");
            let took = started.elapsed().as_secs_f64() * 1000.0;
            if model_version(&page) != version {
                before = before.max(took);
            } else {
                first_on_new.push(took);
                worst_before_switch.push(before);
                worst_during.push(before.max(took));
                requests_per_swap.push(requests);
                to_serving.push(changed.elapsed().as_secs_f64() * 1000.0);
                from_publish.push(publish_started.elapsed().as_secs_f64() * 1000.0);
                publish_took.push((changed - publish_started).as_secs_f64() * 1000.0);
                break;
            }
            assert!(
                changed.elapsed() < Duration::from_secs(30),
                "{version} never served"
            );
        }
        eprintln!(
            "swap {}: {version} serving after {:.0} ms",
            swap + 1,
            to_serving.last().copied().unwrap_or_default()
        );
    }
    // The control: the same pause as a swap's (the command, then the settle) with no
    // swap behind it, and as many requests as a swap's window. A first request after a
    // pause pays for more than the swap (the pointer read, the session object woken).
    let pause = Duration::from_secs_f64(median(publish_took.clone()) / 1000.0) + SETTLE;
    let window = median(requests_per_swap.iter().map(|&n| n as f64).collect()) as usize;
    let mut worst_after_pause = Vec::new();
    for _ in 0..swaps {
        std::thread::sleep(pause);
        let worst = (0..window.max(1))
            .map(|_| {
                let started = Instant::now();
                shopper.get("/product/101");
                started.elapsed().as_secs_f64() * 1000.0
            })
            .fold(0.0, f64::max);
        worst_after_pause.push(worst);
    }
    let report = json!({
        "refresh_interval_s": 1,
        "swaps": swaps,
        // No request reaches the isolate while the command runs, so it reads the pointer
        // at the first request after the pause: the swap's own time is from there.
        "publish_command_ms": { "median": median(publish_took.clone()) },
        "publish_start_to_serving_ms": {
            "median": median(from_publish.clone()),
            "max": from_publish.iter().copied().fold(0.0, f64::max),
        },
        "first_request_after_publish_to_serving_ms": {
            "median": median(to_serving.clone()),
            "max": to_serving.iter().copied().fold(0.0, f64::max),
        },
        "steady_request_ms": {
            "median": median(steady.clone()),
            "p90": percentile(steady.clone(), 90.0),
            "p99": percentile(steady.clone(), 99.0),
        },
        "first_request_on_the_new_version_ms": first_on_new,
        "slowest_request_before_the_switch_ms": worst_before_switch,
        "slowest_request_during_swap_ms": {
            "each": worst_during.clone(),
            "median": median(worst_during.clone()),
            "max": worst_during.iter().copied().fold(0.0, f64::max),
        },
        "slowest_request_after_the_same_pause_without_a_swap_ms": {
            "requests": window,
            "each": worst_after_pause.clone(),
            "median": median(worst_after_pause.clone()),
            "max": worst_after_pause.iter().copied().fold(0.0, f64::max),
        },
        // The bar: no request during a swap slower than the steady p99.
        "slowest_during_swap_over_steady_p99_ms":
            worst_during.iter().copied().fold(0.0, f64::max) - percentile(steady, 99.0),
    });
    let text = serde_json::to_string_pretty(&report).expect("report");
    println!("{text}");
    if let Ok(path) = std::env::var("BENCH_OUT") {
        if let Err(e) = fs::write(&path, &text) {
            eprintln!("bench: cannot write {path}: {e}");
        }
    }
}
