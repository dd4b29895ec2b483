//! What the worker and a session Durable Object say to each other: the operations the
//! object offers ([`Operation`]) and the one that counts and classifies a request
//! ([`ApplyRequest`], answered with [`Decided`]). Both sides use these types, so a path
//! or a method is written once.

use serde::{Deserialize, Serialize};
use worker::Method;

use crate::core::classify::Classification;
use crate::core::features::Features;
use crate::core::flow::TrailRequest;
use crate::core::records::RequestEntry;
use crate::core::signals::Event;
use crate::core::traits::Traits;

/// An operation on a session (or customer) object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    /// Count a request's events and classify the session ([`ApplyRequest`]), answer
    /// what was decided ([`Decided`]).
    Apply,
    /// Count a beacon batch (its raw bytes), answer 202 or the beacon error.
    Beacon,
    /// Hand the state over (to a customer object) and forget it; empty when none.
    Take,
    /// The stored state, or 404 when there is none (admin's access request).
    Read,
    /// Erase everything (admin's erasure request).
    Erase,
    /// Answer `pong` (health).
    Ping,
    /// Keep a trail entry that waited for the origin's response (a [`RequestEntry`],
    /// JSON): an order page with the order's value.
    Remember,
    /// Answer the decision record whose key is the `key` query parameter, or 404.
    Recall,
}

impl Operation {
    pub const ALL: [Operation; 8] = [
        Operation::Apply,
        Operation::Beacon,
        Operation::Take,
        Operation::Read,
        Operation::Erase,
        Operation::Ping,
        Operation::Remember,
        Operation::Recall,
    ];

    pub fn method(self) -> Method {
        match self {
            Operation::Apply
            | Operation::Beacon
            | Operation::Take
            | Operation::Remember => Method::Post,
            Operation::Read | Operation::Ping | Operation::Recall => Method::Get,
            Operation::Erase => Method::Delete,
        }
    }

    pub fn path(self) -> &'static str {
        match self {
            Operation::Apply => "/apply",
            Operation::Beacon => "/beacon",
            Operation::Take => "/take",
            Operation::Read | Operation::Erase => "/state",
            Operation::Ping => "/ping",
            Operation::Remember => "/trail",
            Operation::Recall => "/decisions",
        }
    }

    /// The URL of the request to the object's stub (its host is not used).
    pub fn url(self) -> String {
        format!("https://session{}", self.path())
    }

    /// The operation a request to the object asks for, if any.
    pub fn of(method: &Method, path: &str) -> Option<Operation> {
        Operation::ALL
            .into_iter()
            .find(|op| op.method() == *method && op.path() == path)
    }
}

/// The body of [`Operation::Apply`]: count a request's events, then classify the
/// updated state in the object itself, so a request makes one round trip.
#[derive(Debug, Serialize, Deserialize)]
pub struct ApplyRequest {
    pub now_ms: i64,
    pub events: Vec<Event>,
    /// The object belongs to a logged-in customer.
    pub customer: bool,
    /// A session object to merge into this customer object first (once).
    pub absorb: Option<String>,
    /// The session whose canary share picks the classifying bundle
    /// (`models::for_session`); the worker has checked its cookie's MAC.
    pub session: String,
    /// The session is in the holdout share: the baseline answer, nothing personalised.
    pub holdout: bool,
    /// A logged-in customer's traits (read by the worker, checked against the schema).
    pub traits: Traits,
    /// The request as its training-record entry records it (when records are on).
    pub request: TrailRequest,
}

/// The answer of [`Operation::Apply`]: what the object decided, and kept (the decision
/// record, and the trail entry unless it waits for the response).
#[derive(Debug, Serialize, Deserialize)]
pub struct Decided {
    pub classification: Classification,
    /// The feature row classified on; absent in the holdout.
    pub features: Option<Features>,
    /// Every `edgeseg-*` header to send, as `[name, value]`, in order: the ones the
    /// decision record keeps.
    pub headers: Vec<(String, String)>,
    /// An order page's trail entry, when the store names a response header for the
    /// order's value: the worker adds the value from the origin's response and sends the
    /// entry back ([`Operation::Remember`]).
    pub awaiting_response: Option<RequestEntry>,
}
