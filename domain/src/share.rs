//! Shares of a whole, and exact splits of money by them.
//!
//! A share is an integer count of parts per billion (ppb) of the whole, `1_000_000_000` being
//! 100 %: one ppb is 0.0000001 %, so a percent with up to seven decimals (`33.3333333`) is exact
//! and three payees at a third each can be written down and summed without any float. A split's
//! shares must sum to exactly the whole ([`validate_split`]); nothing is silently normalised,
//! because a split that does not add up is a mistake in the contract, not a rounding question.
//!
//! Dividing money by shares cannot be exact per part, but it is exact in total: [`allocate`]
//! uses the largest-remainder rule, so the parts always sum to the amount and the few leftover
//! nano-units go to the parts that were cut shortest, deterministically (ties by input order),
//! which keeps retried allocation jobs writing the same ledger entries.

use std::collections::HashSet;
use std::fmt;
use std::hash::Hash;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Why a share was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ShareError {
    /// The percent string is empty.
    #[error("share is empty")]
    Empty,
    /// Not a plain decimal percent.
    #[error("share \"{input}\" is not a percentage like 60 or 33.3333333")]
    Invalid {
        /// The rejected input, as given.
        input: String,
    },
    /// More than seven decimal places: finer than one part per billion.
    #[error("share \"{input}\" has more than 7 decimal places")]
    TooPrecise {
        /// The rejected input, as given.
        input: String,
    },
    /// Zero, negative or above 100 %.
    #[error("share \"{input}\" must be greater than 0% and at most 100%")]
    OutOfRange {
        /// The rejected input, as given (or the ppb count for [`Share::from_ppb`]).
        input: String,
    },
}

/// Why a split or an allocation was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SplitError {
    /// A split with no shares.
    #[error("a split needs at least one share")]
    Empty,
    /// The same key (payee) appears twice.
    #[error("share {position} repeats a payee that is already in the split")]
    DuplicateKey {
        /// 1-based position of the repeated entry.
        position: usize,
    },
    /// The shares do not add up to 100 %.
    #[error("shares sum to {}%, they must sum to exactly 100%", ppb_to_percent_string(u128::from(*.sum_ppb)))]
    BadSum {
        /// The actual sum in parts per billion (saturated at `u64::MAX`).
        sum_ppb: u64,
    },
    /// An allocation whose weights sum to zero (or with no weights at all).
    #[error("cannot allocate by weights that sum to zero")]
    ZeroTotalWeight,
}

/// A share of a whole in parts per billion: `Share::WHOLE_PPB` is 100 %.
///
/// Always greater than 0 and at most 100 %: a zero share is no share, so it is not a `Share`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u64", into = "u64")]
pub struct Share(u64);

impl Share {
    /// 100 % in parts per billion.
    pub const WHOLE_PPB: u64 = 1_000_000_000;

    /// The whole: 100 %.
    pub const WHOLE: Share = Share(Share::WHOLE_PPB);

    /// Parts per billion in one percent.
    const PPB_PER_PERCENT: u64 = 10_000_000;

    /// Decimal places of a percent that one ppb resolves.
    const PERCENT_PLACES: usize = 7;

    /// Parses a percentage: `"60"`, `"33.3333333"`, `"12.5"`, optionally followed by `%`.
    ///
    /// At most seven decimal places carry meaning; finer values are an error rather than
    /// rounded, because a share that silently changes is worse than one that is refused.
    /// Trailing zeros beyond the seventh place (`"12.500000000"`) are accepted: they change
    /// nothing.
    ///
    /// # Errors
    ///
    /// [`ShareError`] when the input is empty, not a plain decimal, too precise, or not in
    /// (0, 100].
    pub fn parse_percent(s: &str) -> Result<Share, ShareError> {
        let trimmed = s.trim();
        let trimmed = trimmed.strip_suffix('%').unwrap_or(trimmed).trim_end();
        if trimmed.is_empty() {
            return Err(ShareError::Empty);
        }
        let invalid = || ShareError::Invalid {
            input: s.to_owned(),
        };
        let out_of_range = || ShareError::OutOfRange {
            input: s.to_owned(),
        };
        let (negative, unsigned) = match trimmed.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, trimmed.strip_prefix('+').unwrap_or(trimmed)),
        };
        let (int_part, frac_part) = unsigned.split_once('.').unwrap_or((unsigned, ""));
        if (int_part.is_empty() && frac_part.is_empty())
            || !int_part.bytes().all(|b| b.is_ascii_digit())
            || !frac_part.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(invalid());
        }
        let frac_part = frac_part.trim_end_matches('0');
        if frac_part.len() > Self::PERCENT_PLACES {
            return Err(ShareError::TooPrecise {
                input: s.to_owned(),
            });
        }
        let int_part = int_part.trim_start_matches('0');
        if int_part.len() > 3 {
            return Err(out_of_range());
        }
        let int_value = digits_value(int_part);
        let frac_value =
            digits_value(frac_part) * 10_u64.pow(pow_u32(Self::PERCENT_PLACES - frac_part.len()));
        let ppb = int_value * Self::PPB_PER_PERCENT + frac_value;
        if negative && ppb != 0 {
            return Err(out_of_range());
        }
        Share::from_ppb(ppb).map_err(|_| out_of_range())
    }

    /// A share from parts per billion.
    ///
    /// # Errors
    ///
    /// [`ShareError::OutOfRange`] unless `0 < ppb ≤ WHOLE_PPB`.
    pub fn from_ppb(ppb: u64) -> Result<Share, ShareError> {
        if ppb == 0 || ppb > Self::WHOLE_PPB {
            return Err(ShareError::OutOfRange {
                input: format!("{ppb} ppb"),
            });
        }
        Ok(Share(ppb))
    }

    /// The share in parts per billion.
    #[must_use]
    pub const fn ppb(self) -> u64 {
        self.0
    }

    /// The share as a percent string with no trailing zeros: `"60"`, `"33.3333333"`, `"12.5"`.
    #[must_use]
    pub fn to_percent_string(self) -> String {
        ppb_to_percent_string(u128::from(self.0))
    }
}

/// A ppb count as a percent string without trailing zeros, e.g. `900_000_000` → `"90"`.
fn ppb_to_percent_string(ppb: u128) -> String {
    let per_percent = u128::from(Share::PPB_PER_PERCENT);
    let int = ppb / per_percent;
    let frac = ppb % per_percent;
    if frac == 0 {
        return int.to_string();
    }
    let frac = format!("{frac:07}");
    format!("{int}.{}", frac.trim_end_matches('0'))
}

/// The value of a short string of ASCII digits (at most 7, checked by the caller).
fn digits_value(digits: &str) -> u64 {
    digits
        .bytes()
        .fold(0, |acc, b| acc * 10 + u64::from(b - b'0'))
}

fn pow_u32(n: usize) -> u32 {
    // Only ever 0..=7.
    u32::try_from(n).unwrap_or(0)
}

impl fmt::Display for Share {
    /// `60%`, `33.3333333%`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}%", self.to_percent_string())
    }
}

impl TryFrom<u64> for Share {
    type Error = ShareError;

    fn try_from(ppb: u64) -> Result<Self, Self::Error> {
        Share::from_ppb(ppb)
    }
}

impl From<Share> for u64 {
    fn from(share: Share) -> u64 {
        share.0
    }
}

/// Checks that `shares` form a split: at least one, no key twice, summing to exactly 100 %.
///
/// # Errors
///
/// [`SplitError::Empty`], [`SplitError::DuplicateKey`] (the first repeat), or
/// [`SplitError::BadSum`] with the actual sum.
pub fn validate_split<K: Eq + Hash + Clone>(shares: &[(K, Share)]) -> Result<(), SplitError> {
    if shares.is_empty() {
        return Err(SplitError::Empty);
    }
    let mut seen = HashSet::with_capacity(shares.len());
    for (i, (key, _)) in shares.iter().enumerate() {
        if !seen.insert(key) {
            return Err(SplitError::DuplicateKey { position: i + 1 });
        }
    }
    let sum: u128 = shares.iter().map(|(_, s)| u128::from(s.ppb())).sum();
    if sum != u128::from(Share::WHOLE_PPB) {
        return Err(SplitError::BadSum {
            sum_ppb: u64::try_from(sum).unwrap_or(u64::MAX),
        });
    }
    Ok(())
}

/// Splits `amount_nanos` among keys in proportion to integer weights, exactly.
///
/// Each key first gets the floor of its pro-rata part; the units left over (fewer than the
/// number of keys) go one each to the largest remainders, ties to the earlier entry. The parts
/// therefore sum to the amount, each is within one unit of its exact pro-rata value, a
/// zero weight gets zero, and the same input always gives the same output. A negative amount is
/// split as the negation of the positive split, so a refund reverses an earning exactly.
/// Results are in input order.
///
/// ```
/// use domain::share::allocate;
///
/// let parts = allocate(100, &[("ana", 1), ("ben", 1), ("cy", 1)]).expect("weights");
/// assert_eq!(parts, vec![("ana", 34), ("ben", 33), ("cy", 33)]);
/// ```
///
/// # Errors
///
/// [`SplitError::ZeroTotalWeight`] when the weights are empty or all zero.
pub fn allocate<K: Clone>(
    amount_nanos: i64,
    weights: &[(K, u64)],
) -> Result<Vec<(K, i64)>, SplitError> {
    let total: u128 = weights.iter().map(|(_, w)| u128::from(*w)).sum();
    if total == 0 {
        return Err(SplitError::ZeroTotalWeight);
    }
    // |amount| ≤ 2^63 and weight < 2^64, so every product fits in a u128.
    let magnitude = u128::from(amount_nanos.unsigned_abs());
    let mut parts: Vec<u128> = Vec::with_capacity(weights.len());
    let mut remainders: Vec<(u128, usize)> = Vec::with_capacity(weights.len());
    for (i, (_, w)) in weights.iter().enumerate() {
        let product = magnitude * u128::from(*w);
        parts.push(product / total);
        remainders.push((product % total, i));
    }
    let given: u128 = parts.iter().sum();
    let leftover = usize::try_from(magnitude - given).unwrap_or(usize::MAX);
    // Largest remainder first; equal remainders keep input order.
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for &(_, i) in remainders.iter().take(leftover) {
        parts[i] += 1;
    }
    let negative = amount_nanos < 0;
    Ok(weights
        .iter()
        .zip(parts)
        .map(|((key, _), part)| {
            // part ≤ |amount| ≤ 2^63, so it fits once negated, and fits as-is when positive.
            let signed = i128::try_from(part).unwrap_or(i128::MAX);
            let signed = if negative { -signed } else { signed };
            (
                key.clone(),
                i64::try_from(signed).unwrap_or(if negative { i64::MIN } else { i64::MAX }),
            )
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pct(s: &str) -> Share {
        Share::parse_percent(s).expect("valid share")
    }

    #[test]
    fn parses_percent_strings_exactly() {
        assert_eq!(pct("60").ppb(), 600_000_000);
        assert_eq!(pct("33.3333333").ppb(), 333_333_333);
        assert_eq!(pct("12.5").ppb(), 125_000_000);
        assert_eq!(pct("100").ppb(), Share::WHOLE_PPB);
        assert_eq!(pct("0.0000001").ppb(), 1);
        assert_eq!(pct(" 25 % ").ppb(), 250_000_000);
        assert_eq!(pct(".5").ppb(), 5_000_000);
        assert_eq!(pct("007").ppb(), 70_000_000);
        assert_eq!(pct("12.500000000").ppb(), 125_000_000);
        assert_eq!(pct("100.0000000000").ppb(), Share::WHOLE_PPB);
    }

    #[test]
    fn rejects_bad_percent_strings() {
        assert_eq!(Share::parse_percent(""), Err(ShareError::Empty));
        assert_eq!(Share::parse_percent("%"), Err(ShareError::Empty));
        for bad in ["abc", "1.2.3", "5e1", "1,5", ".", "NaN", "--1"] {
            assert!(
                matches!(Share::parse_percent(bad), Err(ShareError::Invalid { .. })),
                "{bad:?}"
            );
        }
        for bad in ["0", "0.0", "-5", "100.0000001", "101", "1000000", "-0.1"] {
            assert!(
                matches!(
                    Share::parse_percent(bad),
                    Err(ShareError::OutOfRange { .. })
                ),
                "{bad:?} got {:?}",
                Share::parse_percent(bad)
            );
        }
        assert_eq!(
            Share::parse_percent("33.33333333"),
            Err(ShareError::TooPrecise {
                input: "33.33333333".to_owned()
            })
        );
    }

    #[test]
    fn percent_strings_and_display() {
        assert_eq!(pct("60.0").to_percent_string(), "60");
        assert_eq!(pct("33.3333333").to_percent_string(), "33.3333333");
        assert_eq!(pct("12.50").to_percent_string(), "12.5");
        assert_eq!(pct("0.0000001").to_string(), "0.0000001%");
        assert_eq!(Share::WHOLE.to_string(), "100%");
    }

    #[test]
    fn from_ppb_bounds() {
        assert!(Share::from_ppb(0).is_err());
        assert!(Share::from_ppb(Share::WHOLE_PPB + 1).is_err());
        assert_eq!(Share::from_ppb(1).map(Share::ppb), Ok(1));
        assert_eq!(Share::try_from(Share::WHOLE_PPB), Ok(Share::WHOLE));
        assert_eq!(serde_json::to_string(&pct("50")).expect("ser"), "500000000");
        assert!(serde_json::from_str::<Share>("0").is_err());
    }

    #[test]
    fn validate_split_checks_sum_duplicates_and_emptiness() {
        assert_eq!(
            validate_split(&[("a", pct("60")), ("b", pct("40"))]),
            Ok(())
        );
        assert_eq!(
            validate_split(&[
                (1, pct("33.3333333")),
                (2, pct("33.3333333")),
                (3, pct("33.3333334"))
            ]),
            Ok(())
        );
        assert_eq!(validate_split::<u32>(&[]), Err(SplitError::Empty));
        let err = validate_split(&[("a", pct("60")), ("b", pct("30"))]).expect_err("90 %");
        assert_eq!(
            err,
            SplitError::BadSum {
                sum_ppb: 900_000_000
            }
        );
        assert_eq!(
            err.to_string(),
            "shares sum to 90%, they must sum to exactly 100%"
        );
        let err = validate_split(&[("a", pct("60")), ("b", pct("40.5"))]).expect_err("over");
        assert_eq!(
            err.to_string(),
            "shares sum to 100.5%, they must sum to exactly 100%"
        );
        assert_eq!(
            validate_split(&[("a", pct("50")), ("b", pct("25")), ("a", pct("25"))]),
            Err(SplitError::DuplicateKey { position: 3 })
        );
    }

    #[test]
    fn allocate_gives_leftovers_to_largest_remainders() {
        assert_eq!(
            allocate(100, &[("a", 1), ("b", 1), ("c", 1)]),
            Ok(vec![("a", 34), ("b", 33), ("c", 33)])
        );
        assert_eq!(
            allocate(-100, &[("a", 1), ("b", 1), ("c", 1)]),
            Ok(vec![("a", -34), ("b", -33), ("c", -33)])
        );
        // 10 × (0.15, 0.25, 0.6) = 1.5, 2.5, 6: remainders .5 and .5 tie, the first wins.
        assert_eq!(
            allocate(10, &[("a", 15), ("b", 25), ("c", 60)]),
            Ok(vec![("a", 2), ("b", 2), ("c", 6)])
        );
        // 7 × (0.2, 0.3, 0.5) = 1.4, 2.1, 3.5: the largest remainder (.5) wins over input order.
        assert_eq!(
            allocate(7, &[("a", 2), ("b", 3), ("c", 5)]),
            Ok(vec![("a", 1), ("b", 2), ("c", 4)])
        );
        assert_eq!(
            allocate(5, &[("a", 0), ("b", 3)]),
            Ok(vec![("a", 0), ("b", 5)])
        );
        assert_eq!(allocate(0, &[("a", 1)]), Ok(vec![("a", 0)]));
        assert_eq!(allocate::<&str>(5, &[]), Err(SplitError::ZeroTotalWeight));
        assert_eq!(allocate(5, &[("a", 0)]), Err(SplitError::ZeroTotalWeight));
    }

    #[test]
    fn allocate_handles_extremes() {
        let parts =
            allocate(i64::MIN, &[("a", u64::MAX), ("b", u64::MAX), ("c", 1)]).expect("allocates");
        let sum: i128 = parts.iter().map(|(_, p)| i128::from(*p)).sum();
        assert_eq!(sum, i128::from(i64::MIN));
        let parts = allocate(i64::MAX, &[("a", 1)]).expect("allocates");
        assert_eq!(parts, vec![("a", i64::MAX)]);
    }
}
