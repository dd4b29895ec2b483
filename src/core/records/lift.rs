//! Lift from training records: the order rate of personalised visits against the
//! holdout (the control group), per segment, with 95 % intervals. Each rate has a
//! Wilson score interval; the difference has Newcombe's hybrid score interval (built
//! from the two Wilson intervals), which keeps its coverage at small counts and rates
//! near 0, where the normal approximation does not.

use std::collections::BTreeMap;

use super::record::TrainingRecord;

/// z for a two-sided 95 % interval.
pub const Z95: f64 = 1.959_963_984_540_054;

/// The segment of visits that ended without one (rules-only answers, errors).
pub const NO_SEGMENT: &str = "(none)";
/// The row over all visits.
pub const ALL: &str = "(all)";

/// Visits and orders of one group.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Arm {
    pub visits: u64,
    pub orders: u64,
}

impl Arm {
    fn add(&mut self, ordered: bool) {
        self.visits += 1;
        self.orders += u64::from(ordered);
    }

    pub fn rate(&self) -> Option<f64> {
        (self.visits > 0).then(|| self.orders as f64 / self.visits as f64)
    }

    /// The Wilson score interval of the rate; `None` without visits.
    pub fn interval(&self) -> Option<(f64, f64)> {
        wilson(self.orders, self.visits, Z95)
    }
}

/// One segment's comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentLift {
    pub segment: String,
    pub personalised: Arm,
    pub holdout: Arm,
}

impl SegmentLift {
    /// Personalised rate minus holdout rate, with Newcombe's interval.
    pub fn difference(&self) -> Option<(f64, f64, f64)> {
        let (p1, p2) = (self.personalised.rate()?, self.holdout.rate()?);
        let (l1, u1) = self.personalised.interval()?;
        let (l2, u2) = self.holdout.interval()?;
        let d = p1 - p2;
        let low = d - ((p1 - l1).powi(2) + (u2 - p2).powi(2)).sqrt();
        let high = d + ((u1 - p1).powi(2) + (p2 - l2).powi(2)).sqrt();
        Some((d, low, high))
    }
}

/// The Wilson score interval for `successes` of `n` at `z`.
pub fn wilson(successes: u64, n: u64, z: f64) -> Option<(f64, f64)> {
    if n == 0 || successes > n {
        return None;
    }
    let (n, p) = (n as f64, successes as f64 / n as f64);
    let z2 = z * z;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = z / (1.0 + z2 / n) * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    Some(((centre - half).max(0.0), (centre + half).min(1.0)))
}

/// Per segment (the segment a visit ended with) and over all visits ([`ALL`], first).
pub fn by_segment<'a>(records: impl IntoIterator<Item = &'a TrainingRecord>) -> Vec<SegmentLift> {
    let mut segments: BTreeMap<String, SegmentLift> = BTreeMap::new();
    let mut all = SegmentLift {
        segment: ALL.into(),
        personalised: Arm::default(),
        holdout: Arm::default(),
    };
    for record in records {
        let segment = record.final_segment().unwrap_or(NO_SEGMENT).to_string();
        let row = segments.entry(segment.clone()).or_insert(SegmentLift {
            segment,
            personalised: Arm::default(),
            holdout: Arm::default(),
        });
        let ordered = record.outcome.ordered;
        for lift in [row, &mut all] {
            match record.in_holdout() {
                true => lift.holdout.add(ordered),
                false => lift.personalised.add(ordered),
            }
        }
    }
    std::iter::once(all).chain(segments.into_values()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_matches_the_textbook_values() {
        // Newcombe (1998), table I: 81/263 -> 0.2553 .. 0.3662.
        let (low, high) = wilson(81, 263, Z95).expect("an interval");
        assert!((low - 0.2553).abs() < 1e-4 && (high - 0.3662).abs() < 1e-4);
        // 0 of 10 -> 0 .. 0.2775.
        let (low, high) = wilson(0, 10, Z95).expect("an interval");
        assert_eq!(low, 0.0);
        assert!((high - 0.2775).abs() < 1e-4);
        assert_eq!(wilson(0, 0, Z95), None);
    }

    #[test]
    fn newcombe_matches_the_published_example() {
        // Newcombe (1998), example (c) of table II: 56/70 vs 48/80 -> 0.2000,
        // hybrid score interval 0.0524 .. 0.3339.
        let lift = SegmentLift {
            segment: "x".into(),
            personalised: Arm {
                visits: 70,
                orders: 56,
            },
            holdout: Arm {
                visits: 80,
                orders: 48,
            },
        };
        let (d, low, high) = lift.difference().expect("a difference");
        assert!((d - 0.2).abs() < 1e-12);
        assert!((low - 0.0524).abs() < 1e-4, "{low}");
        assert!((high - 0.3339).abs() < 1e-4, "{high}");
    }
}
