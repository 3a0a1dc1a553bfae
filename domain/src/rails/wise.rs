//! The Wise batch-payment CSV ("send to saved recipients" and "send by email" templates in
//! one file): a header row, then one row per transfer.
//!
//! Columns: `name`, `recipientId` (a saved recipient), `recipientEmail` (by e-mail),
//! `type` (`EMAIL` for a transfer by e-mail, empty otherwise), `paymentReference`
//! ([`super::payout_reference`]), `amountCurrency` (`target`: the payee gets the exact
//! amount, fees are the label's), `amount`, `sourceCurrency`, `targetCurrency`.

use super::details::{PaymentDetails, WiseRecipient};
use super::plan::Transfer;

/// The header row.
pub const COLUMNS: [&str; 9] = [
    "name",
    "recipientId",
    "recipientEmail",
    "type",
    "paymentReference",
    "amountCurrency",
    "amount",
    "sourceCurrency",
    "targetCurrency",
];

/// Writes the batch file; transfers that are not Wise ones are skipped (the caller plans them
/// with [`super::rail_for`]).
#[must_use]
pub fn to_csv(transfers: &[Transfer]) -> Vec<u8> {
    let mut out = csv::Writer::from_writer(Vec::new());
    // Writing to a Vec cannot fail.
    let _ = out.write_record(COLUMNS);
    for t in transfers {
        let PaymentDetails::Wise(recipient) = &t.details else {
            continue;
        };
        let (id, email, kind) = match recipient {
            WiseRecipient::Id(id) => (id.as_str(), "", ""),
            WiseRecipient::Email(email) => ("", email.as_str(), "EMAIL"),
        };
        let currency = t.amount.currency.as_str();
        let _ = out.write_record([
            t.payee_name.as_str(),
            id,
            email,
            kind,
            &t.reference(),
            "target",
            &super::file_amount(&t.amount),
            currency,
            currency,
        ]);
    }
    out.into_inner().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::{Currency, Money};

    #[test]
    fn one_row_per_wise_transfer() {
        let gbp = Currency::parse("GBP").expect("test value");
        let transfers = [
            Transfer {
                payout_id: 7,
                payee_name: "Ada, \"the\" Drummer".into(),
                amount: Money::new(12_300_000_000, gbp),
                details: PaymentDetails::Wise(WiseRecipient::Email("ada@example.com".into())),
                note: "Royalties".into(),
            },
            Transfer {
                payout_id: 8,
                payee_name: "Bo".into(),
                amount: Money::new(5_000_000_000, gbp),
                details: PaymentDetails::PayPal {
                    email: "bo@example.com".into(),
                },
                note: "Royalties".into(),
            },
        ];
        let text = String::from_utf8(to_csv(&transfers)).expect("test value");
        let mut rows = csv::Reader::from_reader(text.as_bytes());
        let records: Vec<csv::StringRecord> = rows.records().map(|r| r.expect("record")).collect();
        assert_eq!(records.len(), 1);
        assert_eq!(&records[0][0], "Ada, \"the\" Drummer");
        assert_eq!(&records[0][3], "EMAIL");
        assert_eq!(&records[0][4], "IMPRINT-7");
        assert_eq!(&records[0][6], "12.30");
        assert_eq!(&records[0][8], "GBP");
    }
}
