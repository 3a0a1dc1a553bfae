//! The PayPal Payouts CSV, as PayPal's payouts upload takes it: no header row, one row per
//! payment with the recipient's e-mail, the amount, the currency, the sender item id
//! ([`super::payout_reference`], echoed in PayPal's result file) and the note to the
//! recipient.

use super::details::PaymentDetails;
use super::plan::Transfer;

/// Writes the payouts file; transfers that are not PayPal ones are skipped.
#[must_use]
pub fn to_csv(transfers: &[Transfer]) -> Vec<u8> {
    let mut out = csv::Writer::from_writer(Vec::new());
    for t in transfers {
        let PaymentDetails::PayPal { email } = &t.details else {
            continue;
        };
        // Writing to a Vec cannot fail.
        let _ = out.write_record([
            email.as_str(),
            &super::file_amount(&t.amount),
            t.amount.currency.as_str(),
            &t.reference(),
            &t.note,
        ]);
    }
    out.into_inner().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::{Currency, Money};

    #[test]
    fn rows_without_header() {
        let usd = Currency::parse("USD").expect("test value");
        let t = Transfer {
            payout_id: 3,
            payee_name: "Cy".into(),
            amount: Money::new(100_000_000_000, usd),
            details: PaymentDetails::PayPal {
                email: "cy@example.com".into(),
            },
            note: "Royalties to 2026-06-30".into(),
        };
        let text = String::from_utf8(to_csv(&[t])).expect("test value");
        assert_eq!(
            text,
            "cy@example.com,100.00,USD,IMPRINT-3,Royalties to 2026-06-30\n"
        );
    }
}
