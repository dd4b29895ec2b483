//! A replayed load of store visits, seeded (the same seed gives the same visits), sent
//! through the worker by a few shoppers at a time, with everything the harness received
//! counted the way the dashboard counts it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::thread;

use crate::harness::{Page, Shopper, DESKTOP_UA};

pub const MOBILE_UA: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";
const CATEGORIES: [&str; 5] = ["kitchen", "outdoor", "audio", "office", "apparel"];
const SEARCHES: [&str; 4] = ["lamp", "headphones", "jacket", "kettle"];
const THREADS: usize = 4;

/// How a load differs from the ordinary one.
#[derive(Clone, Copy, Debug, Default)]
pub struct Shift {
    /// Every visit on a phone.
    pub all_mobile: bool,
    /// Every page's dwell time (beacon) multiplied by this (0 or 1: unchanged).
    pub dwell_factor: u64,
}

/// splitmix64: small, seeded, the same everywhere.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

enum Step {
    Get(String),
    AddToCart(String),
}

struct Visit {
    mobile: bool,
    declines: bool,
    steps: Vec<(Step, u64)>,
}

fn product(rng: &mut Rng) -> String {
    format!("{}0{}", 1 + rng.below(5), 1 + rng.below(4))
}

/// One visit: a landing page, some browsing, sometimes a cart and a checkout; each page
/// with a dwell time the beacon reports.
fn visit(rng: &mut Rng, shift: Shift) -> Visit {
    let mobile = shift.all_mobile || rng.chance(30);
    let declines = rng.chance(8);
    let mut steps = Vec::new();
    let dwell = |rng: &mut Rng| 2_000 + rng.below(60_000);
    let landing = match rng.below(4) {
        0 => "/".to_string(),
        1 => format!("/category/{}", CATEGORIES[rng.below(5) as usize]),
        2 => format!("/product/{}", product(rng)),
        _ => format!("/search?q={}", SEARCHES[rng.below(4) as usize]),
    };
    steps.push((Step::Get(landing), dwell(rng)));
    let pages = rng.below(4);
    for _ in 0..pages {
        let path = match rng.below(6) {
            0 => format!("/category/{}", CATEGORIES[rng.below(5) as usize]),
            1 => "/sale".to_string(),
            2 => "/about".to_string(),
            _ => format!("/product/{}", product(rng)),
        };
        steps.push((Step::Get(path), dwell(rng)));
    }
    if rng.chance(25) {
        steps.push((Step::AddToCart(product(rng)), 0));
        steps.push((Step::Get("/cart".into()), dwell(rng)));
        if rng.chance(50) {
            steps.push((Step::Get("/checkout".into()), dwell(rng)));
        }
    }
    Visit {
        mobile,
        declines,
        steps,
    }
}

/// What the harness received, counted like the dashboard counts.
#[derive(Debug, Default, Clone)]
pub struct Received {
    /// Responses that carried `edgeseg-reason`.
    pub tracked: u64,
    pub reasons: BTreeMap<String, u64>,
    /// AI segment (with `MODEL`) -> count.
    pub segments: BTreeMap<String, u64>,
    /// Rule segment -> count of responses whose `edgeseg-rules` named it.
    pub rules: BTreeMap<String, u64>,
    /// Every response with an `edgeseg-id`: the id and every `edgeseg-*` header, in order.
    pub decisions: Vec<(String, Vec<(String, String)>)>,
}

impl Received {
    fn count(&mut self, page: &Page) {
        let Some(reason) = page.header("edgeseg-reason") else {
            return;
        };
        self.tracked += 1;
        *self.reasons.entry(reason.to_string()).or_default() += 1;
        if reason == "MODEL" {
            if let Some(segment) = page
                .header("edgeseg-segment")
                .and_then(|v| v.split(';').next())
            {
                *self.segments.entry(segment.to_string()).or_default() += 1;
            }
        }
        if let Some(rules) = page.header("edgeseg-rules") {
            for id in dictionary_keys(rules) {
                *self.rules.entry(id).or_default() += 1;
            }
        }
        if let Some(id) = page.header("edgeseg-id") {
            let headers = page
                .headers
                .iter()
                .filter(|(name, _)| name.starts_with("edgeseg-"))
                .cloned()
                .collect();
            self.decisions
                .push((id.trim_matches('"').to_string(), headers));
        }
    }

    fn merge(&mut self, other: Received) {
        self.tracked += other.tracked;
        for (k, v) in other.reasons {
            *self.reasons.entry(k).or_default() += v;
        }
        for (k, v) in other.segments {
            *self.segments.entry(k).or_default() += v;
        }
        for (k, v) in other.rules {
            *self.rules.entry(k).or_default() += v;
        }
        self.decisions.extend(other.decisions);
    }
}

/// The member keys of an RFC 9651 dictionary (`edgeseg-rules`).
fn dictionary_keys(value: &str) -> Vec<String> {
    let dictionary: sfv::Dictionary = sfv::Parser::new(value)
        .parse()
        .unwrap_or_else(|e| panic!("edgeseg-rules is not a dictionary ({e}): {value}"));
    dictionary.keys().map(|k| k.as_str().to_string()).collect()
}

fn replay_visit(base: &str, visit: &Visit, dwell_factor: u64, received: &mut Received) {
    let mut shopper = Shopper::new(base);
    let ua = if visit.mobile { MOBILE_UA } else { DESKTOP_UA };
    shopper.headers = vec![("user-agent".into(), ua.into())];
    if visit.declines {
        shopper.headers.push(("sec-gpc".into(), "1".into()));
    }
    for (step, dwell) in &visit.steps {
        let (page, path) = match step {
            Step::Get(path) => (shopper.get(path), path.clone()),
            Step::AddToCart(id) => (
                shopper.post(
                    "/cart/add",
                    "application/x-www-form-urlencoded",
                    &format!("product={id}"),
                ),
                "/cart/add".to_string(),
            ),
        };
        received.count(&page);
        if *dwell > 0 && !visit.declines {
            let ms = dwell * dwell_factor.max(1);
            let page_path = path.split('?').next().unwrap_or("/");
            let beacon = format!(
                r#"{{"v":1,"events":[{{"type":"dwell","page":"{page_path}","ms":{ms}}}]}}"#
            );
            shopper.post("/__edgeseg/events", "application/json", &beacon);
        }
    }
}

/// Replays `visits` seeded visits through the worker at `base`.
pub fn replay(base: &str, seed: u64, visits: usize, shift: Shift) -> Received {
    let mut rng = Rng::new(seed);
    let all: Vec<Visit> = (0..visits).map(|_| visit(&mut rng, shift)).collect();
    let all = Arc::new(all);
    let total = Arc::new(Mutex::new(Received::default()));
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let (all, total, base) = (Arc::clone(&all), Arc::clone(&total), base.to_string());
            thread::spawn(move || {
                let mut received = Received::default();
                for visit in all.iter().skip(t).step_by(THREADS) {
                    replay_visit(&base, visit, shift.dwell_factor, &mut received);
                }
                total.lock().expect("no poisoned lock").merge(received);
            })
        })
        .collect();
    for worker in workers {
        worker.join().expect("a load thread panicked");
    }
    let received = total.lock().expect("no poisoned lock").clone();
    received
}
