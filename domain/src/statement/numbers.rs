//! Amounts and quantities as statements write them, parsed from their digit strings.
//!
//! Store reports carry up to 33 decimal places, more than `rust_decimal`'s 28, so the digit
//! string is rounded half-even to [`AMOUNT_SCALE`] places before a `Decimal` is built, and no
//! float is ever involved.

use rust_decimal::Decimal;

use super::AMOUNT_SCALE;

/// Parses an amount: `12.34`, `.021330`, `-1`, `(12.34)`, `1,234.56`, `1.234,56` (with
/// `decimal_comma`), `100,00%`, `0E-18`, `7.3E+016`, a leading currency symbol. Rounded
/// half-even to 9 decimal places.
///
/// A thousands separator that could as well be a decimal one is refused rather than guessed:
/// `0,123` (no number is written with a thousands group after a leading zero) and a single
/// group without decimals, `1,234` (1234, or 1.234 from a decimal-comma export?).
///
/// # Errors
///
/// A human-readable reason when the text is not a number, or is ambiguous.
pub fn parse_amount(raw: &str, decimal_comma: bool) -> Result<Decimal, String> {
    parse_number(raw, decimal_comma, true)
}

/// [`parse_amount`], with `strict` refusing `1,234` too (amounts); quantities are whole
/// numbers, for which `1,234` can only be a thousand and more.
fn parse_number(raw: &str, decimal_comma: bool, strict: bool) -> Result<Decimal, String> {
    if let Some(plain) = parse_plain(raw, decimal_comma) {
        return plain;
    }
    let mut s: String = raw
        .trim()
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{a0}' && *c != '\'')
        .collect();
    if s.is_empty() {
        return Err("empty number".to_owned());
    }
    let mut negative = false;
    if s.starts_with('(') && s.ends_with(')') && s.len() > 2 {
        negative = true;
        s = s[1..s.len() - 1].to_owned();
    }
    if let Some(rest) = s.strip_suffix('%') {
        s = rest.to_owned();
    }
    if let Some(rest) = s.strip_prefix('-') {
        negative = !negative;
        s = rest.to_owned();
    } else if let Some(rest) = s.strip_prefix('+') {
        s = rest.to_owned();
    }
    for symbol in ['$', '€', '£', '¥'] {
        if let Some(rest) = s.strip_prefix(symbol) {
            s = rest.to_owned();
        }
    }
    if let Some(rest) = s.strip_suffix('-') {
        // `12.34-` (trailing minus, some accounting exports).
        negative = !negative;
        s = rest.to_owned();
    }
    let (mantissa, exponent) = split_exponent(&s)?;
    let (int_part, frac_part) = split_separators(mantissa, decimal_comma, strict)?;
    if int_part.is_empty() && frac_part.is_empty() {
        return Err(format!("not a number: {raw:?}"));
    }
    if !int_part.bytes().all(|b| b.is_ascii_digit())
        || !frac_part.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(format!("not a number: {raw:?}"));
    }
    let (int_digits, frac_digits) = shift_point(&int_part, &frac_part, exponent);
    build_decimal(&int_digits, &frac_digits, negative)
        .ok_or_else(|| format!("number out of range: {raw:?}"))
}

/// The common case, `-?digits[.digits]` as most statements write every amount, without the
/// copies the general path makes: `None` for anything else (spaces, signs in other places,
/// separators, exponents, symbols), which the general path then reads. For the strings it
/// takes, the result is the general path's, since the general path reduces them to the same
/// integer and fraction digits.
fn parse_plain(raw: &str, decimal_comma: bool) -> Option<Result<Decimal, String>> {
    if decimal_comma {
        return None;
    }
    let (negative, body) = match raw.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, raw),
    };
    let (int_part, frac_part) = body.split_once('.').unwrap_or((body, ""));
    if (int_part.is_empty() && frac_part.is_empty())
        || !int_part.bytes().all(|b| b.is_ascii_digit())
        || !frac_part.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    Some(
        build_decimal(int_part, frac_part, negative)
            .ok_or_else(|| format!("number out of range: {raw:?}")),
    )
}

/// Parses a quantity; a fractional one is rounded half-even (second value `true`).
///
/// # Errors
///
/// A human-readable reason when the text is not a number or does not fit an `i64`.
pub(crate) fn parse_quantity(raw: &str, decimal_comma: bool) -> Result<(i64, bool), String> {
    let value = parse_number(raw, decimal_comma, false)?;
    let rounded =
        value.round_dp_with_strategy(0, rust_decimal::RoundingStrategy::MidpointNearestEven);
    let fractional = rounded != value;
    let int = i64::try_from(rounded.mantissa() / 10_i128.pow(rounded.scale()))
        .map_err(|_| format!("quantity out of range: {raw:?}"))?;
    Ok((int, fractional))
}

fn split_exponent(s: &str) -> Result<(&str, i32), String> {
    match s.find(['e', 'E']) {
        None => Ok((s, 0)),
        Some(pos) => {
            let exp: i32 = s[pos + 1..]
                .parse()
                .map_err(|_| format!("bad exponent in {s:?}"))?;
            if exp.abs() > 60 {
                return Err(format!("exponent out of range in {s:?}"));
            }
            Ok((&s[..pos], exp))
        }
    }
}

/// Splits into integer and fraction digit strings, removing thousands separators (see
/// [`parse_amount`] for those refused as ambiguous).
fn split_separators(
    s: &str,
    decimal_comma: bool,
    strict: bool,
) -> Result<(String, String), String> {
    let (decimal, thousands) = if decimal_comma {
        (',', '.')
    } else {
        ('.', ',')
    };
    let mut parts = s.split(decimal);
    let int_raw = parts.next().unwrap_or_default();
    let frac = parts.next().unwrap_or_default().to_owned();
    if parts.next().is_some() {
        return Err(format!("more than one decimal separator in {s:?}"));
    }
    if frac.contains(thousands) {
        return Err(format!(
            "thousands separator after the decimal one in {s:?}"
        ));
    }
    let groups: Vec<&str> = int_raw.split(thousands).collect();
    if groups.len() > 1 {
        // Thousands groups must be exactly three digits after the first one.
        let ok = !groups[0].is_empty()
            && groups[0].len() <= 3
            && groups[1..].iter().all(|g| g.len() == 3);
        if !ok {
            return Err(format!("misplaced {thousands:?} in {s:?}"));
        }
        if groups[0].starts_with('0') {
            return Err(format!(
                "ambiguous number {s:?}: {thousands:?} after a leading zero is not a thousands separator; is it a decimal one?"
            ));
        }
        if strict && groups.len() == 2 && !s.contains(decimal) {
            return Err(format!(
                "ambiguous number {s:?}: {thousands:?} may separate thousands or decimals; write it with a decimal part"
            ));
        }
    }
    Ok((groups.concat(), frac))
}

/// Moves the decimal point by `exponent` places.
fn shift_point(int_part: &str, frac_part: &str, exponent: i32) -> (String, String) {
    if exponent == 0 {
        return (int_part.to_owned(), frac_part.to_owned());
    }
    let digits = format!("{int_part}{frac_part}");
    let point = i64::try_from(int_part.len()).unwrap_or(0) + i64::from(exponent);
    if point <= 0 {
        let zeros = "0".repeat(usize::try_from(-point).unwrap_or(0));
        (String::new(), format!("{zeros}{digits}"))
    } else {
        let point = usize::try_from(point).unwrap_or(0);
        if point >= digits.len() {
            let zeros = "0".repeat(point - digits.len());
            (format!("{digits}{zeros}"), String::new())
        } else {
            (digits[..point].to_owned(), digits[point..].to_owned())
        }
    }
}

/// Rounds the fraction digit string half-even to `AMOUNT_SCALE` places and builds the value.
/// Both strings are ASCII digits. Allocation-free: it runs once per amount of every line.
fn build_decimal(int_digits: &str, frac_digits: &str, negative: bool) -> Option<Decimal> {
    let keep = AMOUNT_SCALE as usize;
    let int_digits = int_digits.trim_start_matches('0');
    let (kept, round_up) = if frac_digits.len() > keep {
        let kept = &frac_digits[..keep];
        let next = frac_digits.as_bytes()[keep] - b'0';
        let rest_nonzero = frac_digits[keep + 1..].bytes().any(|b| b != b'0');
        let last_odd = kept
            .bytes()
            .last()
            .or_else(|| int_digits.bytes().last())
            .is_some_and(|b| (b - b'0') % 2 == 1);
        let up = next > 5 || (next == 5 && (rest_nonzero || last_odd));
        (kept, up)
    } else {
        (frac_digits, false)
    };
    if int_digits.len() + kept.len() > 38 {
        return None;
    }
    // At most 38 digits: below i128::MAX (about 1.7 × 10^38), so this cannot overflow.
    let mut mantissa: i128 = 0;
    for b in int_digits.bytes().chain(kept.bytes()) {
        mantissa = mantissa * 10 + i128::from(b - b'0');
    }
    if round_up {
        mantissa += 1;
    }
    if negative {
        mantissa = -mantissa;
    }
    let scale = u32::try_from(kept.len()).ok()?;
    Decimal::try_from_i128_with_scale(mantissa, scale).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A leading space keeps the plain path out: the general path reads the same digits.
    /// (Its error message quotes the text with the space, so only the outcome is compared.)
    fn general(raw: &str) -> Result<Decimal, ()> {
        parse_amount(&format!(" {raw}"), false).map_err(|_| ())
    }

    fn plain(raw: &str) -> Option<Result<Decimal, ()>> {
        parse_plain(raw, false).map(|r| r.map_err(|_| ()))
    }

    #[test]
    fn the_plain_path_reads_as_the_general_one() {
        for raw in [
            "0",
            "12.34",
            "-12.34",
            ".021330",
            "-.5",
            "1.",
            "007.50",
            "0.0000000005",
            "0.0000000015",
            "0.00000000250000000000000000000001",
            "-2.4999999995",
            "123456789012345678901234567890.123456789",
            "99999999999999999999999999999",
            "12345678901234567890123456789012345678901",
            "-0.000",
        ] {
            assert!(plain(raw).is_some(), "{raw}");
            assert_eq!(plain(raw), Some(general(raw)), "{raw}");
        }
        // Half-even at the ninth place: ties go to the even digit, anything past a tie goes up.
        let read = |raw| parse_amount(raw, false).expect("number").to_string();
        assert_eq!(read("0.0000000005"), "0.000000000");
        assert_eq!(read("0.0000000015"), "0.000000002");
        assert_eq!(read("0.00000000050000001"), "0.000000001");
        assert_eq!(read("-2.4999999995"), "-2.500000000");
        // Everything else is left to the general path.
        for raw in [
            "", "-", ".", "+1", "1,234.5", "1e3", " 1", "(1)", "1-", "$1", "1.2.3", "--1",
        ] {
            assert_eq!(parse_plain(raw, false), None, "{raw}");
        }
        assert_eq!(parse_plain("1", true), None);
    }

    proptest::proptest! {
        #[test]
        fn plain_amounts_agree_with_the_general_path(
            negative: bool,
            int in "[0-9]{0,20}",
            frac in proptest::option::of("[0-9]{0,30}"),
        ) {
            let raw = format!(
                "{}{int}{}",
                if negative { "-" } else { "" },
                frac.map(|f| format!(".{f}")).unwrap_or_default()
            );
            if let Some(plain) = plain(&raw) {
                proptest::prop_assert_eq!(plain, general(&raw));
            }
        }
    }
}
