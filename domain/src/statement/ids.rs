//! ISRC and UPC/EAN normalisation and checks. A bad identifier is flagged, never dropped.

/// Upper-cases and removes hyphens, dots and spaces; `None` when nothing is left.
#[must_use]
pub fn normalize_isrc(raw: &str) -> Option<String> {
    let s: String = raw
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-' && *c != '.')
        .flat_map(char::to_uppercase)
        .collect();
    (!s.is_empty()).then_some(s)
}

/// `^[A-Z]{2}[A-Z0-9]{3}[0-9]{7}$` on a normalised ISRC.
#[must_use]
pub fn isrc_is_valid(isrc: &str) -> bool {
    let b = isrc.as_bytes();
    b.len() == 12
        && b[..2].iter().all(u8::is_ascii_uppercase)
        && b[2..5]
            .iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        && b[5..].iter().all(u8::is_ascii_digit)
}

/// Keeps the digits of a UPC/EAN cell (quotes, spaces and hyphens removed, leading zeros
/// kept). A cell that is not digits after that (`7.3E+11`, letters) is kept as written.
#[must_use]
pub fn normalize_upc(raw: &str) -> Option<String> {
    let s: String = raw
        .trim()
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-' && *c != '"' && *c != '\'')
        .collect();
    (!s.is_empty()).then_some(s)
}

/// GTIN-8/12/13/14 check digit: `Some(true)` valid, `Some(false)` bad check digit, `None` not a
/// GTIN length or not digits.
#[must_use]
pub fn upc_check_digit_ok(upc: &str) -> Option<bool> {
    if !matches!(upc.len(), 8 | 12 | 13 | 14) || !upc.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits: Vec<u32> = upc.bytes().map(|b| u32::from(b - b'0')).collect();
    let (body, check) = digits.split_at(digits.len() - 1);
    let sum: u32 = body
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| if i % 2 == 0 { d * 3 } else { *d })
        .sum();
    Some((10 - sum % 10) % 10 == check[0])
}
