//! Load benchmark: latency and throughput of the demo origin directly and through the
//! worker (workerd via `wrangler dev`), in the same run, over keep-alive connections.
//!
//! `make bench` runs it. Each scenario runs `CONNECTIONS` client threads, each with its
//! own keep-alive connection, for `SECONDS` after a warm-up; the scenarios alternate in
//! rounds so that machine noise hits both alike.
//!
//! Environment: `BENCH_SECONDS` (default 10 per scenario and round), `BENCH_CONNECTIONS`
//! (default 4), `BENCH_ROUNDS` (default 3), `BENCH_PATHS` (comma-separated, default a
//! browsing mix of the demo store), `BENCH_OUT` (a JSON file for the figures).

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
                while !stop.load(Ordering::Relaxed) {
                    let url = &urls[n % urls.len()];
                    n += 1;
                    let t = Instant::now();
                    let ok = agent
                        .get(url)
                        .call()
                        .ok()
                        .filter(|r| r.status().as_u16() < 500)
                        .and_then(|r| r.into_body().read_to_vec().ok())
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

fn main() {
    let seconds = env_number("BENCH_SECONDS", 10);
    let connections = env_number("BENCH_CONNECTIONS", 4);
    let rounds = env_number("BENCH_ROUNDS", 3);
    let paths: Vec<String> = std::env::var("BENCH_PATHS")
        .unwrap_or_else(|_| {
            "/,/category/shoes,/product/p-101,/search?q=boots,/product/p-102?ref=list,/cart"
                .to_string()
        })
        .split(',')
        .map(str::to_string)
        .collect();

    let origin = Origin::start();
    let worker = Worker::start(&origin.url, &[]);
    eprintln!(
        "bench: origin {} worker {} — {connections} connections, {rounds} rounds of {seconds}s each",
        origin.url, worker.url
    );

    // Warm both (isolate start, model plan, connection pools) before measuring.
    run(&origin.url, &paths, connections, 2);
    run(&worker.url, &paths, connections, 3);

    let mut direct = Sample::default();
    let mut through = Sample::default();
    for round in 0..rounds {
        eprintln!("bench: round {}/{rounds}", round + 1);
        direct.merge(run(&origin.url, &paths, connections, seconds));
        through.merge(run(&worker.url, &paths, connections, seconds));
    }
    let direct = direct.summary(connections);
    let through = through.summary(connections);
    let added = |key: &str| {
        through[key].as_f64().unwrap_or(f64::NAN) - direct[key].as_f64().unwrap_or(f64::NAN)
    };
    let report = json!({
        "paths": paths,
        "connections": connections,
        "seconds_per_round": seconds,
        "rounds": rounds,
        "direct": direct,
        "worker": through,
        "added_p50_ms": added("p50_ms"),
        "added_p99_ms": added("p99_ms"),
        "throughput_ratio": through["rps"].as_f64().unwrap_or(f64::NAN)
            / direct["rps"].as_f64().unwrap_or(f64::NAN),
    });
    let text = serde_json::to_string_pretty(&report).expect("report");
    println!("{text}");
    if let Ok(path) = std::env::var("BENCH_OUT") {
        if let Err(e) = std::fs::write(&path, &text) {
            eprintln!("bench: cannot write {path}: {e}");
        }
    }
}
