//! Money as an integer count of nano-units (10⁻⁹ of a currency unit) with its currency.
//!
//! Why nano-units in an `i64`: SQLite has no exact decimal type, integer columns sum exactly in
//! SQL on both SQLite and PostgreSQL, and nine decimal places keep the sub-cent amounts that
//! streaming statements are made of (a single stream earns a fraction of a cent) while still
//! covering ±9.2 billion units. Statements carry up to 30 decimals; they are rounded half-even
//! to nine places once, here, at ingest, and never again.
//!
//! Why no floats: `0.1 + 0.2 != 0.3`. Every amount is parsed from its digit string
//! ([`parse_decimal_str`]) or from an exact [`Decimal`] ([`nanos_from_decimal`]).
//!
//! Rounding happens in exactly two named places: half-even to nano-units at ingest, and
//! [`Money::round_down_to_minor_unit`] at payout, whose remainder is carried forward rather than
//! lost.

use std::fmt;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Nano-units per currency unit: amounts are stored as `i64` multiples of 10⁻⁹.
pub const NANOS_PER_UNIT: i64 = 1_000_000_000;

/// Decimal places kept by the nano-unit representation.
pub const NANO_SCALE: u32 = 9;

/// Why an amount or a currency was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MoneyError {
    /// The currency code is not three ASCII letters.
    #[error("currency code \"{input}\" must be three letters (ISO 4217, e.g. USD)")]
    InvalidCurrency {
        /// The rejected code, as given.
        input: String,
    },
    /// The amount string is empty or blank.
    #[error("amount is empty")]
    EmptyAmount,
    /// The amount string is not a plain decimal number.
    #[error("amount \"{input}\" is not a decimal number: {reason}")]
    InvalidAmount {
        /// The rejected amount, as given.
        input: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The amount does not fit in an `i64` count of nano-units (about ±9.2 billion units).
    #[error("amount is too large: it must be within ±9,223,372,036 currency units")]
    Overflow,
    /// Two amounts in different currencies were combined.
    #[error("cannot combine {left} with {right}: currencies differ")]
    CurrencyMismatch {
        /// The currency of the left operand.
        left: Currency,
        /// The currency of the right operand.
        right: Currency,
    },
}

/// An ISO 4217 currency code: three upper-case ASCII letters.
///
/// Only the shape is checked, not membership of the ISO list: statements from stores use codes
/// as they come, and rejecting a code we do not know would drop real money.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency([u8; 3]);

impl Currency {
    /// Parses a three-letter code in any case, e.g. `"usd"` → `USD`.
    ///
    /// # Errors
    ///
    /// [`MoneyError::InvalidCurrency`] unless the trimmed input is exactly three ASCII letters.
    pub fn parse(s: &str) -> Result<Currency, MoneyError> {
        let invalid = || MoneyError::InvalidCurrency {
            input: s.to_owned(),
        };
        let bytes = s.trim().as_bytes();
        let [a, b, c] = bytes else {
            return Err(invalid());
        };
        let code = [*a, *b, *c];
        if !code.iter().all(u8::is_ascii_alphabetic) {
            return Err(invalid());
        }
        Ok(Currency(code.map(|b| b.to_ascii_uppercase())))
    }

    /// The upper-case code, e.g. `"EUR"`.
    #[must_use]
    pub fn as_str(&self) -> &str {
        // Only ASCII letters are ever stored (see `parse`), so this cannot fail.
        std::str::from_utf8(&self.0).unwrap_or("???")
    }

    /// The ISO 4217 exponent: how many decimal places the currency's minor unit has.
    ///
    /// 0 for currencies without a minor unit in use (JPY, KRW, ISK…), 3 for the dinars and
    /// rials that have mils (BHD, KWD…), 4 for the two accounting units (CLF, UYW), 2 otherwise.
    #[must_use]
    pub fn minor_units(&self) -> u32 {
        match &self.0 {
            b"BIF" | b"CLP" | b"DJF" | b"GNF" | b"ISK" | b"JPY" | b"KMF" | b"KRW" | b"PYG"
            | b"RWF" | b"UGX" | b"UYI" | b"VND" | b"VUV" | b"XAF" | b"XOF" | b"XPF" => 0,
            b"BHD" | b"IQD" | b"JOD" | b"KWD" | b"LYD" | b"OMR" | b"TND" => 3,
            b"CLF" | b"UYW" => 4,
            _ => 2,
        }
    }

    /// Nano-units in one minor unit of this currency (10 000 000 for cents).
    #[must_use]
    pub fn nanos_per_minor_unit(&self) -> i64 {
        10_i64.pow(NANO_SCALE.saturating_sub(self.minor_units()))
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Currency({})", self.as_str())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Currency {
    type Err = MoneyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Currency::parse(s)
    }
}

impl TryFrom<&str> for Currency {
    type Error = MoneyError;

    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Currency::parse(s)
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        Currency::parse(&code).map_err(serde::de::Error::custom)
    }
}

/// Converts an exact decimal to nano-units, rounding half-even to nine decimal places once.
///
/// # Errors
///
/// [`MoneyError::Overflow`] when the rounded amount does not fit in an `i64` of nano-units.
pub fn nanos_from_decimal(d: Decimal) -> Result<i64, MoneyError> {
    let rounded = d.round_dp_with_strategy(NANO_SCALE, RoundingStrategy::MidpointNearestEven);
    // After rounding the scale is at most 9; scale the mantissa up to exactly 9 places.
    let scale = rounded.scale().min(NANO_SCALE);
    let factor = 10_i128.pow(NANO_SCALE - scale);
    let nanos = rounded
        .mantissa()
        .checked_mul(factor)
        .ok_or(MoneyError::Overflow)?;
    i64::try_from(nanos).map_err(|_| MoneyError::Overflow)
}

/// The exact decimal value of a nano-unit amount (scale 9, e.g. `12.500000000`).
#[must_use]
pub fn decimal_from_nanos(n: i64) -> Decimal {
    Decimal::new(n, NANO_SCALE)
}

/// The largest total, in nano-units, that a sum of many amounts may report: 9,223,372,035
/// whole units, a little short of `i64::MAX`. Between it and `i64::MAX` lie the saturated
/// sums of the analytics roll-ups (a month's total beyond an `i64` is stored as `i64::MAX`,
/// see `workers::jobs::refresh_analytics`), so any total past it is refused rather than
/// reported as a number it is not.
pub const MAX_TOTAL_NANOS: i64 = 9_223_372_035 * NANOS_PER_UNIT;

/// A total summed by the database in two parts that cannot overflow: `units`, the sum of the
/// whole units (`SUM(x / 1000000000)`), and `rest`, the sum of the nano-units below one
/// (`SUM(x % 1000000000)`; both backends truncate towards zero, so each amount is exactly
/// `units * 1e9 + rest`). Put together exactly in `i128`.
///
/// ```
/// use domain::money::{MAX_TOTAL_NANOS, total_from_parts};
///
/// assert_eq!(total_from_parts(3, 1_500_000_000), Ok(4_500_000_000));
/// assert_eq!(total_from_parts(-2, -250_000_000), Ok(-2_250_000_000));
/// assert!(total_from_parts(i64::MAX / 1_000_000_000, 0).is_err());
/// assert_eq!(total_from_parts(9_223_372_035, 0), Ok(MAX_TOTAL_NANOS));
/// ```
///
/// # Errors
///
/// [`MoneyError::Overflow`] when the total is beyond ±[`MAX_TOTAL_NANOS`].
pub fn total_from_parts(units: i64, rest: i64) -> Result<i64, MoneyError> {
    let exact = i128::from(units) * i128::from(NANOS_PER_UNIT) + i128::from(rest);
    checked_total(exact)
}

/// Adds two totals, refusing a result beyond ±[`MAX_TOTAL_NANOS`] (never wrapping).
///
/// # Errors
///
/// [`MoneyError::Overflow`] when the sum is out of range.
pub fn add_totals(a: i64, b: i64) -> Result<i64, MoneyError> {
    checked_total(i128::from(a) + i128::from(b))
}

fn checked_total(exact: i128) -> Result<i64, MoneyError> {
    if exact.unsigned_abs() > MAX_TOTAL_NANOS.unsigned_abs() as u128 {
        return Err(MoneyError::Overflow);
    }
    i64::try_from(exact).map_err(|_| MoneyError::Overflow)
}

/// Parses a plain decimal string into nano-units, rounding half-even once, without floats.
///
/// Accepts an optional sign, digits with an optional decimal point (`"12.5"`, `".021330"`,
/// `"7."`) and an optional exponent (`"1e3"`, `"0E-18"`). Any number of digits is accepted —
/// store reports carry 30 decimals, more than `rust_decimal`'s 28 — because the rounding is
/// done on the digit string itself. Surrounding whitespace is ignored; thousands separators and
/// decimal commas are not accepted (the statement parsers normalise those per format).
///
/// ```
/// use domain::money::parse_decimal_str;
///
/// assert_eq!(parse_decimal_str("12.5"), Ok(12_500_000_000));
/// // 33 decimals: rounded half-even at the ninth.
/// assert_eq!(parse_decimal_str("0.123456789500000000000000000000000"), Ok(123_456_790));
/// assert!(parse_decimal_str("NaN").is_err());
/// ```
///
/// # Errors
///
/// [`MoneyError::EmptyAmount`] for a blank string, [`MoneyError::InvalidAmount`] for anything
/// that is not a plain decimal (including `NaN` and `inf`), [`MoneyError::Overflow`] when the
/// rounded amount does not fit in an `i64` of nano-units.
pub fn parse_decimal_str(s: &str) -> Result<i64, MoneyError> {
    let input = s.trim();
    if input.is_empty() {
        return Err(MoneyError::EmptyAmount);
    }
    let invalid = |reason| MoneyError::InvalidAmount {
        input: s.to_owned(),
        reason,
    };

    let (negative, rest) = match input.as_bytes().first() {
        Some(b'-') => (true, &input[1..]),
        Some(b'+') => (false, &input[1..]),
        _ => (false, input),
    };
    let lower = rest.to_ascii_lowercase();
    if lower.starts_with("nan") || lower.starts_with("inf") {
        return Err(invalid("not a finite number"));
    }
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    let (int_digits, frac_digits) = match mantissa.find('.') {
        Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
        None => (mantissa, ""),
    };
    if int_digits.is_empty() && frac_digits.is_empty() {
        return Err(invalid("no digits"));
    }
    if !int_digits.bytes().all(|b| b.is_ascii_digit())
        || !frac_digits.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(invalid(
            "only digits, one decimal point and an exponent are allowed",
        ));
    }
    let exponent = match exponent {
        None => 0_i64,
        Some(e) => parse_exponent(e).ok_or_else(|| invalid("malformed exponent"))?,
    };

    // value = digits × 10^(exponent − frac_len); nanos = digits × 10^shift.
    let digits: Vec<u8> = int_digits
        .bytes()
        .chain(frac_digits.bytes())
        .map(|b| b - b'0')
        .skip_while(|&d| d == 0)
        .collect();
    if digits.is_empty() {
        return Ok(0);
    }
    let frac_len = i64::try_from(frac_digits.len()).map_err(|_| MoneyError::Overflow)?;
    let shift = exponent
        .saturating_sub(frac_len)
        .saturating_add(i64::from(NANO_SCALE));

    let magnitude = if shift >= 0 {
        // Integer number of nanos: at most 19 significant digits fit, so a huge shift overflows.
        let mut acc = digits_to_u128(&digits).ok_or(MoneyError::Overflow)?;
        for _ in 0..shift {
            acc = acc.checked_mul(10).ok_or(MoneyError::Overflow)?;
            if acc > MAX_MAGNITUDE {
                return Err(MoneyError::Overflow);
            }
        }
        acc
    } else {
        let dropped_len = usize::try_from(shift.unsigned_abs()).unwrap_or(usize::MAX);
        round_half_even(&digits, dropped_len).ok_or(MoneyError::Overflow)?
    };
    if magnitude > MAX_MAGNITUDE {
        return Err(MoneyError::Overflow);
    }
    let signed = if negative {
        -i128::try_from(magnitude).map_err(|_| MoneyError::Overflow)?
    } else {
        i128::try_from(magnitude).map_err(|_| MoneyError::Overflow)?
    };
    i64::try_from(signed).map_err(|_| MoneyError::Overflow)
}

/// The largest magnitude of nanos worth carrying: |i64::MIN|. The final `i64::try_from` sorts
/// out the one-off difference between the positive and negative ends.
const MAX_MAGNITUDE: u128 = 1 << 63;

fn parse_exponent(e: &str) -> Option<i64> {
    let (negative, digits) = match e.as_bytes().first()? {
        b'-' => (true, &e[1..]),
        b'+' => (false, &e[1..]),
        _ => (false, e),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Saturate absurd exponents: they either overflow or round to zero, both handled later.
    let value = digits
        .bytes()
        .try_fold(0_i64, |acc, b| {
            acc.checked_mul(10)?.checked_add(i64::from(b - b'0'))
        })
        .unwrap_or(i64::MAX / 4);
    Some(if negative { -value } else { value })
}

fn digits_to_u128(digits: &[u8]) -> Option<u128> {
    let mut acc: u128 = 0;
    for &d in digits {
        acc = acc.checked_mul(10)?.checked_add(u128::from(d))?;
        if acc > MAX_MAGNITUDE {
            return None;
        }
    }
    Some(acc)
}

/// Drops the last `dropped_len` digits of a digit string (most significant first, no leading
/// zeros), rounding half-even; `None` when the kept part is too large to be an amount.
fn round_half_even(digits: &[u8], dropped_len: usize) -> Option<u128> {
    if dropped_len > digits.len() {
        // Every digit is below the half-unit position: the value is under 0.5 nano.
        return Some(0);
    }
    let (kept, dropped) = digits.split_at(digits.len() - dropped_len);
    let mut value = digits_to_u128(kept)?;
    let round_up = match dropped.split_first() {
        None => false,
        Some((&first, rest)) => match first.cmp(&5) {
            std::cmp::Ordering::Greater => true,
            std::cmp::Ordering::Less => false,
            std::cmp::Ordering::Equal => rest.iter().any(|&d| d != 0) || value % 2 == 1,
        },
    };
    if round_up {
        value += 1;
    }
    Some(value)
}

/// An amount of money: nano-units and the currency they count.
///
/// The fields are public because every combination is a valid amount; arithmetic that could mix
/// currencies or overflow goes through the `checked_*` methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    /// The amount in 10⁻⁹ of the currency unit.
    pub amount_nanos: i64,
    /// The currency the amount is counted in.
    pub currency: Currency,
}

impl Money {
    /// An amount of `amount_nanos` nano-units of `currency`.
    #[must_use]
    pub const fn new(amount_nanos: i64, currency: Currency) -> Money {
        Money {
            amount_nanos,
            currency,
        }
    }

    /// Zero in `currency`.
    #[must_use]
    pub const fn zero(currency: Currency) -> Money {
        Money::new(0, currency)
    }

    /// Parses a decimal amount string (see [`parse_decimal_str`]) in `currency`.
    ///
    /// # Errors
    ///
    /// As [`parse_decimal_str`].
    pub fn parse(amount: &str, currency: Currency) -> Result<Money, MoneyError> {
        Ok(Money::new(parse_decimal_str(amount)?, currency))
    }

    /// The sum of two amounts in the same currency.
    ///
    /// # Errors
    ///
    /// [`MoneyError::CurrencyMismatch`] when the currencies differ, [`MoneyError::Overflow`]
    /// when the sum does not fit in an `i64`.
    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let amount_nanos = self
            .amount_nanos
            .checked_add(other.amount_nanos)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::new(amount_nanos, self.currency))
    }

    /// The difference of two amounts in the same currency.
    ///
    /// # Errors
    ///
    /// As [`Money::checked_add`].
    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let amount_nanos = self
            .amount_nanos
            .checked_sub(other.amount_nanos)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::new(amount_nanos, self.currency))
    }

    fn same_currency(self, other: Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch {
                left: self.currency,
                right: other.currency,
            })
        }
    }

    /// The exact amount as a [`Decimal`].
    #[must_use]
    pub fn to_decimal(&self) -> Decimal {
        decimal_from_nanos(self.amount_nanos)
    }

    /// The amount as a decimal string with at least the currency's minor-unit places and no
    /// trailing zeros beyond them: `"12.30"` (USD), `"0.000000001"`, `"-5.00"`, `"100"` (JPY).
    ///
    /// This is the `amount` of the GraphQL `Money` object: exact, never rounded.
    #[must_use]
    pub fn to_decimal_string(&self) -> String {
        let magnitude = self.amount_nanos.unsigned_abs();
        let per_unit = NANOS_PER_UNIT.unsigned_abs();
        let units = magnitude / per_unit;
        let frac = format!("{:09}", magnitude % per_unit);
        let min_places = usize::try_from(self.currency.minor_units().min(NANO_SCALE)).unwrap_or(9);
        let significant = frac.trim_end_matches('0').len();
        let places = significant.max(min_places);
        let sign = if self.amount_nanos < 0 { "-" } else { "" };
        if places == 0 {
            format!("{sign}{units}")
        } else {
            format!("{sign}{units}.{}", &frac[..places])
        }
    }

    /// Splits the amount into what can be paid in the currency's minor unit and what is left.
    ///
    /// Returns `(payable, remainder)` with `payable + remainder == self`, both in this
    /// currency. The payable part is rounded toward zero: for a positive balance nobody is paid
    /// more than they earned; for a negative balance (money owed) the debt shown is never
    /// inflated either, `-1.2345 USD` gives `(-1.23, -0.0045)`. The remainder therefore always
    /// has the sign of the amount and is carried forward to the next payout as a ledger entry.
    #[must_use]
    pub fn round_down_to_minor_unit(&self) -> (Money, Money) {
        let unit = self.currency.nanos_per_minor_unit();
        // Integer division truncates toward zero, which is the rule documented above.
        let payable = self.amount_nanos / unit * unit;
        let remainder = self.amount_nanos - payable;
        (
            Money::new(payable, self.currency),
            Money::new(remainder, self.currency),
        )
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.to_decimal_string(), self.currency)
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_total_in_two_parts_is_exact_or_an_error_never_a_wrong_number() {
        // A million lines of 9,000,000,000.999999999 each: far past an i64 of nano-units.
        let per_line = 9_000_000_000_999_999_999_i64;
        let (units, rest) = (per_line / NANOS_PER_UNIT, per_line % NANOS_PER_UNIT);
        assert_eq!(
            total_from_parts(units * 1_000_000, rest * 1_000_000),
            Err(MoneyError::Overflow)
        );
        // One line: exact.
        assert_eq!(total_from_parts(units, rest), Ok(per_line));
        // i64::MAX itself (what a saturated roll-up holds) is refused, both signs.
        let max = (i64::MAX / NANOS_PER_UNIT, i64::MAX % NANOS_PER_UNIT);
        assert_eq!(total_from_parts(max.0, max.1), Err(MoneyError::Overflow));
        assert_eq!(total_from_parts(-max.0, -max.1), Err(MoneyError::Overflow));
        assert_eq!(total_from_parts(9_223_372_035, 0), Ok(MAX_TOTAL_NANOS));
        assert_eq!(add_totals(MAX_TOTAL_NANOS, 1), Err(MoneyError::Overflow));
        assert_eq!(add_totals(MAX_TOTAL_NANOS, -1), Ok(MAX_TOTAL_NANOS - 1));
        assert_eq!(add_totals(i64::MAX, i64::MAX), Err(MoneyError::Overflow));
    }
    use std::str::FromStr;

    use super::*;

    fn cur(code: &str) -> Currency {
        Currency::parse(code).expect("valid currency")
    }

    #[test]
    fn currency_parses_any_case_and_upper_cases() {
        assert_eq!(cur("usd").as_str(), "USD");
        assert_eq!(cur(" eUr ").to_string(), "EUR");
        assert_eq!(Currency::from_str("jpy"), Ok(cur("JPY")));
    }

    #[test]
    fn currency_rejects_wrong_shapes() {
        for bad in ["", "US", "USDT", "U5D", "€UR", "ÜSD"] {
            assert!(
                matches!(
                    Currency::parse(bad),
                    Err(MoneyError::InvalidCurrency { .. })
                ),
                "{bad:?} should be rejected"
            );
        }
    }

    #[test]
    fn currency_minor_units_follow_iso_4217() {
        assert_eq!(cur("JPY").minor_units(), 0);
        assert_eq!(cur("KRW").minor_units(), 0);
        assert_eq!(cur("ISK").minor_units(), 0);
        assert_eq!(cur("KWD").minor_units(), 3);
        assert_eq!(cur("BHD").minor_units(), 3);
        assert_eq!(cur("USD").minor_units(), 2);
        assert_eq!(cur("EUR").minor_units(), 2);
        assert_eq!(cur("USD").nanos_per_minor_unit(), 10_000_000);
        assert_eq!(cur("JPY").nanos_per_minor_unit(), NANOS_PER_UNIT);
    }

    #[test]
    fn currency_serializes_as_code_string() {
        let json = serde_json::to_string(&cur("gbp")).expect("serialises");
        assert_eq!(json, "\"GBP\"");
        let back: Currency = serde_json::from_str("\"chf\"").expect("deserialises");
        assert_eq!(back, cur("CHF"));
        assert!(serde_json::from_str::<Currency>("\"CHFX\"").is_err());
        let money = Money::new(5, cur("USD"));
        let json = serde_json::to_string(&money).expect("serialises");
        assert_eq!(json, r#"{"amount_nanos":5,"currency":"USD"}"#);
    }

    #[test]
    fn parses_plain_decimals() {
        assert_eq!(parse_decimal_str("12.5"), Ok(12_500_000_000));
        assert_eq!(parse_decimal_str("-0.000000001"), Ok(-1));
        assert_eq!(parse_decimal_str(".021330"), Ok(21_330_000));
        assert_eq!(parse_decimal_str("0E-18"), Ok(0));
        assert_eq!(parse_decimal_str("1e3"), Ok(1_000 * NANOS_PER_UNIT));
        assert_eq!(parse_decimal_str("+7."), Ok(7 * NANOS_PER_UNIT));
        assert_eq!(parse_decimal_str("  42  "), Ok(42 * NANOS_PER_UNIT));
        assert_eq!(parse_decimal_str("1.5E-9"), Ok(2));
        assert_eq!(parse_decimal_str("-0"), Ok(0));
    }

    #[test]
    fn parses_more_digits_than_rust_decimal_holds() {
        assert_eq!(
            parse_decimal_str("0.123456789012345678901234567890123"),
            Ok(123_456_789)
        );
        assert_eq!(
            parse_decimal_str("0.000000000500000000000000000000001"),
            Ok(1)
        );
        assert_eq!(
            parse_decimal_str("000000000000000000000000000000001.25"),
            Ok(1_250_000_000)
        );
    }

    #[test]
    fn rounds_half_even_at_the_ninth_place() {
        assert_eq!(parse_decimal_str("0.0000000005"), Ok(0));
        assert_eq!(parse_decimal_str("0.0000000015"), Ok(2));
        assert_eq!(parse_decimal_str("0.0000000025"), Ok(2));
        assert_eq!(parse_decimal_str("-0.0000000025"), Ok(-2));
        assert_eq!(parse_decimal_str("-0.0000000035"), Ok(-4));
        assert_eq!(parse_decimal_str("0.00000000049999"), Ok(0));
        assert_eq!(parse_decimal_str("0.0000000004"), Ok(0));
        assert_eq!(parse_decimal_str("0.00000000051"), Ok(1));
    }

    #[test]
    fn rejects_non_numbers() {
        assert_eq!(parse_decimal_str(""), Err(MoneyError::EmptyAmount));
        assert_eq!(parse_decimal_str("   "), Err(MoneyError::EmptyAmount));
        for bad in [
            "NaN",
            "inf",
            "-Infinity",
            "abc",
            "1.2.3",
            "1,5",
            "1e",
            "e5",
            "--1",
            "1 000",
            ".",
            "-",
            "0x10",
            "1e+-2",
            "1_000",
        ] {
            assert!(
                matches!(
                    parse_decimal_str(bad),
                    Err(MoneyError::InvalidAmount { .. })
                ),
                "{bad:?} should be rejected, got {:?}",
                parse_decimal_str(bad)
            );
        }
        let message = parse_decimal_str("NaN")
            .expect_err("NaN is rejected")
            .to_string();
        assert!(message.contains("not a finite number"), "{message}");
    }

    #[test]
    fn overflow_is_an_error_not_a_wrap() {
        assert_eq!(parse_decimal_str("9223372037"), Err(MoneyError::Overflow));
        assert_eq!(parse_decimal_str("1e30"), Err(MoneyError::Overflow));
        assert_eq!(
            parse_decimal_str("1e99999999999999999999"),
            Err(MoneyError::Overflow)
        );
        assert_eq!(parse_decimal_str("1e-99999999999999999999"), Ok(0));
        assert_eq!(parse_decimal_str("9223372036.854775807"), Ok(i64::MAX));
        assert_eq!(parse_decimal_str("-9223372036.854775808"), Ok(i64::MIN));
        assert_eq!(
            parse_decimal_str("9223372036.854775808"),
            Err(MoneyError::Overflow)
        );
    }

    #[test]
    fn decimal_conversions_are_exact_and_round_half_even() {
        let d = Decimal::from_str("12.3456789015").expect("decimal");
        assert_eq!(nanos_from_decimal(d), Ok(12_345_678_902));
        let d = Decimal::from_str("12.3456789025").expect("decimal");
        assert_eq!(nanos_from_decimal(d), Ok(12_345_678_902));
        assert_eq!(nanos_from_decimal(Decimal::from(5)), Ok(5 * NANOS_PER_UNIT));
        assert_eq!(
            nanos_from_decimal(Decimal::from(10_000_000_000_i64)),
            Err(MoneyError::Overflow)
        );
        assert_eq!(
            decimal_from_nanos(-1),
            Decimal::from_str("-0.000000001").expect("decimal")
        );
        assert_eq!(
            decimal_from_nanos(i64::MIN).mantissa(),
            i128::from(i64::MIN)
        );
    }

    #[test]
    fn decimal_string_shows_minor_units_and_no_more_than_needed() {
        let usd = cur("USD");
        let jpy = cur("JPY");
        let kwd = cur("KWD");
        assert_eq!(Money::new(12_300_000_000, usd).to_decimal_string(), "12.30");
        assert_eq!(Money::new(1, usd).to_decimal_string(), "0.000000001");
        assert_eq!(
            Money::new(-5 * NANOS_PER_UNIT, usd).to_decimal_string(),
            "-5.00"
        );
        assert_eq!(
            Money::new(100 * NANOS_PER_UNIT, jpy).to_decimal_string(),
            "100"
        );
        assert_eq!(
            Money::new(100_500_000_000, jpy).to_decimal_string(),
            "100.5"
        );
        assert_eq!(Money::new(1_000_000_000, kwd).to_decimal_string(), "1.000");
        assert_eq!(Money::new(-1, usd).to_decimal_string(), "-0.000000001");
        assert_eq!(
            Money::new(i64::MIN, usd).to_decimal_string(),
            "-9223372036.854775808"
        );
        assert_eq!(Money::new(12_345_000_000, usd).to_string(), "12.345 USD");
    }

    #[test]
    fn round_down_to_minor_unit_keeps_the_remainder() {
        let usd = cur("USD");
        let (payable, rest) = Money::new(1_234_567_891, usd).round_down_to_minor_unit();
        assert_eq!(payable, Money::new(1_230_000_000, usd));
        assert_eq!(rest, Money::new(4_567_891, usd));

        let (payable, rest) = Money::new(-1_234_500_000, usd).round_down_to_minor_unit();
        assert_eq!(payable, Money::new(-1_230_000_000, usd));
        assert_eq!(rest, Money::new(-4_500_000, usd));

        let jpy = cur("JPY");
        let (payable, rest) = Money::new(99_999_999_999, jpy).round_down_to_minor_unit();
        assert_eq!(payable.to_decimal_string(), "99");
        assert_eq!(rest.amount_nanos, 999_999_999);
    }

    #[test]
    fn checked_arithmetic_refuses_mixed_currencies_and_overflow() {
        let usd = cur("USD");
        let eur = cur("EUR");
        assert_eq!(
            Money::new(1, usd).checked_add(Money::new(2, usd)),
            Ok(Money::new(3, usd))
        );
        assert_eq!(
            Money::new(1, usd).checked_add(Money::new(2, eur)),
            Err(MoneyError::CurrencyMismatch {
                left: usd,
                right: eur
            })
        );
        assert_eq!(
            Money::new(i64::MAX, usd).checked_add(Money::new(1, usd)),
            Err(MoneyError::Overflow)
        );
        assert_eq!(
            Money::new(1, usd).checked_sub(Money::new(3, usd)),
            Ok(Money::new(-2, usd))
        );
        assert_eq!(
            Money::parse("0.10", usd).and_then(|m| m.checked_add(Money::parse("0.20", usd)?)),
            Money::parse("0.3", usd)
        );
    }
}
