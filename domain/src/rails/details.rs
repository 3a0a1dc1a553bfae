//! Structured payment details: a bank account (IBAN, BIC, holder), a PayPal e-mail, or a Wise
//! recipient. Built only through [`PaymentDetails::parse`] (or read back from storage with
//! [`PaymentDetails::from_columns`]), so a value that exists is valid.

use std::fmt;

use iban::IbanLike;
use thiserror::Error;

/// Why payment details were refused; [`DetailsError::field`] names the input field.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DetailsError {
    /// Not an IBAN: wrong length for its country, bad checksum, unknown country.
    #[error("not a valid IBAN: {0}")]
    Iban(String),
    /// Not a BIC (8 or 11 characters: bank, country, location, optional branch).
    #[error("not a valid BIC: expected 8 or 11 characters like DEUTDEFF or DEUTDEFF500")]
    Bic,
    /// Not an e-mail address one can be paid at.
    #[error("not a valid email address")]
    Email,
    /// A Wise recipient is an id (digits) or an e-mail address.
    #[error("a Wise recipient is a recipient id (digits) or an email address")]
    WiseRecipient,
    /// A field the rail needs is missing.
    #[error("{0} is required for this payment method")]
    Required(&'static str),
    /// An unknown stored rail word.
    #[error("unknown payment rail {0:?}")]
    UnknownRail(String),
}

impl DetailsError {
    /// The GraphQL input field the error is about.
    #[must_use]
    pub fn field(&self) -> &'static str {
        match self {
            Self::Iban(_) => "iban",
            Self::Bic => "bic",
            Self::Email | Self::WiseRecipient => "email",
            Self::Required(field) => field,
            Self::UnknownRail(_) => "rail",
        }
    }
}

/// A valid IBAN (country length and mod-97 checksum checked by the `iban_validate` crate),
/// kept in its electronic form (no spaces, upper case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Iban(String);

impl Iban {
    /// Parses an IBAN, spaces allowed (`"DE44 5001 0517 5407 3249 31"`).
    ///
    /// # Errors
    /// [`DetailsError::Iban`] when it is not one.
    pub fn parse(raw: &str) -> Result<Iban, DetailsError> {
        let compact: String = raw
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_uppercase();
        compact
            .parse::<iban::Iban>()
            .map(|i| Iban(i.electronic_str().to_owned()))
            .map_err(|e| DetailsError::Iban(e.to_string()))
    }

    /// The electronic form, `DE44500105175407324931`.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The two-letter country code.
    #[must_use]
    pub fn country(&self) -> &str {
        &self.0[..2]
    }

    /// The IBAN with all but the country and the last four characters hidden:
    /// `DE** **** **** **** **49 31` style, as `DE••••••••••••••••4931`.
    #[must_use]
    pub fn masked(&self) -> String {
        mask_keep_ends(&self.0, 2, 4)
    }
}

impl fmt::Display for Iban {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A valid BIC (ISO 9362): 4 letters of bank, 2 letters of country, 2 characters of location
/// (the second not `O`, and the first not `0`/`1`, as the pain.001 schema demands), then
/// optionally 3 characters of branch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bic(String);

impl Bic {
    /// Parses a BIC, case-insensitively, surrounding spaces ignored.
    ///
    /// # Errors
    /// [`DetailsError::Bic`] when it is not one.
    pub fn parse(raw: &str) -> Result<Bic, DetailsError> {
        let s = raw.trim().to_ascii_uppercase();
        let b = s.as_bytes();
        let ok = (b.len() == 8 || b.len() == 11)
            && b[..6].iter().all(u8::is_ascii_uppercase)
            && (b[6].is_ascii_uppercase() || (b'2'..=b'9').contains(&b[6]))
            && (b[7].is_ascii_alphanumeric() && b[7] != b'O')
            && b[8..].iter().all(u8::is_ascii_alphanumeric);
        if ok {
            Ok(Bic(s))
        } else {
            Err(DetailsError::Bic)
        }
    }

    /// The BIC, upper case.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whom Wise pays: a recipient saved in the label's Wise account, or an e-mail address (Wise
/// asks the payee for their bank details).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WiseRecipient {
    /// A saved recipient's id.
    Id(String),
    /// An e-mail address, normalised.
    Email(String),
}

/// Where a payee is paid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentDetails {
    /// A bank account, paid by SEPA credit transfer (EUR).
    BankAccount {
        /// The account.
        iban: Iban,
        /// The bank, when known (SEPA does not need it within the EEA).
        bic: Option<Bic>,
        /// The account holder's name, when it is not the payee's.
        account_holder: Option<String>,
    },
    /// A PayPal account's e-mail address, normalised.
    PayPal {
        /// The address.
        email: String,
    },
    /// A Wise recipient.
    Wise(WiseRecipient),
}

/// What a client sends to set payment details: the rail and its fields.
#[derive(Debug, Clone, Default)]
pub struct DetailsInput<'a> {
    /// `"iban"`, `"paypal"` or `"wise"`.
    pub rail: &'a str,
    /// For `iban`.
    pub iban: Option<&'a str>,
    /// For `iban`, optional.
    pub bic: Option<&'a str>,
    /// For `iban`, optional.
    pub account_holder: Option<&'a str>,
    /// For `paypal`, or `wise` by e-mail.
    pub email: Option<&'a str>,
    /// For `wise` by saved recipient.
    pub wise_recipient_id: Option<&'a str>,
}

fn blank_to_none(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|s| !s.is_empty())
}

/// An e-mail address money can be sent to: [`crate::text::normalize_email`] and a dotted domain.
fn payable_email(raw: &str) -> Result<String, DetailsError> {
    let email = crate::text::normalize_email(raw).map_err(|_| DetailsError::Email)?;
    match email.split_once('@') {
        Some((_, domain))
            if domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.') =>
        {
            Ok(email)
        }
        _ => Err(DetailsError::Email),
    }
}

/// The stored columns of payment details: `(rail, account, bic, account_holder)`.
pub type Columns = (String, String, Option<String>, Option<String>);

impl PaymentDetails {
    /// Validates a client's input; every problem is returned, each naming its field.
    ///
    /// # Errors
    /// The list of [`DetailsError`]s, never empty.
    pub fn parse(input: &DetailsInput<'_>) -> Result<PaymentDetails, Vec<DetailsError>> {
        let mut errors = Vec::new();
        let details = match input.rail {
            "iban" => {
                let iban = match blank_to_none(input.iban) {
                    Some(raw) => Iban::parse(raw).map_err(|e| errors.push(e)).ok(),
                    None => {
                        errors.push(DetailsError::Required("iban"));
                        None
                    }
                };
                let bic = match blank_to_none(input.bic) {
                    Some(raw) => Bic::parse(raw).map_err(|e| errors.push(e)).ok(),
                    None => None,
                };
                iban.map(|iban| PaymentDetails::BankAccount {
                    iban,
                    bic,
                    account_holder: blank_to_none(input.account_holder).map(str::to_owned),
                })
            }
            "paypal" => match blank_to_none(input.email) {
                Some(raw) => payable_email(raw)
                    .map(|email| PaymentDetails::PayPal { email })
                    .map_err(|e| errors.push(e))
                    .ok(),
                None => {
                    errors.push(DetailsError::Required("email"));
                    None
                }
            },
            "wise" => match (
                blank_to_none(input.wise_recipient_id),
                blank_to_none(input.email),
            ) {
                (Some(id), _) if id.chars().all(|c| c.is_ascii_digit()) => {
                    Some(PaymentDetails::Wise(WiseRecipient::Id(id.to_owned())))
                }
                (Some(_), _) => {
                    errors.push(DetailsError::Required("wiseRecipientId"));
                    None
                }
                (None, Some(raw)) => payable_email(raw)
                    .map(|e| PaymentDetails::Wise(WiseRecipient::Email(e)))
                    .map_err(|e| errors.push(e))
                    .ok(),
                (None, None) => {
                    errors.push(DetailsError::WiseRecipient);
                    None
                }
            },
            other => {
                errors.push(DetailsError::UnknownRail(other.to_owned()));
                None
            }
        };
        match details {
            Some(d) if errors.is_empty() => Ok(d),
            _ => Err(errors),
        }
    }

    /// The rail word stored and shown: `iban`, `paypal` or `wise`.
    #[must_use]
    pub fn rail(&self) -> &'static str {
        match self {
            Self::BankAccount { .. } => "iban",
            Self::PayPal { .. } => "paypal",
            Self::Wise(_) => "wise",
        }
    }

    /// The columns this is stored in.
    #[must_use]
    pub fn to_columns(&self) -> Columns {
        match self {
            Self::BankAccount {
                iban,
                bic,
                account_holder,
            } => (
                self.rail().to_owned(),
                iban.as_str().to_owned(),
                bic.as_ref().map(|b| b.as_str().to_owned()),
                account_holder.clone(),
            ),
            Self::PayPal { email } => (self.rail().to_owned(), email.clone(), None, None),
            Self::Wise(WiseRecipient::Id(id)) => ("wise".to_owned(), id.clone(), None, None),
            Self::Wise(WiseRecipient::Email(e)) => ("wise".to_owned(), e.clone(), None, None),
        }
    }

    /// Reads stored columns back (validated again: a value that exists is valid).
    ///
    /// # Errors
    /// A [`DetailsError`] for a stored value that is not valid any more.
    pub fn from_columns(
        rail: &str,
        account: &str,
        bic: Option<&str>,
        account_holder: Option<&str>,
    ) -> Result<PaymentDetails, DetailsError> {
        let wise_id = account.chars().all(|c| c.is_ascii_digit());
        let input = DetailsInput {
            rail,
            iban: Some(account),
            bic,
            account_holder,
            email: Some(account),
            wise_recipient_id: wise_id.then_some(account),
        };
        PaymentDetails::parse(&input).map_err(|mut e| e.remove(0))
    }

    /// Reads the old free-text `payout_method`: an IBAN (possibly after a label such as
    /// `IBAN:`, with spaces) becomes a bank account, an e-mail address a PayPal account (a Wise
    /// recipient when the text names Wise); anything else is `None` and stays a note.
    #[must_use]
    pub fn from_legacy_text(text: &str) -> Option<PaymentDetails> {
        let lower = text.to_lowercase();
        let wise = lower.contains("wise");
        // An e-mail address anywhere in the text.
        let email = text
            .split(|c: char| c.is_whitespace() || c == ',' || c == ';' || c == '<' || c == '>')
            .map(|w| w.trim_matches(|c: char| c == ':' || c == '(' || c == ')'))
            .find(|w| w.contains('@'))
            .and_then(|w| payable_email(w).ok());
        if let Some(email) = email {
            return Some(if wise {
                PaymentDetails::Wise(WiseRecipient::Email(email))
            } else {
                PaymentDetails::PayPal { email }
            });
        }
        // An IBAN: the whole text, or after a leading `IBAN` label.
        let trimmed = text.trim();
        [trimmed, strip_prefix_ci(trimmed, "iban")]
            .iter()
            .find_map(|c| Iban::parse(c.trim_start_matches([':', ' ', '-'])).ok())
            .map(|iban| PaymentDetails::BankAccount {
                iban,
                bic: None,
                account_holder: None,
            })
    }

    /// The details with the account hidden, for readers who may see that a payee has payment
    /// details but not what they are: `(rail, account masked)`.
    #[must_use]
    pub fn masked_account(&self) -> String {
        match self {
            Self::BankAccount { iban, .. } => iban.masked(),
            Self::PayPal { email } | Self::Wise(WiseRecipient::Email(email)) => mask_email(email),
            Self::Wise(WiseRecipient::Id(id)) => mask_keep_ends(id, 0, 2),
        }
    }
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> &'a str {
    match s.get(..prefix.len()) {
        Some(head) if head.eq_ignore_ascii_case(prefix) => &s[prefix.len()..],
        _ => s,
    }
}

/// `s` with every character but the first `head` and the last `tail` replaced by `•`.
fn mask_keep_ends(s: &str, head: usize, tail: usize) -> String {
    let n = s.chars().count();
    s.chars()
        .enumerate()
        .map(|(i, c)| if i < head || i + tail >= n { c } else { '•' })
        .collect()
}

/// `j•••@example.com`: the first character of the local part and the domain.
fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}•••@{domain}")
        }
        None => "•••".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ibans_are_checked_by_country_length_and_checksum() {
        let iban = Iban::parse("de44 5001 0517 5407 3249 31").expect("test value");
        assert_eq!(iban.as_str(), "DE44500105175407324931");
        assert_eq!(iban.country(), "DE");
        assert_eq!(iban.masked(), "DE••••••••••••••••4931");
        assert!(Iban::parse("GB82WEST12345698765432").is_ok());
        assert!(Iban::parse("FR1420041010050500013M02606").is_ok());
        // A checksum off by one digit.
        assert!(Iban::parse("DE45500105175407324931").is_err());
        // One character short for Germany.
        assert!(Iban::parse("DE4450010517540732493").is_err());
        assert!(Iban::parse("XX44500105175407324931").is_err());
        assert!(Iban::parse("").is_err());
    }

    #[test]
    fn bics_have_eight_or_eleven_characters() {
        assert_eq!(
            Bic::parse(" deutdeff ").expect("test value").as_str(),
            "DEUTDEFF"
        );
        assert!(Bic::parse("DEUTDEFF500").is_ok());
        assert!(Bic::parse("DEUTDEF").is_err());
        assert!(Bic::parse("DEUTDEFF50").is_err());
        assert!(Bic::parse("DEU1DEFF").is_err());
        assert!(
            Bic::parse("DEUTDEFO").is_err(),
            "O is not a location's second character"
        );
        assert!(
            Bic::parse("DEUTDE1F").is_err(),
            "1 is not a location's first character"
        );
    }

    #[test]
    fn input_errors_name_their_fields() {
        let bad = PaymentDetails::parse(&DetailsInput {
            rail: "iban",
            iban: Some("DE00 0000"),
            bic: Some("NOPE"),
            ..Default::default()
        })
        .expect_err("test value");
        let fields: Vec<_> = bad.iter().map(DetailsError::field).collect();
        assert_eq!(fields, ["iban", "bic"]);
        let bad = PaymentDetails::parse(&DetailsInput {
            rail: "paypal",
            email: Some("someone@localhost"),
            ..Default::default()
        })
        .expect_err("test value");
        assert_eq!(bad, [DetailsError::Email]);
        let ok = PaymentDetails::parse(&DetailsInput {
            rail: "wise",
            wise_recipient_id: Some("12345678"),
            ..Default::default()
        })
        .expect("test value");
        assert_eq!(
            ok,
            PaymentDetails::Wise(WiseRecipient::Id("12345678".into()))
        );
    }

    #[test]
    fn columns_round_trip() {
        for details in [
            PaymentDetails::BankAccount {
                iban: Iban::parse("DE44500105175407324931").expect("test value"),
                bic: Some(Bic::parse("DEUTDEFF").expect("test value")),
                account_holder: Some("Ada L".into()),
            },
            PaymentDetails::PayPal {
                email: "a@example.com".into(),
            },
            PaymentDetails::Wise(WiseRecipient::Id("42".into())),
            PaymentDetails::Wise(WiseRecipient::Email("w@example.org".into())),
        ] {
            let (rail, account, bic, holder) = details.to_columns();
            let back =
                PaymentDetails::from_columns(&rail, &account, bic.as_deref(), holder.as_deref())
                    .expect("test value");
            assert_eq!(back, details);
        }
    }

    #[test]
    fn legacy_text_is_read_where_it_parses() {
        assert!(matches!(
            PaymentDetails::from_legacy_text("IBAN: DE44 5001 0517 5407 3249 31"),
            Some(PaymentDetails::BankAccount { .. })
        ));
        assert!(matches!(
            PaymentDetails::from_legacy_text("GB82WEST12345698765432"),
            Some(PaymentDetails::BankAccount { .. })
        ));
        assert_eq!(
            PaymentDetails::from_legacy_text("PayPal: Ada@Example.com"),
            Some(PaymentDetails::PayPal {
                email: "ada@example.com".into()
            })
        );
        assert_eq!(
            PaymentDetails::from_legacy_text("wise ada@example.com"),
            Some(PaymentDetails::Wise(WiseRecipient::Email(
                "ada@example.com".into()
            )))
        );
        assert_eq!(
            PaymentDetails::from_legacy_text("cheque to the studio"),
            None
        );
        assert_eq!(PaymentDetails::from_legacy_text("bank-ref-123"), None);
    }

    proptest! {
        /// Changing any one digit of a valid IBAN breaks its mod-97 checksum.
        #[test]
        fn one_changed_digit_is_caught(pos in 4usize..22, delta in 1u8..10) {
            let valid = "DE44500105175407324931";
            let mut bytes = valid.as_bytes().to_vec();
            let d = bytes[pos] - b'0';
            bytes[pos] = b'0' + (d + delta) % 10;
            let changed = String::from_utf8(bytes).expect("test value");
            prop_assert!(Iban::parse(&changed).is_err());
        }

        /// Whatever is typed, parsing never panics, and what parses is upper-case electronic.
        #[test]
        fn parse_never_panics(s in "\\PC{0,40}") {
            if let Ok(iban) = Iban::parse(&s) {
                prop_assert!(iban.as_str().chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()));
            }
            let _ = Bic::parse(&s);
            let _ = PaymentDetails::from_legacy_text(&s);
        }
    }
}
