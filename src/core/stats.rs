//! Live aggregates: what the worker counts per minute about the requests it classified,
//! and how counts from many isolates and minutes add up. Aggregates only: no session id,
//! no shopper-level value; a consent-withheld request is one count of its reason.
//!
//! The shell records each request into an isolate's [`Minutes`], flushes them to the
//! aggregation object after the response, and the dashboard, health and `edgeseg drift`
//! read merged [`Counters`] back.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::core::classify::{Classification, Reason};
use crate::core::drift::{DriftReference, DriftReport, Thresholds};
use crate::core::features::Features;

/// Fixed intent bins: tenths of the probability, the last one closed at 1.
pub const INTENT_BINS: usize = 10;
/// Upper edges (ms) of the pipeline-time bins; one more bin above the last.
pub const PIPELINE_MS_EDGES: [f64; 8] = [1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 250.0];
pub const MINUTE_MS: i64 = 60_000;

/// What one model version saw: its segment mix and its inputs' histograms (over the
/// drift bins of that version's manifest, so versions never mix bins).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelCounts {
    /// Requests this version classified.
    pub requests: u64,
    /// Of those, served as a canary.
    #[serde(default)]
    pub canary: u64,
    /// AI segment id -> count.
    #[serde(default)]
    pub segments: BTreeMap<String, u64>,
    /// Model input -> count per drift bin.
    #[serde(default)]
    pub inputs: BTreeMap<String, Vec<u64>>,
}

/// Counts of one minute, or of any window (merging is addition).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Counters {
    /// Every tracked request, whatever its reason.
    pub requests: u64,
    /// `edgeseg-reason` token -> count.
    #[serde(default)]
    pub reasons: BTreeMap<String, u64>,
    /// AI segment id (reason `MODEL`) -> count.
    #[serde(default)]
    pub segments: BTreeMap<String, u64>,
    /// Matched rule segment id -> count (a request may match several).
    #[serde(default)]
    pub rule_segments: BTreeMap<String, u64>,
    /// Count of intents per tenth.
    #[serde(default)]
    pub intent: Vec<u64>,
    /// Model version -> what it saw.
    #[serde(default)]
    pub models: BTreeMap<String, ModelCounts>,
    /// `edgeseg-error` code -> count.
    #[serde(default)]
    pub errors: BTreeMap<String, u64>,
    /// Count of requests per pipeline-time bin ([`PIPELINE_MS_EDGES`]).
    #[serde(default)]
    pub pipeline_ms: Vec<u64>,
}

/// One tracked request, as the shell saw it.
pub struct Observation<'a> {
    pub classification: &'a Classification,
    /// The feature row the model saw (absent when nothing was classified).
    pub features: Option<&'a Features>,
    /// The classifying bundle's drift section, for the input histograms.
    pub reference: Option<&'a DriftReference>,
    /// The classifying bundle was the channel's canary.
    pub canary: bool,
    /// Time from the request's arrival to its headers, in ms.
    pub pipeline_ms: f64,
}

fn bump(map: &mut BTreeMap<String, u64>, key: &str, by: u64) {
    *map.entry(key.to_string()).or_default() += by;
}

fn add_into(into: &mut Vec<u64>, from: &[u64]) {
    if into.len() < from.len() {
        into.resize(from.len(), 0);
    }
    for (a, b) in into.iter_mut().zip(from) {
        *a += b;
    }
}

fn add_maps(into: &mut BTreeMap<String, u64>, from: &BTreeMap<String, u64>) {
    for (key, count) in from {
        bump(into, key, *count);
    }
}

fn count_bin(bins: &mut Vec<u64>, width: usize, bin: usize) {
    if bins.len() < width {
        bins.resize(width, 0);
    }
    if let Some(slot) = bins.get_mut(bin) {
        *slot += 1;
    }
}

/// The intent bin of a probability: tenths, 1.0 in the last.
pub fn intent_bin(intent: f32) -> Option<usize> {
    (intent.is_finite() && (0.0..=1.0).contains(&intent))
        .then(|| ((intent * INTENT_BINS as f32) as usize).min(INTENT_BINS - 1))
}

/// The pipeline-time bin of a duration in ms.
pub fn pipeline_bin(ms: f64) -> usize {
    PIPELINE_MS_EDGES.partition_point(|edge| *edge < ms)
}

impl ModelCounts {
    fn merge(&mut self, other: &ModelCounts) {
        self.requests += other.requests;
        self.canary += other.canary;
        add_maps(&mut self.segments, &other.segments);
        for (name, bins) in &other.inputs {
            add_into(self.inputs.entry(name.clone()).or_default(), bins);
        }
    }
}

impl Counters {
    /// Counts one tracked request.
    pub fn record(&mut self, seen: &Observation) {
        let c = seen.classification;
        self.requests += 1;
        bump(&mut self.reasons, c.reason.as_token(), 1);
        if let Some(code) = &c.error {
            bump(&mut self.errors, code, 1);
        }
        count_bin(
            &mut self.pipeline_ms,
            PIPELINE_MS_EDGES.len() + 1,
            pipeline_bin(seen.pipeline_ms),
        );
        for rule in &c.rules {
            bump(&mut self.rule_segments, &rule.id, 1);
        }
        if let Some(bin) = c.intent.and_then(intent_bin) {
            count_bin(&mut self.intent, INTENT_BINS, bin);
        }
        let Some(version) = &c.model_version else {
            return;
        };
        let model = self.models.entry(version.clone()).or_default();
        model.requests += 1;
        model.canary += u64::from(seen.canary);
        if c.reason == Reason::Model {
            if let Some(segment) = &c.segment {
                bump(&mut self.segments, segment, 1);
                bump(&mut model.segments, segment, 1);
            }
        }
        if let (Some(features), Some(reference)) = (seen.features, seen.reference) {
            for input in &reference.inputs {
                let bin = features.get(&input.name).and_then(|v| input.bin_of(v));
                if let Some(bin) = bin {
                    let bins = model.inputs.entry(input.name.clone()).or_default();
                    count_bin(bins, input.width(), bin);
                }
            }
        }
    }

    /// Adds `other` into these counts.
    pub fn merge(&mut self, other: &Counters) {
        self.requests += other.requests;
        add_maps(&mut self.reasons, &other.reasons);
        add_maps(&mut self.segments, &other.segments);
        add_maps(&mut self.rule_segments, &other.rule_segments);
        add_into(&mut self.intent, &other.intent);
        for (version, counts) in &other.models {
            self.models
                .entry(version.clone())
                .or_default()
                .merge(counts);
        }
        add_maps(&mut self.errors, &other.errors);
        add_into(&mut self.pipeline_ms, &other.pipeline_ms);
    }

    /// Drift of one model version's traffic in these counts against its reference.
    pub fn drift(
        &self,
        version: &str,
        reference: &DriftReference,
        segment_ids: &[String],
        thresholds: Thresholds,
    ) -> DriftReport {
        let empty = ModelCounts::default();
        let model = self.models.get(version).unwrap_or(&empty);
        let segments: Vec<u64> = segment_ids
            .iter()
            .map(|id| model.segments.get(id).copied().unwrap_or(0))
            .collect();
        DriftReport::new(
            version,
            reference,
            |name| model.inputs.get(name).map(Vec::as_slice),
            &segments,
            thresholds,
        )
    }
}

/// An isolate's counts not yet flushed, per minute (ms since the epoch / 60 000).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Minutes(pub BTreeMap<i64, Counters>);

impl Minutes {
    pub fn minute_of(now_ms: i64) -> i64 {
        now_ms.div_euclid(MINUTE_MS)
    }

    pub fn record(&mut self, now_ms: i64, seen: &Observation) {
        self.0
            .entry(Minutes::minute_of(now_ms))
            .or_default()
            .record(seen);
    }

    pub fn merge(&mut self, other: &Minutes) {
        for (minute, counters) in &other.0 {
            self.0.entry(*minute).or_default().merge(counters);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Everything from `from_minute` on, merged into one set of counts.
    pub fn total_since(&self, from_minute: i64) -> Counters {
        let mut total = Counters::default();
        for counters in self.0.range(from_minute..).map(|(_, c)| c) {
            total.merge(counters);
        }
        total
    }
}

/// One slice of a time series: the segment mix of `bucket` minutes from `minute`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesPoint {
    pub minute: i64,
    pub requests: u64,
    pub segments: BTreeMap<String, u64>,
    pub rule_segments: BTreeMap<String, u64>,
}

impl Minutes {
    /// The segment mix over minutes `from..=to` in slices of `bucket` minutes, empty
    /// slices included, oldest first.
    pub fn series(&self, from: i64, to: i64, bucket: i64) -> Vec<SeriesPoint> {
        let bucket = bucket.max(1);
        let mut points = Vec::new();
        let mut start = from;
        while start <= to {
            let end = (start + bucket - 1).min(to);
            let mut point = SeriesPoint {
                minute: start,
                requests: 0,
                segments: BTreeMap::new(),
                rule_segments: BTreeMap::new(),
            };
            for counters in self.0.range(start..=end).map(|(_, c)| c) {
                point.requests += counters.requests;
                add_maps(&mut point.segments, &counters.segments);
                add_maps(&mut point.rule_segments, &counters.rule_segments);
            }
            points.push(point);
            start = end + 1;
        }
        points
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::drift::InputReference;
    use crate::core::features::Observed;
    use crate::core::rules::SegmentMatch;

    fn model_classification(segment: &str, intent: f32) -> Classification {
        let mut c = Classification::bare(Reason::Model);
        c.segment = Some(segment.into());
        c.intent = Some(intent);
        c.model_version = Some("v1".into());
        c.rules = vec![SegmentMatch {
            id: "new_visitor".into(),
            name: "New visitor".into(),
            priority: 20,
            conditions: vec![],
        }];
        c
    }

    fn reference() -> DriftReference {
        DriftReference {
            source: String::new(),
            rows: 4,
            inputs: vec![
                InputReference {
                    name: "page_views".into(),
                    edges: Some(vec![1.0, 3.0]),
                    categories: None,
                    reference: vec![0.5, 0.25, 0.25],
                },
                InputReference {
                    name: "device".into(),
                    edges: None,
                    categories: Some(vec!["desktop".into(), "mobile".into()]),
                    reference: vec![0.5, 0.5, 0.0],
                },
            ],
            segments: vec![0.5, 0.5],
        }
    }

    fn observe(counters: &mut Counters, c: &Classification, features: Option<&Features>) {
        let reference = reference();
        counters.record(&Observation {
            classification: c,
            features,
            reference: Some(&reference),
            canary: false,
            pipeline_ms: 3.0,
        });
    }

    #[test]
    fn a_request_is_counted_in_every_view() {
        let mut features = Features::default();
        features.set("page_views", Observed::Num(2.0));
        features.set("device", Observed::Label("mobile".into()));
        let mut counters = Counters::default();
        observe(
            &mut counters,
            &model_classification("explorer", 0.95),
            Some(&features),
        );
        observe(
            &mut counters,
            &Classification::bare(Reason::ConsentWithheld),
            None,
        );
        let mut failed = Classification::bare(Reason::Error);
        failed.error = Some("storage_unavailable".into());
        observe(&mut counters, &failed, None);

        assert_eq!(counters.requests, 3);
        assert_eq!(counters.reasons["MODEL"], 1);
        assert_eq!(counters.reasons["CONSENT_WITHHELD"], 1);
        assert_eq!(counters.errors["storage_unavailable"], 1);
        assert_eq!(counters.segments["explorer"], 1);
        assert_eq!(counters.rule_segments["new_visitor"], 1);
        assert_eq!(counters.intent[9], 1);
        assert_eq!(counters.pipeline_ms[2], 3);
        let model = &counters.models["v1"];
        assert_eq!(model.inputs["page_views"], [0, 1, 0]);
        assert_eq!(model.inputs["device"], [0, 1, 0]);
    }

    #[test]
    fn merging_adds_up_and_serialises_round_trip() {
        let mut a = Counters::default();
        observe(&mut a, &model_classification("explorer", 0.1), None);
        let mut b = Counters::default();
        observe(&mut b, &model_classification("bouncer", 1.0), None);
        observe(&mut b, &model_classification("explorer", 0.5), None);
        let mut total = a.clone();
        total.merge(&b);
        assert_eq!(total.requests, 3);
        assert_eq!(total.segments["explorer"], 2);
        assert_eq!(total.intent[1] + total.intent[5] + total.intent[9], 3);
        assert_eq!(total.models["v1"].requests, 3);
        let text = serde_json::to_string(&total).expect("serialises");
        let back: Counters = serde_json::from_str(&text).expect("parses");
        assert_eq!(back, total);
    }

    /// A request with no feature row and no drift reference.
    fn plain(classification: &Classification, canary: bool) -> Observation<'_> {
        Observation {
            classification,
            features: None,
            reference: None,
            canary,
            pipeline_ms: 0.5,
        }
    }

    #[test]
    fn minutes_bucket_by_minute_and_total_a_window() {
        let mut minutes = Minutes::default();
        let c = model_classification("explorer", 0.2);
        let seen = plain(&c, true);
        minutes.record(59_999, &seen);
        minutes.record(60_000, &seen);
        minutes.record(61_000, &seen);
        assert_eq!(minutes.0.len(), 2);
        assert_eq!(minutes.total_since(1).requests, 2);
        assert_eq!(minutes.total_since(0).models["v1"].canary, 3);
    }

    #[test]
    fn drift_reads_one_versions_histograms() {
        let mut counters = Counters::default();
        for device in ["mobile", "mobile", "mobile", "mobile"] {
            let mut features = Features::default();
            features.set("device", Observed::Label(device.into()));
            features.set("page_views", Observed::Num(1.0));
            observe(
                &mut counters,
                &model_classification("explorer", 0.5),
                Some(&features),
            );
        }
        let ids = ["explorer".to_string(), "bouncer".to_string()];
        let report = counters.drift("v1", &reference(), &ids, Thresholds::default());
        assert!(report.inputs[1].psi.expect("observed") > 0.25);
        assert_eq!(report.inputs[0].n, 4);
        assert!(report.segments.psi.expect("observed") > 0.25);
        let unseen = counters.drift("v2", &reference(), &ids, Thresholds::default());
        assert_eq!(unseen.level, None);
    }

    #[test]
    fn a_series_has_every_slice() {
        let mut minutes = Minutes::default();
        let c = model_classification("explorer", 0.2);
        let seen = plain(&c, false);
        minutes.record(0, &seen);
        minutes.record(5 * MINUTE_MS, &seen);
        minutes.record(5 * MINUTE_MS, &seen);
        let series = minutes.series(0, 9, 3);
        let requests: Vec<u64> = series.iter().map(|p| p.requests).collect();
        assert_eq!(requests, [1, 2, 0, 0]);
        assert_eq!(series[1].minute, 3);
        assert_eq!(series[1].segments["explorer"], 2);
        assert_eq!(series[1].rule_segments["new_visitor"], 2);
    }

    #[test]
    fn bins_are_fixed() {
        assert_eq!(intent_bin(0.0), Some(0));
        assert_eq!(intent_bin(0.999), Some(9));
        assert_eq!(intent_bin(1.0), Some(9));
        assert_eq!(intent_bin(f32::NAN), None);
        assert_eq!(pipeline_bin(0.2), 0);
        assert_eq!(pipeline_bin(1.0), 0);
        assert_eq!(pipeline_bin(1e6), PIPELINE_MS_EDGES.len());
    }
}
