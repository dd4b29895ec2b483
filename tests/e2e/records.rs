//! Training records in workerd with local R2: OTTO sample visits and replayed UCI visits
//! go through the worker; when each visit ends (a short session timeout) its record is
//! written; `edgeseg logs pull` fetches them; every recorded feature row equals the row
//! `edgeseg replay` computes for the same requests at the times the worker saw them.
//! Consent withheld leaves no record, and no record holds a session id, customer id,
//! IP address or user agent.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use edgeseg::core::identity::customer_key;
use edgeseg::core::records::partition::Day;
use edgeseg::core::records::record::from_jsonl_gz;
use edgeseg::core::records::settings::DEFAULT_MAX_REQUESTS;
use edgeseg::core::records::TrainingRecord;
use edgeseg::core::signals::region_code;
use serde_json::{json, Value};

use crate::harness::CUSTOMER_KEY;
pub use crate::harness::{edgeseg, ADMIN_TOKEN};
use crate::harness::{repo_root, Origin, Shopper, Worker};

const CUSTOMER: &str = "e2e-records-customer-5d1";
/// A visit idle this long has ended: its record is written about a second later.
const SESSION_SECS: u64 = 8;
const UCI_VISITS: usize = 200;
const WITHHELD_PATH: &str = "/product/consent-withheld-check";

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The store config of the test's worker: a short session timeout and a large holdout,
/// so both arms of lift have visits. Replay reads the same file.
fn store_config() -> Value {
    let mut config: Value =
        serde_json::from_str(include_str!("../../src/core/default_store.json")).expect("JSON");
    config["ttl"]["session_secs"] = SESSION_SECS.into();
    config["holdout"]["share"] = 0.3.into();
    config
}

pub fn start() -> (Origin, Worker) {
    start_with(&[])
}

/// [`start`] with more worker variables.
pub fn start_with(more: &[(&str, &str)]) -> (Origin, Worker) {
    let config = store_config().to_string();
    let origin = Origin::start();
    let worker = Worker::start(&origin.url, &vars(&config, more));
    (origin, worker)
}

/// The test's worker started again, with the same `more` vars, on the storage a killed
/// one left (`Worker::kill`). (The records bench uses it, not the tests.)
#[allow(dead_code)]
pub fn restart_with(state_dir: PathBuf, origin: &Origin, more: &[(&str, &str)]) -> Worker {
    let config = store_config().to_string();
    Worker::restart(state_dir, &origin.url, &vars(&config, more))
}

fn vars<'a>(config: &'a str, more: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut vars = vec![
        ("EDGESEG_ADMIN_TOKEN", ADMIN_TOKEN),
        ("EDGESEG_CUSTOMER_KEY", CUSTOMER_KEY),
        ("EDGESEG_STORE_CONFIG", config),
    ];
    vars.extend_from_slice(more);
    vars
}

pub fn data_file(relative: &str) -> String {
    let root =
        std::env::var_os("EDGESEG_DATA").map_or_else(|| repo_root().join("data"), PathBuf::from);
    root.join(relative).to_string_lossy().into_owned()
}

/// Visits as recordings (contract section 6), from `edgeseg replay --recordings`.
pub fn recordings(source: &[&str]) -> Vec<Value> {
    let mut args = vec!["replay", "--recordings"];
    args.extend_from_slice(source);
    edgeseg(&args)
        .lines()
        .map(|line| serde_json::from_str(line).expect("a recording"))
        .collect()
}

/// One step the worker took in: a request (its recording entry), or an accepted beacon.
enum Step {
    Request(Value),
    Beacon(Value),
}

/// What one visit sent and when, as the test saw it.
pub struct Sent {
    /// In the order sent; refused beacons (429) left out, as the worker left them.
    steps: Vec<Step>,
    /// Both ends of the visit on this machine's clock (the worker's is the same one).
    window: (i64, i64),
    ordered: bool,
    session: Option<String>,
}

impl Sent {
    fn requests(&self) -> impl Iterator<Item = &Value> {
        self.steps.iter().filter_map(|step| match step {
            Step::Request(entry) => Some(entry),
            Step::Beacon(_) => None,
        })
    }

    fn beacons(&self) -> usize {
        self.steps
            .iter()
            .filter(|s| matches!(s, Step::Beacon(_)))
            .count()
    }
}

/// Sends one recording's requests and beacons through the worker, then the order
/// confirmation page when the visit ordered.
pub fn send(base: &str, recording: &Value) -> Sent {
    let mut shopper = Shopper::new(base);
    let ordered = recording["ordered"].as_bool() == Some(true);
    let mut entries: Vec<Value> = recording["requests"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if ordered {
        entries.push(json!({"path": "/checkout/complete"}));
    }
    let started = now_ms();
    let mut steps = Vec::new();
    for entry in entries {
        if let Some(beacon) = entry.get("beacon") {
            let page = shopper.post("/__edgeseg/events", "application/json", &beacon.to_string());
            if page.status == 202 {
                steps.push(Step::Beacon(beacon.clone()));
            }
            continue;
        }
        shopper
            .headers
            .retain(|(name, _)| name != "user-agent" && name != "referer");
        if let Some(ua) = entry["user_agent"].as_str() {
            shopper.headers.push(("user-agent".into(), ua.into()));
        }
        if let Some(referrer) = entry["referrer"].as_str() {
            shopper.headers.push(("referer".into(), referrer.into()));
        }
        let path = entry["path"].as_str().expect("a path");
        let target = match entry["query"].as_str() {
            Some(query) if !query.is_empty() => format!("{path}?{query}"),
            _ => path.to_string(),
        };
        let page = match entry["method"].as_str() {
            Some("POST") => shopper.post(
                &target,
                "application/x-www-form-urlencoded",
                entry["form"].as_str().unwrap_or_default(),
            ),
            _ => shopper.get(&target),
        };
        assert!(page.status < 500, "{target}: {}", page.status);
        steps.push(Step::Request(entry));
    }
    Sent {
        steps,
        window: (started, now_ms()),
        ordered,
        session: shopper.session_id().map(str::to_string),
    }
}

/// Lists the bucket's record objects of today and yesterday through the admin endpoint.
pub fn listed(worker: &Worker) -> usize {
    try_listed(worker).unwrap_or_else(|e| panic!("{e:#}"))
}

/// [`listed`], or why the listing failed.
fn try_listed(worker: &Worker) -> anyhow::Result<usize> {
    let today = Day::of_ms(now_ms());
    let url = format!(
        "{}/__edgeseg/admin/records?from={}&to={}",
        worker.url,
        today.plus(-1),
        today
    );
    let listing = crate::harness::try_get_json(&url, Some(ADMIN_TOKEN))?;
    Ok(listing.as_array().map_or(0, Vec::len))
}

/// The record objects of one day, through the admin endpoint.
fn listed_on(worker: &Worker, day: &str) -> usize {
    let url = format!("{}/__edgeseg/admin/records?from={day}&to={day}", worker.url);
    crate::harness::get_json(&url, Some(ADMIN_TOKEN))
        .as_array()
        .map_or(0, Vec::len)
}

/// Retention: a record older than `records.retention_days` (90) goes at the daily
/// sweep (the cron trigger, fired through wrangler's local scheduled handler), and
/// the recent ones stay.
fn assert_the_sweep_keeps_only_recent_records(worker: &Worker, recent: usize, sample: &Path) {
    let old_day = "2020-01-01";
    let key = format!("edgeseg-records/records/day={old_day}/00.jsonl.gz");
    let file = sample.to_string_lossy();
    crate::harness::wrangler_local(worker, &["r2", "object", "put", &key, "--file", &file]);
    assert_eq!(listed_on(worker, old_day), 1);
    let fired = crate::harness::client()
        .get(format!("{}/cdn-cgi/handler/scheduled", worker.url))
        .call()
        .expect("the scheduled handler");
    assert!(fired.status().as_u16() < 300, "{}", fired.status());
    let deadline = Instant::now() + Duration::from_secs(20);
    while listed_on(worker, old_day) > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(300));
    }
    assert_eq!(listed_on(worker, old_day), 0, "the old day is swept");
    assert_eq!(listed(worker), recent, "the recent records stay");
}

/// The files under `dir`.
fn record_files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(&folder)
            .expect("read pulled dir")
            .flatten()
        {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files
}

/// Every record under `dir` (what `edgeseg logs pull` wrote), with its file's text.
pub fn pulled(dir: &Path) -> Vec<(TrainingRecord, String)> {
    let mut records = Vec::new();
    for file in record_files_under(dir) {
        let bytes = std::fs::read(&file).expect("read record");
        let mut text = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut text)
            .expect("gzip");
        for record in from_jsonl_gz(&bytes).expect("records") {
            records.push((record, text.clone()));
        }
    }
    records
}

/// The continent the platform reported for the worker's requests, from the `region`
/// it recorded (the test cannot set it: wrangler's local `cf` object does).
fn continent_of(record: &TrainingRecord) -> Option<&'static str> {
    let region = record.requests[0].features["region"]
        .as_f64()
        .expect("region");
    ["EU", "NA", "SA", "AS", "AF", "OC", "AN"]
        .into_iter()
        .find(|c| f64::from(region_code(Some(c))) == region)
}

/// The visit as the worker saw it: the requests sent, at the times the record holds,
/// with the worker's host and continent; the accepted beacons at their times.
fn as_seen(sent: &Sent, record: &TrainingRecord) -> Value {
    let mut request_times = record.requests.iter().map(|r| r.at_ms);
    let mut beacon_times = record.beacons_ms.iter();
    let continent = continent_of(record);
    // Past the cap the record has no times; the rows it has need only what came before.
    let requests: Vec<Value> = sent
        .steps
        .iter()
        .map_while(|step| match step {
            Step::Request(entry) => {
                let mut request = entry.clone();
                request["at_ms"] = request_times.next()?.into();
                request["host"] = "127.0.0.1".into();
                if let Some(object) = request.as_object_mut() {
                    object.remove("continent");
                }
                if let Some(c) = continent {
                    request["continent"] = c.into();
                }
                Some(request)
            }
            Step::Beacon(body) => Some(json!({
                "at_ms": *beacon_times.next()?,
                "beacon": body,
            })),
        })
        .collect();
    json!({ "requests": requests })
}

/// `edgeseg replay` of `visits`: per visit (1-based), its rows by request count.
fn replayed(visits: &[Value], dir: &Path) -> BTreeMap<(usize, usize), BTreeMap<String, String>> {
    let sessions = dir.join("as-seen.jsonl");
    let text: String = visits.iter().map(|v| format!("{v}\n")).collect();
    std::fs::write(&sessions, text).expect("write sessions");
    let out = dir.join("replayed.csv");
    let stats = repo_root().join("model/page_stats.json");
    let config = dir.join("store-config.json");
    std::fs::write(&config, store_config().to_string()).expect("write the config");
    edgeseg(&[
        "replay",
        "--config",
        &config.to_string_lossy(),
        "--sessions",
        &sessions.to_string_lossy(),
        "--page-stats",
        &stats.to_string_lossy(),
        "--out",
        &out.to_string_lossy(),
    ]);
    let csv = std::fs::read_to_string(&out).expect("replay CSV");
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().expect("a header").split(',').collect();
    let mut rows = BTreeMap::new();
    for line in lines {
        let cells: Vec<&str> = line.split(',').collect();
        let row: BTreeMap<String, String> = header
            .iter()
            .zip(&cells)
            .map(|(h, c)| (h.to_string(), c.to_string()))
            .collect();
        if row["end"] == "1" {
            continue;
        }
        let visit: usize = row["visit"].parse().expect("visit");
        let requests: usize = row["requests"].parse().expect("requests");
        rows.insert((visit, requests), row);
    }
    rows
}

/// Whether a recorded feature value and a replayed CSV cell are the same value.
fn same(recorded: &Value, cell: &str) -> bool {
    match recorded {
        Value::Number(n) => cell.parse::<f64>().ok() == n.as_f64(),
        Value::String(s) => s == cell,
        Value::Null => cell.is_empty(),
        _ => false,
    }
}

#[test]
fn visits_leave_one_record_each_equal_to_the_replay_and_nothing_identifying() {
    let (_origin, worker) = start();
    let scratch = worker.state_dir.parent().expect("scratch").join("records");
    std::fs::create_dir_all(&scratch).expect("scratch dir");

    let mut visits = recordings(&["--otto", &data_file("otto-sample/sessions.jsonl")]);
    let otto = visits.len();
    let uci = recordings(&[
        "--uci",
        &data_file("uci-online-shoppers/online_shoppers_intention.csv"),
    ]);
    visits.extend(uci.into_iter().take(UCI_VISITS));
    assert!(otto > 100 && visits.len() == otto + UCI_VISITS);

    // One at a time: each record is matched to its visit by the time it was sent.
    let sent: Vec<Sent> = visits.iter().map(|v| send(&worker.url, v)).collect();

    // A shopper who withholds consent, and one who logs in as a customer.
    let mut declines = Shopper::new(&worker.url);
    declines.headers.push(("sec-gpc".into(), "1".into()));
    for _ in 0..3 {
        assert!(declines.get(WITHHELD_PATH).status < 500);
    }
    let mut customer = Shopper::new(&worker.url);
    customer.get(&format!("/__origin/login?customer={CUSTOMER}"));
    for path in ["/category/kitchen", "/product/101", "/product/102"] {
        customer.get(path);
    }
    let mut session_ids: Vec<String> = sent.iter().filter_map(|s| s.session.clone()).collect();
    session_ids.extend(customer.session_id().map(str::to_string));
    assert!(
        declines.session_id().is_none(),
        "no session without consent"
    );

    // Every visit (and the customer's) ends SESSION_SECS after its last request.
    let expected = sent.len() + 1;
    // A listing that times out while hundreds of alarms write is polled again.
    let deadline = Instant::now() + Duration::from_secs(SESSION_SECS + 240);
    let mut count = 0;
    while Instant::now() < deadline {
        match try_listed(&worker) {
            Ok(n) if n >= expected => {
                count = n;
                break;
            }
            Ok(n) => count = n,
            Err(e) => eprintln!("records: listing again after: {e:#}"),
        }
        std::thread::sleep(Duration::from_secs(2));
    }
    assert_eq!(
        count, expected,
        "one record object per visit, none lost or duplicated"
    );

    let today = Day::of_ms(now_ms());
    let pull_dir = scratch.join("pulled");
    let said = edgeseg(&[
        "logs",
        "pull",
        "--url",
        &worker.url,
        "--token",
        ADMIN_TOKEN,
        "--from",
        &today.plus(-1).to_string(),
        "--to",
        &today.to_string(),
        "--out",
        &pull_dir.to_string_lossy(),
    ]);
    assert!(
        said.contains(&format!("{expected} record objects")),
        "{said}"
    );
    let records = pulled(&pull_dir);
    assert_eq!(records.len(), expected);

    // Nothing that identifies anyone.
    let customer_hash = customer_key(CUSTOMER, CUSTOMER_KEY.as_bytes())
        .expect("a customer key")
        .expect("a customer id");
    for (record, text) in &records {
        for needle in [
            CUSTOMER,
            customer_hash.as_str(),
            "Mozilla",
            "127.0.0.1",
            WITHHELD_PATH,
        ] {
            assert!(!text.contains(needle), "a record holds {needle:?}: {text}");
        }
        for sid in &session_ids {
            assert!(!text.contains(sid.as_str()), "a record holds a session id");
        }
        assert!(record.requests.iter().all(|r| !r.path.contains('?')));
    }

    // Match each record to the visit being sent when its first request was seen.
    let mut matched: Vec<(&Sent, &TrainingRecord)> = Vec::new();
    let mut owners = std::collections::BTreeSet::new();
    let customer_started = sent.last().map_or(i64::MAX, |s| s.window.1);
    for (record, _) in &records {
        let first = record.requests[0].at_ms;
        if first > customer_started {
            continue; // the customer's visit, sent after all the others
        }
        let owner = sent
            .iter()
            .position(|s| s.window.0 <= first && first <= s.window.1)
            .unwrap_or_else(|| panic!("a record starting at {first} matches no visit"));
        assert!(owners.insert(owner), "visit {owner} has two records");
        matched.push((&sent[owner], record));
    }
    assert_eq!(matched.len(), sent.len(), "every visit has its record");
    matched.sort_by_key(|(s, _)| s.window.0);
    let mut holdout = 0;
    for (sent, record) in &matched {
        let paths: Vec<&str> = sent
            .requests()
            .map(|r| r["path"].as_str().unwrap_or_default())
            .collect();
        let recorded: Vec<&str> = record.requests.iter().map(|r| r.path.as_str()).collect();
        let kept = paths.len().min(DEFAULT_MAX_REQUESTS);
        assert_eq!(
            recorded,
            paths[..kept],
            "the record's requests are the visit's, in order"
        );
        assert_eq!(
            record.truncated as usize,
            paths.len() - kept,
            "past the cap: counted"
        );
        assert_eq!(
            record.beacons_ms.len(),
            sent.beacons().min(DEFAULT_MAX_REQUESTS)
        );
        assert_eq!(record.outcome.ordered, sent.ordered);
        holdout += usize::from(record.in_holdout());
    }
    assert!(
        holdout > 0 && holdout < matched.len(),
        "both arms: {holdout} holdout visits"
    );

    // Every recorded feature row equals the replay of the visit as the worker saw it.
    let seen: Vec<Value> = matched.iter().map(|(s, r)| as_seen(s, r)).collect();
    let rows = replayed(&seen, &scratch);
    let (mut compared, mut differing) = (0usize, Vec::new());
    for (index, (_, record)) in matched.iter().enumerate() {
        for (n, entry) in record.requests.iter().enumerate() {
            let row = rows
                .get(&(index + 1, n + 1))
                .unwrap_or_else(|| panic!("visit {} has no replayed row {}", index + 1, n + 1));
            compared += 1;
            for (name, cell) in row {
                if ["visit", "variant", "requests", "end", "ordered"].contains(&name.as_str()) {
                    continue;
                }
                let value = entry.features.get(name).cloned().unwrap_or(Value::Null);
                if !same(&value, cell) {
                    differing.push(format!(
                        "visit {} row {}: {name} recorded {value}, replayed {cell}",
                        index + 1,
                        n + 1
                    ));
                }
            }
        }
    }
    assert!(compared > 1_000, "{compared} rows compared");
    assert!(
        differing.is_empty(),
        "{} values differ in {compared} rows; first: {:?}",
        differing.len(),
        &differing[..differing.len().min(10)]
    );

    let sample = record_files_under(&pull_dir)
        .into_iter()
        .next()
        .expect("a record file");
    assert_the_sweep_keeps_only_recent_records(&worker, expected, &sample);

    // Lift runs on what was pulled.
    let lift = edgeseg(&["lift", "--records", &pull_dir.to_string_lossy(), "--json"]);
    let lift: Value = serde_json::from_str(&lift).expect("lift JSON");
    assert_eq!(lift[0]["segment"], "(all)");
    assert_eq!(
        lift[0]["personalised"]["visits"].as_u64().unwrap_or(0)
            + lift[0]["holdout"]["visits"].as_u64().unwrap_or(0),
        expected as u64
    );
}
