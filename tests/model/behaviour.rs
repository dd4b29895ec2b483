//! Behavioural tests of the shipped model, in the spirit of CheckList (Ribeiro et al.,
//! ACL 2020): visits replayed through `core::flow` as the worker drives it, and what a
//! merchandiser expects of the intent they produce.

use edgeseg::core::classify::{Classification, LoadedBundle, Reason};
use edgeseg::core::config::StoreConfig;
use edgeseg::core::flow::Replay;
use edgeseg::core::signals::RequestInfo;

use super::model_dir;
use edgeseg::core::bundle::TrustPolicy;

const UA: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const CALENDAR: [&str; 3] = ["month", "special_day", "weekend"];

/// Unix ms of a UTC date at 12:00.
fn noon(year: i32, month: u32, day: u32) -> i64 {
    let days = edgeseg::core::calendar::CivilDate { year, month, day }.days_since_epoch();
    days * 86_400_000 + 12 * 3_600_000
}

fn loaded() -> LoadedBundle {
    LoadedBundle::from_dir(model_dir(), &TrustPolicy::unsigned()).expect("the shipped bundle loads")
}

/// (method, path, seconds after the visit's start)
type Step<'a> = (&'static str, &'a str, i64);

const BROWSE: [Step<'static>; 6] = [
    ("GET", "/", 0),
    ("GET", "/category/boots", 40),
    ("GET", "/category/shoes", 90),
    ("GET", "/product/b1", 150),
    ("GET", "/product/b2", 260),
    ("GET", "/product/b3", 400),
];
const FUNNEL: [Step<'static>; 4] = [
    ("POST", "/cart/add/b3", 520),
    ("GET", "/cart", 525),
    ("GET", "/checkout", 580),
    ("GET", "/checkout/payment", 700),
];

/// The classification after every step of a visit starting at `start_ms`.
fn replay(loaded: &LoadedBundle, steps: &[Step], start_ms: i64) -> Vec<Classification> {
    let config = StoreConfig::default_store();
    let mut visit = Replay::new(&config, loaded.bundle().page_stats());
    steps
        .iter()
        .map(|(method, path, seconds)| {
            let tracked = visit.request(&RequestInfo {
                method: (*method).into(),
                host: "shop.example".into(),
                path: (*path).into(),
                referrer: Some("https://www.google.com/".into()),
                user_agent: Some(UA.into()),
                continent: Some("EU".into()),
                now_ms: start_ms + seconds * 1000,
                ..RequestInfo::default()
            });
            assert!(tracked, "{path} is tracked");
            let classification = visit.conclude(loaded).classification;
            assert_eq!(classification.reason, Reason::Model, "{path}");
            classification
        })
        .collect()
}

fn intent(c: &Classification) -> f32 {
    c.intent.expect("the model gives an intent")
}

fn purchase() -> Vec<Step<'static>> {
    BROWSE.iter().chain(FUNNEL.iter()).copied().collect()
}

#[test]
fn intent_does_not_fall_on_a_cart_add_or_on_entering_checkout() {
    let loaded = loaded();
    let steps = purchase();
    let said = replay(&loaded, &steps, noon(2026, 3, 11));
    let intents: Vec<f32> = said.iter().map(intent).collect();
    for (i, (_, path, _)) in steps.iter().enumerate().skip(BROWSE.len()) {
        assert!(
            intents[i] >= intents[i - 1],
            "intent fell at {path}: {intents:?}"
        );
    }
    assert!(
        intents[BROWSE.len() + 2] > intents[BROWSE.len() - 1],
        "entering checkout raises intent: {intents:?}"
    );
}

#[test]
fn a_purchase_flow_ends_above_a_browse_of_the_same_pages() {
    let loaded = loaded();
    let start = noon(2026, 3, 11);
    let bought = intent(replay(&loaded, &purchase(), start).last().expect("steps"));
    let browsed = intent(replay(&loaded, &BROWSE, start).last().expect("steps"));
    assert!(bought > browsed, "purchase {bought} vs browse {browsed}");
}

#[test]
fn the_same_visit_on_other_dates_moves_intent_by_less_than_a_tenth() {
    let loaded = loaded();
    // Valentine's peak, a May weekday and Saturday, Black Friday week, New Year's Day.
    let dates = [
        noon(2026, 2, 8),
        noon(2026, 5, 5),
        noon(2026, 5, 16),
        noon(2026, 11, 21),
        noon(2027, 1, 1),
    ];
    for steps in [purchase(), BROWSE.to_vec()] {
        let intents: Vec<f32> = dates
            .iter()
            .map(|start| intent(replay(&loaded, &steps, *start).last().expect("steps")))
            .collect();
        let spread = intents.iter().copied().fold(f32::MIN, f32::max)
            - intents.iter().copied().fold(f32::MAX, f32::min);
        assert!(spread < 0.10, "intent by date {intents:?}");
    }
}

#[test]
fn a_one_page_bounce_scores_below_a_deep_browse() {
    let loaded = loaded();
    let start = noon(2026, 3, 11);
    let bounce = intent(&replay(&loaded, &[("GET", "/product/b1", 0)], start)[0]);
    let paths: Vec<String> = (0..16)
        .map(|i| match i % 4 {
            0 => format!("/category/c{i}"),
            _ => format!("/product/p{i}"),
        })
        .collect();
    let deep: Vec<Step> = paths
        .iter()
        .zip(0i64..)
        .map(|(path, i)| ("GET", path.as_str(), i * 75))
        .collect();
    let browsed = intent(replay(&loaded, &deep, start).last().expect("steps"));
    assert!(browsed > bounce, "deep browse {browsed} vs bounce {bounce}");
}

#[test]
fn no_explanation_names_a_calendar_field() {
    let loaded = loaded();
    for name in CALENDAR {
        assert!(
            loaded
                .bundle()
                .manifest()
                .features
                .iter()
                .all(|f| f.name() != name),
            "{name} is a model input"
        );
    }
    for start in [noon(2026, 2, 8), noon(2026, 11, 21)] {
        for said in replay(&loaded, &purchase(), start) {
            for signal in &said.signals {
                assert!(
                    !CALENDAR.contains(&signal.feature.as_str()),
                    "{} explains a classification",
                    signal.feature
                );
            }
        }
    }
}
