//! The edge pipeline in workerd: sessions, consent, holdout, Durable Object state,
//! beacons, segment headers and fail-open.

use edgeseg::core::identity::customer_key;
use edgeseg::core::session::SessionState;
use serde_json::Value;

use crate::harness::{
    client, get_json, start_joining_customers as start, Origin, Page, Shopper, Worker, ADMIN_TOKEN,
    CUSTOMER_KEY,
};

/// The stored state of a session (`s:<sid>`) or customer (`c:<key>`) object, through
/// the authenticated admin endpoint; `None` when nothing is stored.
fn stored(worker: &Worker, object: &str) -> Option<SessionState> {
    crate::soak::stored_with(worker, object, ADMIN_TOKEN)
}

fn views(worker: &Worker, object: &str) -> u32 {
    stored(worker, object).map_or(0, |s| s.visit.total_views())
}

fn reason(page: &Page) -> &str {
    page.header("edgeseg-reason").unwrap_or("(none)")
}

/// The token before the first `;` of `edgeseg-segment`.
fn segment(page: &Page) -> &str {
    page.header("edgeseg-segment")
        .and_then(|v| v.split(';').next())
        .unwrap_or("(none)")
}

fn intent(page: &Page) -> f64 {
    page.header("edgeseg-segment")
        .and_then(|v| v.split(";intent=").nth(1))
        .and_then(|v| v.split(';').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN)
}

#[test]
fn a_session_evolves_and_the_origin_sees_what_the_client_sees() {
    let (_origin, worker) = start();
    let mut shopper = Shopper::new(&worker.url);

    let first = shopper.get("/");
    assert_eq!(first.status, 200);
    let sid = shopper.session_id().expect("a session cookie").to_string();
    let cookie = first
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("edgeseg_sid="))
        .expect("edgeseg_sid set");
    for attribute in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert_eq!(reason(&first), "MODEL", "{:?}", first.headers);
    assert!(first
        .header("edgeseg-version")
        .is_some_and(|v| v.contains("model=")));

    for path in [
        "/category/kitchen?sort=price_asc",
        "/product/101",
        "/product/102",
        "/search?q=kettle",
        "/product/103",
    ] {
        assert_eq!(shopper.get(path).status, 200, "{path}");
    }
    let added = shopper.post(
        "/cart/add",
        "application/x-www-form-urlencoded",
        "product=103",
    );
    assert!(added.status < 400, "cart add: {}", added.status);
    let cart = shopper.get("/cart");
    let rules = cart.header("edgeseg-rules").unwrap_or_default();
    assert!(rules.contains("cart_abandoner="), "rules: {rules}");
    assert!(rules.contains("cart_adds gte 1 [1]"), "rules: {rules}");
    assert!(
        cart.header("edgeseg-signals").is_some(),
        "{:?}",
        cart.headers
    );
    assert_ne!(
        first.header("edgeseg-rules"),
        cart.header("edgeseg-rules"),
        "the headers evolve with the session"
    );

    // The state lives in the session's Durable Object: 7 page views (the cart add is an event).
    let state = stored(&worker, &format!("s:{sid}")).expect("state stored");
    assert_eq!(state.visit.total_views(), 7);
    assert_eq!(state.visit.cart_adds, 1);

    // The origin received the same headers the client got back.
    let echo = shopper.get("/__origin/echo");
    let received: Value = serde_json::from_str(&echo.body).expect("echo JSON");
    for name in [
        "edgeseg-reason",
        "edgeseg-segment",
        "edgeseg-rules",
        "edgeseg-version",
    ] {
        assert_eq!(
            received["headers"][name].as_str(),
            echo.header(name),
            "{name} differs between origin and client"
        );
    }
}

#[test]
fn spoofed_headers_never_reach_the_origin_or_survive_to_the_client() {
    let (_origin, worker) = start();
    let mut shopper = Shopper::new(&worker.url);
    shopper
        .headers
        .push(("edgeseg-segment".into(), "vip;confidence=1".into()));
    shopper
        .headers
        .push(("Edgeseg-Reason".into(), "MODEL".into()));
    shopper
        .headers
        .push(("edgeseg-anything".into(), "x".into()));
    let echo = shopper.get("/__origin/echo");
    let received: Value = serde_json::from_str(&echo.body).expect("echo JSON");
    assert!(received["headers"].get("edgeseg-anything").is_none());
    let segment_seen = received["headers"]["edgeseg-segment"]
        .as_str()
        .unwrap_or("");
    assert!(!segment_seen.starts_with("vip"), "{segment_seen}");
    assert!(!segment(&echo).starts_with("vip"));
}

#[test]
fn a_login_joins_sessions_across_devices() {
    let (_origin, worker) = start();
    let customer = customer_key("alice", CUSTOMER_KEY.as_bytes())
        .unwrap()
        .expect("a key");
    let customer_object = format!("c:{customer}");

    let mut laptop = Shopper::new(&worker.url);
    for path in ["/", "/product/101", "/product/102"] {
        laptop.get(path);
    }
    let laptop_sid = laptop.session_id().expect("sid").to_string();
    assert_eq!(views(&worker, &format!("s:{laptop_sid}")), 3);
    laptop.get("/__origin/login?customer=alice");
    laptop.get("/product/103");
    // The laptop's session was merged into the customer's state and is gone.
    assert_eq!(views(&worker, &format!("s:{laptop_sid}")), 0);
    let after_laptop = views(&worker, &customer_object);
    assert!(after_laptop >= 5, "customer state has {after_laptop} views");

    let mut phone = Shopper::new(&worker.url);
    phone.get("/category/audio");
    phone.get("/__origin/login?customer=alice");
    let on_phone = phone.get("/product/104");
    let state = stored(&worker, &customer_object).expect("customer state");
    assert!(state.is_customer);
    assert_eq!(state.visit.total_views(), after_laptop + 3);
    let rules = on_phone.header("edgeseg-rules").unwrap_or_default();
    assert!(rules.contains("returning_customer="), "{rules}");
}

#[test]
fn without_consent_nothing_is_stored_and_the_page_is_still_served() {
    let (_origin, worker) = start();

    // Global Privacy Control: no cookie, no state, still a page.
    let mut private = Shopper::new(&worker.url);
    private.headers.push(("sec-gpc".into(), "1".into()));
    let files_before = worker.durable_object_files();
    for path in ["/", "/product/101", "/cart"] {
        let page = private.get(path);
        assert_eq!(page.status, 200);
        assert_eq!(reason(&page), "CONSENT_WITHHELD");
        assert!(page
            .set_cookies()
            .iter()
            .all(|c| !c.starts_with("edgeseg_")));
    }
    assert!(private.session_id().is_none());
    assert_eq!(
        worker.durable_object_files(),
        files_before,
        "no Durable Object storage was created"
    );

    // A shopper who opts out keeps the state already there, and nothing more is added.
    let mut shopper = Shopper::new(&worker.url);
    shopper.get("/");
    shopper.get("/product/101");
    let sid = shopper.session_id().expect("sid").to_string();
    assert_eq!(views(&worker, &format!("s:{sid}")), 2);
    shopper.cookies.insert("consent".into(), "no".into());
    for path in ["/product/102", "/product/103"] {
        let page = shopper.get(path);
        assert_eq!(page.status, 200);
        assert_eq!(reason(&page), "CONSENT_WITHHELD");
    }
    assert_eq!(views(&worker, &format!("s:{sid}")), 2);
    let beacon = shopper.post(
        "/__edgeseg/events",
        "application/json",
        r#"{"v":1,"events":[{"type":"hover","product":"102"}]}"#,
    );
    assert_eq!(beacon.status, 204);
    assert_eq!(
        stored(&worker, &format!("s:{sid}")).map(|s| s.visit.hovers),
        Some(0)
    );
}

#[test]
fn the_holdout_share_holds_over_2000_sessions() {
    let origin = Origin::start();
    let mut config: Value =
        serde_json::from_str(include_str!("../../src/core/default_store.json")).unwrap();
    config["holdout"]["share"] = 0.3.into();
    config["holdout"]["salt"] = "e2e-holdout".into();
    let worker = Worker::start(
        &origin.url,
        &[("EDGESEG_STORE_CONFIG", &config.to_string())],
    );
    let agent = client();
    let sessions = 2000;
    let mut held = 0;
    for _ in 0..sessions {
        let response = agent
            .get(format!("{}/product/101", worker.url))
            .header("user-agent", crate::harness::DESKTOP_UA)
            .call()
            .expect("request");
        let reason = response
            .headers()
            .get("edgeseg-reason")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        if reason == "HOLDOUT" {
            held += 1;
            assert!(response.headers().get("edgeseg-segment").is_none());
            assert!(response.headers().get("edgeseg-signals").is_none());
        } else {
            assert_eq!(reason, "MODEL");
        }
    }
    let share = held as f64 / sessions as f64;
    assert!((0.27..=0.33).contains(&share), "holdout share {share}");
}

#[test]
fn bad_beacons_are_rejected_with_clear_errors_and_change_nothing() {
    let (_origin, worker) = start();
    let mut shopper = Shopper::new(&worker.url);
    shopper.get("/product/101");
    let sid = shopper.session_id().expect("sid").to_string();
    let object = format!("s:{sid}");
    let before = stored(&worker, &object).expect("state");

    let oversized = format!(
        r#"{{"v":1,"events":[{{"type":"hover","product":"{}"}}]}}"#,
        "x".repeat(9000)
    );
    let too_many = format!(
        r#"{{"v":1,"events":[{}]}}"#,
        vec![r#"{"type":"hover","product":"101"}"#; 51].join(",")
    );
    let cases: [(&str, u16, &str); 6] = [
        ("not json", 400, "bad_json"),
        (
            r#"{"v":1,"events":[{"type":"teleport"}]}"#,
            400,
            "events[0]",
        ),
        (
            r#"{"v":1,"events":[{"type":"scroll","page":"/x","depth":101}]}"#,
            400,
            "depth",
        ),
        (r#"{"v":2,"events":[]}"#, 400, "v"),
        (&too_many, 400, "50"),
        (&oversized, 413, "too_large"),
    ];
    for (body, status, mentions) in cases {
        let page = shopper.post("/__edgeseg/events", "application/json", body);
        assert_eq!(
            page.status,
            status,
            "{}: {}",
            &body[..body.len().min(60)],
            page.body
        );
        let error: Value = serde_json::from_str(&page.body).expect("a JSON error");
        assert!(error["error"].is_string(), "{}", page.body);
        assert!(
            page.body.contains(mentions),
            "error {} should mention {mentions}",
            page.body
        );
    }
    assert_eq!(
        stored(&worker, &object).expect("state"),
        before,
        "nothing changed"
    );

    // A good batch is counted.
    let ok = shopper.post(
        "/__edgeseg/events",
        "text/plain",
        r#"{"v":1,"events":[{"type":"scroll","page":"/product/101","depth":80},{"type":"compare","product":"101"}]}"#,
    );
    assert_eq!(ok.status, 202, "{}", ok.body);
    let after = stored(&worker, &object).expect("state");
    assert_eq!(after.visit.max_scroll, 80);
    assert_eq!(after.visit.compares, 1);

    // The script the store includes is served.
    let script = shopper.get("/__edgeseg/beacon.js");
    assert_eq!(script.status, 200);
    assert!(script.body.contains("/__edgeseg/events"));
}

#[test]
fn beacons_are_rate_limited_per_session() {
    let (_origin, worker) = start();
    let mut shopper = Shopper::new(&worker.url);
    shopper.get("/product/101");
    let batch = r#"{"v":1,"events":[{"type":"hover","product":"101"}]}"#;
    let statuses: Vec<u16> = (0..65)
        .map(|_| {
            shopper
                .post("/__edgeseg/events", "application/json", batch)
                .status
        })
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 202).count(),
        60,
        "{statuses:?}"
    );
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 5);
}

#[test]
fn a_broken_config_fails_open() {
    let origin = Origin::start();
    let worker = Worker::start(
        &origin.url,
        &[
            ("EDGESEG_STORE_CONFIG", "{not json"),
            ("EDGESEG_ADMIN_TOKEN", ADMIN_TOKEN),
        ],
    );
    let mut shopper = Shopper::new(&worker.url);
    let page = shopper.get("/product/101");
    assert_eq!(page.status, 200, "the store is still served");
    assert!(
        page.body.contains("skillet"),
        "the origin's page came through"
    );
    assert_eq!(reason(&page), "ERROR");
    assert_eq!(page.header("edgeseg-error"), Some("config_invalid"));
    let public: Value = serde_json::from_str(&shopper.get("/__edgeseg/health").body).unwrap();
    assert_eq!(public["ok"], false);
    let health = get_json(
        &format!("{}/__edgeseg/health", worker.url),
        Some(ADMIN_TOKEN),
    );
    assert_eq!(health["failures"]["config_invalid"]["count"], 1);
    assert!(
        worker.wait_for_log("config_invalid"),
        "the failure is logged"
    );
}

#[test]
fn failing_session_storage_fails_open() {
    let origin = Origin::start();
    let worker =
        Worker::start_with_broken_sessions(&origin.url, &[("EDGESEG_ADMIN_TOKEN", ADMIN_TOKEN)]);
    let mut shopper = Shopper::new(&worker.url);
    let page = shopper.get("/product/101");
    assert_eq!(page.status, 200, "the store is still served");
    assert!(page.body.contains("skillet"));
    assert_eq!(reason(&page), "ERROR");
    assert_eq!(page.header("edgeseg-error"), Some("storage_unavailable"));
    let health = get_json(
        &format!("{}/__edgeseg/health", worker.url),
        Some(ADMIN_TOKEN),
    );
    assert_eq!(health["bindings"]["sessions"]["ok"], false);
    assert!(health["failures"]["storage_unavailable"]["count"].as_u64() >= Some(1));
    assert!(
        worker.wait_for_log("storage_unavailable"),
        "the failure is logged"
    );
}

#[test]
fn a_buyer_and_a_bouncer_end_up_apart() {
    let (_origin, worker) = start();

    let mut bouncer = Shopper::new(&worker.url);
    bouncer
        .headers
        .push(("referer".into(), "https://www.google.com/".into()));
    let bounced = bouncer.get("/sale");

    // A browser reports how long each page was visible through the beacon; a test
    // client that browses in milliseconds must do the same to look like a person.
    let mut buyer = Shopper::new(&worker.url);
    for path in [
        "/",
        "/category/audio",
        "/product/104",
        "/product/105",
        "/product/106",
        "/search?q=headphones",
        "/product/105",
    ] {
        buyer.get(path);
        let page = path.split('?').next().unwrap_or(path);
        let events = format!(
            r#"{{"v":1,"events":[{{"type":"dwell","page":"{page}","ms":75000}},{{"type":"scroll","page":"{page}","depth":85}}]}}"#
        );
        let sent = buyer.post("/__edgeseg/events", "text/plain", &events);
        assert_eq!(sent.status, 202, "{}", sent.body);
    }
    buyer.post(
        "/cart/add",
        "application/x-www-form-urlencoded",
        "product=105",
    );
    buyer.get("/cart");
    let last = buyer.get("/checkout");

    assert_eq!(reason(&bounced), "MODEL");
    assert_eq!(reason(&last), "MODEL");
    assert_ne!(segment(&bounced), segment(&last), "different AI segments");
    assert!(
        intent(&last) > intent(&bounced),
        "buyer intent {} vs bouncer {}",
        intent(&last),
        intent(&bounced)
    );
    let signals = last.header("edgeseg-signals").unwrap_or_default();
    assert!(signals.contains(";v="), "signals name why: {signals}");
}
