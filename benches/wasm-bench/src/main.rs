//! The core's costs in WebAssembly, run in V8 through Node's WASI (`make bench`):
//! what an isolate pays once (bundle verification and tract plan build) and what every
//! request pays (features from the session state, inference with the occlusion
//! explanation, rules). Timers do not advance during CPU work inside Workers, so this is
//! measured here, on the same code compiled for `wasm32-wasip1`, not in a request.
//!
//! Prints one JSON object: medians and p90s in microseconds.

#[path = "../../common/session.rs"]
mod session;

use std::time::Instant;

use edgeseg::core::classify::LoadedBundle;
use edgeseg::core::config::StoreConfig;
use edgeseg::core::flow;

const LOADS: usize = 15;
const REQUESTS: usize = 3000;

fn percentile(samples: &mut [f64], p: f64) -> f64 {
    samples.sort_by(|a, b| a.total_cmp(b));
    let rank = ((p / 100.0) * (samples.len() - 1) as f64).round() as usize;
    samples[rank.min(samples.len() - 1)]
}

fn time_us(f: impl FnOnce()) -> f64 {
    let started = Instant::now();
    f();
    started.elapsed().as_secs_f64() * 1e6
}

fn main() {
    let mut loads: Vec<f64> = (0..LOADS)
        .map(|_| {
            time_us(|| {
                LoadedBundle::embedded().expect("the embedded bundle loads");
            })
        })
        .collect();

    let loaded = LoadedBundle::embedded().expect("the embedded bundle loads");
    let config = StoreConfig::default_store();
    let stats = loaded.bundle().page_stats();
    let state = session::browsing_session(&config, stats);
    let now = session::T0 + 400_000;
    let mut segment = String::new();
    let mut requests: Vec<f64> = (0..REQUESTS)
        .map(|_| {
            time_us(|| {
                let conclusion = flow::conclude(&state, now, &config, &loaded, false);
                segment = conclusion.classification.segment.unwrap_or_default();
            })
        })
        .collect();

    let report = serde_json::json!({
        "runtime": "wasm32-wasip1 in V8 (node WASI)",
        "bundle_verify_and_plan_build_us": {
            "runs": LOADS,
            "median": percentile(&mut loads, 50.0),
            "p90": percentile(&mut loads, 90.0),
        },
        "request_features_model_explanation_rules_us": {
            "runs": REQUESTS,
            "median": percentile(&mut requests, 50.0),
            "p90": percentile(&mut requests, 90.0),
        },
        "segment": segment,
    });
    println!("{report}");
}
