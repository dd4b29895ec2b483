//! What the store's team sees: after a replayed load, the dashboard (read from its DOM in
//! headless Chromium) shows exactly what the harness received; `edgeseg explain`
//! reproduces the headers of recorded classifications; nothing admin answers without
//! the token.

use std::collections::BTreeMap;
use std::process::Command;

use serde_json::Value;

use crate::harness::{client, repo_root, Origin, Worker};
use crate::load::{replay, Received, Rng, Shift};

const ADMIN_TOKEN: &str = "e2e-admin-token";
const VISITS: usize = 1_000;

fn start() -> (Origin, Worker) {
    let origin = Origin::start();
    let worker = Worker::start(
        &origin.url,
        &[
            ("EDGESEG_ADMIN_TOKEN", ADMIN_TOKEN),
            ("EDGESEG_STATS_FLUSH_SECS", "1"),
        ],
    );
    (origin, worker)
}

/// The dashboard's DOM as `dashboard_dom.mjs` reads it, with a screenshot beside the
/// worker's state.
fn dashboard_dom(worker: &Worker) -> Value {
    let screenshot = worker.state_dir.with_file_name("dashboard.png");
    let output = Command::new("node")
        .arg("tests/e2e/dashboard_dom.mjs")
        .arg(&worker.url)
        .arg(ADMIN_TOKEN)
        .arg(&screenshot)
        .current_dir(repo_root())
        .output()
        .expect("run node");
    assert!(
        output.status.success(),
        "reading the dashboard in Chromium failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("dashboard_dom prints JSON")
}

fn dom_counts(dom: &Value, kind: &str) -> BTreeMap<String, u64> {
    dom["counts"]
        .as_array()
        .expect("counts")
        .iter()
        .filter(|entry| entry[0] == kind)
        .map(|entry| {
            let key = entry[1].as_str().expect("key").to_string();
            (key, entry[2].as_u64().expect("a count"))
        })
        .collect()
}

fn status_of(request: ureq::RequestBuilder<ureq::typestate::WithoutBody>) -> (u16, String) {
    let mut response = request.call().expect("request");
    let status = response.status().as_u16();
    let body = response.body_mut().read_to_string().unwrap_or_default();
    (status, body)
}

fn assert_admin_refuses_without_the_token(worker: &Worker, some_id: &str) {
    let paths = [
        "/__edgeseg/admin/dashboard.json".to_string(),
        "/__edgeseg/admin/drift".to_string(),
        format!("/__edgeseg/admin/explain/{some_id}"),
        "/__edgeseg/admin/audit".to_string(),
    ];
    let agent = client();
    for path in &paths {
        let url = format!("{}{path}", worker.url);
        for (what, request) in [
            ("no token", agent.get(&url)),
            (
                "a wrong bearer",
                agent
                    .get(&url)
                    .header("authorization", "Bearer not-the-token"),
            ),
            (
                "a forged cookie",
                agent.get(&url).header("cookie", "edgeseg_admin=0123abcd"),
            ),
        ] {
            let (status, body) = status_of(request);
            assert_eq!(status, 401, "{path} with {what} answered {status}: {body}");
            assert!(!body.contains("\"totals\""), "{path} leaked data: {body}");
        }
    }
    // The page itself: only the login form, and a wrong token sets no cookie.
    let (status, body) = status_of(agent.get(format!("{}/__edgeseg/dashboard", worker.url)));
    assert_eq!(status, 401);
    assert!(body.contains("name=\"token\"") && !body.contains("id=\"tiles\""));
    let response = agent
        .post(format!("{}/__edgeseg/dashboard/login", worker.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .send("token=guess")
        .expect("login");
    assert_eq!(response.status().as_u16(), 401);
    assert!(response.headers().get("set-cookie").is_none());
    // The right token, once: a cookie that cannot be read by scripts or sent cross-site.
    let response = agent
        .post(format!("{}/__edgeseg/dashboard/login", worker.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .send(format!("token={ADMIN_TOKEN}"))
        .expect("login");
    assert_eq!(response.status().as_u16(), 303);
    let cookie = response
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .expect("a cookie")
        .to_string();
    for attribute in ["HttpOnly", "Secure", "SameSite=Strict"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(
        !cookie.contains(ADMIN_TOKEN),
        "the cookie carries the token: {cookie}"
    );
}

/// `edgeseg explain` on a sample of the load's classifications: the replayed headers
/// are the received ones, byte for byte.
fn assert_explain_reproduces(worker: &Worker, received: &Received, sample: usize) {
    let mut rng = Rng::new(99);
    let mut picked = std::collections::BTreeSet::new();
    while picked.len() < sample.min(received.decisions.len()) {
        picked.insert(rng.below(received.decisions.len() as u64) as usize);
    }
    for index in picked {
        let (id, headers) = &received.decisions[index];
        let output = Command::new(env!("CARGO_BIN_EXE_edgeseg"))
            .args(["explain", id, "--url", &worker.url, "--token", ADMIN_TOKEN])
            .args(["--model", "model", "--json"])
            .current_dir(repo_root())
            .output()
            .expect("run edgeseg explain");
        assert!(
            output.status.success(),
            "edgeseg explain {id} failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let answer: Value = serde_json::from_slice(&output.stdout).expect("JSON");
        let replayed: Vec<(String, String)> =
            serde_json::from_value(answer["replayed"].clone()).expect("header pairs");
        assert_eq!(&replayed, headers, "decision {id}");
    }
}

#[test]
fn the_dashboard_shows_what_the_shoppers_got_and_explain_replays_it() {
    let (_origin, worker) = start();
    let received = replay(&worker.url, 2026, VISITS, Shift::default());
    assert!(received.tracked >= VISITS as u64, "{received:?}");
    for reason in ["MODEL", "CONSENT_WITHHELD", "HOLDOUT"] {
        assert!(
            received.reasons.contains_key(reason),
            "{:?}",
            received.reasons
        );
    }
    assert!(received.segments.len() >= 2, "{:?}", received.segments);

    // The flush runs after the responses: give the last ones a moment, then compare.
    let mut dom = Value::Null;
    for _ in 0..10 {
        dom = dashboard_dom(&worker);
        if dom["tiles"]["requests"].as_u64() == Some(received.tracked) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
    assert_eq!(dom["tiles"]["requests"].as_u64(), Some(received.tracked));
    assert_eq!(dom_counts(&dom, "reason"), received.reasons);
    assert_eq!(dom_counts(&dom, "segment"), received.segments);
    assert_eq!(dom_counts(&dom, "rule"), received.rules);

    assert_explain_reproduces(&worker, &received, 100);
    let (some_id, _) = &received.decisions[0];
    assert_admin_refuses_without_the_token(&worker, some_id);
}
