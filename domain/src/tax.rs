//! A payee's tax profile: where they are resident for tax, the form on file, their tax id
//! (never kept or shown in clear) and the share of their payouts withheld.
//!
//! A [`TaxId`] exists only while a request is handled: what is stored is its
//! [`masked`](TaxId::masked) form (`•••• 6789`, the last four characters) and a keyed
//! [`fingerprint`](TaxId::fingerprint) (HMAC-SHA256), enough to tell whether the same id is
//! given again and nothing to read the id back from.

use thiserror::Error;

use crate::enums::string_enum;
use crate::share::{Share, ShareError};

string_enum! {
    /// The tax form a payee has on file.
    pub enum TaxForm: "tax form" {
        /// None on file.
        None => "none",
        /// US person (IRS W-9).
        W9 => "w9",
        /// Foreign individual (IRS W-8BEN).
        W8Ben => "w8ben",
        /// Foreign entity (IRS W-8BEN-E).
        W8BenE => "w8ben_e",
        /// Foreign person with effectively connected income (IRS W-8ECI).
        W8Eci => "w8eci",
        /// Another form (a local self-declaration, a treaty certificate).
        Other => "other",
    }
}

/// Why a tax profile was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TaxError {
    /// Not an ISO 3166-1 alpha-2 code.
    #[error("`{0}` is not an ISO 3166-1 alpha-2 country code (e.g. US, DE, FR)")]
    UnknownCountry(String),
    /// A tax id that is too short, too long, or has characters other than letters and digits
    /// (spaces, dashes, dots and slashes are dropped).
    #[error("a tax id has 4 to 30 letters and digits")]
    BadTaxId,
    /// A withholding rate outside 0..=100 %.
    #[error("the withholding rate is a percent from 0 to 100: {0}")]
    BadWithholding(ShareError),
}

/// Every ISO 3166-1 alpha-2 code assigned, two letters each.
const COUNTRIES: &str = "ADAEAFAGAIALAMAOAQARASATAUAWAXAZBABBBDBEBFBGBHBIBJBLBMBNBOBQBRBSBTBVBWBYBZ\
CACCCDCFCGCHCICKCLCMCNCOCRCUCVCWCXCYCZDEDJDKDMDODZECEEEGEHERESETFIFJFKFMFOFRGAGBGDGEGFGGGHGIGLGMGN\
GPGQGRGSGTGUGWGYHKHMHNHRHTHUIDIEILIMINIOIQIRISITJEJMJOJPKEKGKHKIKMKNKPKRKWKYKZLALBLCLILKLRLSLTLULV\
LYMAMCMDMEMFMGMHMKMLMMMNMOMPMQMRMSMTMUMVMWMXMYMZNANCNENFNGNINLNONPNRNUNZOMPAPEPFPGPHPKPLPMPNPRPSPT\
PWPYQARERORSRURWSASBSCSDSESGSHSISJSKSLSMSNSOSRSSSTSVSXSYSZTCTDTFTGTHTJTKTLTMTNTOTRTTTVTWTZUAUGUMUS\
UYUZVAVCVEVGVIVNVUWFWSYEYTZAZMZW";

/// Parses an ISO 3166-1 alpha-2 country code, any case; returns it upper-cased.
///
/// # Errors
/// [`TaxError::UnknownCountry`].
pub fn parse_country(raw: &str) -> Result<String, TaxError> {
    let code = raw.trim().to_ascii_uppercase();
    let known = code.len() == 2
        && code.bytes().all(|b| b.is_ascii_uppercase())
        && COUNTRIES.as_bytes().chunks(2).any(|c| c == code.as_bytes());
    if known {
        Ok(code)
    } else {
        Err(TaxError::UnknownCountry(raw.trim().to_owned()))
    }
}

/// A tax id as given (SSN, EIN, VAT number…), normalised: letters upper-cased, spaces, dashes,
/// dots and slashes dropped. Deliberately not `Debug`, `Display` or `Serialize`: it is never
/// logged, stored or returned.
pub struct TaxId(String);

impl TaxId {
    /// Parses a tax id.
    ///
    /// # Errors
    /// [`TaxError::BadTaxId`].
    pub fn parse(raw: &str) -> Result<TaxId, TaxError> {
        let mut id = String::with_capacity(raw.len());
        for c in raw.chars() {
            match c {
                ' ' | '-' | '.' | '/' => {}
                c if c.is_ascii_alphanumeric() => id.push(c.to_ascii_uppercase()),
                _ => return Err(TaxError::BadTaxId),
            }
        }
        if !(4..=30).contains(&id.len()) {
            return Err(TaxError::BadTaxId);
        }
        Ok(TaxId(id))
    }

    /// What may be shown: `•••• ` and the last four characters.
    #[must_use]
    pub fn masked(&self) -> String {
        let last4 = &self.0[self.0.len() - 4..];
        format!("•••• {last4}")
    }

    /// A keyed fingerprint (hex HMAC-SHA256 of the normalised id under `key`): equal ids give
    /// equal fingerprints under one key; the id cannot be read back from it without the key.
    #[must_use]
    pub fn fingerprint(&self, key: &[u8]) -> String {
        crate::webhook::to_hex(&crate::webhook::hmac_sha256(key, self.0.as_bytes()))
    }
}

/// Parses a withholding rate, a percent string from `"0"` to `"100"` (`"30"`, `"12.5"`), into
/// ppb.
///
/// # Errors
/// [`TaxError::BadWithholding`].
pub fn parse_withholding(raw: &str) -> Result<u64, TaxError> {
    if raw.trim() == "0" {
        return Ok(0);
    }
    Share::parse_percent(raw)
        .map(Share::ppb)
        .map_err(TaxError::BadWithholding)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countries_are_iso_3166_alpha_2() {
        assert_eq!(parse_country(" us "), Ok("US".to_owned()));
        assert_eq!(parse_country("DE"), Ok("DE".to_owned()));
        assert!(parse_country("XX").is_err());
        assert!(parse_country("USA").is_err());
        assert!(parse_country("").is_err());
        assert_eq!(COUNTRIES.len() % 2, 0);
        assert_eq!(COUNTRIES.len() / 2, 249);
    }

    #[test]
    fn a_tax_id_is_shown_masked_and_fingerprinted_with_a_key() {
        let id = TaxId::parse("123-45-6789").expect("ssn");
        assert_eq!(id.masked(), "•••• 6789");
        let same = TaxId::parse("123 45 6789").expect("ssn");
        assert_eq!(id.fingerprint(b"k"), same.fingerprint(b"k"));
        assert_ne!(id.fingerprint(b"k"), id.fingerprint(b"other key"));
        assert!(!id.fingerprint(b"k").contains("6789"));
        assert!(TaxId::parse("12").is_err());
        assert!(TaxId::parse("12345<script>").is_err());
    }

    #[test]
    fn withholding_is_a_percent_up_to_100() {
        assert_eq!(parse_withholding("30"), Ok(300_000_000));
        assert_eq!(parse_withholding("0"), Ok(0));
        assert_eq!(parse_withholding("100"), Ok(1_000_000_000));
        assert!(parse_withholding("100.5").is_err());
        assert!(parse_withholding("-1").is_err());
    }
}
