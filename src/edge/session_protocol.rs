//! What the worker and a session Durable Object say to each other: the operations the
//! object offers ([`Operation`]) and the body of the one that counts a request
//! ([`ApplyRequest`]). Both sides use these types, so a path or a method is written once.

use serde::{Deserialize, Serialize};
use worker::Method;

use crate::core::decision_log::DecisionRecord;
use crate::core::page_stats::PageStats;
use crate::core::records::RequestEntry;
use crate::core::signals::Event;

/// An operation on a session (or customer) object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    /// Count a request's events ([`ApplyRequest`]), answer the updated state.
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
    /// Keep what a tracked request leaves after its response ([`Remembered`], JSON):
    /// one round trip for its decision record and its training-record entry.
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
            | Operation::Remember
=> Method::Post,
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
            Operation::Remember | Operation::Recall => "/decisions",
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

/// The body of [`Operation::Apply`].
#[derive(Debug, Serialize, Deserialize)]
pub struct ApplyRequest {
    pub now_ms: i64,
    pub events: Vec<Event>,
    /// The object belongs to a logged-in customer.
    pub customer: bool,
    /// A session object to merge into this customer object first (once).
    pub absorb: Option<String>,
    /// The classifying bundle's page stats for these events (`PageStats::slice_for`),
    /// so counting and classifying use one table; absent: the embedded bundle's.
    #[serde(default)]
    pub page_stats: Option<PageStats>,
}

/// The body of [`Operation::Remember`]: a request's decision record (for the admin's
/// explain) and its entry in the visit's trail (for training records), either or both.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Remembered {
    pub decision: Option<DecisionRecord>,
    pub entry: Option<RequestEntry>,
}
