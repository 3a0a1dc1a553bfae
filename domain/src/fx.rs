//! Exchange rates: converting a statement's lines into the organisation's base currency, the
//! rate table and its CSV layouts, and reconciling what a statement reported with what reached
//! the bank (remittances).
//!
//! # Rates
//!
//! A [`Rate`] says `1 unit of from = rate units of to`. It is exact: a positive decimal with at
//! most [`RATE_SCALE`] (12) decimal places, below [`RATE_MAX`], held as an integer of 10⁻¹²
//! units so that every computation below is integer arithmetic (no float, no intermediate
//! rounding by `Decimal`).
//!
//! - [`Rate::convert`]: a line's amount in nano-units × rate, rounded half-even **once** to the
//!   nano-unit.
//! - [`Rate::cross`]: `from → to` through a common currency (the ECB publishes `EUR → X`):
//!   `(EUR → to) / (EUR → from)`, rounded half-even once to 12 decimal places.
//! - [`Rate::inverse`]: `1 / rate`, rounded half-even once to 12 decimal places.
//!
//! # Which rate a line gets ([`RateSource`], [`choose`])
//!
//! 1. [`RateSource::Effective`]: the label chose to convert the statement at the effective rate
//!    of a remittance (what the bank actually gave); it overrides everything below.
//! 2. [`RateSource::File`]: the rate the statement file itself declares into the base currency.
//! 3. [`RateSource::Table`]: the organisation's rate table, for the statement's period
//!    ([`pick_table_rate`]: the latest rate dated within the period, or up to
//!    [`TABLE_LOOKBACK_DAYS`] days before it starts — a closing rate).
//! 4. [`RateSource::Statement`]: a rate the label set on the statement.
//!
//! Without any, the line waits: its base amount is 0 and it is not allocated.
//!
//! # Remittances ([`reconcile`])
//!
//! A remittance is the money that reached the bank: `received` in currency R. With every amount
//! in nano-units of R:
//!
//! - `reported` — the linked statements' lines valued in R: lines in R as they are; lines in
//!   another currency C summed per currency and converted once at the table's `C → R` rate on
//!   the day received (the reference rate of the day).
//! - `booked` — what the ledger holds for those lines: when R is the base currency, the sum of
//!   their base amounts (each converted at its own rate when allocated). When R is not the base
//!   currency every line must be in R, and `booked = reported`.
//! - `difference = received − booked`, split exactly into
//!   - `fx_difference = reported − booked`: the rate moving between booking and receipt (a
//!     gain when positive), and
//!   - `fees_and_withholding = received − reported`: what the sender, banks or tax kept back
//!     (negative when money was kept back).
//!
//! `difference = fx_difference + fees_and_withholding` to the nano-unit. Without a `C → R`
//! rate on the day received, the split is unknown (only `difference` is given).
//!
//! [`effective_rate`]: `(received − lines already in R) / (lines in the one foreign
//! currency)`, rounded half-even to 12 places; converting the statements at it makes them book
//! (close to, within per-line rounding) what was received.

use std::cmp::Ordering;
use std::fmt;

use chrono::{Days, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::money::Currency;

/// Decimal places of a rate.
pub const RATE_SCALE: u32 = 12;
/// 10^[`RATE_SCALE`].
const RATE_ONE: i128 = 1_000_000_000_000;
/// Rates must be below this (1 unit of anything is worth less than a million of another in
/// every pair a label meets; the bound keeps the integer arithmetic exact).
pub const RATE_MAX: i64 = 1_000_000;
/// How many days before a statement's period a table rate may be dated (weekends, holidays).
pub const TABLE_LOOKBACK_DAYS: u64 = 7;

/// Why a rate or an amount was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FxError {
    #[error("rate \"{0}\" is not a decimal number")]
    NotANumber(String),
    #[error("rate must be greater than zero")]
    NotPositive,
    #[error("rate must be below {RATE_MAX}")]
    TooLarge,
    #[error("rate has more than {RATE_SCALE} decimal places")]
    TooPrecise,
    #[error("the converted amount does not fit (±9,223,372,036 units)")]
    Overflow,
    #[error("a currency has no rate into itself other than 1")]
    SameCurrency,
}

/// `1 unit of from = rate units of to`, exact to 12 decimal places.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Rate(i128);

/// `num / den` rounded half-even to an integer (`den > 0`).
fn div_half_even(num: i128, den: i128) -> i128 {
    debug_assert!(den > 0);
    let q = num.div_euclid(den);
    let r = num.rem_euclid(den);
    match (2 * r).cmp(&den) {
        Ordering::Less => q,
        Ordering::Greater => q + 1,
        Ordering::Equal => {
            if q % 2 == 0 {
                q
            } else {
                q + 1
            }
        }
    }
}

impl Rate {
    /// 1.
    pub const ONE: Rate = Rate(RATE_ONE);

    /// A rate from an exact decimal.
    ///
    /// # Errors
    /// Zero or negative, too large, or more than 12 decimal places.
    pub fn from_decimal(d: Decimal) -> Result<Rate, FxError> {
        if d <= Decimal::ZERO {
            return Err(FxError::NotPositive);
        }
        if d >= Decimal::from(RATE_MAX) {
            return Err(FxError::TooLarge);
        }
        let d = d.normalize();
        if d.scale() > RATE_SCALE {
            return Err(FxError::TooPrecise);
        }
        let factor = 10_i128.pow(RATE_SCALE - d.scale());
        Ok(Rate(d.mantissa() * factor))
    }

    /// A rate from a decimal string such as `"0.7563"` (no exponent, no thousands separators).
    ///
    /// # Errors
    /// As [`Rate::from_decimal`], or not a number.
    pub fn parse(s: &str) -> Result<Rate, FxError> {
        let t = s.trim();
        let d: Decimal = t.parse().map_err(|_| FxError::NotANumber(s.to_owned()))?;
        Rate::from_decimal(d)
    }

    /// A rate of `num / den` (any positive integers of one unit, e.g. nano-units of two
    /// currencies), rounded half-even to 12 places.
    ///
    /// # Errors
    /// Not positive, or too large.
    pub fn ratio(num: i128, den: i128) -> Result<Rate, FxError> {
        if num <= 0 || den <= 0 {
            return Err(FxError::NotPositive);
        }
        let scaled = num.checked_mul(RATE_ONE).ok_or(FxError::TooLarge)?;
        Rate::checked(div_half_even(scaled, den))
    }

    fn checked(pico: i128) -> Result<Rate, FxError> {
        if pico <= 0 {
            Err(FxError::NotPositive)
        } else if pico >= i128::from(RATE_MAX) * RATE_ONE {
            Err(FxError::TooLarge)
        } else {
            Ok(Rate(pico))
        }
    }

    /// The exact decimal (normalised: `0.7563`, not `0.756300000000`).
    #[must_use]
    pub fn to_decimal(self) -> Decimal {
        // pico < 1e18: always fits a Decimal mantissa.
        Decimal::from_i128_with_scale(self.0, RATE_SCALE).normalize()
    }

    /// `amount_nanos × rate`, rounded half-even once to the nano-unit.
    ///
    /// # Errors
    /// [`FxError::Overflow`] when the result does not fit an `i64`.
    pub fn convert(self, amount_nanos: i64) -> Result<i64, FxError> {
        // |amount| < 2^63 and rate < 2^60: the product fits an i128.
        let product = i128::from(amount_nanos) * self.0;
        i64::try_from(div_half_even(product, RATE_ONE)).map_err(|_| FxError::Overflow)
    }

    /// `1 / rate`, rounded half-even to 12 places.
    ///
    /// # Errors
    /// When the inverse is out of range (a rate below 10⁻⁶, or rounding to zero).
    pub fn inverse(self) -> Result<Rate, FxError> {
        Rate::checked(div_half_even(RATE_ONE * RATE_ONE, self.0))
    }

    /// `from → to` given `via → from` and `via → to` (the ECB's `EUR → X` rates):
    /// `via_to / via_from`, rounded half-even once to 12 places.
    ///
    /// # Errors
    /// When the cross rate is out of range.
    pub fn cross(via_from: Rate, via_to: Rate) -> Result<Rate, FxError> {
        // via_to < 1e18, × 1e12 < 1e30: fits.
        Rate::checked(div_half_even(via_to.0 * RATE_ONE, via_from.0))
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_decimal())
    }
}

impl fmt::Debug for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Rate({})", self.to_decimal())
    }
}

impl std::str::FromStr for Rate {
    type Err = FxError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Rate::parse(s)
    }
}

crate::enums::string_enum! {
    /// Where a line's rate came from, strongest first.
    pub enum RateSource: "rate source" {
        /// The label converts the statement at a remittance's effective rate.
        Effective => "effective",
        /// The statement file declares it.
        File => "file",
        /// The organisation's rate table, for the statement's period.
        Table => "table",
        /// The label set it on the statement.
        Statement => "statement",
    }
}

/// The rates one currency of a statement could take, by source.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Candidates {
    pub effective: Option<Rate>,
    pub file: Option<Rate>,
    pub table: Option<Rate>,
    pub statement: Option<Rate>,
}

/// The rate a currency's lines take: the strongest source that has one (see the module
/// documentation), or none (the lines wait).
#[must_use]
pub fn choose(c: Candidates) -> Option<(Rate, RateSource)> {
    c.effective
        .map(|r| (r, RateSource::Effective))
        .or(c.file.map(|r| (r, RateSource::File)))
        .or(c.table.map(|r| (r, RateSource::Table)))
        .or(c.statement.map(|r| (r, RateSource::Statement)))
}

/// One row of a rate table: on `day`, 1 `from` = `rate` `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableRate {
    pub day: NaiveDate,
    pub from: Currency,
    pub to: Currency,
    pub rate: Rate,
}

/// The currency the ECB quotes every rate against.
#[must_use]
pub fn euro() -> Currency {
    Currency::parse("EUR").unwrap_or_else(|_| unreachable!("EUR is three letters"))
}

/// `from → to` on one day, from that day's rows: a direct row, else the inverse of a `to →
/// from` row, else a cross rate through EUR (`EUR → from` and `EUR → to`, each direct).
#[must_use]
pub fn rate_on_day(
    rows: &[TableRate],
    day: NaiveDate,
    from: Currency,
    to: Currency,
) -> Option<Rate> {
    if from == to {
        return Some(Rate::ONE);
    }
    let find = |a: Currency, b: Currency| {
        rows.iter()
            .find(|r| r.day == day && r.from == a && r.to == b)
            .map(|r| r.rate)
    };
    if let Some(r) = find(from, to) {
        return Some(r);
    }
    if let Some(r) = find(to, from).and_then(|r| r.inverse().ok()) {
        return Some(r);
    }
    let eur = euro();
    let via_from = if from == eur {
        Some(Rate::ONE)
    } else {
        find(eur, from)
    };
    let via_to = if to == eur {
        Some(Rate::ONE)
    } else {
        find(eur, to)
    };
    match (via_from, via_to) {
        (Some(a), Some(b)) => Rate::cross(a, b).ok(),
        _ => None,
    }
}

/// The table rate for a statement's period `[start, end]`: the latest day in `[start −
/// TABLE_LOOKBACK_DAYS, end]` on which [`rate_on_day`] gives one.
#[must_use]
pub fn pick_table_rate(
    rows: &[TableRate],
    from: Currency,
    to: Currency,
    start: NaiveDate,
    end: NaiveDate,
) -> Option<(Rate, NaiveDate)> {
    let earliest = start
        .checked_sub_days(Days::new(TABLE_LOOKBACK_DAYS))
        .unwrap_or(start);
    let mut days: Vec<NaiveDate> = rows
        .iter()
        .map(|r| r.day)
        .filter(|d| *d >= earliest && *d <= end)
        .collect();
    days.sort_unstable();
    days.dedup();
    days.into_iter()
        .rev()
        .find_map(|d| rate_on_day(rows, d, from, to).map(|r| (r, d)))
}

/// A rate row the label asked to store: refused when it says nothing (same currency).
///
/// # Errors
/// [`FxError::SameCurrency`] for `from == to`.
pub fn table_row(
    day: NaiveDate,
    from: Currency,
    to: Currency,
    rate: Rate,
) -> Result<TableRate, FxError> {
    if from == to {
        return Err(FxError::SameCurrency);
    }
    Ok(TableRate {
        day,
        from,
        to,
        rate,
    })
}

/// A rate file's row that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRow {
    /// 1-based line of the file (the header is line 1).
    pub line: u64,
    pub reason: String,
}

/// What a rate file gave: its good rows and its bad ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RateFile {
    pub rows: Vec<TableRate>,
    pub bad: Vec<BadRow>,
    /// `ECB` or `simple`.
    pub layout: &'static str,
}

/// Reads a rate CSV: the ECB's `eurofxref-hist.csv` (`Date,USD,JPY,…`, one `EUR → X` rate per
/// cell, `N/A` where there is none) or the simple `date,from,to,rate`. Bad rows are reported
/// with their line number; good rows are kept.
///
/// # Errors
/// A file whose header is neither layout.
pub fn parse_rate_csv(text: &str) -> Result<RateFile, String> {
    let text = text.trim_start_matches('\u{feff}');
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut records = reader.records();
    let header = match records.next() {
        Some(Ok(h)) => h,
        Some(Err(e)) => return Err(format!("the header cannot be read: {e}")),
        None => return Err("the file is empty".to_owned()),
    };
    let cells: Vec<String> = header.iter().map(|c| c.to_ascii_lowercase()).collect();
    let simple = cells
        .iter()
        .filter(|c| !c.is_empty())
        .map(String::as_str)
        .collect::<Vec<_>>()
        == ["date", "from", "to", "rate"];
    let ecb = cells.first().is_some_and(|c| c == "date") && cells.len() >= 2 && !simple;
    if !simple && !ecb {
        return Err(
            "the header must be the ECB's (Date,USD,JPY,…) or date,from,to,rate".to_owned(),
        );
    }
    let mut out = RateFile {
        layout: if simple { "simple" } else { "ECB" },
        ..RateFile::default()
    };
    let currencies: Vec<Option<Currency>> = header
        .iter()
        .skip(1)
        .map(|c| Currency::parse(c).ok())
        .collect();
    let eur = euro();
    for (index, record) in records.enumerate() {
        let line = index as u64 + 2;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                out.bad.push(BadRow {
                    line,
                    reason: e.to_string(),
                });
                continue;
            }
        };
        if record.iter().all(str::is_empty) {
            continue;
        }
        let bad = |reason: String| BadRow { line, reason };
        let Some(day) = record
            .get(0)
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        else {
            out.bad.push(bad(format!(
                "date \"{}\" is not YYYY-MM-DD",
                record.get(0).unwrap_or("")
            )));
            continue;
        };
        if simple {
            let from = Currency::parse(record.get(1).unwrap_or(""));
            let to = Currency::parse(record.get(2).unwrap_or(""));
            let rate = Rate::parse(record.get(3).unwrap_or(""));
            match (from, to, rate) {
                (Ok(from), Ok(to), Ok(rate)) => match table_row(day, from, to, rate) {
                    Ok(row) => out.rows.push(row),
                    Err(e) => out.bad.push(bad(e.to_string())),
                },
                (Err(e), _, _) | (_, Err(e), _) => out.bad.push(bad(e.to_string())),
                (_, _, Err(e)) => out.bad.push(bad(e.to_string())),
            }
        } else {
            let mut problems = Vec::new();
            for (cell, currency) in record.iter().skip(1).zip(&currencies) {
                let Some(currency) = currency else { continue };
                if cell.is_empty() || cell.eq_ignore_ascii_case("N/A") {
                    continue;
                }
                match Rate::parse(cell) {
                    Ok(rate) if *currency != eur => out.rows.push(TableRate {
                        day,
                        from: eur,
                        to: *currency,
                        rate,
                    }),
                    Ok(_) => {}
                    Err(e) => problems.push(format!("{currency}: {e}")),
                }
            }
            if !problems.is_empty() {
                out.bad.push(bad(problems.join("; ")));
            }
        }
    }
    Ok(out)
}

/// One currency of the statements a remittance pays: what they reported in it and what the
/// ledger booked for those lines in the base currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reported {
    pub currency: Currency,
    pub amount_nanos: i64,
    pub booked_base_nanos: i64,
}

/// A remittance measured against its statements (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reconciliation {
    /// The statements' lines valued in the remittance currency at the day's rates.
    pub reported_nanos: Option<i64>,
    /// What the ledger holds for them, in the remittance currency.
    pub booked_nanos: i64,
    /// `received − booked`.
    pub difference_nanos: i64,
    /// `reported − booked`.
    pub fx_difference_nanos: Option<i64>,
    /// `received − reported`.
    pub fees_and_withholding_nanos: Option<i64>,
}

/// Why a remittance cannot be measured against its statements.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReconcileError {
    #[error(
        "a remittance in {remittance} links lines in {line}: record it in the base currency ({base}) or in the statements' currency"
    )]
    CurrencyMix {
        remittance: Currency,
        line: Currency,
        base: Currency,
    },
    #[error("the amounts do not fit (±9,223,372,036 units)")]
    Overflow,
}

/// Measures `received` (in `currency`) against what its statements reported; `day_rate` gives
/// the table's `C → currency` rate on the day received.
///
/// # Errors
/// A remittance in a currency other than the base with lines in a third currency; overflow.
pub fn reconcile(
    received_nanos: i64,
    currency: Currency,
    base: Currency,
    reported: &[Reported],
    day_rate: impl Fn(Currency) -> Option<Rate>,
) -> Result<Reconciliation, ReconcileError> {
    fn sum(mut it: impl Iterator<Item = i64>) -> Result<i64, ReconcileError> {
        it.try_fold(0_i64, i64::checked_add)
            .ok_or(ReconcileError::Overflow)
    }
    if currency != base {
        if let Some(other) = reported
            .iter()
            .find(|r| r.currency != currency && r.amount_nanos != 0)
        {
            return Err(ReconcileError::CurrencyMix {
                remittance: currency,
                line: other.currency,
                base,
            });
        }
        let total = sum(reported.iter().map(|r| r.amount_nanos))?;
        let fees = received_nanos
            .checked_sub(total)
            .ok_or(ReconcileError::Overflow)?;
        return Ok(Reconciliation {
            reported_nanos: Some(total),
            booked_nanos: total,
            difference_nanos: fees,
            fx_difference_nanos: Some(0),
            fees_and_withholding_nanos: Some(fees),
        });
    }
    let booked = sum(reported.iter().map(|r| r.booked_base_nanos))?;
    let difference = received_nanos
        .checked_sub(booked)
        .ok_or(ReconcileError::Overflow)?;
    let mut valued = Some(0_i64);
    for r in reported {
        let v = if r.currency == currency {
            Some(r.amount_nanos)
        } else {
            match day_rate(r.currency) {
                Some(rate) => Some(
                    rate.convert(r.amount_nanos)
                        .map_err(|_| ReconcileError::Overflow)?,
                ),
                None => None,
            }
        };
        valued = match (valued, v) {
            (Some(a), Some(b)) => Some(a.checked_add(b).ok_or(ReconcileError::Overflow)?),
            _ => None,
        };
    }
    let split = valued
        .map(|rep| -> Result<(i64, i64), ReconcileError> {
            Ok((
                rep.checked_sub(booked).ok_or(ReconcileError::Overflow)?,
                received_nanos
                    .checked_sub(rep)
                    .ok_or(ReconcileError::Overflow)?,
            ))
        })
        .transpose()?;
    Ok(Reconciliation {
        reported_nanos: valued,
        booked_nanos: booked,
        difference_nanos: difference,
        fx_difference_nanos: split.map(|s| s.0),
        fees_and_withholding_nanos: split.map(|s| s.1),
    })
}

/// Why a remittance has no effective rate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EffectiveRateError {
    #[error("the remittance must be in the base currency ({0}) to convert statements at its rate")]
    NotBase(Currency),
    #[error("the linked statements have no lines in a foreign currency")]
    NoForeignLines,
    #[error("the linked statements have lines in several foreign currencies ({0})")]
    SeveralCurrencies(String),
    #[error("the effective rate is out of range: {0}")]
    OutOfRange(FxError),
}

/// The rate at which the bank turned the statements' one foreign currency into `received`
/// (in the base currency): `(received − lines already in base) / foreign lines`, rounded
/// half-even to 12 places. Returns the foreign currency and the rate.
///
/// # Errors
/// See [`EffectiveRateError`].
pub fn effective_rate(
    received_nanos: i64,
    currency: Currency,
    base: Currency,
    reported: &[Reported],
) -> Result<(Currency, Rate), EffectiveRateError> {
    if currency != base {
        return Err(EffectiveRateError::NotBase(base));
    }
    let foreign: Vec<&Reported> = reported
        .iter()
        .filter(|r| r.currency != base && r.amount_nanos != 0)
        .collect();
    let in_base: i128 = reported
        .iter()
        .filter(|r| r.currency == base)
        .map(|r| i128::from(r.amount_nanos))
        .sum();
    let [one] = foreign.as_slice() else {
        return Err(if foreign.is_empty() {
            EffectiveRateError::NoForeignLines
        } else {
            EffectiveRateError::SeveralCurrencies(
                foreign
                    .iter()
                    .map(|r| r.currency.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            )
        });
    };
    let rate = Rate::ratio(
        i128::from(received_nanos) - in_base,
        i128::from(one.amount_nanos),
    )
    .map_err(EffectiveRateError::OutOfRange)?;
    Ok((one.currency, rate))
}

/// Whether a statement's money counts in a payout run: always, unless the organisation
/// counts only reconciled money and the statement has no remittance. Money that came from no
/// statement (manual entries) always counts.
#[must_use]
pub fn counts_toward_payout(reconciled_only: bool, from_statement: bool, reconciled: bool) -> bool {
    !reconciled_only || !from_statement || reconciled
}

/// A remittance's identity within its organisation: its reference, amount, currency, day and
/// statements (in any order). Recording a remittance with the same key again (a double click,
/// a retry) is the same remittance.
#[must_use]
pub fn remittance_key(
    reference: &str,
    amount_nanos: i64,
    currency: Currency,
    received_on: chrono::NaiveDate,
    statement_ids: &[i64],
) -> String {
    let mut ids = statement_ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
    format!(
        "{received_on}|{currency}|{amount_nanos}|{}|{}",
        ids.join(","),
        reference.trim()
    )
}

/// Serialisable copy of a rate used on a statement, for its summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateUsed {
    pub currency: String,
    pub rate: String,
    pub source: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal::RoundingStrategy;

    fn cur(s: &str) -> Currency {
        Currency::parse(s).expect("test value")
    }

    #[test]
    fn rates_are_checked() {
        assert_eq!(Rate::parse("-1"), Err(FxError::NotPositive));
        assert_eq!(Rate::parse("0"), Err(FxError::NotPositive));
        assert!(matches!(Rate::parse("abc"), Err(FxError::NotANumber(_))));
        assert_eq!(Rate::parse("0.0000000000001"), Err(FxError::TooPrecise));
        assert_eq!(Rate::parse("1000000"), Err(FxError::TooLarge));
        assert_eq!(
            Rate::parse("0.756300").expect("test value").to_string(),
            "0.7563"
        );
    }

    #[test]
    fn conversion_rounds_half_even_once() {
        let r = Rate::parse("0.5").expect("test value");
        assert_eq!(r.convert(1).expect("test value"), 0); // 0.5 → 0
        assert_eq!(r.convert(3).expect("test value"), 2); // 1.5 → 2
        assert_eq!(r.convert(-3).expect("test value"), -2);
        assert_eq!(r.convert(-1).expect("test value"), 0);
        let aud = Rate::parse("0.7563").expect("test value");
        assert_eq!(aud.convert(1_290_000_000).expect("test value"), 975_627_000);
    }

    #[test]
    fn ecb_and_simple_files() {
        let ecb = "Date,USD,JPY,AUD,\n2017-12-01,1.1885,133.60,1.5642,\n2017-11-30,N/A,x,1.5,\nbad,1,2,3,\n";
        let f = parse_rate_csv(ecb).expect("test value");
        assert_eq!(f.layout, "ECB");
        assert_eq!(f.rows.len(), 4);
        assert_eq!(f.bad.len(), 2);
        assert_eq!(f.bad[0].line, 3);
        assert_eq!(f.bad[1].line, 4);
        let d = NaiveDate::from_ymd_opt(2017, 12, 1).expect("test value");
        let aud_usd = rate_on_day(&f.rows, d, cur("AUD"), cur("USD")).expect("test value");
        // 1.1885 / 1.5642 = 0.759813323104...
        assert_eq!(aud_usd.to_string(), "0.759813323104");
        let simple = "date,from,to,rate\n2017-12-01,AUD,USD,0.76\n2017-12-01,AUD,USD,-1\n2017-12-01,XX,USD,1\n";
        let f = parse_rate_csv(simple).expect("test value");
        assert_eq!(f.rows.len(), 1);
        assert_eq!(f.bad.iter().map(|b| b.line).collect::<Vec<_>>(), vec![3, 4]);
        assert!(parse_rate_csv("a,b\n").is_err());
    }

    #[test]
    fn table_rate_for_a_period() {
        let d = |m, dd| NaiveDate::from_ymd_opt(2017, m, dd).expect("test value");
        let rows = vec![
            TableRate {
                day: d(10, 1),
                from: cur("AUD"),
                to: cur("USD"),
                rate: Rate::parse("0.70").expect("test value"),
            },
            TableRate {
                day: d(11, 30),
                from: cur("AUD"),
                to: cur("USD"),
                rate: Rate::parse("0.75").expect("test value"),
            },
            TableRate {
                day: d(12, 20),
                from: cur("AUD"),
                to: cur("USD"),
                rate: Rate::parse("0.80").expect("test value"),
            },
        ];
        let (r, day) =
            pick_table_rate(&rows, cur("AUD"), cur("USD"), d(11, 5), d(12, 2)).expect("test value");
        assert_eq!((r.to_string(), day), ("0.75".to_owned(), d(11, 30)));
        assert!(pick_table_rate(&rows, cur("AUD"), cur("USD"), d(10, 20), d(10, 25)).is_none());
        let inv = pick_table_rate(&rows, cur("USD"), cur("AUD"), d(11, 5), d(12, 2))
            .expect("test value")
            .0;
        assert_eq!(inv.to_string(), "1.333333333333");
    }

    #[test]
    fn sources_in_order() {
        let r = |s| Some(Rate::parse(s).expect("test value"));
        let c = Candidates {
            effective: None,
            file: None,
            table: r("2"),
            statement: r("3"),
        };
        assert_eq!(choose(c).expect("test value").1, RateSource::Table);
        let c = Candidates {
            effective: r("1"),
            ..c
        };
        assert_eq!(choose(c).expect("test value").1, RateSource::Effective);
        assert_eq!(
            choose(Candidates {
                statement: r("3"),
                ..Candidates::default()
            })
            .expect("test value")
            .1,
            RateSource::Statement
        );
        assert!(choose(Candidates::default()).is_none());
    }

    #[test]
    fn remittance_split_is_exact() {
        let usd = cur("USD");
        let aud = cur("AUD");
        let reported = [Reported {
            currency: aud,
            amount_nanos: 100_000_000_000,
            booked_base_nanos: 75_000_000_000,
        }];
        let day = Rate::parse("0.76").expect("test value");
        let r = reconcile(74_500_000_000, usd, usd, &reported, |_| Some(day)).expect("test value");
        assert_eq!(r.reported_nanos, Some(76_000_000_000));
        assert_eq!(r.fx_difference_nanos, Some(1_000_000_000));
        assert_eq!(r.fees_and_withholding_nanos, Some(-1_500_000_000));
        assert_eq!(r.difference_nanos, -500_000_000);
        let r = reconcile(74_500_000_000, usd, usd, &reported, |_| None).expect("test value");
        assert_eq!(r.fx_difference_nanos, None);
        let r = reconcile(99_000_000_000, aud, usd, &reported, |_| None).expect("test value");
        assert_eq!(r.fees_and_withholding_nanos, Some(-1_000_000_000));
        assert!(reconcile(1, cur("GBP"), usd, &reported, |_| None).is_err());
        let (c, e) = effective_rate(74_500_000_000, usd, usd, &reported).expect("test value");
        assert_eq!((c, e.to_string()), (aud, "0.745".to_owned()));
        assert!(counts_toward_payout(false, true, false));
        assert!(!counts_toward_payout(true, true, false));
        assert!(counts_toward_payout(true, false, false));
    }

    #[test]
    fn remittance_key_ignores_statement_order() {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 3, 1).expect("a day");
        let eur = cur("EUR");
        assert_eq!(
            remittance_key(" R-1 ", 5, eur, day, &[3, 1, 3]),
            remittance_key("R-1", 5, eur, day, &[1, 3])
        );
        assert_ne!(
            remittance_key("R-1", 5, eur, day, &[1]),
            remittance_key("R-1", 6, eur, day, &[1])
        );
    }

    proptest! {
        #[test]
        fn convert_matches_decimal_half_even(amount in -9_000_000_000_000_000_000_i64..9_000_000_000_000_000_000, mantissa in 1_i64..999_999_999_999_999, scale in 0_u32..=12) {
            let d = Decimal::new(mantissa, scale);
            prop_assume!(d < Decimal::from(RATE_MAX));
            let rate = Rate::from_decimal(d).expect("test value");
            let got = rate.convert(amount);
            // Independent: exact product in Decimal (fits for these ranges when it is
            // representable), rounded half-even to 9 places.
            let exact = Decimal::new(amount, 9).checked_mul(d);
            if let (Ok(got), Some(exact)) = (got, exact)
                && exact.scale() == 9 + scale
            {
                let want = exact.round_dp_with_strategy(9, RoundingStrategy::MidpointNearestEven);
                prop_assert_eq!(Decimal::new(got, 9), want);
            }
        }

        #[test]
        fn cross_rate_is_half_even_of_the_exact_quotient(a in 1_i64..100_000_000, b in 1_i64..100_000_000) {
            // EUR→from = a/10^4, EUR→to = b/10^4: the cross rate is b/a exactly.
            let from = Rate::from_decimal(Decimal::new(a, 4)).expect("test value");
            let to = Rate::from_decimal(Decimal::new(b, 4)).expect("test value");
            if let Ok(x) = Rate::cross(from, to) {
                // x·10^12 is the half-even rounding of b·10^12/a: within half a unit…
                let num = i128::from(b) * RATE_ONE;
                let den = i128::from(a);
                let diff = (x.0 * den - num).abs();
                prop_assert!(2 * diff <= den);
                // …and on a tie, even.
                if 2 * diff == den {
                    prop_assert_eq!(x.0 % 2, 0);
                }
            }
        }
    }
}
