//! A visit's trail as its session object collects it, until the visit ends and the
//! trail becomes a [`TrainingRecord`]. The object stores each request's entry under its
//! own slot and only this small head beside them, so a request costs one short write
//! however long the visit has run. Bounded: at most `records.max_requests` requests and
//! as many beacon times are kept; the rest is counted in `truncated`.

use serde::{Deserialize, Serialize};

use crate::core::calendar::CivilDate;

use super::record::{Outcome, RequestEntry, TrainingRecord, RECORD_VERSION};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrailHead {
    /// The visit's start (`SessionState::visit_start_ms`): a request of a later visit
    /// must not join this trail.
    pub started_ms: i64,
    /// Request entries stored so far: the next one goes to slot `kept`.
    pub kept: u32,
    pub beacons_ms: Vec<i64>,
    pub truncated: u32,
    /// How the visit ends so far, past the cap too: an order after the 200th request
    /// still makes it a visit that ordered.
    #[serde(default)]
    pub outcome: Outcome,
}

impl TrailHead {
    pub fn new(started_ms: i64) -> TrailHead {
        TrailHead {
            started_ms,
            ..TrailHead::default()
        }
    }

    /// Counts a request into the visit's outcome; the slot to store its entry under,
    /// or `None` once `cap` entries are kept.
    pub fn admit(&mut self, entry: &RequestEntry, cap: usize) -> Option<u32> {
        self.outcome.ordered |= entry.order;
        if let Some(value) = entry.order_value {
            self.outcome.order_value = Some(self.outcome.order_value.unwrap_or(0.0) + value);
        }
        if self.kept as usize >= cap {
            self.truncated = self.truncated.saturating_add(1);
            return None;
        }
        self.kept += 1;
        Some(self.kept - 1)
    }

    /// Notes a beacon batch's arrival (bounded like the requests).
    pub fn add_beacon(&mut self, at_ms: i64, cap: usize) {
        if self.beacons_ms.len() < cap {
            let at = self.beacons_ms.partition_point(|t| *t <= at_ms);
            self.beacons_ms.insert(at, at_ms);
        }
    }

    /// The visit's record from this head and the stored entries, in any order (entries
    /// are sent after each response, so two quick requests may arrive swapped); `None`
    /// when no request was kept.
    pub fn into_record(self, mut requests: Vec<RequestEntry>) -> Option<TrainingRecord> {
        requests.sort_by_key(|r| r.at_ms);
        let last_request = requests.last()?.at_ms;
        let ended_ms = self
            .beacons_ms
            .last()
            .map_or(last_request, |b| last_request.max(*b));
        let started_ms = if self.started_ms > 0 {
            self.started_ms
        } else {
            requests[0].at_ms
        };
        Some(TrainingRecord {
            v: RECORD_VERSION,
            day: day_of(started_ms),
            started_ms,
            ended_ms,
            requests,
            beacons_ms: self.beacons_ms,
            truncated: self.truncated,
            outcome: self.outcome,
        })
    }
}

/// The UTC day of a Unix ms timestamp, `YYYY-MM-DD`.
pub fn day_of(ms: i64) -> String {
    let date = CivilDate::from_unix_ms(ms);
    format!("{:04}-{:02}-{:02}", date.year, date.month, date.day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::features::Features;
    use crate::core::records::Verdict;

    fn entry(at_ms: i64, path: &str) -> RequestEntry {
        let verdict = Verdict {
            model_version: Some("m".into()),
            rules_version: None,
            intent: Some(0.5),
            segment: Some("browser".into()),
            holdout: false,
        };
        RequestEntry::new(
            at_ms,
            "get",
            path,
            Some("home"),
            &Features::default(),
            verdict,
        )
    }

    #[test]
    fn requests_are_kept_in_time_order_up_to_the_cap() {
        let mut head = TrailHead::new(1_000);
        let mut stored = Vec::new();
        let mut order = entry(5_000, "/checkout/complete");
        order.order = true;
        let arriving = [
            entry(3_000, "/b?q=secret"),
            entry(2_000, "/a"),
            entry(4_000, "/c"),
            order,
        ];
        for e in arriving {
            if let Some(slot) = head.admit(&e, 3) {
                assert_eq!(slot as usize, stored.len(), "slots are handed out in turn");
                stored.push(e);
            }
        }
        head.add_beacon(4_500, 3);
        let record = head.into_record(stored).expect("a record");
        let paths: Vec<&str> = record.requests.iter().map(|r| r.path.as_str()).collect();
        assert_eq!(paths, ["/a", "/b", "/c"], "time order, no query string");
        assert_eq!(record.truncated, 1);
        assert_eq!((record.started_ms, record.ended_ms), (1_000, 4_500));
        assert_eq!(record.requests[0].method, "GET");
        assert!(record.outcome.ordered, "an order past the cap still counts");
    }

    #[test]
    fn the_outcome_sums_the_order_values() {
        let mut head = TrailHead::new(86_400_000);
        let mut order = entry(86_400_500, "/checkout/complete");
        order.order = true;
        order.order_value = Some(10.5);
        let first = entry(86_400_100, "/");
        assert_eq!(head.admit(&first, 10), Some(0));
        assert_eq!(head.admit(&order, 10), Some(1));
        let record = head.into_record(vec![order, first]).expect("a record");
        assert_eq!(record.day, "1970-01-02");
        assert_eq!(
            record.outcome,
            Outcome {
                ordered: true,
                order_value: Some(10.5)
            }
        );
        assert_eq!(TrailHead::new(5).into_record(Vec::new()), None);
    }
}
