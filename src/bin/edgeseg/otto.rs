//! OTTO's session files (`{"session":N,"events":[{"aid":..,"ts":..,"type":..}]}`, one
//! per line) -> recorded visits. An OTTO session spans weeks: it is cut into visits where
//! the edge would start a new one (more than the session timeout between events), the
//! k-th visit with k earlier ones. A click is a product page view, a cart event a cart
//! add of that product. A visit with an order is labelled ordered and cut before its
//! first order event, so the order itself is never in the features.

use anyhow::{bail, Context as _, Result};
use serde::Deserialize;

use crate::recording::{Entry, Recording, USER_AGENT};

#[derive(Deserialize)]
struct Session {
    session: u64,
    events: Vec<Event>,
}

#[derive(Deserialize)]
struct Event {
    aid: u64,
    ts: i64,
    #[serde(rename = "type")]
    kind: String,
}

/// One visit of an OTTO session, with the cart events of the session's visits so far,
/// each up to its cut (a baseline score).
pub struct OttoVisit {
    /// `session/visit`, the visit counted from 0.
    pub id: String,
    pub recording: Recording,
    pub cart_events: usize,
}

/// Every visit of every session; `session_ms` is the store's session timeout.
pub fn parse(text: &str, session_ms: i64) -> Result<Vec<OttoVisit>> {
    let mut visits = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let session: Session =
            serde_json::from_str(line).with_context(|| format!("line {}", index + 1))?;
        let mut carts_before = 0;
        for (number, events) in split_visits(&session.events, session_ms)
            .into_iter()
            .enumerate()
        {
            let Some(visit) = visit_of(events, number, carts_before)
                .with_context(|| format!("line {}, visit {number}", index + 1))?
            else {
                continue;
            };
            carts_before = visit.cart_events;
            visits.push(OttoVisit {
                id: format!("{}/{number}", session.session),
                ..visit
            });
        }
    }
    Ok(visits)
}

/// The session's events cut where more than `session_ms` pass without one.
fn split_visits(events: &[Event], session_ms: i64) -> Vec<&[Event]> {
    let mut visits = Vec::new();
    let mut start = 0;
    for i in 1..events.len() {
        if events[i].ts - events[i - 1].ts > session_ms {
            visits.push(&events[start..i]);
            start = i;
        }
    }
    if start < events.len() {
        visits.push(&events[start..]);
    }
    visits
}

/// The visit before its first order; `None` when it opens with an order.
fn visit_of(events: &[Event], number: usize, carts_before: usize) -> Result<Option<OttoVisit>> {
    let ordered = events.iter().any(|e| e.kind == "orders");
    let mut requests = Vec::new();
    let mut cart_events = carts_before;
    for event in events.iter().take_while(|e| e.kind != "orders") {
        let entry = match event.kind.as_str() {
            "clicks" => Entry::get(event.ts, format!("/product/{}", event.aid)),
            "carts" => {
                cart_events += 1;
                Entry {
                    method: Some("POST".into()),
                    ..Entry::get(event.ts, format!("/cart/add/{}", event.aid))
                }
            }
            other => bail!("unknown event type {other:?}"),
        };
        requests.push(Entry {
            user_agent: Some(USER_AGENT.into()),
            ..entry
        });
    }
    if requests.is_empty() {
        return Ok(None);
    }
    Ok(Some(OttoVisit {
        id: String::new(),
        recording: Recording {
            previous_visits: u32::try_from(number).unwrap_or(u32::MAX),
            ordered: Some(ordered),
            requests,
        },
        cart_events,
    }))
}
