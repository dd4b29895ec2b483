//! Load benchmark: latency and throughput of the demo origin directly and through the
//! worker (workerd via `wrangler dev`), in the same run, over keep-alive connections.
//!
//! Scenarios, alternated in rounds so that machine noise hits all alike:
//! - `direct_assets` / `worker_assets`: a static-asset path, which the worker forwards
//!   without touching session state: the cost of the pass-through itself.
//! - `direct_pages` / `worker_pages`: a browsing mix of store pages; through the worker
//!   each client is a shopper who keeps its session cookie (a new session every
//!   `SESSION_LENGTH` requests), so every request runs the whole pipeline: consent,
//!   Durable Object round trip, features, model with explanation, rules, headers.
//! - `floor_assets` / `floor_pages`: the platform floor, a minimal JavaScript worker in
//!   the same local workerd (`benches/floor/`): plain `fetch` to the origin, and for
//!   pages one Durable Object read and write first. What edgeseg adds beyond the
//!   platform is the difference to these.
//! - `floor_rs_pages`: the same floor written in Rust with workers-rs and built like the
//!   worker (`benches/floor-rs/`, `make floor-rs`): what the wasm boundary and
//!   workers-rs' generated glue cost by themselves, before any of edgeseg's work.
//! - `worker_pages_flush_every_request`: the pages through a second worker that flushes
//!   its live aggregates (the dashboard's counts) after every request instead of at most
//!   every 5 s; the flush runs in `waitUntil`, after the response, so a shopper should
//!   not see the difference.
//!
//! `make bench` runs it. Each scenario runs `BENCH_CONNECTIONS` (2) client threads, each
//! with its own keep-alive connection, for `BENCH_SECONDS` (10) per round, for
//! `BENCH_ROUNDS` (3) rounds, after a warm-up. `BENCH_OUT` names a JSON file for the
//! figures.

#[path = "../tests/e2e/harness.rs"]
#[allow(dead_code)]
mod harness;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use harness::{Origin, Worker};
use serde_json::json;

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Latencies of every request of one scenario, in microseconds.
#[derive(Default)]
struct Sample {
    latencies_us: Vec<u64>,
    errors: u64,
    elapsed: Duration,
}

impl Sample {
    fn merge(&mut self, other: Sample) {
        self.latencies_us.extend(other.latencies_us);
        self.errors += other.errors;
        self.elapsed += other.elapsed;
    }

    fn percentile(&self, sorted: &[u64], p: f64) -> f64 {
        if sorted.is_empty() {
            return f64::NAN;
        }
        let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
        sorted[rank.min(sorted.len() - 1)] as f64 / 1000.0
    }

    fn summary(&self, connections: u64) -> serde_json::Value {
        let mut sorted = self.latencies_us.clone();
        sorted.sort_unstable();
        // Each thread ran for the whole elapsed time; requests per second over wall time.
        let wall = self.elapsed.as_secs_f64() / connections as f64;
        json!({
            "requests": sorted.len(),
            "errors": self.errors,
            "p50_ms": self.percentile(&sorted, 50.0),
            "p90_ms": self.percentile(&sorted, 90.0),
            "p99_ms": self.percentile(&sorted, 99.0),
            "rps": sorted.len() as f64 / wall.max(1e-9),
        })
    }
}

/// Requests per shopper before it is replaced by a new one (a new session).
const SESSION_LENGTH: usize = 100;

/// Runs `connections` keep-alive clients against `base` for `seconds`.
fn run(base: &str, paths: &[String], connections: u64, seconds: u64) -> Sample {
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..connections)
        .map(|i| {
            let stop = Arc::clone(&stop);
            let urls: Vec<String> = paths.iter().map(|p| format!("{base}{p}")).collect();
            thread::spawn(move || {
                // One agent per thread = one keep-alive connection per thread. Each client
                // is its own shopper: it keeps the cookies it is given.
                let agent = harness::client();
                let mut sample = Sample::default();
                let started = Instant::now();
                let mut n = i as usize;
                let mut session: Option<String> = None;
                while !stop.load(Ordering::Relaxed) {
                    let url = &urls[n % urls.len()];
                    n += 1;
                    if n.is_multiple_of(SESSION_LENGTH) {
                        session = None;
                    }
                    let t = Instant::now();
                    let mut request = agent.get(url).header("user-agent", harness::DESKTOP_UA);
                    if let Some(cookie) = &session {
                        request = request.header("cookie", cookie);
                    }
                    let ok = request
                        .call()
                        .ok()
                        .filter(|r| r.status().as_u16() < 500)
                        .and_then(|r| {
                            if let Some(cookie) = session_cookie(&r) {
                                session = Some(cookie);
                            }
                            r.into_body().read_to_vec().ok()
                        })
                        .is_some();
                    let us = t.elapsed().as_micros() as u64;
                    if ok {
                        sample.latencies_us.push(us);
                    } else {
                        sample.errors += 1;
                    }
                }
                sample.elapsed = started.elapsed();
                sample
            })
        })
        .collect();
    thread::sleep(Duration::from_secs(seconds));
    stop.store(true, Ordering::Relaxed);
    let mut total = Sample::default();
    for worker in workers {
        total.merge(worker.join().expect("client thread"));
    }
    total
}

/// `edgeseg_sid=...` from a response that set it.
fn session_cookie(response: &ureq::http::Response<ureq::Body>) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("edgeseg_sid="))
        .and_then(|v| v.split(';').next())
        .map(str::to_string)
}

fn main() {
    let seconds = env_number("BENCH_SECONDS", 10);
    let connections = env_number("BENCH_CONNECTIONS", 2);
    let rounds = env_number("BENCH_ROUNDS", 3);
    let pages: Vec<String> = [
        "/",
        "/category/kitchen",
        "/product/101",
        "/search?q=kettle",
        "/product/102?ref=list",
        "/category/audio?sort=price_asc",
        "/product/301",
        "/cart",
    ]
    .map(str::to_string)
    .to_vec();
    let assets = vec!["/assets/app.js".to_string()];

    let origin = Origin::start();
    let worker = Worker::start(&origin.url, &[]);
    // The same worker flushing its live aggregates after every request (the default is
    // at most every 5 s): the flush runs in waitUntil, after the response.
    let flushing = Worker::start(&origin.url, &[("EDGESEG_STATS_FLUSH_SECS", "0")]);
    let floor_config = harness::repo_root().join("benches/floor/wrangler.toml");
    let floor = Worker::start_config(&origin.url, &[], floor_config.clone());
    let floor_state = Worker::start_config(&origin.url, &[("FLOOR_STATE", "1")], floor_config);
    let floor_rs_state = Worker::start_config(
        &origin.url,
        &[("FLOOR_STATE", "1")],
        harness::floor_rs_config(),
    );
    eprintln!(
        "bench: origin {} worker {} — {connections} connections, {rounds} rounds of {seconds}s per scenario",
        origin.url, worker.url
    );

    // Warm both (isolate start, model plan, connection pools) before measuring.
    run(&origin.url, &pages, connections, 2);
    run(&worker.url, &pages, connections, 3);
    run(&flushing.url, &pages, connections, 3);
    run(&floor.url, &pages, connections, 1);
    run(&floor_state.url, &pages, connections, 1);
    run(&floor_rs_state.url, &pages, connections, 1);

    let scenarios: [(&str, &str, &Vec<String>); 8] = [
        ("direct_assets", &origin.url, &assets),
        ("worker_assets", &worker.url, &assets),
        ("direct_pages", &origin.url, &pages),
        ("worker_pages", &worker.url, &pages),
        ("floor_assets", &floor.url, &assets),
        ("floor_pages", &floor_state.url, &pages),
        ("worker_pages_flush_every_request", &flushing.url, &pages),
        ("floor_rs_pages", &floor_rs_state.url, &pages),
    ];
    let mut samples: Vec<Sample> = scenarios.iter().map(|_| Sample::default()).collect();
    for round in 0..rounds {
        eprintln!("bench: round {}/{rounds}", round + 1);
        for ((_, base, paths), sample) in scenarios.iter().zip(samples.iter_mut()) {
            sample.merge(run(base, paths, connections, seconds));
        }
    }
    let summaries: Vec<serde_json::Value> =
        samples.iter().map(|s| s.summary(connections)).collect();
    let figure = |i: usize, key: &str| summaries[i][key].as_f64().unwrap_or(f64::NAN);
    let mut report = json!({
        "connections": connections,
        "seconds_per_round": seconds,
        "rounds": rounds,
        "session_length": SESSION_LENGTH,
        "pages": pages,
        "assets": assets,
        // The pass-through alone, and the whole pipeline on top of it.
        "pass_through_added_p50_ms": figure(1, "p50_ms") - figure(0, "p50_ms"),
        "pass_through_added_p99_ms": figure(1, "p99_ms") - figure(0, "p99_ms"),
        "pipeline_added_p50_ms": (figure(3, "p50_ms") - figure(2, "p50_ms"))
            - (figure(1, "p50_ms") - figure(0, "p50_ms")),
        "pipeline_added_p99_ms": (figure(3, "p99_ms") - figure(2, "p99_ms"))
            - (figure(1, "p99_ms") - figure(0, "p99_ms")),
        // Beyond the platform: edgeseg against the minimal worker doing the same I/O.
        "pass_through_over_floor_p50_ms": figure(1, "p50_ms") - figure(4, "p50_ms"),
        "pass_through_over_floor_p99_ms": figure(1, "p99_ms") - figure(4, "p99_ms"),
        "pipeline_over_floor_p50_ms": figure(3, "p50_ms") - figure(5, "p50_ms"),
        "pipeline_over_floor_p99_ms": figure(3, "p99_ms") - figure(5, "p99_ms"),
        "pipeline_throughput_share_of_floor": figure(3, "rps") / figure(5, "rps"),
        // The same, split: the Rust floor over the JavaScript one is the platform's
        // price for a wasm worker; the pipeline over the Rust floor is edgeseg's own.
        "floor_rs_over_floor_p50_ms": figure(7, "p50_ms") - figure(5, "p50_ms"),
        "floor_rs_over_floor_p99_ms": figure(7, "p99_ms") - figure(5, "p99_ms"),
        "floor_rs_throughput_share_of_floor": figure(7, "rps") / figure(5, "rps"),
        "pipeline_over_floor_rs_p50_ms": figure(3, "p50_ms") - figure(7, "p50_ms"),
        "pipeline_over_floor_rs_p99_ms": figure(3, "p99_ms") - figure(7, "p99_ms"),
        "pipeline_throughput_share_of_floor_rs": figure(3, "rps") / figure(7, "rps"),
        // What a shopper pays for the dashboard: a flush of the live aggregates after
        // every request against the default (at most every 5 s).
        "stats_flush_every_request_added_p50_ms": figure(6, "p50_ms") - figure(3, "p50_ms"),
        "stats_flush_every_request_added_p99_ms": figure(6, "p99_ms") - figure(3, "p99_ms"),
    });
    for ((name, _, _), summary) in scenarios.iter().zip(summaries) {
        report[*name] = summary;
    }
    let text = serde_json::to_string_pretty(&report).expect("report");
    println!("{text}");
    if let Ok(path) = std::env::var("BENCH_OUT") {
        if let Err(e) = std::fs::write(&path, &text) {
            eprintln!("bench: cannot write {path}: {e}");
        }
    }
}
