//! Line fingerprints: the idempotency key of a statement line.
//!
//! # The choice
//!
//! [`fingerprint`] hashes what identifies a sale (format, store, identifiers, territory,
//! periods, usage type, quantity, amount, currency, title, artist), not where it sits in the
//! file, so the same sale in two overlapping exports (DistroKid by date range) hashes the same.
//!
//! But one file can hold two genuinely distinct rows that look identical (two separate sales of
//! the same track on the same day and store). [`Fingerprinter`] therefore counts, within one
//! file, how many times each base fingerprint has been seen and appends that occurrence
//! number: the first is `<hash>:1`, the second `<hash>:2`. Two overlapping files that both
//! carry the pair give `:1` and `:2` in each, so the overlap still deduplicates, while the pair
//! itself is kept. The cost: a file that repeats a row *more* times than an earlier file adds
//! only the extra occurrences, which is the right count when each file is complete for the
//! period it covers. The counter needs one map entry per distinct line, so a caller that
//! ingests huge files in batches keeps one `Fingerprinter` per file.

use std::collections::HashMap;
use std::fmt::Write as _;

use sha2::{Digest, Sha256};

use super::{Format, Period, StatementLine};

/// SHA-256 hex over the line's identifying content. Amounts are normalised (`1.50` = `1.5`),
/// text is trimmed; the line number is not part of it.
#[must_use]
pub fn fingerprint(line: &StatementLine, format: Format) -> String {
    let mut canonical = String::with_capacity(256);
    let opt = |v: &Option<String>| v.as_deref().map(str::trim).unwrap_or_default().to_owned();
    let period = |p: &Option<Period>| p.map(|p| p.to_string()).unwrap_or_default();
    // Unit separators between fields so that no two field lists concatenate alike.
    for field in [
        format.to_string(),
        opt(&line.store),
        opt(&line.isrc),
        opt(&line.upc),
        if line.territory.is_some() {
            opt(&line.territory)
        } else {
            opt(&line.territory_raw)
        },
        period(&line.sale_period),
        period(&line.reporting_period),
        opt(&line.usage_type),
        line.quantity.to_string(),
        line.amount.normalize().to_string(),
        line.currency.clone(),
        opt(&line.title),
        opt(&line.artist_name),
        opt(&line.release_title),
    ] {
        canonical.push_str(&field);
        canonical.push('\u{1f}');
    }
    let digest = Sha256::digest(canonical.as_bytes());
    let mut out = String::with_capacity(64);
    for b in digest {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Per-file fingerprints with an occurrence counter (see the module doc).
///
/// The counter remembers each distinct line of the file by the first 128 bits of its digest
/// (about 32 bytes a line in the map, not the 64-character hex), so a million-line file costs
/// tens of megabytes here, not hundreds.
#[derive(Debug, Default)]
pub struct Fingerprinter {
    seen: HashMap<u128, u32>,
}

impl Fingerprinter {
    /// A counter for one file.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// `<sha-256 hex>:<occurrence>`, occurrence counted from 1 within this file.
    pub fn fingerprint(&mut self, line: &StatementLine, format: Format) -> String {
        let base = fingerprint(line, format);
        let key = base
            .get(..32)
            .and_then(|prefix| u128::from_str_radix(prefix, 16).ok())
            .unwrap_or_default();
        let count = self.seen.entry(key).or_insert(0);
        *count += 1;
        format!("{base}:{count}")
    }
}
