//! Training records at volume: replayed UCI visits (10,000 by default) through the
//! worker in workerd with local R2, on several threads. Every 1,000 visits the worker is
//! killed (SIGKILL) while the alarms of the visits just sent are due or running, and
//! restarted on the same storage: those alarms fire again. (It also keeps the run
//! within local wrangler's memory: the workerd that proxies the dev port to the runtime
//! grew by 0.5 to 0.65 MB of V8 heap a visit here and reached its 1.4 GB limit after
//! 2,170 to 3,000 visits; the runtime itself stayed near 0.5 GB.) Then the time until every
//! visit's record is written, `edgeseg logs pull` of them, `make model DATA=...` on
//! what was pulled (into target/, never over model/), and the trained bundle signed,
//! published to the same worker and served: the whole loop. Exits 1 when a record is
//! lost or duplicated. Uses the e2e test's code (`tests/e2e/records.rs`).
//!
//! `cargo bench --features e2e --bench records` (after `make wasm`, with WRANGLER set as
//! `make` does); `BENCH_RECORDS_VISITS` (10000), `BENCH_RECORDS_THREADS` (8),
//! `BENCH_RECORDS_TRAIN` (1: train; 0: skip), `BENCH_RECORDS_CRASH_EVERY` (1000),
//! `BENCH_OUT` names a JSON file.

#[path = "../tests/e2e/harness.rs"]
#[allow(dead_code)]
mod harness;
#[path = "../tests/e2e/records.rs"]
#[allow(dead_code, unused_imports)]
mod records;

use std::time::{Duration, Instant};

use edgeseg::core::bundle::PublisherKey;
use edgeseg::core::records::partition::Day;
use harness::{env_number, model_version, Shopper, Worker};
use serde_json::json;

/// The bench's publisher key (the worker trusts it).
const PUBLISHER_SEED: [u8; 32] = [0x5e; 32];
/// The version the bundle trained on the records is published under.
const TRAINED_VERSION: &str = "trained-on-records";

/// Completes the trained bundle as the README says (the store's rules, hashes, a
/// signature), publishes it to `worker` and waits until a shopper's page names it;
/// the seconds from the publish command's start.
fn publish_and_serve(worker: &Worker, bundle: &std::path::Path) -> f64 {
    let root = harness::repo_root();
    std::fs::copy(root.join("model/rules.json"), bundle.join("rules.json")).expect("rules");
    let status = std::process::Command::new("python3")
        .arg(root.join("model/train/manifest.py"))
        .arg("--rehash")
        .arg(bundle)
        .status()
        .expect("run manifest.py");
    assert!(status.success(), "manifest.py --rehash failed");
    harness::sign_bundle(bundle, TRAINED_VERSION, PUBLISHER_SEED, |_| {});
    let started = Instant::now();
    let dir = bundle.to_string_lossy();
    harness::cli(worker, &["publish", &dir, "--channel", "production"]);
    let mut shopper = Shopper::new(&worker.url);
    loop {
        let served = model_version(&shopper.get("/product/101"));
        if served == TRAINED_VERSION {
            return started.elapsed().as_secs_f64();
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the worker still serves {served}, not {TRAINED_VERSION}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Sends `visits` to the worker at `url`, each whole on one of `threads` threads.
fn send_all(url: &str, visits: &[serde_json::Value], threads: usize) {
    std::thread::scope(|scope| {
        for t in 0..threads {
            scope.spawn(move || {
                for recording in visits.iter().skip(t).step_by(threads) {
                    records::send(url, recording);
                }
            });
        }
    });
}

fn main() {
    let visits = env_number("BENCH_RECORDS_VISITS", 10_000);
    let threads = env_number("BENCH_RECORDS_THREADS", 8).max(1);
    let train = env_number("BENCH_RECORDS_TRAIN", 1) == 1;
    let crash_every = env_number("BENCH_RECORDS_CRASH_EVERY", 1_000).max(1);
    let trusted = PublisherKey::from_seed(PUBLISHER_SEED).public_base64();
    let vars = [
        ("EDGESEG_TRUSTED_KEYS", trusted.as_str()),
        ("EDGESEG_MODEL_REFRESH_SECS", "1"),
    ];
    let (origin, mut worker) = records::start_with(&vars);
    let uci = records::recordings(&[
        "--uci",
        &records::data_file("uci-online-shoppers/online_shoppers_intention.csv"),
        "--split",
        "all",
    ]);
    let plan: Vec<serde_json::Value> = uci.into_iter().cycle().take(visits).collect();
    eprintln!(
        "bench: {visits} visits on {threads} threads against {}",
        worker.url
    );

    let started = Instant::now();
    let mut crashes = Vec::new();
    for (i, batch) in plan.chunks(crash_every).enumerate() {
        if i > 0 {
            // A crash with alarms due: the visits just sent end within SESSION_SECS, and
            // some of their alarms are running when the worker dies. Their records must
            // still be written once each, by the alarms that fire again after the restart.
            let written = records::listed(&worker);
            let state_dir = worker.kill();
            worker = records::restart_with(state_dir, &origin, &vars);
            eprintln!(
                "bench: killed after {} visits ({written} records written), restarted at {}",
                i * crash_every,
                worker.url
            );
            crashes.push(json!({ "after_visits": i * crash_every, "records_written": written }));
        }
        send_all(&worker.url, batch, threads);
    }
    let send_secs = started.elapsed().as_secs_f64();

    let deadline = Instant::now() + Duration::from_secs(3600);
    let mut written = records::listed(&worker);
    while written < visits && Instant::now() < deadline {
        std::thread::sleep(Duration::from_secs(5));
        written = records::listed(&worker);
    }
    let written_secs = started.elapsed().as_secs_f64();
    eprintln!(
        "bench: sent in {send_secs:.1} s; {written} records written after {written_secs:.1} s"
    );

    let out = harness::repo_root().join("target/bench-records");
    let _ = std::fs::remove_dir_all(&out);
    let pulled_dir = out.join("pulled");
    let today = Day::of_ms(records::now_ms());
    let pull_started = Instant::now();
    records::edgeseg(&[
        "logs",
        "pull",
        "--url",
        &worker.url,
        "--token",
        records::ADMIN_TOKEN,
        "--from",
        &today.plus(-1).to_string(),
        "--to",
        &today.to_string(),
        "--out",
        &pulled_dir.to_string_lossy(),
    ]);
    let pull_secs = pull_started.elapsed().as_secs_f64();
    let pulled = records::pulled(&pulled_dir).len();
    eprintln!("bench: pulled {pulled} records in {pull_secs:.1} s");

    let model_out = out.join("model");
    let train_secs = train.then(|| {
        let train_started = Instant::now();
        let status = std::process::Command::new("make")
            .arg("--no-print-directory")
            .arg("model")
            .arg(format!("DATA={}", pulled_dir.display()))
            .arg(format!("OUT={}", model_out.display()))
            .current_dir(harness::repo_root())
            .status()
            .expect("run make model");
        assert!(status.success(), "make model DATA=... failed");
        train_started.elapsed().as_secs_f64()
    });
    let serve_secs = train.then(|| publish_and_serve(&worker, &model_out));

    let figures = json!({
        "visits": visits,
        "threads": threads,
        "crashes": crashes,
        "records_listed": written,
        "records_pulled": pulled,
        "send_seconds": send_secs,
        "all_written_seconds": written_secs,
        "pull_seconds": pull_secs,
        "train_seconds": train_secs,
        "publish_to_serving_seconds": serve_secs,
    });
    println!("{}", serde_json::to_string_pretty(&figures).expect("JSON"));
    if let Ok(path) = std::env::var("BENCH_OUT") {
        std::fs::write(&path, figures.to_string()).expect("write BENCH_OUT");
    }
    if written != visits || pulled != visits {
        eprintln!("bench: {visits} visits sent, {written} records listed, {pulled} pulled");
        std::process::exit(1);
    }
}
