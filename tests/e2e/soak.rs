//! The concurrency soak, shared by the e2e test (bounded) and `benches/soak.rs` (bigger,
//! with figures): many sessions at once, each browsing, sending beacons, and every
//! other one logging in mid-stream and then firing parallel requests and a beacon with
//! the customer cookie. Afterwards every session and customer object is read through the
//! admin endpoint and its views and hover events compared with what was sent: nothing
//! may be lost or counted twice.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use edgeseg::core::identity::customer_key;
use edgeseg::core::session::SessionState;

use crate::harness::{client, Shopper, Worker};

/// How big a soak is.
#[derive(Debug, Clone)]
pub struct SoakPlan {
    pub sessions: usize,
    /// Client threads, each driving its share of the sessions one after another.
    pub threads: usize,
    /// Requests fired at once right after a login.
    pub parallel: usize,
    /// Varies the number of views and events per session.
    pub seed: u64,
}

/// What was sent, what was found, and how long it took (the bench reports all of it).
#[allow(dead_code)]
#[derive(Debug, Default, Clone)]
pub struct SoakReport {
    pub sessions: usize,
    pub logins: usize,
    pub requests: usize,
    pub views: u64,
    pub events: u64,
    pub lost_views: u64,
    pub extra_views: u64,
    pub lost_events: u64,
    pub extra_events: u64,
    pub failed_requests: usize,
    pub elapsed: Duration,
    /// Latency of every request, microseconds.
    pub latencies_us: Vec<u64>,
}

/// The stored state of an object, through the admin endpoint; `None` when empty.
pub fn stored_with(worker: &Worker, object: &str, token: &str) -> Option<SessionState> {
    let response = client()
        .get(format!("{}/__edgeseg/admin/sessions/{object}", worker.url))
        .header("authorization", format!("Bearer {token}"))
        .call()
        .expect("admin");
    match response.status().as_u16() {
        200 => {
            let text = response.into_body().read_to_string().expect("body");
            Some(SessionState::from_stored(Some(text.as_bytes())).0)
        }
        404 => None,
        other => panic!("admin endpoint answered {other}"),
    }
}

/// The e2e tests' admin token (`tests/e2e/trust.rs`).
pub fn stored(worker: &Worker, object: &str) -> Option<SessionState> {
    stored_with(worker, object, "e2e-admin-token")
}

pub fn views(worker: &Worker, object: &str) -> u32 {
    stored(worker, object).map_or(0, |s| s.visit.total_views())
}

/// What one session should have left behind, in which object.
struct Expected {
    object: String,
    views: u64,
    hovers: u64,
}

/// A hover batch of `n` events.
fn hovers(n: u64) -> String {
    let events = vec![r#"{"type":"hover","product":"301"}"#; n as usize].join(",");
    format!(r#"{{"v":1,"events":[{events}]}}"#)
}

struct Tally {
    requests: AtomicUsize,
    failed: AtomicUsize,
    latencies_us: Mutex<Vec<u64>>,
}

impl Tally {
    fn record(&self, started: Instant, ok: bool) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        if !ok {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
        let us = started.elapsed().as_micros() as u64;
        if let Ok(mut all) = self.latencies_us.lock() {
            all.push(us);
        }
    }
}

fn get(shopper: &mut Shopper, path: &str, tally: &Tally) {
    let started = Instant::now();
    let status = shopper.get(path).status;
    tally.record(started, status == 200);
}

fn beacon(shopper: &mut Shopper, n: u64, tally: &Tally) {
    let started = Instant::now();
    let status = shopper
        .post("/__edgeseg/events", "application/json", &hovers(n))
        .status;
    tally.record(started, status == 202);
}

/// One session's life; returns what it should have left behind.
fn session(worker_url: &str, index: usize, plan: &SoakPlan, key: &str, tally: &Tally) -> Expected {
    let mix = plan.seed.wrapping_mul(6_364_136_223_846_793_005) ^ index as u64;
    let mut shopper = Shopper::new(worker_url);
    let anonymous_views = 2 + mix % 3;
    for i in 0..anonymous_views {
        get(&mut shopper, &format!("/product/{}", 101 + i % 5), tally);
    }
    let first_hovers = 1 + (mix >> 8) % 3;
    beacon(&mut shopper, first_hovers, tally);
    let sid = shopper.session_id().unwrap_or_default().to_string();
    if index % 2 == 1 {
        // Logs in mid-stream, then the page's parallel requests and a beacon carry the
        // customer cookie at once.
        let customer = format!("soak-{}-{index}", plan.seed);
        get(
            &mut shopper,
            &format!("/__origin/login?customer={customer}"),
            tally,
        );
        let later_hovers = 1 + (mix >> 16) % 3;
        thread::scope(|scope| {
            for i in 0..plan.parallel {
                let mut same_browser = Shopper::new(worker_url);
                same_browser.cookies = shopper.cookies.clone();
                scope.spawn(move || {
                    get(
                        &mut same_browser,
                        &format!("/product/{}", 201 + i % 5),
                        tally,
                    )
                });
            }
            let mut same_browser = Shopper::new(worker_url);
            same_browser.cookies = shopper.cookies.clone();
            scope.spawn(move || beacon(&mut same_browser, later_hovers, tally));
        });
        let key = customer_key(&customer, key.as_bytes())
            .expect("a key")
            .expect("an id");
        Expected {
            object: format!("c:{key}"),
            views: anonymous_views + 1 + plan.parallel as u64,
            hovers: first_hovers + later_hovers,
        }
    } else {
        get(&mut shopper, "/category/kitchen", tally);
        Expected {
            object: format!("s:{sid}"),
            views: anonymous_views + 1,
            hovers: first_hovers,
        }
    }
}

/// Runs the soak against `worker` (started with `customer_key` and `admin_token`).
pub fn run(worker: &Worker, plan: &SoakPlan, customer_key: &str, admin_token: &str) -> SoakReport {
    let tally = Tally {
        requests: AtomicUsize::new(0),
        failed: AtomicUsize::new(0),
        latencies_us: Mutex::new(Vec::new()),
    };
    let next = AtomicUsize::new(0);
    let expected = Mutex::new(Vec::new());
    let started = Instant::now();
    thread::scope(|scope| {
        for _ in 0..plan.threads {
            scope.spawn(|| loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= plan.sessions {
                    break;
                }
                let one = session(&worker.url, index, plan, customer_key, &tally);
                expected.lock().expect("expected").push(one);
            });
        }
    });
    let elapsed = started.elapsed();
    let expected = expected.into_inner().expect("expected");
    let mut report = SoakReport {
        sessions: plan.sessions,
        logins: expected
            .iter()
            .filter(|e| e.object.starts_with("c:"))
            .count(),
        requests: tally.requests.load(Ordering::Relaxed),
        failed_requests: tally.failed.load(Ordering::Relaxed),
        elapsed,
        latencies_us: tally.latencies_us.into_inner().unwrap_or_default(),
        ..SoakReport::default()
    };
    for one in &expected {
        let state = stored_with(worker, &one.object, admin_token).unwrap_or_default();
        let (views, hovers) = (
            u64::from(state.visit.total_views()),
            u64::from(state.visit.hovers),
        );
        report.views += one.views;
        report.events += one.hovers;
        report.lost_views += one.views.saturating_sub(views);
        report.extra_views += views.saturating_sub(one.views);
        report.lost_events += one.hovers.saturating_sub(hovers);
        report.extra_events += hovers.saturating_sub(one.hovers);
    }
    report
}
