//! The core's costs in WebAssembly, run in V8 through Node's WASI (`make bench`):
//! what an isolate pays once (bundle verification and tract plan build) and what every
//! request pays (features from the session state, inference with the occlusion
//! explanation, rules). Timers do not advance during CPU work inside Workers, so this is
//! measured here, on the same code compiled for `wasm32-wasip1`, not in a request.
//!
//! Prints one JSON object in microseconds: each cost's first run in the instance, and the
//! median and p90 of the later ones.

#[path = "../../common/session.rs"]
mod session;

use std::collections::BTreeMap;
use std::time::Instant;

use edgeseg::core::bundle::{self, Bundle, TrustPolicy};
use edgeseg::core::classify::LoadedBundle;
use edgeseg::core::config::StoreConfig;
use edgeseg::core::flow;
use edgeseg::core::model::{Model, Progress};

const LOADS: usize = 15;
const REQUESTS: usize = 3000;

fn percentile(samples: &mut [f64], p: f64) -> f64 {
    samples.sort_by(|a, b| a.total_cmp(b));
    let rank = ((p / 100.0) * (samples.len() - 1) as f64).round() as usize;
    samples[rank.min(samples.len() - 1)]
}

fn time_us<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let started = Instant::now();
    let value = f();
    (value, started.elapsed().as_secs_f64() * 1e6)
}

/// The first run (what a fresh instance pays: V8 runs new wasm code in its baseline
/// compiler first), then the median and p90 of the rest.
fn first_and_rest(samples: &[f64]) -> serde_json::Value {
    let mut rest = samples[1..].to_vec();
    serde_json::json!({
        "runs": samples.len(),
        "first": samples[0],
        "median": percentile(&mut rest, 50.0),
        "p90": percentile(&mut rest, 90.0),
    })
}

fn main() {
    // One isolate's start, step by step: the bundle's hashes (and a signature when
    // published), the tract plan build, the golden-vector check.
    let (mut verify, mut plan, mut golden) = (Vec::new(), Vec::new(), Vec::new());
    // Each stage of the plan build, as the edge runs them in separate idle moments.
    let mut stages: BTreeMap<&'static str, Vec<f64>> = BTreeMap::new();
    for _ in 0..LOADS {
        let (checked, us) = time_us(|| {
            Bundle::from_files(bundle::embedded(), &TrustPolicy::unsigned())
                .expect("the embedded bundle verifies")
        });
        verify.push(us);
        let mut build = Model::build(checked.manifest(), checked.model_bytes());
        let mut whole = 0.0;
        let model = loop {
            let stage = build.next_step();
            let (progress, us) = time_us(|| build.step().expect("the embedded model builds"));
            stages.entry(stage).or_default().push(us);
            whole += us;
            match progress {
                Progress::More(rest) => build = rest,
                Progress::Done(model) => break model,
            }
        };
        plan.push(whole);
        let loaded = LoadedBundle::with_model(checked, Ok(model));
        let (report, us) = time_us(|| loaded.verify());
        report.expect("golden vectors pass");
        golden.push(us);
    }

    let loaded = LoadedBundle::embedded().expect("the embedded bundle loads");
    let config = StoreConfig::default_store();
    let stats = loaded.bundle().page_stats();
    let state = session::browsing_session(&config, stats);
    let now = session::T0 + 400_000;
    let mut segment = String::new();
    let requests: Vec<f64> = (0..REQUESTS)
        .map(|_| {
            time_us(|| {
                let conclusion =
                    flow::conclude(&state, now, &config, &loaded, false, &Default::default());
                segment = conclusion.classification.segment.unwrap_or_default();
            })
            .1
        })
        .collect();

    let report = serde_json::json!({
        "runtime": "wasm32-wasip1 in V8 (node WASI)",
        "bundle_verify_us": first_and_rest(&verify),
        "plan_build_us": first_and_rest(&plan),
        "plan_build_stages_us": stages
            .iter()
            .map(|(stage, samples)| (stage.to_string(), first_and_rest(samples)))
            .collect::<serde_json::Map<_, _>>(),
        "golden_check_us": first_and_rest(&golden),
        "request_features_model_explanation_rules_us": first_and_rest(&requests),
        "segment": segment,
    });
    println!("{report}");
}
