//! Cold-start benchmark: what a new isolate costs, edgeseg beside the platform floor (the
//! minimal JavaScript worker of `benches/floor/` making one Durable Object read and
//! write), in the same local workerd; and beside the same floor in Rust
//! (`benches/floor-rs/`, workers-rs, built like the worker), which shows what a wasm
//! worker pays before any of edgeseg's code.
//!
//! Each trial starts a fresh `wrangler dev` and sends nothing until wrangler says it is
//! ready, so the first request meets a fresh isolate. Per trial:
//! - **startup**: from the spawn to wrangler's "Ready on" (workerd compiles and
//!   instantiates the script and runs its global scope before it listens; the rest is
//!   wrangler's own start, the same for both workers);
//! - **first tracked request**: a new shopper's product page, which for edgeseg runs the
//!   whole pipeline, and a steady request for comparison (median of 20, after 30);
//! - the **CPU time** of the runtime at startup, for the first request and per steady
//!   request: the kernel's accounting of the workerd threads that run the script
//!   (`Worker::runtime_cpu`), read once the work each response left behind is done;
//! - in the profiled trials, **where that CPU goes**: the functions with the most
//!   samples in V8 CPU profiles taken through wrangler's inspector
//!   (`benches/cpu_profile.mjs`; `CPU_PROFILE_DIR` keeps the profiles, named after the
//!   worker, and `COLD_PROFILE_REQUESTS`, 20 by default, sets how many steady requests
//!   the second profile of a trial covers: `scripts/profile-shares.py` reads it).
//!
//! - with Linux `perf` installed, **what the runtime was doing** during the first
//!   request and the steady ones: the share of the runtime's CPU samples spent by V8
//!   compiling (wasm functions are compiled on their first call, JavaScript likewise),
//!   in SQLite, and the rest ([`perf_shares`]); a V8 profile cannot show compilation,
//!   it charges it to the calling function.
//!
//! Also the wasm's size, raw and gzipped. `make bench` runs it; `COLD_TRIALS` (10) timed
//! trials, `COLD_PROFILED` (5) profiled ones and `COLD_PERF` (3) recorded with `perf`
//! per worker, alternating between the workers; `BENCH_OUT` names a JSON file for
//! the figures.

#[path = "../tests/e2e/harness.rs"]
#[allow(dead_code)]
mod harness;

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use harness::{repo_root, worker_root, Origin, Shopper, Worker};
use serde_json::{json, Value};

const PAGE: &str = "/product/101";
const WARM_REQUESTS: usize = 30;
const STEADY_REQUESTS: usize = 20;

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// Median, min and max of a sample.
fn spread(values: &[f64]) -> Value {
    let mut sorted = values.to_vec();
    sorted.sort_by(|a, b| a.total_cmp(b));
    let median = match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    };
    json!({
        "runs": sorted.len(),
        "median": median,
        "min": sorted.first().copied().unwrap_or(f64::NAN),
        "max": sorted.last().copied().unwrap_or(f64::NAN),
    })
}

/// One of the two workers compared.
struct Subject {
    name: &'static str,
    config: Option<PathBuf>,
    vars: Vec<(&'static str, String)>,
}

impl Subject {
    fn start(&self, origin: &str) -> (Worker, Duration) {
        let vars: Vec<(&str, &str)> = self.vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        Worker::start_untouched(origin, &vars, self.config.clone())
    }
}

/// `benches/cpu_profile.mjs` attached to one worker's inspector.
struct Profiler {
    child: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
}

impl Profiler {
    fn attach(inspector_port: u16, name: &str) -> Profiler {
        let mut child = Command::new("node")
            .arg("--experimental-websocket")
            .arg("--no-warnings")
            .arg(repo_root().join("benches/cpu_profile.mjs"))
            .arg(inspector_port.to_string())
            .arg(name)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node benches/cpu_profile.mjs");
        let input = child.stdin.take().expect("piped stdin");
        let output = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut profiler = Profiler {
            child,
            input,
            output,
        };
        assert_eq!(profiler.line(), "ready", "the profiler did not attach");
        profiler
    }

    fn line(&mut self) -> String {
        let mut line = String::new();
        self.output.read_line(&mut line).expect("profiler output");
        line.trim().to_string()
    }

    fn send(&mut self, command: &str) -> String {
        writeln!(self.input, "{command}").expect("profiler input");
        self.line()
    }

    /// The profile's summary while `work` ran: `samples` (in JavaScript, wasm and GC)
    /// and `top`, the functions with the largest share of them, by self time.
    fn profile(&mut self, work: impl FnOnce()) -> Value {
        assert_eq!(self.send("start"), "started");
        work();
        serde_json::from_str(&self.send("stop")).expect("profile summary")
    }
}

impl Drop for Profiler {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How long the runtime waits after a response before its CPU time is read: work
/// after the response (`waitUntil`) belongs to the request.
const SETTLE: Duration = Duration::from_millis(300);

/// The runtime's CPU time once the work a response left behind is done.
fn settled_cpu(worker: &Worker) -> Duration {
    std::thread::sleep(SETTLE);
    worker.runtime_cpu()
}

/// A new shopper's first page; asserts edgeseg classified it (a tracked request).
fn first_page(shopper: &mut Shopper, subject: &Subject) {
    let page = shopper.get(PAGE);
    assert_eq!(page.status, 200, "{}: first request failed", subject.name);
    if subject.name == "edgeseg" {
        assert!(
            page.header("edgeseg-segment").is_some(),
            "the first request was not classified: {:?}",
            page.headers
        );
    }
}

/// `perf record` samples per second: one sample is 0.2 ms of a thread's CPU.
const PERF_HZ: u32 = 4999;

fn perf_available() -> bool {
    Command::new("perf")
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success())
}

/// The runtime's CPU samples taken by `perf record` on process `pid` while `work` ran
/// (and the work it left behind settled), split by what the runtime was doing; `None`
/// when `perf` could not record.
fn perf_shares(pid: u32, data: &Path, work: impl FnOnce()) -> Option<Value> {
    let mut recorder = Command::new("perf")
        .args([
            "record",
            "-F",
            &PERF_HZ.to_string(),
            "-g",
            "-p",
            &pid.to_string(),
        ])
        .arg("-o")
        .arg(data)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    // perf attaches to every thread of the process before it samples.
    std::thread::sleep(Duration::from_millis(500));
    work();
    std::thread::sleep(SETTLE);
    // On SIGINT perf writes out its samples and exits.
    Command::new("kill")
        .args(["-INT", &recorder.id().to_string()])
        .status()
        .ok()?;
    recorder.wait().ok()?;
    let script = Command::new("perf")
        .args(["script", "-F", "comm,ip,sym", "-i"])
        .arg(data)
        .stderr(Stdio::null())
        .output()
        .ok()?;
    Some(sample_shares(&String::from_utf8_lossy(&script.stdout)))
}

/// `perf script` output (one block per sample: the thread's name, then its call
/// chain) read as the runtime's own threads' samples (named `workerd`, as in
/// `Worker::runtime_cpu`) and the share of them in each kind of work, by the frames
/// on their stacks.
fn sample_shares(script: &str) -> Value {
    let kinds = [
        ("wasm_compile", "Runtime_WasmCompileLazy"),
        ("js_compile", "Runtime_CompileLazy"),
        ("sqlite", "sqlite3"),
    ];
    let samples: Vec<&str> = script
        .split("\n\n")
        .filter(|block| block.split_whitespace().next() == Some("workerd"))
        .collect();
    let share = |needle: &str| {
        let hits = samples
            .iter()
            .filter(|block| block.contains(needle))
            .count();
        100.0 * hits as f64 / samples.len().max(1) as f64
    };
    let mut shares = json!({
        "samples": samples.len(),
        "cpu_ms": samples.len() as f64 * 1000.0 / f64::from(PERF_HZ),
    });
    for (kind, frame) in kinds {
        shares[format!("{kind}_percent")] = json!(share(frame));
    }
    shares
}

/// `requests` more pages of the shopper's visit.
fn browse(shopper: &mut Shopper, requests: usize) {
    for _ in 0..requests {
        shopper.get(PAGE);
    }
}

#[derive(Default)]
struct Figures {
    startup_ms: Vec<f64>,
    first_request_ms: Vec<f64>,
    startup_plus_first_ms: Vec<f64>,
    steady_request_ms: Vec<f64>,
    startup_cpu_ms: Vec<f64>,
    first_request_cpu_ms: Vec<f64>,
    steady_request_cpu_ms: Vec<f64>,
    /// The last profiled trial's functions with the most samples in the first request
    /// and over its steady requests: where a request's CPU goes.
    first_top: Value,
    steady_top: Value,
    /// Per perf-recorded trial, what the runtime was doing ([`sample_shares`]) during
    /// the first request and during the steady ones.
    first_perf: Vec<Value>,
    steady_perf: Vec<Value>,
}

impl Figures {
    fn timed_trial(&mut self, subject: &Subject, origin: &str) {
        let (worker, startup) = subject.start(origin);
        let mut shopper = Shopper::new(&worker.url);
        let cpu_before = worker.runtime_cpu();
        self.startup_cpu_ms.push(ms(cpu_before));
        let started = Instant::now();
        first_page(&mut shopper, subject);
        let first = started.elapsed();
        let first_cpu = settled_cpu(&worker) - cpu_before;
        browse(&mut shopper, WARM_REQUESTS);
        let cpu_before = settled_cpu(&worker);
        let mut steady: Vec<f64> = (0..STEADY_REQUESTS)
            .map(|_| {
                let started = Instant::now();
                shopper.get(PAGE);
                ms(started.elapsed())
            })
            .collect();
        let steady_cpu = settled_cpu(&worker) - cpu_before;
        steady.sort_by(|a, b| a.total_cmp(b));
        self.first_request_cpu_ms.push(ms(first_cpu));
        self.steady_request_cpu_ms
            .push(ms(steady_cpu) / STEADY_REQUESTS as f64);
        self.startup_ms.push(ms(startup));
        self.first_request_ms.push(ms(first));
        self.startup_plus_first_ms.push(ms(startup + first));
        self.steady_request_ms.push(steady[steady.len() / 2]);
    }

    fn profiled_trial(&mut self, subject: &Subject, origin: &str) {
        let (worker, _) = subject.start(origin);
        let mut profiler = Profiler::attach(worker.inspector_port, subject.name);
        let mut shopper = Shopper::new(&worker.url);
        let first = profiler.profile(|| first_page(&mut shopper, subject));
        browse(&mut shopper, WARM_REQUESTS);
        let requests = env_number("COLD_PROFILE_REQUESTS", STEADY_REQUESTS);
        let steady = profiler.profile(|| browse(&mut shopper, requests));
        self.first_top = first["top"].clone();
        self.steady_top = steady["top"].clone();
    }

    fn perf_trial(&mut self, subject: &Subject, origin: &str) {
        let (worker, _) = subject.start(origin);
        let data = worker.state_dir.with_file_name("perf.data");
        let mut shopper = Shopper::new(&worker.url);
        let pid = worker.runtime_pid();
        let first = perf_shares(pid, &data, || first_page(&mut shopper, subject));
        browse(&mut shopper, WARM_REQUESTS);
        let steady = perf_shares(pid, &data, || browse(&mut shopper, STEADY_REQUESTS));
        self.first_perf.extend(first);
        self.steady_perf.extend(steady);
    }

    fn report(&self) -> Value {
        json!({
            "startup_ms": spread(&self.startup_ms),
            "first_request_ms": spread(&self.first_request_ms),
            "startup_plus_first_request_ms": spread(&self.startup_plus_first_ms),
            "steady_request_ms": spread(&self.steady_request_ms),
            "startup_cpu_ms": spread(&self.startup_cpu_ms),
            "first_request_cpu_ms": spread(&self.first_request_cpu_ms),
            "steady_request_cpu_ms": spread(&self.steady_request_cpu_ms),
            "first_top_self_percent": self.first_top,
            "steady_top_self_percent": self.steady_top,
            "first_request_perf": self.first_perf,
            "steady_requests_perf": self.steady_perf,
        })
    }
}

/// Raw and gzipped (`gzip -9`) size of a file, in bytes.
fn sizes(path: &PathBuf) -> Value {
    let raw = fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let gzip = Command::new("gzip")
        .args(["-9", "-c"])
        .arg(path)
        .output()
        .map(|out| out.stdout.len() as u64)
        .unwrap_or(0);
    json!({ "file": path.strip_prefix(repo_root()).unwrap_or(path), "raw_bytes": raw, "gzip_bytes": gzip })
}

fn main() {
    let trials = env_number("COLD_TRIALS", 10);
    let profiled = env_number("COLD_PROFILED", 5);
    let recorded = match perf_available() {
        true => env_number("COLD_PERF", 3),
        false => {
            eprintln!("cold: no `perf` here: the compile shares are left out");
            0
        }
    };
    let origin = Origin::start();
    let subjects = [
        Subject {
            name: "floor",
            config: Some(repo_root().join("benches/floor/wrangler.toml")),
            vars: vec![("FLOOR_STATE", "1".to_string())],
        },
        Subject {
            name: "floor_rs",
            config: Some(harness::floor_rs_config()),
            vars: vec![("FLOOR_STATE", "1".to_string())],
        },
        Subject {
            name: "edgeseg",
            config: None,
            // The followed shopper must not be in the holdout by chance.
            vars: vec![("EDGESEG_STORE_CONFIG", harness::config_without_holdout())],
        },
    ];
    let mut figures: Vec<Figures> = subjects.iter().map(|_| Figures::default()).collect();
    let rounds = trials.max(profiled).max(recorded);
    for trial in 0..rounds {
        eprintln!("cold: trial {}/{rounds}", trial + 1);
        for (subject, figures) in subjects.iter().zip(figures.iter_mut()) {
            if trial < trials {
                figures.timed_trial(subject, &origin.url);
            }
            if trial < profiled {
                figures.profiled_trial(subject, &origin.url);
            }
            if trial < recorded {
                figures.perf_trial(subject, &origin.url);
            }
        }
    }
    let median = |f: &Figures, pick: fn(&Figures) -> &Vec<f64>| {
        spread(pick(f))["median"].as_f64().unwrap_or(f64::NAN)
    };
    let [floor, floor_rs, edgeseg] = [&figures[0], &figures[1], &figures[2]];
    let over = |above: &Figures, below: &Figures, pick: fn(&Figures) -> &Vec<f64>| {
        median(above, pick) - median(below, pick)
    };
    // Each gap three ways: edgeseg over the JavaScript floor, split into the Rust
    // floor's own price over it and edgeseg's over the Rust floor.
    let gaps = |pick: fn(&Figures) -> &Vec<f64>| {
        json!({
            "edgeseg_over_floor": over(edgeseg, floor, pick),
            "floor_rs_over_floor": over(floor_rs, floor, pick),
            "edgeseg_over_floor_rs": over(edgeseg, floor_rs, pick),
        })
    };
    let mut report = json!({
        "trials": trials,
        "profiled_trials": profiled,
        "perf_trials": recorded,
        "page": PAGE,
        "wasm": sizes(&worker_root().join("build/index_bg.wasm")),
        "floor_script": sizes(&repo_root().join("benches/floor/index.js")),
        "floor_rs_wasm": sizes(&repo_root().join("benches/floor-rs/build/index_bg.wasm")),
        "startup_ms_gaps": gaps(|f| &f.startup_ms),
        "first_request_ms_gaps": gaps(|f| &f.first_request_ms),
        "startup_plus_first_request_ms_gaps": gaps(|f| &f.startup_plus_first_ms),
        "first_request_cpu_ms_gaps": gaps(|f| &f.first_request_cpu_ms),
        "steady_request_cpu_ms_gaps": gaps(|f| &f.steady_request_cpu_ms),
    });
    for (subject, figures) in subjects.iter().zip(&figures) {
        report[subject.name] = figures.report();
    }
    let text = serde_json::to_string_pretty(&report).expect("report");
    println!("{text}");
    if let Ok(path) = std::env::var("BENCH_OUT") {
        if let Err(e) = fs::write(&path, &text) {
            eprintln!("bench: cannot write {path}: {e}");
        }
    }
}
