//! Dates and periods as statements write them.

use chrono::{Datelike, NaiveDate};

use super::{DateOrder, Period};

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// The calendar month holding `date`.
pub(crate) fn month_period(date: NaiveDate) -> Period {
    month(date.year(), date.month()).unwrap_or(Period::day(date))
}

fn month(year: i32, month: u32) -> Option<Period> {
    let start = NaiveDate::from_ymd_opt(year, month, 1)?;
    let next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)?
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)?
    };
    Some(Period {
        start,
        end: next.pred_opt()?,
    })
}

fn month_number(name: &str) -> Option<u32> {
    let lower = name.to_ascii_lowercase();
    if lower.len() < 3 {
        return None;
    }
    MONTHS
        .iter()
        .position(|m| {
            m.starts_with(&lower) || (lower.len() == 4 && lower == "sept" && *m == "september")
        })
        .and_then(|i| u32::try_from(i + 1).ok())
}

fn two_digit_year(y: i32) -> i32 {
    if y < 100 { 2000 + y } else { y }
}

/// Parses a date or period: `YYYY-MM-DD` (and ISO date-times), `YYYYMMDD`, `YYYY-MM`,
/// `MM/DD/YYYY` or `DD/MM/YYYY` (by `order`) with an optional time (`12:00:00 AM`, `11:47am`),
/// two-digit years, `2017M10`, `JUN-25`, `June 2025`, `2015-Q4`. A date gives a one-day
/// period, a month its first to last day, a quarter its three months.
#[must_use]
pub fn parse_period(raw: &str, order: DateOrder) -> Option<Period> {
    let s = raw.trim();
    if s.is_empty() {
        return None;
    }
    // Drop a time part: `10/15/2023 12:00:00 AM`, `2020-07-03T07:59:30Z`, `1/2/20 11:47am`.
    let date_part = s.split([' ', 'T']).next().unwrap_or(s);
    for candidate in [date_part, s] {
        if let Some(p) = parse_iso(candidate).or_else(|| parse_slashed(candidate, order)) {
            return Some(p);
        }
    }
    parse_named(s)
}

fn parse_iso(s: &str) -> Option<Period> {
    let b = s.as_bytes();
    // YYYYMMDD
    if b.len() == 8 && b.iter().all(u8::is_ascii_digit) {
        return NaiveDate::parse_from_str(s, "%Y%m%d").ok().map(Period::day);
    }
    // YYYYMM
    if b.len() == 6 && b.iter().all(u8::is_ascii_digit) {
        return month(s[..4].parse().ok()?, s[4..].parse().ok()?);
    }
    let parts: Vec<&str> = s.split('-').collect();
    match parts.as_slice() {
        [y, m, d] if y.len() == 4 => {
            NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
                .map(Period::day)
        }
        [y, q] if y.len() == 4 && (q.starts_with('Q') || q.starts_with('q')) => {
            let year: i32 = y.parse().ok()?;
            let quarter: u32 = q[1..].parse().ok()?;
            if !(1..=4).contains(&quarter) {
                return None;
            }
            let first = month(year, quarter * 3 - 2)?;
            let last = month(year, quarter * 3)?;
            Some(Period {
                start: first.start,
                end: last.end,
            })
        }
        [y, m] if y.len() == 4 && m.bytes().all(|c| c.is_ascii_digit()) => {
            month(y.parse().ok()?, m.parse().ok()?)
        }
        _ => {
            // 2017M10
            let (y, m) = s.split_once(['M', 'm'])?;
            if y.len() == 4
                && y.bytes().all(|c| c.is_ascii_digit())
                && !m.is_empty()
                && m.bytes().all(|c| c.is_ascii_digit())
            {
                month(y.parse().ok()?, m.parse().ok()?)
            } else {
                None
            }
        }
    }
}

fn parse_slashed(s: &str, order: DateOrder) -> Option<Period> {
    let sep = if s.contains('/') {
        '/'
    } else if s.contains('.') {
        '.'
    } else {
        return None;
    };
    let parts: Vec<&str> = s.split(sep).collect();
    let nums: Vec<i32> = parts
        .iter()
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    match nums.as_slice() {
        [a, b, y] => {
            // A dotted date is day-first (European) whatever the order says.
            let (m, d) = if order == DateOrder::DayFirst || sep == '.' {
                (*b, *a)
            } else {
                (*a, *b)
            };
            // A year first: YYYY/MM/DD.
            if *a > 999 {
                return NaiveDate::from_ymd_opt(
                    *a,
                    u32::try_from(*b).ok()?,
                    u32::try_from(*y).ok()?,
                )
                .map(Period::day);
            }
            NaiveDate::from_ymd_opt(
                two_digit_year(*y),
                u32::try_from(m).ok()?,
                u32::try_from(d).ok()?,
            )
            .map(Period::day)
        }
        // MM/YYYY
        [m, y] if *y > 999 => month(*y, u32::try_from(*m).ok()?),
        _ => None,
    }
}

/// `JUN-25`, `Jun 2025`, `June 2025`, `June-2025`.
fn parse_named(s: &str) -> Option<Period> {
    let mut parts = s.split(['-', ' ', '/']).filter(|p| !p.is_empty());
    let first = parts.next()?;
    let second = parts.next()?;
    if parts.next().is_some() {
        return None;
    }
    let (name, year) = if first.bytes().all(|c| c.is_ascii_alphabetic()) {
        (first, second)
    } else {
        (second, first)
    };
    let m = month_number(name)?;
    let y: i32 = year.parse().ok()?;
    month(two_digit_year(y), m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("valid date")
    }

    #[test]
    fn forms() {
        let mf = DateOrder::MonthFirst;
        assert_eq!(
            parse_period("2023-02-02", mf),
            Some(Period::day(d(2023, 2, 2)))
        );
        assert_eq!(
            parse_period("2021-04", mf),
            Some(Period {
                start: d(2021, 4, 1),
                end: d(2021, 4, 30)
            })
        );
        assert_eq!(
            parse_period("10/15/2023 12:00:00 AM", mf),
            Some(Period::day(d(2023, 10, 15)))
        );
        assert_eq!(
            parse_period("1/2/20 11:47am", mf),
            Some(Period::day(d(2020, 1, 2)))
        );
        assert_eq!(
            parse_period("15/10/2023", DateOrder::DayFirst),
            Some(Period::day(d(2023, 10, 15)))
        );
        assert_eq!(
            parse_period("2017M10", mf),
            Some(Period {
                start: d(2017, 10, 1),
                end: d(2017, 10, 31)
            })
        );
        assert_eq!(
            parse_period("JUN-25", mf),
            Some(Period {
                start: d(2025, 6, 1),
                end: d(2025, 6, 30)
            })
        );
        assert_eq!(
            parse_period("June 2025", mf),
            Some(Period {
                start: d(2025, 6, 1),
                end: d(2025, 6, 30)
            })
        );
        assert_eq!(
            parse_period("2015-Q4", mf),
            Some(Period {
                start: d(2015, 10, 1),
                end: d(2015, 12, 31)
            })
        );
        assert_eq!(
            parse_period("20151001", mf),
            Some(Period::day(d(2015, 10, 1)))
        );
        assert_eq!(
            parse_period("2020-07-03T07:59:30Z", mf),
            Some(Period::day(d(2020, 7, 3)))
        );
        assert_eq!(
            parse_period("2024-02", mf).map(|p| p.end),
            Some(d(2024, 2, 29))
        );
        assert_eq!(parse_period("nonsense", mf), None);
    }
}
