//! Trust and durability in workerd (issue 9): identities a client cannot forge, logins
//! that lose no view, headers the origin can verify, bounded endpoints, and a soak that
//! counts every view and beacon event.

use std::thread;

use edgeseg::core::identity::{customer_key, SessionId, WorkerKeys};
use serde_json::Value;

use crate::harness::{
    client, config_without_holdout, get_json, try_get_json, Origin, Page, Shopper, Worker,
};
use crate::soak::{self, SoakPlan};

const ADMIN_TOKEN: &str = "e2e-admin-token";
const CUSTOMER_KEY: &str = "e2e-customer-key";
const HEADER_KEY: &str = "e2e-header-key";
const STORE_TOKEN_KEY: &str = "e2e-store-token-key";

/// The store config of these tests: the default without a holdout, and without the
/// `customer` section, so each worker uses its own default there. The same config then
/// loads on a worker from before the trust fix (whose `customer` section had other
/// fields), and the defect tests fail there on the defect, not on `config_invalid`
/// (`scripts/prefix-check.sh`).
fn trust_config() -> String {
    let mut config: Value = serde_json::from_str(&config_without_holdout()).expect("JSON");
    if let Some(sections) = config.as_object_mut() {
        sections.remove("customer");
    }
    config.to_string()
}

/// The demo origin (with the store-token secret) and the worker. This origin does not
/// check `edgeseg-signature`: a worker from before the fix signs nothing, and each
/// defect's test must fail there on its defect, not on the origin's 403
/// (`scripts/prefix-check.sh`). The signature tests use [`start_signed`].
fn start() -> (Origin, Worker) {
    start_with_origin_env(&[("EDGESEG_STORE_TOKEN_KEY", STORE_TOKEN_KEY)])
}

/// The same with the origin also holding the header key: it refuses `edgeseg-*`
/// headers without a valid signature, as a real store should.
fn start_signed() -> (Origin, Worker) {
    start_with_origin_env(&[
        ("EDGESEG_HEADER_KEY", HEADER_KEY),
        ("EDGESEG_STORE_TOKEN_KEY", STORE_TOKEN_KEY),
    ])
}

fn start_with_origin_env(origin_env: &[(&str, &str)]) -> (Origin, Worker) {
    let origin = Origin::start_with_env(origin_env);
    let worker = Worker::start(
        &origin.url,
        &[
            ("EDGESEG_ADMIN_TOKEN", ADMIN_TOKEN),
            ("EDGESEG_CUSTOMER_KEY", CUSTOMER_KEY),
            ("EDGESEG_HEADER_KEY", HEADER_KEY),
            ("EDGESEG_STORE_TOKEN_KEY", STORE_TOKEN_KEY),
            ("EDGESEG_STORE_CONFIG", &trust_config()),
        ],
    );
    (origin, worker)
}

fn customer_object(id: &str) -> String {
    let key = customer_key(id, CUSTOMER_KEY.as_bytes())
        .expect("a key")
        .expect("an id");
    format!("c:{key}")
}

/// A session cookie value as the worker (with `CUSTOMER_KEY`) signs it.
fn signed_session(id: &str) -> String {
    let keys = WorkerKeys::from_secret(CUSTOMER_KEY.as_bytes()).expect("keys");
    SessionId::parse(id).expect("an id").signed(&keys)
}

fn rules(page: &Page) -> &str {
    page.header("edgeseg-rules").unwrap_or_default()
}

/// Defect 1: 5 anonymous views, then 8 parallel requests with the customer cookie,
/// leave 13 views in the customer's object and none in the session's. Repeated, as the
/// race it guards against shows in only some attempts (on the worker from before the
/// fix: about 1 in 3; 6 attempts once all passed there, so 12).
#[test]
fn parallel_requests_at_login_lose_no_view() {
    let (_origin, worker) = start();
    for attempt in 0..12 {
        let customer = format!("racer-{attempt}");
        let mut shopper = Shopper::new(&worker.url);
        for path in ["/", "/category/audio", "/product/301", "/product/302"] {
            shopper.get(path);
        }
        let login = shopper.get(&format!("/__origin/login?customer={customer}"));
        assert!(login
            .set_cookies()
            .iter()
            .any(|c| c.starts_with("edgeseg_cid=")));
        let sid = shopper.session_id().expect("sid").to_string();
        assert_eq!(soak::views(&worker, &format!("s:{sid}")), 5);

        let parallel: Vec<_> = (0..8)
            .map(|i| {
                let mut same_browser = Shopper::new(&worker.url);
                same_browser.cookies = shopper.cookies.clone();
                thread::spawn(move || {
                    same_browser
                        .get(&format!("/product/{}", 303 + i % 3))
                        .status
                })
            })
            .collect();
        for request in parallel {
            assert_eq!(request.join().expect("request thread"), 200);
        }
        assert_eq!(
            soak::views(&worker, &customer_object(&customer)),
            13,
            "attempt {attempt}"
        );
        assert_eq!(
            soak::views(&worker, &format!("s:{sid}")),
            0,
            "attempt {attempt}"
        );
    }
}

/// Defect 2: a fresh client naming a customer (raw id, unsigned token, a copied key)
/// neither reads nor pollutes that customer's profile.
#[test]
fn a_forged_customer_id_reads_and_pollutes_nothing() {
    let (_origin, worker) = start();
    let mut victim = Shopper::new(&worker.url);
    victim.get("/__origin/login?customer=victim");
    victim.get("/product/301");
    let cart = victim.post(
        "/cart/add",
        "application/x-www-form-urlencoded",
        "product=301",
    );
    assert_eq!(cart.status, 303);
    let own = victim.get("/cart");
    assert!(rules(&own).contains("cart_abandoner="), "{}", rules(&own));
    let object = customer_object("victim");
    let before = soak::views(&worker, &object);

    let key = object.trim_start_matches("c:");
    for forged in [
        "customer_id=victim".to_string(),
        "customer_token=victim.9999999999.00".to_string(),
        format!("edgeseg_cid={key}"),
        format!("edgeseg_cid={key}.9999999999.{}", "0".repeat(32)),
    ] {
        let mut attacker = Shopper::new(&worker.url);
        let (name, value) = forged.split_once('=').expect("a cookie");
        attacker.cookies.insert(name.into(), value.into());
        for _ in 0..3 {
            let page = attacker.get("/cart");
            assert!(
                !rules(&page).contains("cart_abandoner"),
                "{forged}: {}",
                rules(&page)
            );
            assert!(!rules(&page).contains("returning_customer"), "{forged}");
        }
    }
    assert_eq!(
        soak::views(&worker, &object),
        before,
        "the victim's profile is untouched"
    );
}

/// Defect 3: logging out clears the worker's customer cookie and starts a new session,
/// so the next person on the device is not joined to the last.
#[test]
fn logout_unlinks_the_device() {
    let (_origin, worker) = start();
    let mut shared = Shopper::new(&worker.url);
    shared.get("/__origin/login?customer=first");
    shared.get("/product/101");
    let object = customer_object("first");
    let before = soak::views(&worker, &object);
    assert!(before >= 2);
    let old_sid = shared.session_id().expect("sid").to_string();

    let logout = shared.get("/account/logout");
    assert_eq!(logout.status, 303);
    let cleared = logout.set_cookies();
    assert!(
        cleared
            .iter()
            .any(|c| c.starts_with("edgeseg_cid=;") && c.contains("Max-Age=0")),
        "{cleared:?}"
    );
    assert!(!shared.cookies.contains_key("edgeseg_cid"));
    assert_ne!(shared.session_id(), Some(old_sid.as_str()), "a new session");

    // The next person browses: nothing joins the previous customer.
    for path in ["/", "/product/102", "/product/103"] {
        let page = shared.get(path);
        assert!(
            !rules(&page).contains("returning_customer"),
            "{}",
            rules(&page)
        );
    }
    assert_eq!(
        soak::views(&worker, &object),
        before + 1,
        "only the logout itself"
    );
}

/// The origin's logout header unlinks too.
#[test]
fn the_origins_logout_header_unlinks_the_device() {
    let (_origin, worker) = start();
    let mut shared = Shopper::new(&worker.url);
    shared.get("/__origin/login?customer=second");
    assert!(shared.cookies.contains_key("edgeseg_cid"));
    let logout = shared.get("/__origin/logout");
    assert_eq!(logout.status, 200);
    assert!(
        !shared.cookies.contains_key("edgeseg_cid"),
        "{:?}",
        logout.set_cookies()
    );
}

/// Forged session ids are replaced, never adopted: no object is made for them, and a
/// beacon carrying one stores nothing.
#[test]
fn a_forged_session_id_is_replaced_not_adopted() {
    let (_origin, worker) = start();
    let forged = "0123456789abcdef0123456789abcdef";
    let other_keys = WorkerKeys::from_secret(b"another worker").expect("keys");
    let foreign = SessionId::parse(forged).expect("id").signed(&other_keys);
    for cookie in [
        forged.to_string(),
        format!("{forged}.{}", "0".repeat(32)),
        foreign,
    ] {
        let mut shopper = Shopper::new(&worker.url);
        shopper.cookies.insert("edgeseg_sid".into(), cookie.clone());
        let beacon = shopper.post(
            "/__edgeseg/events",
            "application/json",
            r#"{"v":1,"events":[{"type":"hover","product":"101"}]}"#,
        );
        assert_eq!(beacon.status, 204, "{cookie}: {}", beacon.body);
        let page = shopper.get("/product/101");
        assert_eq!(page.status, 200);
        let issued = shopper.session_id().expect("a new session").to_string();
        assert_ne!(issued, forged, "{cookie}");
        assert_eq!(
            soak::stored(&worker, &format!("s:{forged}")),
            None,
            "{cookie}"
        );
        assert_eq!(soak::views(&worker, &format!("s:{issued}")), 1);
    }
}

/// Defect 4: with the session objects unreachable, the beacon answers our own JSON
/// error, not the platform's text.
#[test]
fn storage_failures_answer_our_own_json() {
    let origin = Origin::start();
    let worker =
        Worker::start_with_broken_sessions(&origin.url, &[("EDGESEG_CUSTOMER_KEY", CUSTOMER_KEY)]);
    let id = "00112233445566778899aabbccddeeff";
    // The bare id first: what a worker that adopted any well-formed id would read.
    let cookie = format!("edgeseg_sid={id}; edgeseg_sid={}", signed_session(id));
    let response = client()
        .post(format!("{}/__edgeseg/events", worker.url))
        .header("content-type", "application/json")
        .header("cookie", cookie)
        .send(r#"{"v":1,"events":[{"type":"hover","product":"101"}]}"#)
        .expect("beacon");
    assert_eq!(response.status(), 503);
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok());
    assert_eq!(content_type, Some("application/json"));
    let text = response.into_body().read_to_string().expect("body");
    let body: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert_eq!(body["error"], "storage_unavailable", "{text}");
    let keys: Vec<&String> = body.as_object().expect("an object").keys().collect();
    assert_eq!(keys, ["detail", "error"], "{text}");
    assert!(
        !text.contains("edgeseg-sessions-that-do-not-exist"),
        "{text}"
    );
}

/// Defect 5: public health names no origin and no failure detail, answers GET and HEAD
/// only; the details need the admin token.
#[test]
fn public_health_discloses_nothing() {
    let (origin, worker) = start();
    let url = format!("{}/__edgeseg/health", worker.url);
    let response = client().get(&url).call().expect("health");
    assert_eq!(response.status(), 200);
    let text = response.into_body().read_to_string().expect("body");
    let port = origin.url.rsplit(':').next().expect("a port");
    assert!(
        !text.contains(&origin.url) && !text.contains(port),
        "{text}"
    );
    let public: Value = serde_json::from_str(&text).expect("JSON");
    let mut fields: Vec<&String> = public.as_object().expect("object").keys().collect();
    fields.sort();
    assert_eq!(fields, ["build", "name", "ok", "version"], "{text}");
    assert_eq!(public["ok"], true);

    assert_eq!(client().head(&url).call().expect("head").status(), 200);
    for method in ["POST", "PUT", "DELETE"] {
        let request = ureq::http::Request::builder()
            .method(method)
            .uri(&url)
            .body(())
            .expect("request");
        let status = client().run(request).expect(method).status();
        assert_eq!(status, 405, "{method}");
    }
    let details = get_json(&url, Some(ADMIN_TOKEN));
    assert_eq!(details["bindings"]["sessions"]["ok"], true, "{details}");
    assert!(details["failures"].is_object(), "{details}");
}

/// Defect 6: `_` look-alikes and case variants of our header names never reach the
/// origin, even when the worker sets none itself (Sec-GPC).
#[test]
fn look_alike_headers_never_reach_the_origin() {
    let origin = Origin::start();
    let worker = Worker::start(&origin.url, &[]);
    let mut shopper = Shopper::new(&worker.url);
    shopper.headers.push(("sec-gpc".into(), "1".into()));
    for (name, value) in [
        ("edgeseg_segment", "vip"),
        ("EDGESEG_REASON", "MODEL"),
        ("Edgeseg_Rules", "vip=()"),
        ("EdgeSeg-Signature", "t=1, v1=\"00\""),
    ] {
        shopper.headers.push((name.into(), value.into()));
    }
    let echo = shopper.get("/__origin/echo");
    let received: Value = serde_json::from_str(&echo.body).expect("echo JSON");
    let names: Vec<String> = received["raw_headers"]
        .as_array()
        .expect("raw headers")
        .iter()
        .filter_map(|pair| pair[0].as_str().map(str::to_string))
        .collect();
    // Only the worker's own header arrives: none of the client's look-alikes.
    let ours: Vec<&String> = names.iter().filter(|n| n.starts_with("edgeseg")).collect();
    assert_eq!(ours, ["edgeseg-reason"], "{names:?}");
    assert_eq!(
        received["headers"]["edgeseg-reason"].as_str(),
        Some("CONSENT_WITHHELD")
    );
    assert_eq!(echo.header("edgeseg-reason"), Some("CONSENT_WITHHELD"));
}

/// With the header key, what reaches the origin is signed and the demo store accepts
/// it; the same headers sent to the origin directly, unsigned or re-signed with a
/// guessed key, are refused.
#[test]
fn the_origin_accepts_signed_headers_and_refuses_unsigned_ones() {
    let (origin, worker) = start_signed();
    let mut shopper = Shopper::new(&worker.url);
    let page = shopper.get("/product/101");
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.header("edgeseg-signature").is_none(),
        "never sent to the client"
    );
    let echo = shopper.get("/__origin/echo");
    let received: Value = serde_json::from_str(&echo.body).expect("echo JSON");
    let signature = received["headers"]["edgeseg-signature"]
        .as_str()
        .unwrap_or_default();
    assert!(signature.starts_with("t="), "{received}");

    let direct = client()
        .get(format!("{}/product/101", origin.url))
        .header("edgeseg-segment", "vip;confidence=1")
        .header("edgeseg-reason", "MODEL")
        .call()
        .expect("direct");
    assert_eq!(direct.status(), 403);
    // Replaying the worker's signature for another path fails too.
    let replay = client()
        .get(format!("{}/cart", origin.url))
        .header(
            "edgeseg-reason",
            received["headers"]["edgeseg-reason"].as_str().unwrap_or(""),
        )
        .header("edgeseg-signature", signature)
        .call()
        .expect("replay");
    assert_eq!(replay.status(), 403);
}

/// Defect 7: the beacon takes the contract's content types only.
#[test]
fn the_beacon_takes_only_json_or_text() {
    let (_origin, worker) = start();
    let mut shopper = Shopper::new(&worker.url);
    shopper.get("/product/101");
    let sid = shopper.session_id().expect("sid").to_string();
    let batch = r#"{"v":1,"events":[{"type":"hover","product":"101"}]}"#;
    for content_type in [
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "image/png",
        "",
    ] {
        let page = shopper.post("/__edgeseg/events", content_type, batch);
        assert_eq!(page.status, 415, "{content_type:?}: {}", page.body);
        let error: Value = serde_json::from_str(&page.body).expect("JSON");
        assert_eq!(error["error"], "unsupported_media_type");
    }
    let state = soak::stored(&worker, &format!("s:{sid}")).expect("state");
    assert_eq!(state.visit.hovers, 0);
    for content_type in ["application/json", "text/plain;charset=UTF-8"] {
        assert_eq!(
            shopper
                .post("/__edgeseg/events", content_type, batch)
                .status,
            202
        );
    }
    let state = soak::stored(&worker, &format!("s:{sid}")).expect("state");
    assert_eq!(state.visit.hovers, 2);
}

/// A chunked beacon (no Content-Length) is cut off at the limit, not read whole.
#[test]
fn a_chunked_beacon_over_the_limit_is_refused_while_reading() {
    let (_origin, worker) = start();
    let mut shopper = Shopper::new(&worker.url);
    shopper.get("/product/101");
    let cookie = format!("edgeseg_sid={}", shopper.cookies["edgeseg_sid"]);
    let body = format!(r#"{{"v":1,"events":[],"pad":"{}"}}"#, "x".repeat(64 * 1024));
    let response = client()
        .post(format!("{}/__edgeseg/events", worker.url))
        .header("content-type", "application/json")
        .header("cookie", cookie)
        .send(ureq::SendBody::from_reader(&mut body.as_bytes()))
        .expect("beacon");
    assert_eq!(response.status(), 413);
    let text = response.into_body().read_to_string().expect("body");
    assert!(text.contains("too_large"), "{text}");
}

/// Consent variants that must all mean no: nothing stored, no cookie.
#[test]
fn every_consent_variant_that_says_no_is_respected() {
    let (_origin, worker) = start();
    for (gpc, cookie) in [
        (Some("1, 1"), None),
        (None, Some("Consent=no")),
        (None, Some("consent=yes; consent=no")),
    ] {
        let mut shopper = Shopper::new(&worker.url);
        if let Some(gpc) = gpc {
            shopper.headers.push(("sec-gpc".into(), gpc.into()));
        }
        if let Some(cookie) = cookie {
            shopper.headers.push(("cookie".into(), cookie.into()));
        }
        let page = shopper.get("/product/101");
        assert_eq!(
            page.header("edgeseg-reason"),
            Some("CONSENT_WITHHELD"),
            "{gpc:?} {cookie:?}"
        );
        assert!(shopper.session_id().is_none(), "{gpc:?} {cookie:?}");
    }
}

/// The concurrency soak, bounded: sessions browsing, beaconing and logging in with
/// parallel requests, every view and beacon event counted exactly once.
#[test]
fn a_soak_of_sessions_and_logins_loses_and_double_counts_nothing() {
    let (_origin, worker) = start_signed();
    let report = soak::run(
        &worker,
        &SoakPlan {
            sessions: 120,
            threads: 6,
            parallel: 4,
            seed: 9,
        },
        CUSTOMER_KEY,
        ADMIN_TOKEN,
    );
    // The worker's own account of any failure (its health's `failures`), for the message;
    // a health that cannot be read is said there too, never in place of the report.
    let failures = match try_get_json(
        &format!("{}/__edgeseg/health", worker.url),
        Some(ADMIN_TOKEN),
    ) {
        Ok(health) => health["failures"].to_string(),
        Err(e) => format!("health unreadable: {e:#}"),
    };
    assert_eq!(report.lost_views, 0, "{report:?}\n{failures}");
    assert_eq!(report.extra_views, 0, "{report:?}\n{failures}");
    assert_eq!(report.lost_events, 0, "{report:?}\n{failures}");
    assert_eq!(report.extra_events, 0, "{report:?}\n{failures}");
    assert_eq!(report.failed_requests, 0, "{report:?}\n{failures}");
    assert!(
        report.logins >= 50 && report.views >= 500,
        "{report:?}\n{failures}"
    );
}
