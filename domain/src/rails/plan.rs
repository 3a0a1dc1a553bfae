//! Which rail pays which payout: the one rule behind the three exports and the API's list of
//! payouts that none of them can pay.

use super::details::PaymentDetails;
use crate::money::Money;

/// A payout rail Imprint writes a file for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rail {
    /// A Wise batch-payment CSV.
    Wise,
    /// A PayPal Payouts CSV.
    PayPal,
    /// An ISO 20022 SEPA credit transfer, `pain.001.001.03`.
    Sepa,
}

/// Why no rail can pay a payout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unusable {
    /// The payee has no structured payment details.
    NoDetails,
    /// A bank account is paid by SEPA, in euros only.
    IbanNotEuro {
        /// The payout's currency.
        currency: String,
    },
}

impl std::fmt::Display for Unusable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NoDetails => f.write_str("the payee has no payment details"),
            Self::IbanNotEuro { currency } => write!(
                f,
                "a bank account is paid by SEPA credit transfer in EUR only; this payout is in {currency}"
            ),
        }
    }
}

/// The rail that pays a payout of `amount` to a payee with `details`.
///
/// # Errors
/// [`Unusable`] when none can.
pub fn rail_for(details: Option<&PaymentDetails>, amount: &Money) -> Result<Rail, Unusable> {
    match details {
        None => Err(Unusable::NoDetails),
        Some(PaymentDetails::BankAccount { .. }) if amount.currency.as_str() == "EUR" => {
            Ok(Rail::Sepa)
        }
        Some(PaymentDetails::BankAccount { .. }) => Err(Unusable::IbanNotEuro {
            currency: amount.currency.as_str().to_owned(),
        }),
        Some(PaymentDetails::PayPal { .. }) => Ok(Rail::PayPal),
        Some(PaymentDetails::Wise(_)) => Ok(Rail::Wise),
    }
}

/// The reference a payout travels under on every rail (SEPA `EndToEndId`, PayPal sender item
/// id, Wise payment reference), and by which confirmations are matched back: `IMPRINT-<id>`,
/// within SEPA's character set and 35 characters.
#[must_use]
pub fn payout_reference(payout_id: i64) -> String {
    format!("IMPRINT-{payout_id}")
}

/// One payment in an export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    /// The payout it pays.
    pub payout_id: i64,
    /// The payee's name (the account holder when the details name none).
    pub payee_name: String,
    /// What is paid: whole minor units of the payout's currency.
    pub amount: Money,
    /// Where to.
    pub details: PaymentDetails,
    /// The note to the payee, e.g. "Royalties to 2026-06-30".
    pub note: String,
}

impl Transfer {
    /// [`payout_reference`] of this transfer's payout.
    #[must_use]
    pub fn reference(&self) -> String {
        payout_reference(self.payout_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;
    use crate::rails::details::{Iban, WiseRecipient};

    fn money(c: &str) -> Money {
        Money::new(1_000_000_000, Currency::parse(c).expect("test value"))
    }

    #[test]
    fn each_payout_has_one_rail_or_a_reason() {
        let bank = PaymentDetails::BankAccount {
            iban: Iban::parse("DE44500105175407324931").expect("test value"),
            bic: None,
            account_holder: None,
        };
        assert_eq!(rail_for(Some(&bank), &money("EUR")), Ok(Rail::Sepa));
        assert_eq!(
            rail_for(Some(&bank), &money("USD")),
            Err(Unusable::IbanNotEuro {
                currency: "USD".into()
            })
        );
        let paypal = PaymentDetails::PayPal {
            email: "a@b.co".into(),
        };
        assert_eq!(rail_for(Some(&paypal), &money("USD")), Ok(Rail::PayPal));
        let wise = PaymentDetails::Wise(WiseRecipient::Id("1".into()));
        assert_eq!(rail_for(Some(&wise), &money("GBP")), Ok(Rail::Wise));
        assert_eq!(rail_for(None, &money("EUR")), Err(Unusable::NoDetails));
        assert_eq!(payout_reference(12), "IMPRINT-12");
    }
}
