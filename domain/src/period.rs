//! Month periods for analytics: whole months, from the first month to the last, both included.
//!
//! Analytics sums by month, so every period it answers for is a run of whole months. A
//! [`MonthSpan`] exists only with `from <= to`, both the first day of their month.

use chrono::{Datelike, Months, NaiveDate};

/// How many months the roster overview covers when no period is asked for.
pub const DEFAULT_MONTHS: u32 = 12;

/// The first day of `day`'s month.
#[must_use]
pub fn first_of_month(day: NaiveDate) -> NaiveDate {
    // Day 1 exists in every month, so this never falls back.
    day.with_day(1).unwrap_or(day)
}

/// Whole months from `from` to `to`, both included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MonthSpan {
    from: NaiveDate,
    to: NaiveDate,
}

/// Why a span of months cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    #[error("period: from is after to")]
    FromAfterTo,
    #[error("period: out of the calendar's range")]
    OutOfRange,
}

impl MonthSpan {
    /// The months from `from`'s to `to`'s (any day of each).
    ///
    /// # Errors
    ///
    /// [`PeriodError::FromAfterTo`] when `from` is after `to`.
    pub fn new(from: NaiveDate, to: NaiveDate) -> Result<Self, PeriodError> {
        if from > to {
            return Err(PeriodError::FromAfterTo);
        }
        Ok(Self {
            from: first_of_month(from),
            to: first_of_month(to),
        })
    }

    /// The `months` months ending with `last`'s month (`months` of zero counts as one).
    ///
    /// # Errors
    ///
    /// [`PeriodError::OutOfRange`] when the first month falls before the calendar's start.
    pub fn ending(last: NaiveDate, months: u32) -> Result<Self, PeriodError> {
        let to = first_of_month(last);
        let from = to
            .checked_sub_months(Months::new(months.max(1) - 1))
            .ok_or(PeriodError::OutOfRange)?;
        Ok(Self { from, to })
    }

    /// The default period of the roster overview: the last [`DEFAULT_MONTHS`] months that have
    /// data, that is ending with `latest_with_data`; with no data at all, the last
    /// [`DEFAULT_MONTHS`] calendar months up to `today`.
    ///
    /// # Errors
    ///
    /// [`PeriodError::OutOfRange`] when the first month falls before the calendar's start.
    pub fn default_for(
        latest_with_data: Option<NaiveDate>,
        today: NaiveDate,
    ) -> Result<Self, PeriodError> {
        Self::ending(latest_with_data.unwrap_or(today), DEFAULT_MONTHS)
    }

    /// The first day of the first month.
    #[must_use]
    pub fn from(&self) -> NaiveDate {
        self.from
    }

    /// The first day of the last month.
    #[must_use]
    pub fn to(&self) -> NaiveDate {
        self.to
    }

    /// How many months the span covers (at least one).
    #[must_use]
    pub fn months(&self) -> u32 {
        let index = |d: NaiveDate| i64::from(d.year()) * 12 + i64::from(d.month0());
        u32::try_from(index(self.to) - index(self.from) + 1).unwrap_or(1)
    }

    /// The span of the same length that ends the month before this one starts.
    ///
    /// # Errors
    ///
    /// [`PeriodError::OutOfRange`] when it would start before the calendar's start.
    pub fn previous(&self) -> Result<Self, PeriodError> {
        let to = self
            .from
            .checked_sub_months(Months::new(1))
            .ok_or(PeriodError::OutOfRange)?;
        Self::ending(to, self.months())
    }

    /// The first day of each month of the span, in order: exactly [`MonthSpan::months`] of
    /// them (one for a one-month span).
    #[must_use]
    pub fn month_starts(&self) -> Vec<NaiveDate> {
        let mut months = Vec::with_capacity(self.months() as usize);
        let mut month = self.from;
        while month <= self.to {
            months.push(month);
            match month.checked_add_months(Months::new(1)) {
                Some(next) => month = next,
                None => break,
            }
        }
        months
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("a date")
    }

    #[test]
    fn a_span_lists_exactly_its_months() {
        let one = MonthSpan::new(day(2025, 3, 9), day(2025, 3, 31)).expect("span");
        assert_eq!(one.month_starts(), vec![day(2025, 3, 1)]);
        let across = MonthSpan::new(day(2024, 11, 30), day(2025, 2, 1)).expect("span");
        assert_eq!(
            across.month_starts(),
            vec![
                day(2024, 11, 1),
                day(2024, 12, 1),
                day(2025, 1, 1),
                day(2025, 2, 1)
            ]
        );
        assert_eq!(across.month_starts().len() as u32, across.months());
    }

    #[test]
    fn the_default_period_ends_with_the_last_month_that_has_data() {
        let span = MonthSpan::default_for(Some(day(2025, 3, 1)), day(2026, 12, 6)).expect("span");
        assert_eq!((span.from(), span.to()), (day(2024, 4, 1), day(2025, 3, 1)));
        assert_eq!(span.months(), 12);
        let empty = MonthSpan::default_for(None, day(2026, 12, 6)).expect("span");
        assert_eq!(
            (empty.from(), empty.to()),
            (day(2026, 1, 1), day(2026, 12, 1))
        );
    }

    #[test]
    fn the_previous_period_has_the_same_length_and_ends_just_before() {
        let span = MonthSpan::new(day(2025, 2, 14), day(2025, 3, 31)).expect("span");
        assert_eq!((span.from(), span.to()), (day(2025, 2, 1), day(2025, 3, 1)));
        let before = span.previous().expect("previous");
        assert_eq!(
            (before.from(), before.to()),
            (day(2024, 12, 1), day(2025, 1, 1))
        );
        assert_eq!(
            MonthSpan::new(day(2025, 3, 1), day(2025, 2, 1)),
            Err(PeriodError::FromAfterTo)
        );
        assert_eq!(
            MonthSpan::new(NaiveDate::MIN, NaiveDate::MIN)
                .expect("one month")
                .previous(),
            Err(PeriodError::OutOfRange)
        );
    }

    fn date() -> impl Strategy<Value = NaiveDate> {
        (1900_i32..2200, 1_u32..=12, 1_u32..=28).prop_map(|(y, m, d)| day(y, m, d))
    }

    proptest! {
        /// Every span is whole months, counts its months, and its previous span has as many
        /// months and ends the month before it starts, with no gap and no overlap.
        #[test]
        fn spans_tile_the_calendar(a in date(), b in date()) {
            let (from, to) = if a <= b { (a, b) } else { (b, a) };
            let span = MonthSpan::new(from, to).expect("ordered");
            prop_assert_eq!(span.from().day(), 1);
            prop_assert_eq!(span.to().day(), 1);
            prop_assert!(span.from() <= from && from < span.from() + Months::new(1));
            prop_assert_eq!(span.from() + Months::new(span.months() - 1), span.to());
            let before = span.previous().expect("in range");
            prop_assert_eq!(before.months(), span.months());
            prop_assert_eq!(before.to() + Months::new(1), span.from());
            let default = MonthSpan::default_for(Some(to), a).expect("in range");
            prop_assert_eq!(default.months(), DEFAULT_MONTHS);
            prop_assert_eq!(default.to(), first_of_month(to));
        }
    }
}
