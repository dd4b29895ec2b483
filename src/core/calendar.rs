//! Civil dates from UTC milliseconds, and the store's special days.
//!
//! Hand-written (Howard Hinnant's days-from-civil algorithms) so the wasm carries no
//! date crate: the core needs only year/month/day/weekday in UTC.

use serde::{Deserialize, Serialize};

const MS_PER_DAY: i64 = 86_400_000;

/// A calendar date in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct CivilDate {
    pub year: i32,
    /// 1..=12
    pub month: u32,
    /// 1..=31
    pub day: u32,
}

impl CivilDate {
    /// The UTC date of a Unix timestamp in milliseconds.
    pub fn from_unix_ms(ms: i64) -> Self {
        civil_from_days(ms.div_euclid(MS_PER_DAY))
    }

    /// Days since 1970-01-01.
    pub fn days_since_epoch(self) -> i64 {
        days_from_civil(self.year, self.month, self.day)
    }

    /// Day of week, 0 = Sunday .. 6 = Saturday.
    pub fn weekday(self) -> u32 {
        // 1970-01-01 was a Thursday (4).
        (self.days_since_epoch() + 4).rem_euclid(7) as u32
    }

    /// Whether the date exists (e.g. rejects 02-30; 02-29 only in leap years).
    pub fn is_valid(year: i32, month: u32, day: u32) -> bool {
        (1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month)
    }
}

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

fn days_from_civil(year: i32, month: u32, day: u32) -> i64 {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i64) -> CivilDate {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
    CivilDate { year, month, day }
}

/// UCI month labels (note `June`, the dataset's spelling).
pub fn month_label(month: u32) -> &'static str {
    const LABELS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "June", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    LABELS
        .get(month.wrapping_sub(1) as usize)
        .copied()
        .unwrap_or("Jan")
}

/// One special day of the store calendar, as written in the config.
///
/// Either a fixed `date` (`MM-DD` every year, or `YYYY-MM-DD` once), or a floating day:
/// the `nth` (1..=5, or -1 for the last) `weekday` of `month`, moved by `offset_days`
/// (Black Friday = 4th Thursday of November + 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecialDay {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub month: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weekday: Option<Weekday>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nth: Option<i32>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub offset_days: i32,
}

fn is_zero(v: &i32) -> bool {
    *v == 0
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Weekday {
    Sun,
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
}

impl Weekday {
    fn index(self) -> u32 {
        self as u32
    }
}

/// A parsed fixed date: month/day, and the year when it happens only once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FixedDate {
    year: Option<i32>,
    month: u32,
    day: u32,
}

fn parse_fixed(text: &str) -> Option<FixedDate> {
    let parts: Vec<&str> = text.split('-').collect();
    let num = |s: &str, len: usize| -> Option<u32> {
        if s.len() == len && s.bytes().all(|b| b.is_ascii_digit()) {
            s.parse().ok()
        } else {
            None
        }
    };
    let (year, month, day) = match parts.as_slice() {
        [m, d] => (None, num(m, 2)?, num(d, 2)?),
        [y, m, d] => (Some(num(y, 4)? as i32), num(m, 2)?, num(d, 2)?),
        _ => return None,
    };
    // Check against a leap year when the year is open, so 02-29 is allowed.
    if !CivilDate::is_valid(year.unwrap_or(2000), month, day) {
        return None;
    }
    Some(FixedDate { year, month, day })
}

impl SpecialDay {
    /// Checks the entry; the message says what is wrong (the caller names the entry).
    pub fn validate(&self) -> Result<(), String> {
        match (&self.date, self.month, self.weekday, self.nth) {
            (Some(date), None, None, None) => parse_fixed(date)
                .map(|_| ())
                .ok_or_else(|| format!("date: {date:?} is not MM-DD or YYYY-MM-DD")),
            (None, Some(month), Some(_), Some(nth)) => {
                if !(1..=12).contains(&month) {
                    Err("month: must be 1..12".into())
                } else if !((1..=5).contains(&nth) || nth == -1) {
                    Err("nth: must be 1..5 or -1 (last)".into())
                } else if self.offset_days.abs() > 31 {
                    Err("offset_days: must be -31..31".into())
                } else {
                    Ok(())
                }
            }
            _ => Err("give either `date`, or `month`, `weekday` and `nth`".into()),
        }
    }

    /// The day's date in `year`, if it falls in that year.
    pub fn in_year(&self, year: i32) -> Option<CivilDate> {
        if let Some(text) = &self.date {
            let fixed = parse_fixed(text)?;
            if fixed.year.is_some_and(|y| y != year)
                || !CivilDate::is_valid(year, fixed.month, fixed.day)
            {
                return None;
            }
            return Some(CivilDate {
                year,
                month: fixed.month,
                day: fixed.day,
            });
        }
        let month = self.month?;
        let weekday = self.weekday?.index();
        let nth = self.nth?;
        if !CivilDate::is_valid(year, month, 1) {
            return None;
        }
        let day = if nth > 0 {
            let first = CivilDate {
                year,
                month,
                day: 1,
            }
            .weekday();
            let weeks = u32::try_from(nth - 1).unwrap_or(0).min(5);
            1 + (weekday + 7 - first) % 7 + 7 * weeks
        } else {
            let last_day = days_in_month(year, month);
            let last = CivilDate {
                year,
                month,
                day: last_day,
            }
            .weekday();
            last_day - (last + 7 - weekday) % 7
        };
        if !CivilDate::is_valid(year, month, day) {
            return None;
        }
        let days = days_from_civil(year, month, day) + i64::from(self.offset_days);
        Some(civil_from_days(days))
    }
}

/// The default calendar: Valentine's Day, Mother's Day (US: second Sunday of May),
/// Black Friday (the day after the fourth Thursday of November) and Christmas.
pub fn default_special_days() -> Vec<SpecialDay> {
    let fixed = |name: &str, date: &str| SpecialDay {
        name: name.into(),
        date: Some(date.into()),
        month: None,
        weekday: None,
        nth: None,
        offset_days: 0,
    };
    vec![
        fixed("Valentine's Day", "02-14"),
        SpecialDay {
            name: "Mother's Day".into(),
            date: None,
            month: Some(5),
            weekday: Some(Weekday::Sun),
            nth: Some(2),
            offset_days: 0,
        },
        SpecialDay {
            name: "Black Friday".into(),
            date: None,
            month: Some(11),
            weekday: Some(Weekday::Thu),
            nth: Some(4),
            offset_days: 1,
        },
        fixed("Christmas", "12-25"),
    ]
}

/// UCI closeness for `days_before` a special day: nonzero from 12 to 2 days before,
/// 1.0 six days before, in steps of 0.2 (0.2 at 2 and from 10 to 12 days).
pub fn closeness(days_before: i64) -> f64 {
    match days_before {
        2..=6 => 1.0 - 0.2 * (6 - days_before) as f64,
        7..=12 => (1.0 - 0.2 * (days_before - 6) as f64).max(0.2),
        _ => 0.0,
    }
}

/// `special_day`: the largest closeness of `now_ms`'s UTC date to any special day.
pub fn special_day(now_ms: i64, days: &[SpecialDay]) -> f64 {
    let today = CivilDate::from_unix_ms(now_ms);
    let today_n = today.days_since_epoch();
    let mut best = 0.0f64;
    for day in days {
        // A day early next year can be within 12 days of today (late December).
        for year in [today.year, today.year.saturating_add(1)] {
            if let Some(date) = day.in_year(year) {
                let value = closeness(date.days_since_epoch() - today_n);
                best = best.max(value);
            }
        }
    }
    // Round away float noise so 0.6000000000000001 is reported as 0.6.
    (best * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(year: i32, month: u32, day: u32) -> i64 {
        days_from_civil(year, month, day) * MS_PER_DAY + 3_600_000
    }

    #[test]
    fn civil_round_trip() {
        for days in [-1000i64, 0, 59, 60, 10_957, 20_000, 20_778] {
            let d = civil_from_days(days);
            assert_eq!(d.days_since_epoch(), days);
        }
        assert_eq!(
            CivilDate::from_unix_ms(0),
            CivilDate {
                year: 1970,
                month: 1,
                day: 1
            }
        );
        // 2026-11-21 is a Saturday.
        let d = CivilDate::from_unix_ms(ms(2026, 11, 21));
        assert_eq!((d.year, d.month, d.day, d.weekday()), (2026, 11, 21, 6));
    }

    #[test]
    fn floating_days_are_computed() {
        let days = default_special_days();
        let mothers = days[1].in_year(2026).unwrap();
        assert_eq!((mothers.month, mothers.day), (5, 10));
        let black_friday = days[2].in_year(2026).unwrap();
        assert_eq!((black_friday.month, black_friday.day), (11, 27));
        assert_eq!(days[2].in_year(2025).unwrap().day, 28);
        assert_eq!(days[1].in_year(2025).unwrap().day, 11);
    }

    #[test]
    fn last_weekday_of_month() {
        let memorial = SpecialDay {
            name: "Memorial Day".into(),
            date: None,
            month: Some(5),
            weekday: Some(Weekday::Mon),
            nth: Some(-1),
            offset_days: 0,
        };
        assert_eq!(memorial.in_year(2026).unwrap().day, 25);
    }

    #[test]
    fn absurd_entries_do_not_panic() {
        let mut day = default_special_days().remove(1);
        for nth in [i32::MAX, i32::MIN, 0, 6] {
            day.nth = Some(nth);
            let _ = day.in_year(2026);
        }
        day.offset_days = i32::MAX;
        let _ = day.in_year(i32::MAX);
        let _ = special_day(i64::MAX, &default_special_days());
        let _ = special_day(i64::MIN, &default_special_days());
    }

    #[test]
    fn uci_closeness_shape() {
        let values: Vec<f64> = (0..=14).map(closeness).collect();
        let expected = [
            0.0, 0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 0.8, 0.6, 0.4, 0.2, 0.2, 0.2, 0.0, 0.0,
        ];
        for (v, e) in values.iter().zip(expected) {
            assert!((v - e).abs() < 1e-9, "{values:?}");
        }
    }

    #[test]
    fn special_day_from_calendar() {
        let days = default_special_days();
        assert_eq!(special_day(ms(2026, 2, 8), &days), 1.0);
        assert_eq!(special_day(ms(2026, 2, 14), &days), 0.0);
        assert_eq!(special_day(ms(2026, 2, 12), &days), 0.2);
        // Black Friday 2026-11-27: 2026-11-21 is six days before.
        assert_eq!(special_day(ms(2026, 11, 21), &days), 1.0);
        assert_eq!(special_day(ms(2026, 7, 1), &days), 0.0);
        // Across the new year.
        let new_year = vec![SpecialDay {
            name: "New Year".into(),
            date: Some("01-01".into()),
            month: None,
            weekday: None,
            nth: None,
            offset_days: 0,
        }];
        assert_eq!(special_day(ms(2026, 12, 26), &new_year), 1.0);
    }

    #[test]
    fn fixed_date_validation() {
        assert!(parse_fixed("02-29").is_some());
        assert!(parse_fixed("2027-02-29").is_none());
        assert!(parse_fixed("2-14").is_none());
        assert!(parse_fixed("13-01").is_none());
        assert!(parse_fixed("garbage").is_none());
        let once = SpecialDay {
            name: "Launch".into(),
            date: Some("2026-12-01".into()),
            month: None,
            weekday: None,
            nth: None,
            offset_days: 0,
        };
        assert!(once.validate().is_ok());
        assert!(once.in_year(2026).is_some());
        assert!(once.in_year(2027).is_none());
    }
}
