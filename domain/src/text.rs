//! Text normalisation for matching and for identities.
//!
//! Statement lines that carry no usable ISRC or UPC are matched to tracks by title and artist.
//! Stores spell the same title differently (`Café Del Mar`, `CAFE DEL MAR`, `Cafe del Mar!`), so
//! both sides are reduced to one key: lower case, Latin diacritics folded, punctuation dropped,
//! whitespace collapsed. The key is for comparing only; it is never shown.
//!
//! E-mail addresses are the login identity, so they are compared in one normal form too. The
//! check is deliberately minimal (one `@`, both sides non-empty): the real proof that an address
//! works is the mail that reaches it.

use thiserror::Error;

/// The matching key of a title or an artist name.
///
/// Lower-cases, folds Latin letters with diacritics to their base letters (`é` → `e`,
/// `ß` → `ss`, `ø` → `o`), turns `&` into `and`, removes apostrophes (`Don't` → `dont`),
/// replaces other punctuation and symbols with spaces and collapses whitespace. Letters and
/// digits of other scripts are kept as they are.
#[must_use]
pub fn normalize_title(s: &str) -> String {
    let mut spaced = String::with_capacity(s.len());
    for c in s.chars().flat_map(char::to_lowercase) {
        if let Some(folded) = fold_latin(c) {
            spaced.push_str(folded);
        } else if is_combining_mark(c) || matches!(c, '\'' | '’' | '‘' | '`' | '´') {
            // Decomposed accents and apostrophes vanish without splitting the word.
        } else if c == '&' {
            spaced.push_str(" and ");
        } else if c.is_alphanumeric() {
            spaced.push(c);
        } else {
            spaced.push(' ');
        }
    }
    spaced.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Combining diacritical marks (U+0300–U+036F), as left by NFD-normalised input.
fn is_combining_mark(c: char) -> bool {
    ('\u{0300}'..='\u{036F}').contains(&c)
}

/// The base letters of a lower-case Latin-1 or Latin Extended-A letter with a diacritic.
fn fold_latin(c: char) -> Option<&'static str> {
    Some(match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => "a",
        'æ' => "ae",
        'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' => "c",
        'ď' | 'đ' | 'ð' => "d",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => "e",
        'ĝ' | 'ğ' | 'ġ' | 'ģ' => "g",
        'ĥ' | 'ħ' => "h",
        'ì' | 'í' | 'î' | 'ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' => "i",
        'ĳ' => "ij",
        'ĵ' => "j",
        'ķ' => "k",
        'ĺ' | 'ļ' | 'ľ' | 'ŀ' | 'ł' => "l",
        'ñ' | 'ń' | 'ņ' | 'ň' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ŏ' | 'ő' => "o",
        'œ' => "oe",
        'ŕ' | 'ŗ' | 'ř' => "r",
        'ś' | 'ŝ' | 'ş' | 'š' | 'ș' => "s",
        'ß' => "ss",
        'ţ' | 'ť' | 'ŧ' | 'ț' => "t",
        'þ' => "th",
        'ù' | 'ú' | 'û' | 'ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' => "u",
        'ŵ' => "w",
        'ý' | 'ÿ' | 'ŷ' => "y",
        'ź' | 'ż' | 'ž' => "z",
        _ => return None,
    })
}

/// Why an e-mail address was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EmailError {
    /// Nothing but whitespace.
    #[error("email address is empty")]
    Empty,
    /// Not exactly one `@`.
    #[error("email address must contain exactly one @")]
    AtSign,
    /// Nothing before the `@`.
    #[error("email address has nothing before the @")]
    EmptyLocalPart,
    /// Nothing after the `@`.
    #[error("email address has nothing after the @")]
    EmptyDomain,
    /// Whitespace or a control character inside.
    #[error("email address cannot contain spaces")]
    Whitespace,
    /// Longer than the 254 characters an address can have.
    #[error("email address is longer than 254 characters")]
    TooLong,
}

/// The normal form of an e-mail address: trimmed and lower-cased.
///
/// # Errors
///
/// [`EmailError`] when the address is empty, has other than one `@`, an empty side, inner
/// whitespace, or more than 254 characters.
pub fn normalize_email(s: &str) -> Result<String, EmailError> {
    let trimmed = s.trim();
    if trimmed.is_empty() {
        return Err(EmailError::Empty);
    }
    if trimmed.chars().count() > 254 {
        return Err(EmailError::TooLong);
    }
    if trimmed.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(EmailError::Whitespace);
    }
    let Some((local, domain)) = trimmed.split_once('@') else {
        return Err(EmailError::AtSign);
    };
    if domain.contains('@') {
        return Err(EmailError::AtSign);
    }
    if local.is_empty() {
        return Err(EmailError::EmptyLocalPart);
    }
    if domain.is_empty() {
        return Err(EmailError::EmptyDomain);
    }
    Ok(trimmed.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_reduce_to_one_key() {
        assert_eq!(normalize_title("Café Del Mar"), "cafe del mar");
        assert_eq!(normalize_title("  CAFE   del MAR! "), "cafe del mar");
        assert_eq!(normalize_title("Cafe\u{0301} del Mar"), "cafe del mar");
        assert_eq!(normalize_title("Don’t Stop (Remix)"), "dont stop remix");
        assert_eq!(normalize_title("Simon & Garfunkel"), "simon and garfunkel");
        assert_eq!(normalize_title("Straße nach Łódź"), "strasse nach lodz");
        assert_eq!(
            normalize_title("Sigur Rós – Ágætis byrjun"),
            "sigur ros agaetis byrjun"
        );
        assert_eq!(normalize_title("AC/DC"), "ac dc");
        assert_eq!(normalize_title("東京 Tokyo"), "東京 tokyo");
        assert_eq!(normalize_title("!!!"), "");
    }

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        assert_eq!(
            normalize_email("  Ana.Silva@Example.COM "),
            Ok("ana.silva@example.com".to_owned())
        );
        assert_eq!(normalize_email(""), Err(EmailError::Empty));
        assert_eq!(normalize_email("ana"), Err(EmailError::AtSign));
        assert_eq!(normalize_email("a@b@c"), Err(EmailError::AtSign));
        assert_eq!(normalize_email("@b.com"), Err(EmailError::EmptyLocalPart));
        assert_eq!(normalize_email("a@"), Err(EmailError::EmptyDomain));
        assert_eq!(normalize_email("a b@c.com"), Err(EmailError::Whitespace));
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(normalize_email(&long), Err(EmailError::TooLong));
    }
}
