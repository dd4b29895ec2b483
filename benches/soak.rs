//! Concurrency soak benchmark: hundreds of sessions at once through the worker in
//! workerd, each browsing and sending beacons, every other one logging in mid-stream and
//! then firing parallel requests and a beacon with the customer cookie; afterwards every
//! object is read back and compared with what was sent (`tests/e2e/soak.rs`, the same
//! code as the bounded e2e test). Reports views and events lost or counted twice (both
//! must be 0; the bench exits 1 otherwise), throughput and latency.
//!
//! `make bench` runs it. `BENCH_SOAK_SESSIONS` (400), `BENCH_SOAK_THREADS` (8),
//! `BENCH_SOAK_PARALLEL` (6); `BENCH_OUT` names a JSON file for the figures.

#[path = "../tests/e2e/harness.rs"]
#[allow(dead_code)]
mod harness;
#[path = "../tests/e2e/soak.rs"]
#[allow(dead_code)]
mod soak;

use harness::{start_joining_customers, ADMIN_TOKEN, CUSTOMER_KEY};
use serde_json::json;

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)] as f64 / 1000.0
}

fn main() {
    let plan = soak::SoakPlan {
        sessions: env_number("BENCH_SOAK_SESSIONS", 400),
        threads: env_number("BENCH_SOAK_THREADS", 8),
        parallel: env_number("BENCH_SOAK_PARALLEL", 6),
        seed: 2026,
    };
    let (_origin, worker) = start_joining_customers();
    eprintln!("bench: soak {plan:?} against {}", worker.url);
    let report = soak::run(&worker, &plan, CUSTOMER_KEY, ADMIN_TOKEN);
    let mut latencies = report.latencies_us.clone();
    latencies.sort_unstable();
    let seconds = report.elapsed.as_secs_f64();
    let figures = json!({
        "sessions": report.sessions,
        "logins": report.logins,
        "threads": plan.threads,
        "parallel_after_login": plan.parallel,
        "requests": report.requests,
        "failed_requests": report.failed_requests,
        "views_sent": report.views,
        "beacon_events_sent": report.events,
        "views_lost": report.lost_views,
        "views_double_counted": report.extra_views,
        "events_lost": report.lost_events,
        "events_double_counted": report.extra_events,
        "seconds": seconds,
        "requests_per_second": report.requests as f64 / seconds,
        "p50_ms": percentile(&latencies, 50.0),
        "p99_ms": percentile(&latencies, 99.0),
    });
    let text = serde_json::to_string_pretty(&figures).expect("report");
    println!("{text}");
    if let Ok(path) = std::env::var("BENCH_OUT") {
        if let Err(e) = std::fs::write(&path, &text) {
            eprintln!("bench: cannot write {path}: {e}");
        }
    }
    let clean = report.lost_views == 0
        && report.extra_views == 0
        && report.lost_events == 0
        && report.extra_events == 0
        && report.failed_requests == 0;
    if !clean {
        eprintln!("bench: the soak lost or double-counted something");
        std::process::exit(1);
    }
}
