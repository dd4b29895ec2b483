//! Where records live in the bucket (docs/contracts.md section 9):
//! `records/day=YYYY-MM-DD/<key>.jsonl.gz`, one object per visit. The key is a hash of
//! the session object's id and the visit's start, so a retried alarm overwrites the same
//! object instead of adding a second one, and the key names no session.

use sha2::{Digest as _, Sha256};

use crate::core::calendar::CivilDate;

/// Every record key starts with this.
pub const ROOT: &str = "records/";

const MS_PER_DAY: i64 = 86_400_000;

/// A UTC day, as partitions and `edgeseg logs pull --from/--to` write it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Day(CivilDate);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a day (YYYY-MM-DD)")]
pub struct BadDay(pub String);

impl Day {
    pub fn of_ms(ms: i64) -> Day {
        Day(CivilDate::from_unix_ms(ms))
    }

    pub fn parse(text: &str) -> Result<Day, BadDay> {
        let bad = || BadDay(text.chars().take(40).collect());
        let bytes = text.as_bytes();
        let shaped = bytes.len() == 10
            && bytes[4] == b'-'
            && bytes[7] == b'-'
            && bytes
                .iter()
                .enumerate()
                .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
        if !shaped {
            return Err(bad());
        }
        let year: i32 = text[..4].parse().map_err(|_| bad())?;
        let month: u32 = text[5..7].parse().map_err(|_| bad())?;
        let day: u32 = text[8..].parse().map_err(|_| bad())?;
        if !CivilDate::is_valid(year, month, day) {
            return Err(bad());
        }
        Ok(Day(CivilDate { year, month, day }))
    }

    /// The day `n` days later (earlier when negative).
    pub fn plus(self, n: i64) -> Day {
        Day::of_ms((self.0.days_since_epoch() + n) * MS_PER_DAY)
    }

    /// The partition prefix, `records/day=YYYY-MM-DD/`.
    pub fn prefix(self) -> String {
        format!("{ROOT}day={self}/")
    }

    /// The days from `self` to `to`, both included (empty when `to` is earlier).
    pub fn through(self, to: Day) -> Vec<Day> {
        let (from, to) = (self.0.days_since_epoch(), to.0.days_since_epoch());
        (from..=to).map(|d| Day::of_ms(d * MS_PER_DAY)).collect()
    }
}

impl std::fmt::Display for Day {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let CivilDate { year, month, day } = self.0;
        write!(f, "{year:04}-{month:02}-{day:02}")
    }
}

/// The object key of the visit that started at `started_ms` in the session object
/// `object` (its platform id): the same visit always gets the same key.
pub fn object_key(object: &str, started_ms: i64) -> String {
    let digest = Sha256::digest(format!("{object}\n{started_ms}").as_bytes());
    let day = Day::of_ms(started_ms);
    format!("{}{}.jsonl.gz", day.prefix(), hex::encode(&digest[..16]))
}

/// The day of a partition prefix the bucket lists (`records/day=YYYY-MM-DD/`).
pub fn day_of_prefix(prefix: &str) -> Option<Day> {
    let day = prefix.strip_prefix(ROOT)?.strip_prefix("day=")?;
    Day::parse(day.strip_suffix('/').unwrap_or(day)).ok()
}

/// The partitions past retention on `today`: those whose day is more than
/// `retention_days` before it (a record is kept at least that many full days).
pub fn expired(
    prefixes: &[String],
    today: Day,
    retention_days: u32,
) -> impl Iterator<Item = &String> {
    let oldest_kept = today.plus(-i64::from(retention_days));
    prefixes
        .iter()
        .filter(move |p| day_of_prefix(p).is_some_and(|day| day < oldest_kept))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_parse_strictly_and_count() {
        let day = Day::parse("2026-11-25").expect("a day");
        assert_eq!(day.to_string(), "2026-11-25");
        assert_eq!(day.plus(7).to_string(), "2026-12-02");
        assert_eq!(day.through(day.plus(2)).len(), 3);
        assert!(day.through(day.plus(-1)).is_empty());
        for bad in [
            "2026-02-30",
            "2026-1-05",
            "26-11-25",
            "2026/11/25",
            "",
            "2026-11-25x",
        ] {
            assert!(Day::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn keys_are_deterministic_and_partitioned_by_start_day() {
        let start = 1_795_262_400_000; // 2026-11-21T10:00Z
        let key = object_key("abc", start);
        assert_eq!(key, object_key("abc", start));
        assert_ne!(key, object_key("abd", start));
        assert!(key.starts_with("records/day=2026-11-21/"), "{key}");
        assert!(key.ends_with(".jsonl.gz"));
        assert!(!key.contains("abc"));
    }

    #[test]
    fn retention_keeps_the_last_days() {
        let today = Day::parse("2026-11-25").expect("a day");
        let prefixes: Vec<String> = ["2026-08-26", "2026-08-27", "2026-11-25"]
            .iter()
            .map(|d| format!("records/day={d}/"))
            .chain(["records/other/".to_string()])
            .collect();
        let gone: Vec<&String> = expired(&prefixes, today, 90).collect();
        assert_eq!(gone, [&prefixes[0]]);
    }
}
