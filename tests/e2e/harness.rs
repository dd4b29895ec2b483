//! Starts the demo origin and the built worker (in workerd, through `wrangler dev`) on
//! 127.0.0.1 with ephemeral ports, and stops both by process group when dropped, so a
//! failing test leaves nothing running.

use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The checkout whose built worker (`build/`, `wrangler.toml`) the tests start:
/// `EDGESEG_WORKER_DIR` if set, so today's tests can run against an older build
/// (`scripts/prefix-check.sh`), else this one.
pub fn worker_root() -> PathBuf {
    std::env::var_os("EDGESEG_WORKER_DIR").map_or_else(repo_root, PathBuf::from)
}

/// The Rust platform floor's `wrangler.toml` (`benches/floor-rs/`), once `make floor-rs`
/// has built it; the benches that stand edgeseg beside it start it with
/// [`Worker::start_config`].
#[allow(dead_code)]
pub fn floor_rs_config() -> PathBuf {
    let dir = repo_root().join("benches/floor-rs");
    assert!(
        dir.join("build/index.js").exists(),
        "the Rust floor is not built: run `make floor-rs` (make bench does)"
    );
    dir.join("wrangler.toml")
}

/// A child process that leads its own process group; dropping it stops the whole group.
pub struct Group {
    name: String,
    child: Child,
}

impl Group {
    fn spawn(name: &str, command: &mut Command) -> Group {
        command.process_group(0);
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Group {
            name: name.to_string(),
            child,
        }
    }

    fn signal(&self, signal: &str) {
        let _ = Command::new("kill")
            .args([signal, "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
    }

    fn exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(format!("{} exited: {status}", self.name)),
            Ok(None) => None,
            Err(e) => Some(format!("{}: {e}", self.name)),
        }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.signal("-TERM");
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                // The leader is gone; make sure no straggler of the group survives it.
                self.signal("-KILL");
                return;
            }
            thread::sleep(Duration::from_millis(50));
        }
        self.signal("-KILL");
        let _ = self.child.wait();
    }
}

/// The default store config with no holdout: tests that follow one session and expect
/// it classified must not be in the 5 % holdout by chance.
pub fn config_without_holdout() -> String {
    let mut config: serde_json::Value =
        serde_json::from_str(include_str!("../../src/core/default_store.json"))
            .expect("the default store config is JSON");
    config["holdout"]["share"] = 0.0.into();
    config.to_string()
}

/// Runs the `edgeseg` CLI built with the tests in the repository; its stdout, or a
/// panic with its stderr.
pub fn edgeseg(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_edgeseg"))
        .args(args)
        .current_dir(repo_root())
        .output()
        .expect("run edgeseg");
    assert!(
        output.status.success(),
        "edgeseg {args:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Runs `wrangler ARGS --local --persist-to <the worker's state>`: what an operator's
/// wrangler does to the worker's local KV or R2. Its stdout, or a panic with its stderr.
/// Like the CLI, it runs a call again while the running worker holds the SQLite lock.
pub fn wrangler_local(worker: &Worker, args: &[&str]) -> String {
    let run = || {
        Command::new(std::env::var("WRANGLER").expect("WRANGLER"))
            .args(args)
            .args(["--local", "--persist-to"])
            .arg(&worker.state_dir)
            .current_dir(repo_root())
            .env("WRANGLER_SEND_METRICS", "false")
            .output()
            .expect("run wrangler")
    };
    let mut output = run();
    for pause_ms in [100, 200, 400, 800, 1600, 2000] {
        if output.status.success()
            || !String::from_utf8_lossy(&output.stderr).contains("SQLITE_BUSY")
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(pause_ms));
        output = run();
    }
    assert!(
        output.status.success(),
        "wrangler {args:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A bench's size from the environment, or `default` (the benches use it).
#[allow(dead_code)]
pub fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The admin token and customer key of the workers [`start_joining_customers`] starts.
pub const ADMIN_TOKEN: &str = "e2e-admin-token";
pub const CUSTOMER_KEY: &str = "e2e-customer-key";

/// A local origin and a worker in front of it that joins logged-in customers
/// ([`CUSTOMER_KEY`]), answers admin calls ([`ADMIN_TOKEN`]) and has no holdout.
pub fn start_joining_customers() -> (Origin, Worker) {
    let origin = Origin::start();
    let worker = Worker::start(
        &origin.url,
        &[
            ("EDGESEG_ADMIN_TOKEN", ADMIN_TOKEN),
            ("EDGESEG_CUSTOMER_KEY", CUSTOMER_KEY),
            ("EDGESEG_STORE_CONFIG", &config_without_holdout()),
        ],
    );
    (origin, worker)
}

/// What wrangler logs once it listens, and when another process holds its port.
const READY: &str = "Ready on";
const PORT_TAKEN: &str = "Address already in use";
/// Starts of one worker before its ports are given up on.
const PORT_ATTEMPTS: usize = 3;
/// How long one start may take until the worker is ready.
const START_LIMIT: Duration = Duration::from_secs(120);

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("an ephemeral port on 127.0.0.1")
}

/// A fresh folder under target/e2e for one test's worker state and logs.
fn scratch_dir(kind: &str) -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let dir = repo_root()
        .join("target")
        .join("e2e")
        .join(format!("{kind}-{}-{n}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// The demo storefront origin (`demo/origin.mjs`) on an ephemeral port.
pub struct Origin {
    pub url: String,
    _group: Group,
}

impl Origin {
    pub fn start() -> Origin {
        Origin::start_with_env(&[])
    }

    /// The demo origin with environment variables (its secrets: `EDGESEG_HEADER_KEY`,
    /// `EDGESEG_STORE_TOKEN_KEY`).
    pub fn start_with_env(env: &[(&str, &str)]) -> Origin {
        let mut command = Command::new("node");
        command.envs(env.iter().copied());
        command
            .arg("demo/origin.mjs")
            .args(["--port", "0", "--host", "127.0.0.1"])
            .current_dir(repo_root())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut group = Group::spawn("demo origin", &mut command);
        let stdout = group.child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            for line in lines.by_ref().map_while(Result::ok) {
                if let Some(url) = line.split("listening on ").nth(1) {
                    let _ = tx.send(url.trim().to_string());
                    break;
                }
            }
            // Keep draining so the origin never blocks on a full pipe.
            for _ in lines {}
        });
        let url = rx
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("demo origin did not say where it listens"));
        Origin { url, _group: group }
    }
}

/// The built worker in workerd (`wrangler dev --local`), with its own state folder.
pub struct Worker {
    pub url: String,
    pub state_dir: PathBuf,
    pub log_path: PathBuf,
    /// wrangler's DevTools inspector (the cold-start bench takes CPU profiles there).
    #[allow(dead_code)]
    pub inspector_port: u16,
    group: Group,
}

impl Worker {
    /// Starts the worker in front of `origin`, with extra `wrangler.toml` vars.
    pub fn start(origin: &str, vars: &[(&str, &str)]) -> Worker {
        Worker::launch(origin, vars, None)
    }

    /// The same worker with its session Durable Object namespace bound to a worker that
    /// does not exist: every storage call fails, as in an outage.
    pub fn start_with_broken_sessions(origin: &str, vars: &[(&str, &str)]) -> Worker {
        let dir = scratch_dir("broken-config");
        let config = dir.join("wrangler.toml");
        let main = worker_root().join("build").join("index.js");
        fs::write(
            &config,
            format!(
                r#"name = "edgeseg"
main = "{}"
compatibility_date = "2026-04-26"

[[durable_objects.bindings]]
name = "SESSIONS"
class_name = "SessionStore"
script_name = "edgeseg-sessions-that-do-not-exist"

[[kv_namespaces]]
binding = "EDGESEG_KV"
id = "edgeseg-local"
"#,
                main.display()
            ),
        )
        .expect("write broken wrangler config");
        Worker::launch(origin, vars, Some(config))
    }

    /// Another worker (a `wrangler.toml` of its own) in the same local workerd setup;
    /// the load benchmark's platform floor (`benches/floor/`).
    #[allow(dead_code)]
    pub fn start_config(origin: &str, vars: &[(&str, &str)], config: PathBuf) -> Worker {
        Worker::launch(origin, vars, Some(config))
    }

    /// Starts a worker and waits only for wrangler to say it is ready, without sending it
    /// a request: the first request then meets a fresh isolate (the cold-start bench).
    /// Also returns how long that took from the spawn.
    #[allow(dead_code)]
    pub fn start_untouched(
        origin: &str,
        vars: &[(&str, &str)],
        config: Option<PathBuf>,
    ) -> (Worker, Duration) {
        Worker::ready(
            || Worker::spawn(origin, vars, config.clone()),
            Worker::wait_listening,
        )
    }

    fn launch(origin: &str, vars: &[(&str, &str)], config: Option<PathBuf>) -> Worker {
        Worker::ready(
            || Worker::spawn(origin, vars, config.clone()),
            Worker::wait_ready,
        )
        .0
    }

    /// A worker from `spawn` once `wait` says it is ready, spawned again on fresh ports
    /// when another process took its port first ([`Worker::wait_listening`]); with the
    /// time from its spawn.
    fn ready(
        mut spawn: impl FnMut() -> Worker,
        wait: fn(&mut Worker, Instant) -> bool,
    ) -> (Worker, Duration) {
        for attempt in 1..=PORT_ATTEMPTS {
            let started = Instant::now();
            let mut worker = spawn();
            if wait(&mut worker, started + START_LIMIT) {
                return (worker, started.elapsed());
            }
            eprintln!(
                "e2e: {} was taken by another process (attempt {attempt}); starting again",
                worker.url
            );
        }
        panic!("wrangler found its port taken {PORT_ATTEMPTS} times in a row");
    }

    /// Kills the worker at once (SIGKILL to wrangler and workerd: no shutdown, as when a
    /// machine fails) and answers the folder its storage is in, for [`Worker::restart`].
    /// (The records bench uses it, not the tests.)
    #[allow(dead_code)]
    pub fn kill(self) -> PathBuf {
        self.group.signal("-KILL");
        self.state_dir.clone()
    }

    /// Starts the worker again on the storage a killed one left: its Durable Objects,
    /// their pending alarms, KV and R2.
    #[allow(dead_code)]
    pub fn restart(state_dir: PathBuf, origin: &str, vars: &[(&str, &str)]) -> Worker {
        Worker::ready(
            || Worker::spawn_on(state_dir.clone(), origin, vars, None),
            Worker::wait_ready,
        )
        .0
    }

    fn spawn(origin: &str, vars: &[(&str, &str)], config: Option<PathBuf>) -> Worker {
        Worker::spawn_on(scratch_dir("worker").join("state"), origin, vars, config)
    }

    fn spawn_on(
        state_dir: PathBuf,
        origin: &str,
        vars: &[(&str, &str)],
        config: Option<PathBuf>,
    ) -> Worker {
        let wrangler = std::env::var("WRANGLER")
            .expect("WRANGLER is not set: run the e2e tests through `make e2e`");
        // Each start logs to a folder of its own, also a restart on earlier storage.
        let dir = scratch_dir("worker");
        let log_path = dir.join("wrangler.log");
        let log = fs::File::create(&log_path).expect("create worker log");
        let port = free_port();
        let inspector_port = free_port();
        let mut command = Command::new(wrangler);
        command
            .args(["dev", "--local", "--ip", "127.0.0.1"])
            .args(["--port", &port.to_string()])
            .args(["--inspector-port", &inspector_port.to_string()])
            .arg("--persist-to")
            .arg(&state_dir)
            .arg("--show-interactive-dev-session=false")
            .args(["--var", &format!("ORIGIN:{origin}")])
            .current_dir(worker_root())
            .env("WRANGLER_SEND_METRICS", "false")
            .env("CLOUDFLARE_TELEMETRY_DISABLED", "1")
            .env("WRANGLER_SEND_ERROR_REPORTS", "false")
            .env("WRANGLER_LOG_PATH", dir.join("wrangler-debug"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone log handle"))
            .stderr(log);
        for (name, value) in vars {
            command.args(["--var", &format!("{name}:{value}")]);
        }
        if let Some(config) = config {
            command.arg("--config").arg(config);
        }
        let group = Group::spawn("wrangler dev", &mut command);
        Worker {
            url: format!("http://127.0.0.1:{port}"),
            state_dir,
            log_path,
            inspector_port,
            group,
        }
    }

    /// Waits until wrangler logs that it listens; `false` when it could not listen on
    /// its port. `free_port` frees the port it found and wrangler binds it a moment
    /// later, so another process may take it in between; wrangler then logs so and
    /// keeps running, and whatever holds the port answers.
    fn wait_listening(&mut self, deadline: Instant) -> bool {
        loop {
            let log = self.log();
            if log.contains(PORT_TAKEN) {
                return false;
            }
            if let Some(why) = self.group.exited() {
                panic!("{why}\n--- worker log ---\n{log}");
            }
            if log.contains(READY) {
                return true;
            }
            assert!(
                Instant::now() < deadline,
                "worker not ready\n--- worker log ---\n{log}"
            );
            thread::sleep(Duration::from_millis(5));
        }
    }

    /// Waits until wrangler listens ([`Worker::wait_listening`]) and the worker answers.
    fn wait_ready(&mut self, deadline: Instant) -> bool {
        let agent = client();
        loop {
            if !self.wait_listening(deadline) {
                return false;
            }
            if agent
                .get(format!("{}/__edgeseg/health", self.url))
                .call()
                .is_ok()
            {
                return true;
            }
            assert!(
                Instant::now() < deadline,
                "worker not answering\n--- worker log ---\n{}",
                self.log()
            );
            thread::sleep(Duration::from_millis(200));
        }
    }

    /// The process id of the workerd that wrangler starts with the inspector and that
    /// runs the script (not the one proxying requests to it). Linux only. (The
    /// cold-start bench uses it, not the tests.)
    #[allow(dead_code)]
    pub fn runtime_pid(&self) -> u32 {
        let group = self.group.child.id().to_string();
        fs::read_dir("/proc")
            .expect("/proc")
            .flatten()
            .map(|entry| entry.path())
            .find(|proc| {
                let stat = fs::read_to_string(proc.join("stat")).unwrap_or_default();
                // pid (comm) state ppid pgrp ...: the comm may hold spaces.
                let fields = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
                let in_group = fields.split_whitespace().nth(2) == Some(group.as_str());
                let cmdline = fs::read(proc.join("cmdline")).unwrap_or_default();
                let cmdline = String::from_utf8_lossy(&cmdline);
                in_group && cmdline.contains("workerd") && cmdline.contains("--inspector-addr")
            })
            .and_then(|proc| proc.file_name()?.to_str()?.parse().ok())
            .expect("the worker's workerd process")
    }

    /// CPU time the runtime running the script ([`Worker::runtime_pid`]) has spent so
    /// far on its own threads: the kernel's per-thread accounting
    /// (`/proc/PID/task/TID/schedstat`, in nanoseconds). V8's background threads
    /// (compilation tiers) are left out: Cloudflare does not bill a request for them.
    #[allow(dead_code)]
    pub fn runtime_cpu(&self) -> Duration {
        let tasks = PathBuf::from(format!("/proc/{}/task", self.runtime_pid()));
        let nanos: u64 = fs::read_dir(tasks)
            .expect("the runtime's threads")
            .flatten()
            .filter(|task| {
                fs::read_to_string(task.path().join("comm")).is_ok_and(|c| c.trim() == "workerd")
            })
            .filter_map(|task| fs::read_to_string(task.path().join("schedstat")).ok())
            .filter_map(|line| line.split_whitespace().next()?.parse::<u64>().ok())
            .sum();
        Duration::from_nanos(nanos)
    }

    /// Everything wrangler and the worker printed so far (console logs included).
    pub fn log(&self) -> String {
        let mut text = String::new();
        if let Ok(mut file) = fs::File::open(&self.log_path) {
            let _ = file.read_to_string(&mut text);
        }
        text
    }

    /// Waits (a few seconds at most) for `needle` to appear in the worker's log: console
    /// output reaches the file a moment after the response.
    pub fn wait_for_log(&self, needle: &str) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.log().contains(needle) {
                return true;
            }
            thread::sleep(Duration::from_millis(100));
        }
        false
    }

    /// Files the worker's Durable Objects have written under the state folder.
    /// The session objects' storage files (the aggregation objects keep counts only,
    /// consent-withheld requests included, which the contract allows).
    pub fn durable_object_files(&self) -> Vec<PathBuf> {
        let mut found = Vec::new();
        collect_files(&self.state_dir.join("v3").join("do"), &mut found);
        found.retain(|path| !path.to_string_lossy().contains("StatsStore"));
        found
    }
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_files(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// An HTTP client that shows responses as they are: no redirects followed, no status
/// turned into an error.
pub fn client() -> ureq::Agent {
    ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

/// One browser: its own keep-alive connection and cookie jar.
pub struct Shopper {
    base: String,
    agent: ureq::Agent,
    pub cookies: std::collections::BTreeMap<String, String>,
    /// Extra headers sent with every request (user agent, `Sec-GPC`, ...).
    pub headers: Vec<(String, String)>,
}

/// What a shopper got back: status, headers (lower-case names) and body.
pub struct Page {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Page {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn set_cookies(&self) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n == "set-cookie")
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

pub const DESKTOP_UA: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

impl Shopper {
    pub fn new(base: &str) -> Shopper {
        Shopper {
            base: base.to_string(),
            agent: client(),
            cookies: Default::default(),
            headers: vec![("user-agent".into(), DESKTOP_UA.into())],
        }
    }

    fn cookie_header(&self) -> Option<String> {
        (!self.cookies.is_empty()).then(|| {
            self.cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    fn keep(&mut self, response: ureq::http::Response<ureq::Body>) -> Page {
        let status = response.status().as_u16();
        let headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .filter_map(|(n, v)| Some((n.as_str().to_string(), v.to_str().ok()?.to_string())))
            .collect();
        for (name, value) in &headers {
            if name == "set-cookie" {
                let pair = value.split(';').next().unwrap_or_default();
                if let Some((k, v)) = pair.split_once('=') {
                    let expired = value.to_ascii_lowercase().contains("max-age=0");
                    if expired {
                        self.cookies.remove(k.trim());
                    } else {
                        self.cookies
                            .insert(k.trim().to_string(), v.trim().to_string());
                    }
                }
            }
        }
        let body = response.into_body().read_to_string().unwrap_or_default();
        Page {
            status,
            headers,
            body,
        }
    }

    pub fn get(&mut self, path: &str) -> Page {
        let mut request = self.agent.get(format!("{}{path}", self.base));
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        if let Some(cookie) = self.cookie_header() {
            request = request.header("cookie", cookie);
        }
        let response = request.call().unwrap_or_else(|e| panic!("GET {path}: {e}"));
        self.keep(response)
    }

    /// POSTs `body` with `content_type`.
    pub fn post(&mut self, path: &str, content_type: &str, body: &str) -> Page {
        let mut request = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("content-type", content_type);
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        if let Some(cookie) = self.cookie_header() {
            request = request.header("cookie", cookie);
        }
        let response = request
            .send(body)
            .unwrap_or_else(|e| panic!("POST {path}: {e}"));
        self.keep(response)
    }

    /// The session id of the cookie (`<id>.<mac>`): the id, as in object names `s:<id>`.
    pub fn session_id(&self) -> Option<&str> {
        self.cookies
            .get("edgeseg_sid")
            .map(|v| v.split('.').next().unwrap_or(v))
    }
}

/// A copy of the shipped bundle (`model/`) in `dir`, renamed to `version` and signed
/// with the publisher key of `seed`: what the ML team would publish.
pub fn signed_bundle(dir: &Path, version: &str, seed: [u8; 32]) {
    signed_bundle_with(dir, version, seed, |_| {});
}

/// [`signed_bundle`] with the manifest changed by `edit` before it is signed.
pub fn signed_bundle_with(
    dir: &Path,
    version: &str,
    seed: [u8; 32],
    edit: impl FnOnce(&mut serde_json::Value),
) {
    let _ = fs::remove_dir_all(dir);
    fs::create_dir_all(dir).expect("bundle dir");
    let model = repo_root().join("model");
    for file in [
        "manifest.json",
        "model.onnx",
        "rules.json",
        "page_stats.json",
    ] {
        fs::copy(model.join(file), dir.join(file)).expect("copy bundle file");
    }
    sign_bundle(dir, version, seed, edit);
}

/// Renames the bundle in `dir` to `version`, applies `edit` to its manifest and signs it
/// with the publisher key of `seed` (the manifest's file hashes must already be right).
pub fn sign_bundle(
    dir: &Path,
    version: &str,
    seed: [u8; 32],
    edit: impl FnOnce(&mut serde_json::Value),
) {
    let path = dir.join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(&path).expect("manifest")).expect("manifest JSON");
    manifest["version"] = version.into();
    edit(&mut manifest);
    let bytes = serde_json::to_vec_pretty(&manifest).expect("manifest");
    fs::write(&path, &bytes).expect("write manifest");
    let signature = edgeseg::core::bundle::PublisherKey::from_seed(seed).sign_manifest(&bytes);
    fs::write(dir.join("manifest.sig"), signature).expect("write signature");
}

/// Runs the `edgeseg` CLI against the worker's local KV store; its stdout. Fails with
/// the CLI's stderr when it fails.
pub fn cli(worker: &Worker, args: &[&str]) -> String {
    let state = worker.state_dir.to_string_lossy().into_owned();
    let mut all = args.to_vec();
    all.extend(["--local", "--persist-to", state.as_str()]);
    edgeseg(&all)
}

/// The `model` version a page's `edgeseg-version` header names; `(none)` without one.
pub fn model_version(page: &Page) -> String {
    page.header("edgeseg-version")
        .and_then(|v| v.split("model=\"").nth(1))
        .and_then(|v| v.split('"').next())
        .unwrap_or("(none)")
        .to_string()
}

/// GETs `url` (with a bearer token if given) and parses the JSON body.
pub fn get_json(url: &str, token: Option<&str>) -> serde_json::Value {
    try_get_json(url, token).unwrap_or_else(|e| panic!("{e:#}"))
}

/// [`get_json`] for a poll that may retry: the failure, said, instead of a panic.
pub fn try_get_json(url: &str, token: Option<&str>) -> anyhow::Result<serde_json::Value> {
    use anyhow::Context as _;
    let mut request = client().get(url);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let text = request
        .call()
        .with_context(|| format!("GET {url}"))?
        .into_body()
        .read_to_string()
        .with_context(|| format!("GET {url}: reading the body"))?;
    serde_json::from_str(&text).with_context(|| format!("{url} is not JSON: {text}"))
}
