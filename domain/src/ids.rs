//! Industry identifiers: ISRC (recordings), UPC/EAN (releases), ISWC (compositions).
//!
//! Statement lines are matched to tracks and releases by these identifiers, so they are kept in
//! one canonical spelling (hyphens and spaces removed, upper-cased) and compared as strings.
//! Barcodes are never parsed as numbers: a UPC's leading zeros are part of it, and spreadsheet
//! tools that turn `036000291452` into `36000291452` are the commonest cause of an unmatched line.
//!
//! Each type is built only through `parse`, so a value that exists has the right shape. The one
//! exception is [`Upc::parse_unchecked`]: a statement line whose barcode has a wrong check digit
//! still carries real money, so it is kept and flagged instead of dropped (FORMATS.md).
//!
//! Errors say exactly what is wrong, in words a user can act on, because the API shows them as
//! they are.

use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Why an identifier was rejected. `kind` is `"ISRC"`, `"UPC"` or `"ISWC"`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IdError {
    /// Nothing left after removing separators.
    #[error("{kind} is empty")]
    Empty {
        /// Which identifier.
        kind: &'static str,
    },
    /// Wrong number of characters (after removing separators).
    #[error("{kind} must be {expected} (without hyphens or spaces), got {actual}")]
    Length {
        /// Which identifier.
        kind: &'static str,
        /// The accepted lengths, in words.
        expected: &'static str,
        /// The length found.
        actual: usize,
    },
    /// A character not allowed at its position (positions count from 1, separators removed).
    #[error("{kind} character {position} is '{found}', it must be {expected}")]
    Character {
        /// Which identifier.
        kind: &'static str,
        /// 1-based position in the identifier without separators.
        position: usize,
        /// The offending character.
        found: char,
        /// What is allowed there, in words.
        expected: &'static str,
    },
    /// The last digit does not match the check digit computed from the others.
    #[error("{kind} check digit is {found}, expected {expected}")]
    CheckDigit {
        /// Which identifier.
        kind: &'static str,
        /// The check digit computed from the other digits.
        expected: u8,
        /// The check digit given.
        found: u8,
    },
}

/// Removes the separators people and spreadsheets put in identifiers, and upper-cases.
fn compact(s: &str, separators: &[char]) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace() && !separators.contains(c))
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

fn check_chars(
    kind: &'static str,
    s: &str,
    rule: impl Fn(usize) -> (fn(&char) -> bool, &'static str),
) -> Result<(), IdError> {
    for (i, c) in s.chars().enumerate() {
        let (allowed, expected) = rule(i);
        if !allowed(&c) {
            return Err(IdError::Character {
                kind,
                position: i + 1,
                found: c,
                expected,
            });
        }
    }
    Ok(())
}

macro_rules! string_serde {
    ($ty:ident) => {
        impl Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let s = String::deserialize(deserializer)?;
                $ty::parse(&s).map_err(serde::de::Error::custom)
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $ty {
            type Err = IdError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $ty::parse(s)
            }
        }

        impl TryFrom<&str> for $ty {
            type Error = IdError;

            fn try_from(s: &str) -> Result<Self, Self::Error> {
                $ty::parse(s)
            }
        }
    };
}

/// An International Standard Recording Code: `CC-XXX-YY-NNNNN`, stored as its 12 characters.
///
/// Country (2 letters), registrant (3 letters or digits), year (2 digits), designation
/// (5 digits). There is no check digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Isrc(String);

impl Isrc {
    const KIND: &'static str = "ISRC";

    /// Parses an ISRC, ignoring hyphens and spaces and any letter case: `"us-rc1-76-07839"`
    /// gives `USRC17607839`.
    ///
    /// # Errors
    ///
    /// [`IdError`] when the compact form is not `^[A-Z]{2}[A-Z0-9]{3}[0-9]{7}$`.
    pub fn parse(s: &str) -> Result<Isrc, IdError> {
        let code = compact(s, &['-']);
        let len = code.chars().count();
        if len == 0 {
            return Err(IdError::Empty { kind: Self::KIND });
        }
        if len != 12 {
            return Err(IdError::Length {
                kind: Self::KIND,
                expected: "12 characters",
                actual: len,
            });
        }
        check_chars(Self::KIND, &code, |i| match i {
            0..=1 => (char::is_ascii_uppercase, "a letter (country code)"),
            2..=4 => (
                char::is_ascii_alphanumeric,
                "a letter or digit (registrant code)",
            ),
            _ => (char::is_ascii_digit, "a digit"),
        })?;
        Ok(Isrc(code))
    }

    /// The 12 characters, e.g. `"USRC17607839"`.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The two-letter country code of the registrant, e.g. `"US"`.
    #[must_use]
    pub fn country_code(&self) -> &str {
        &self.0[..2]
    }
}

string_serde!(Isrc);

/// A GTIN barcode as used for releases: UPC-A (12 digits), EAN-13, GTIN-8 or GTIN-14.
///
/// Stored as the digit string with its leading zeros. Two spellings of the same product (a
/// 12-digit UPC and the 13-digit EAN with a leading zero) compare equal through [`Upc::gtin14`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Upc(String);

impl Upc {
    const KIND: &'static str = "UPC";

    /// Parses a barcode and checks its check digit. Spaces and hyphens are ignored.
    ///
    /// # Errors
    ///
    /// [`IdError`] for a non-digit, a length other than 8, 12, 13 or 14, or a wrong check
    /// digit (the message gives the expected one).
    pub fn parse(s: &str) -> Result<Upc, IdError> {
        let upc = Self::parse_shape(s)?;
        let (expected, found) = upc.check_digits();
        if expected != found {
            return Err(IdError::CheckDigit {
                kind: Self::KIND,
                expected,
                found,
            });
        }
        Ok(upc)
    }

    /// Parses a barcode as found on a statement: the shape must be right, but a wrong check
    /// digit is reported in the `bool` (`true` = check digit correct) instead of rejected.
    ///
    /// # Errors
    ///
    /// [`IdError`] for a non-digit or a length other than 8, 12, 13 or 14.
    pub fn parse_unchecked(s: &str) -> Result<(Upc, bool), IdError> {
        let upc = Self::parse_shape(s)?;
        let (expected, found) = upc.check_digits();
        Ok((upc, expected == found))
    }

    fn parse_shape(s: &str) -> Result<Upc, IdError> {
        let code = compact(s, &['-']);
        let len = code.chars().count();
        if len == 0 {
            return Err(IdError::Empty { kind: Self::KIND });
        }
        check_chars(Self::KIND, &code, |_| (char::is_ascii_digit, "a digit"))?;
        if !matches!(len, 8 | 12 | 13 | 14) {
            return Err(IdError::Length {
                kind: Self::KIND,
                expected: "8, 12, 13 or 14 digits",
                actual: len,
            });
        }
        Ok(Upc(code))
    }

    /// `(expected, found)` check digits. Only called on an all-digit string of length ≥ 8.
    fn check_digits(&self) -> (u8, u8) {
        let bytes = self.0.as_bytes();
        let (found, body) = match bytes.split_last() {
            Some((last, body)) => (last - b'0', body),
            None => (0, bytes),
        };
        (gtin_check_digit_of(body), found)
    }

    /// The digits, leading zeros kept, e.g. `"036000291452"`.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The barcode left-padded with zeros to 14 digits: the one spelling under which a UPC-A,
    /// its EAN-13 form and its GTIN-14 form are equal. Use it to match.
    #[must_use]
    pub fn gtin14(&self) -> String {
        format!("{:0>14}", self.0)
    }
}

string_serde!(Upc);

/// The GTIN check digit for `body`, the digits before the check digit.
///
/// Weights 3, 1, 3, 1… from the rightmost digit of `body`; check = (10 − sum mod 10) mod 10.
///
/// # Errors
///
/// [`IdError::Character`] when `body` holds anything but ASCII digits, [`IdError::Empty`] when it
/// is empty.
pub fn gtin_check_digit(body: &str) -> Result<u8, IdError> {
    if body.is_empty() {
        return Err(IdError::Empty { kind: Upc::KIND });
    }
    check_chars(Upc::KIND, body, |_| (char::is_ascii_digit, "a digit"))?;
    Ok(gtin_check_digit_of(body.as_bytes()))
}

fn gtin_check_digit_of(body: &[u8]) -> u8 {
    let sum: u32 = body
        .iter()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let digit = u32::from(b - b'0');
            if i % 2 == 0 { 3 * digit } else { digit }
        })
        .sum();
    // Always < 10, so the narrowing cannot lose anything.
    u8::try_from((10 - sum % 10) % 10).unwrap_or(0)
}

/// An International Standard Musical Work Code: `T` + 9 digits + check digit, stored compact
/// (`T0345246801`); [`Iswc::formatted`] gives the display form `T-034.524.680-1`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Iswc(String);

impl Iswc {
    const KIND: &'static str = "ISWC";

    /// Parses `T-034.524.680-1` or `T0345246801` (hyphens, dots and spaces ignored, any case).
    ///
    /// # Errors
    ///
    /// [`IdError`] when the compact form is not `T` and 10 digits, or the check digit is wrong.
    pub fn parse(s: &str) -> Result<Iswc, IdError> {
        let code = compact(s, &['-', '.']);
        let len = code.chars().count();
        if len == 0 {
            return Err(IdError::Empty { kind: Self::KIND });
        }
        if len != 11 {
            return Err(IdError::Length {
                kind: Self::KIND,
                expected: "11 characters (T and 10 digits)",
                actual: len,
            });
        }
        check_chars(Self::KIND, &code, |i| match i {
            0 => (|c: &char| *c == 'T', "the letter T"),
            _ => (char::is_ascii_digit, "a digit"),
        })?;
        let digits = &code.as_bytes()[1..];
        let weighted: u32 = digits[..9]
            .iter()
            .zip(1..)
            .map(|(b, i)| i * u32::from(b - b'0'))
            .sum();
        let expected = u8::try_from((10 - (1 + weighted) % 10) % 10).unwrap_or(0);
        let found = digits[9] - b'0';
        if expected != found {
            return Err(IdError::CheckDigit {
                kind: Self::KIND,
                expected,
                found,
            });
        }
        Ok(Iswc(code))
    }

    /// The compact form, e.g. `"T0345246801"`.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The display form, e.g. `"T-034.524.680-1"`.
    #[must_use]
    pub fn formatted(&self) -> String {
        let c = &self.0;
        format!("T-{}.{}.{}-{}", &c[1..4], &c[4..7], &c[7..10], &c[10..])
    }
}

string_serde!(Iswc);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isrc_is_canonicalised() {
        let isrc = Isrc::parse("us-rc1-76-07839").expect("valid");
        assert_eq!(isrc.as_str(), "USRC17607839");
        assert_eq!(isrc.to_string(), "USRC17607839");
        assert_eq!(isrc.country_code(), "US");
        assert_eq!(
            Isrc::parse(" GB A1B 23 00001 "),
            Isrc::parse("GBA1B2300001")
        );
        assert_eq!(
            serde_json::to_string(&isrc).expect("serialises"),
            "\"USRC17607839\""
        );
        let back: Isrc = serde_json::from_str("\"USRC17607839\"").expect("deserialises");
        assert_eq!(back, isrc);
    }

    #[test]
    fn isrc_errors_say_what_is_wrong() {
        assert_eq!(
            Isrc::parse("USRC1760783"),
            Err(IdError::Length {
                kind: "ISRC",
                expected: "12 characters",
                actual: 11
            })
        );
        let err = Isrc::parse("U1RC17607839").expect_err("digit in country");
        assert_eq!(
            err.to_string(),
            "ISRC character 2 is '1', it must be a letter (country code)"
        );
        assert!(matches!(
            Isrc::parse("USRC1760783X"),
            Err(IdError::Character { position: 12, .. })
        ));
        assert!(matches!(
            Isrc::parse("USR!17607839"),
            Err(IdError::Character { position: 4, .. })
        ));
        assert_eq!(Isrc::parse(" - "), Err(IdError::Empty { kind: "ISRC" }));
        assert!(serde_json::from_str::<Isrc>("\"nope\"").is_err());
    }

    #[test]
    fn upc_known_good_codes_validate() {
        let upc = Upc::parse("036000291452").expect("valid UPC-A");
        assert_eq!(upc.as_str(), "036000291452");
        assert_eq!(upc.gtin14(), "00036000291452");
        assert_eq!(
            Upc::parse("4006381333931").expect("valid EAN-13").as_str(),
            "4006381333931"
        );
        assert_eq!(
            Upc::parse("0 36000-29145 2")
                .expect("separators ignored")
                .as_str(),
            "036000291452"
        );
        assert_eq!(
            Upc::parse("0036000291452").expect("EAN-13 form").gtin14(),
            upc.gtin14()
        );
        assert!(Upc::parse("96385074").is_ok(), "GTIN-8");
        assert_eq!(gtin_check_digit("03600029145"), Ok(2));
        assert_eq!(gtin_check_digit("400638133393"), Ok(1));
    }

    #[test]
    fn upc_bad_check_digit_is_rejected_or_flagged() {
        assert_eq!(
            Upc::parse("036000291453"),
            Err(IdError::CheckDigit {
                kind: "UPC",
                expected: 2,
                found: 3
            })
        );
        assert_eq!(
            Upc::parse("036000291453")
                .expect_err("bad check")
                .to_string(),
            "UPC check digit is 3, expected 2"
        );
        let (upc, ok) = Upc::parse_unchecked("036000291453").expect("shape is fine");
        assert!(!ok);
        assert_eq!(upc.as_str(), "036000291453");
        let (_, ok) = Upc::parse_unchecked("036000291452").expect("shape is fine");
        assert!(ok);
    }

    #[test]
    fn upc_shape_errors() {
        assert!(matches!(
            Upc::parse("03600029145"),
            Err(IdError::Length { actual: 11, .. })
        ));
        assert!(matches!(
            Upc::parse_unchecked("03600029145A"),
            Err(IdError::Character {
                position: 12,
                found: 'A',
                ..
            })
        ));
        assert!(matches!(
            Upc::parse("3.6e11"),
            Err(IdError::Character { .. })
        ));
        assert_eq!(Upc::parse(""), Err(IdError::Empty { kind: "UPC" }));
    }

    #[test]
    fn iswc_parses_both_forms() {
        let a = Iswc::parse("T-034.524.680-1").expect("valid");
        let b = Iswc::parse("t0345246801").expect("valid");
        assert_eq!(a, b);
        assert_eq!(a.as_str(), "T0345246801");
        assert_eq!(a.to_string(), "T0345246801");
        assert_eq!(a.formatted(), "T-034.524.680-1");
        assert_eq!(
            Iswc::parse("T-034.524.680-2"),
            Err(IdError::CheckDigit {
                kind: "ISWC",
                expected: 1,
                found: 2
            })
        );
        assert!(matches!(
            Iswc::parse("X0345246801"),
            Err(IdError::Character { position: 1, .. })
        ));
        assert!(matches!(
            Iswc::parse("T034524680"),
            Err(IdError::Length { actual: 10, .. })
        ));
    }
}
