//! End-to-end through the core as the worker drives it: request -> events -> stored
//! session -> features -> rules -> classification -> headers.

use crate::core::beacon::parse_beacon;
use crate::core::classify::{Classification, Reason};
use crate::core::config::StoreConfig;
use crate::core::features::{compute, Observed};
use crate::core::flow::{beacon_events, prepare, record, Prepared};
use crate::core::headers::render;
use crate::core::identity::{consent_withheld, in_holdout, session_id, WorkerKeys};
use crate::core::page_stats::PageStats;
use crate::core::rules::RuleSet;
use crate::core::session::{SessionState, Stored};
use crate::core::signals::RequestInfo;

const T0: i64 = 1_795_262_400_000; // 2026-11-21 12:00 UTC
const UA: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

struct Worker {
    config: StoreConfig,
    stats: PageStats,
    rules: RuleSet,
    stored: Option<String>,
}

impl Worker {
    fn new() -> Worker {
        Worker {
            config: StoreConfig::default_store(),
            stats: PageStats::default(),
            rules: RuleSet::from_json(include_str!("../../model/rules.json")).unwrap(),
            stored: None,
        }
    }

    fn load(&self) -> SessionState {
        let (state, how) = SessionState::from_stored(self.stored.as_deref().map(str::as_bytes));
        assert_ne!(
            std::mem::discriminant(&how),
            std::mem::discriminant(&Stored::Reset(String::new()))
        );
        state
    }

    fn request(
        &mut self,
        method: &str,
        path: &str,
        query: &str,
        referrer: Option<&str>,
        at: i64,
    ) -> Vec<(&'static str, String)> {
        let req = RequestInfo {
            method: method.into(),
            host: "shop.example".into(),
            path: path.into(),
            query: query.into(),
            referrer: referrer.map(str::to_string),
            user_agent: Some(UA.into()),
            continent: Some("EU".into()),
            now_ms: at,
            ..RequestInfo::default()
        };
        let mut state = self.load();
        let Prepared::Track(events) = prepare(&req, None, None, &self.config) else {
            return Vec::new();
        };
        record(&mut state, &events, at, &self.config, &self.stats);
        self.stored = Some(state.to_stored());
        let features = compute(&state, at, &self.config, &self.stats);
        let matches = self.rules.evaluate(&features);
        let mut c = Classification::bare(Reason::RulesOnly);
        c.segment = matches.first().map(|m| m.id.clone());
        c.rules = matches;
        c.rules_version = Some(self.rules.version().to_string());
        render(&c)
    }

    fn beacon(&mut self, body: &str, at: i64) {
        let mut state = self.load();
        let events = beacon_events(&mut state, body.as_bytes(), at, &self.config).unwrap();
        record(&mut state, &events, at, &self.config, &self.stats);
        self.stored = Some(state.to_stored());
    }
}

#[test]
fn a_visit_from_search_to_an_abandoned_cart() {
    let keys = WorkerKeys::ephemeral().unwrap();
    let (sid, new) = session_id(Some("theme=dark"), &keys).unwrap();
    assert!(new);
    let config = StoreConfig::default_store();
    assert!(!consent_withheld(None, Some("theme=dark"), &config));
    // The holdout decision follows the configured share, and is stable per session.
    let mut share = config.clone();
    share.holdout.share = 1.0;
    assert!(in_holdout(&sid, &share));
    share.holdout.share = 0.0;
    assert!(!in_holdout(&sid, &share));
    assert_eq!(in_holdout(&sid, &config), in_holdout(&sid, &config));

    let mut w = Worker::new();
    let google = Some("https://www.google.com/");
    let shop = Some("https://shop.example/");
    w.request("GET", "/", "", google, T0);
    w.request("GET", "/assets/app.css", "", shop, T0 + 100);
    w.request(
        "GET",
        "/category/boots",
        "sort=price_asc&brand=acme",
        shop,
        T0 + 30_000,
    );
    w.request("GET", "/product/b1", "price=89.5", shop, T0 + 60_000);
    w.beacon(r#"{"v":1,"events":[{"type":"scroll","page":"/product/b1","depth":90},{"type":"dwell","page":"/product/b1","ms":45000}]}"#, T0 + 106_000);
    w.request("GET", "/product/b2", "price=110.5", shop, T0 + 106_000);
    w.request("POST", "/cart/add", "product=b2", shop, T0 + 150_000);
    let headers = w.request("GET", "/cart", "", shop, T0 + 151_000);

    let state = w.load();
    let f = compute(&state, T0 + 151_000, &w.config, &w.stats);
    assert_eq!(f.num("page_views"), Some(5.0));
    assert_eq!(
        f.num("product_related_duration"),
        Some(30.0 + 30.0 + 45.0 + 45.0)
    );
    assert_eq!(f.num("cart_adds"), Some(1.0));
    assert_eq!(f.num("price_sorts"), Some(1.0));
    assert_eq!(f.num("filter_uses"), Some(1.0));
    assert_eq!(f.num("avg_price_viewed"), Some(100.0));
    assert_eq!(f.num("max_scroll_depth"), Some(90.0));
    assert_eq!(f.num("session_duration"), Some(151.0));
    assert_eq!(
        f.get("traffic_source"),
        Some(&Observed::Label("organic".into()))
    );

    let get = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(get("edgeseg-reason"), Some("RULES_ONLY"));
    assert_eq!(get("edgeseg-segment"), Some("cart_abandoner"));
    let rules = get("edgeseg-rules").unwrap();
    assert!(
        rules.starts_with(
            r#"cart_abandoner=("cart_adds gte 1 [1]" "checkouts eq 0 [0]");priority=90"#
        ),
        "{rules}"
    );
    assert!(
        rules.contains("price_sensitive=") && rules.contains("new_visitor="),
        "{rules}"
    );
    assert_eq!(get("edgeseg-version"), Some(r#"rules="2026.11.21-1""#));
}

#[test]
fn a_returning_visit_after_the_timeout() {
    let mut w = Worker::new();
    w.request("GET", "/", "", None, T0);
    let headers = w.request("GET", "/", "", None, T0 + 31 * 60_000);
    let state = w.load();
    assert_eq!(state.previous_visits, 1);
    assert!(!headers.iter().any(|(_, v)| v.contains("new_visitor")));
}

/// Junk from outside (cookies, URLs, user agents, beacon bodies, stored state, config
/// and rules files) must never panic. A small deterministic generator, no crate needed.
#[test]
fn junk_input_never_panics() {
    use crate::core::identity::WorkerKeys;
    use crate::core::identity::{cookie, request_customer_key, verify_store_token, SessionId};

    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    const ALPHABET: &[u8] =
        b"/?&=%;:,.-_\"'{}[]()0123456789abcdefXYZ +*\\\x00\xff\xc3\xa9vpageeventstypedwell";
    let mut junk = |len: usize| -> Vec<u8> {
        (0..len)
            .map(|_| {
                let r = next() as usize;
                ALPHABET.get(r % ALPHABET.len()).copied().unwrap_or(b'x')
            })
            .collect()
    };
    let config = StoreConfig::default_store();
    let keys = WorkerKeys::from_secret(b"k").unwrap();
    let stats = PageStats::default();
    let templates = [
        r#"{"v":1,"events":[{"type":"dwell","page":"#,
        r#"{"v":1,"events":[{"type":"scroll","page":"/","depth":"#,
        r#"{"routes":[{"pattern":"#,
        r#"{"version":"x","segments":[{"name":"#,
    ];
    for round in 0..3000 {
        let bytes = junk(round % 97);
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let template = templates
            .get(round % templates.len())
            .copied()
            .unwrap_or("");
        let mixed = format!("{template}{text}");

        let _ = parse_beacon(bytes.as_slice(), &config.beacon);
        let _ = parse_beacon(mixed.as_bytes(), &config.beacon);
        let _ = SessionState::from_stored(Some(bytes.as_slice()));
        let _ = SessionState::from_stored(Some(mixed.as_bytes()));
        let _ = StoreConfig::from_json(&mixed);
        let _ = RuleSet::from_json(&mixed);
        let _ = PageStats::from_json(&mixed);
        let _ = cookie(&text, "edgeseg_sid");
        let _ = SessionId::from_cookie_header(Some(&text), &keys);
        let _ = request_customer_key(Some(&text), &config, &keys, Some(b"k"), T0);
        let _ = verify_store_token(&text, b"k", T0);
        let _ = consent_withheld(Some(&text), Some(&text), &config);

        let req = RequestInfo {
            method: if round % 3 == 0 {
                "POST".into()
            } else {
                "GET".into()
            },
            host: text.clone(),
            path: format!("/{text}"),
            query: text.clone(),
            form: Some(text.clone()),
            referrer: Some(format!("https://{text}")),
            user_agent: Some(text.clone()),
            continent: Some(text.clone()),
            now_ms: T0 + round as i64,
        };
        let mut state = SessionState::default();
        if let Prepared::Track(events) = prepare(&req, Some(&text), Some(&text), &config) {
            record(&mut state, &events, req.now_ms, &config, &stats);
        }
        let _ = compute(&state, req.now_ms, &config, &stats);
    }
}

/// The training entry of a holdout request carries the row and the verdict a
/// personalised shopper in the same state gets: the control group is comparable.
#[test]
fn a_holdout_request_is_recorded_with_the_row_it_would_have_been_classified_on() {
    use crate::core::classify::LoadedBundle;
    use crate::core::flow::{conclude, page_type, training_entry};
    use crate::core::records::record::{from_jsonl_gz, to_jsonl_gz};
    use crate::core::records::TrailHead;
    use crate::core::traits::Traits;

    let loaded = LoadedBundle::embedded().expect("the embedded bundle loads");
    let config = StoreConfig::default_store();
    let stats = loaded.bundle().page_stats();
    let mut state = SessionState::default();
    let mut head = TrailHead::new(T0);
    let mut kept = Vec::new();
    for (i, path) in ["/", "/product/7", "/checkout/complete"].iter().enumerate() {
        let request = RequestInfo {
            method: "GET".into(),
            host: "shop.example".into(),
            path: path.to_string(),
            query: "q=someone%40example.com".into(),
            form: None,
            referrer: None,
            user_agent: Some(UA.into()),
            continent: Some("EU".into()),
            now_ms: T0 + 60_000 * i as i64,
        };
        let Prepared::Track(events) = prepare(&request, None, None, &config) else {
            panic!("{path} is tracked");
        };
        record(&mut state, &events, request.now_ms, &config, stats);
        let none = Traits::default();
        let shown = conclude(&state, request.now_ms, &config, &loaded, false, &none);
        let held = conclude(&state, request.now_ms, &config, &loaded, true, &none);
        assert_eq!(held.classification.reason, Reason::Holdout);
        let kind = page_type(&events);
        let line = (&request).into();
        let personalised = training_entry(&line, kind, &state, &config, &loaded, &shown);
        let holdout = training_entry(&line, kind, &state, &config, &loaded, &held);
        assert_eq!(personalised.features, holdout.features, "{path}");
        assert_eq!(personalised.verdict.segment, holdout.verdict.segment);
        assert!(holdout.verdict.holdout && !personalised.verdict.holdout);
        assert_eq!(holdout.path, *path, "no query string is kept");
        if head.admit(&holdout, config.records.max_requests).is_some() {
            kept.push(holdout);
        }
    }
    let record = head.into_record(kept).expect("a record");
    assert!(record.outcome.ordered, "the confirmation page is an order");
    assert_eq!(record.requests[1].page_type.as_deref(), Some("product"));
    let bytes = to_jsonl_gz(std::slice::from_ref(&record)).expect("gzip");
    assert_eq!(from_jsonl_gz(&bytes).expect("reads back"), vec![record]);
}

/// The session object classifies and the worker counts what it answered: the
/// classification and the feature row cross as JSON and must come back as they left,
/// or the live aggregates and drift would count something else than was decided.
#[test]
fn a_conclusion_crosses_from_the_session_object_to_the_worker_unchanged() {
    use crate::core::classify::LoadedBundle;
    use crate::core::features::Features;
    use crate::core::flow::conclude;
    use crate::core::traits::Traits;

    let loaded = LoadedBundle::embedded().expect("the embedded bundle loads");
    let config = StoreConfig::default_store();
    let mut state = SessionState::default();
    let mut traits = Traits::default();
    traits.insert("tier", Observed::Label("gold".into()));
    traits.insert("orders", Observed::Num(0.1 + 0.2));
    let paths = ["/", "/search?q=shoes", "/product/7", "/cart", "/checkout"];
    for (i, path) in paths.iter().enumerate() {
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        let request = RequestInfo {
            method: "GET".into(),
            path: path.to_string(),
            query: query.to_string(),
            user_agent: Some(UA.into()),
            now_ms: T0 + 37_123 * i as i64,
            ..RequestInfo::default()
        };
        let Prepared::Track(events) = prepare(&request, None, None, &config) else {
            panic!("{path} is tracked");
        };
        record(
            &mut state,
            &events,
            request.now_ms,
            &config,
            loaded.bundle().page_stats(),
        );
        let concluded = conclude(&state, request.now_ms, &config, &loaded, false, &traits);
        let features = concluded.features.expect("a row outside the holdout");
        assert!(concluded.classification.intent.is_some(), "the model ran");

        let text = serde_json::to_string(&concluded.classification).expect("serialises");
        let back: Classification = serde_json::from_str(&text).expect("reads back");
        assert_eq!(back, concluded.classification, "{path}");
        let text = serde_json::to_string(&features).expect("serialises");
        let back: Features = serde_json::from_str(&text).expect("reads back");
        assert_eq!(back, features, "{path}");
    }
}
