//! Per-request cost of the model side on the shipped bundle's golden rows: one batched
//! run (real row + one occluded row per feature) and the full `classify`; the whole
//! per-request core path from a real session state (features + model + explanation +
//! rules); plus the once-per-isolate plan build, which is what cold start pays.

#[path = "common/session.rs"]
mod session;

use criterion::{criterion_group, criterion_main, Criterion};
use edgeseg::core::bundle::{self, Bundle, TrustPolicy};
use edgeseg::core::classify::{classify, LoadedBundle};
use edgeseg::core::features::Features;
use edgeseg::core::model::{features_from_json, Model};

fn shipped() -> (Bundle, Vec<Features>) {
    let bundle = Bundle::from_files(bundle::embedded(), &TrustPolicy::unsigned())
        .expect("the embedded bundle verifies");
    let sessions = bundle
        .manifest()
        .golden
        .iter()
        .map(|g| features_from_json(&g.features).expect("golden features parse"))
        .collect();
    (bundle, sessions)
}

fn per_request(c: &mut Criterion) {
    let (bundle, sessions) = shipped();
    let loaded = LoadedBundle::new(bundle);
    let model = loaded.model().expect("model builds");
    let mut next = sessions.iter().cycle();

    c.bench_function("score one row (no explanation)", |b| {
        b.iter(|| model.score_intents([next.next().expect("cycle")]))
    });
    c.bench_function("predict: inference + occlusion explanation", |b| {
        b.iter(|| model.predict(next.next().expect("cycle")))
    });
    c.bench_function("classify: model + rules", |b| {
        b.iter(|| classify(next.next().expect("cycle"), &loaded))
    });

    let config = edgeseg::core::config::StoreConfig::default_store();
    let stats = loaded.bundle().page_stats();
    let state = session::browsing_session(&config, stats);
    let now = session::T0 + 400_000;
    c.bench_function("request: features + model + explanation + rules", |b| {
        b.iter(|| {
            edgeseg::core::flow::conclude(&state, now, &config, &loaded, false, &Default::default())
        })
    });
}

fn plan_build(c: &mut Criterion) {
    let (bundle, _) = shipped();
    let mut group = c.benchmark_group("cold start");
    group.sample_size(20);
    group.bench_function("plan build (read + optimise + runnable)", |b| {
        b.iter(|| Model::load(bundle.manifest(), bundle.model_bytes()).expect("builds"))
    });
    group.bench_function("bundle verify + plan build", |b| {
        b.iter(|| LoadedBundle::embedded().expect("loads"))
    });
    group.finish();
}

criterion_group!(benches, per_request, plan_build);
criterion_main!(benches);
