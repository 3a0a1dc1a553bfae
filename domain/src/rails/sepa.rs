//! ISO 20022 SEPA credit transfer initiation, `pain.001.001.03`, written with `quick-xml`:
//! one group header, one payment information block (the label's account, the execution
//! date), one `CdtTrfTxInf` per payout with `EndToEndId` = [`super::payout_reference`].
//! `NbOfTxs` and `CtrlSum` are computed from the same amounts that are written, exactly (nano
//! integers, formatted once).

use std::io;

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};

use super::details::{Bic, Iban, PaymentDetails};
use super::plan::Transfer;
use crate::money::{Currency, Money};

/// The namespace of `pain.001.001.03`.
pub const NAMESPACE: &str = "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03";

/// The paying side and the batch's identity.
#[derive(Debug, Clone)]
pub struct Batch {
    /// `MsgId` and `PmtInfId` (≤ 35 characters), unique per file sent to the bank.
    pub message_id: String,
    /// `CreDtTm`, ISO date-time without zone (`2026-12-06T13:00:00`).
    pub created_at: String,
    /// `ReqdExctnDt`, `YYYY-MM-DD`.
    pub execution_date: String,
    /// The label (`InitgPty` and `Dbtr`).
    pub debtor_name: String,
    /// The label's account.
    pub debtor_iban: Iban,
    /// The label's bank, when known (`NOTPROVIDED` otherwise).
    pub debtor_bic: Option<Bic>,
}

/// Why a SEPA file cannot be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SepaError {
    /// No transfer in euros to a bank account: the schema needs at least one.
    #[error("no payout of this run is paid by SEPA credit transfer")]
    Empty,
    /// Amounts that do not add up within `i64` nano-units.
    #[error("amount out of range")]
    Overflow,
}

/// Names and texts within the schema's lengths (`Max70Text`, `Max140Text`).
fn cut(s: &str, max: usize) -> String {
    let s = s.trim();
    if s.is_empty() {
        return "-".to_owned();
    }
    s.chars().take(max).collect()
}

/// The SEPA transfers among `transfers` (euros, to a bank account), in order.
#[must_use]
pub fn sepa_transfers(transfers: &[Transfer]) -> Vec<&Transfer> {
    transfers
        .iter()
        .filter(|t| {
            matches!(t.details, PaymentDetails::BankAccount { .. })
                && t.amount.currency.as_str() == "EUR"
        })
        .collect()
}

/// Writes the file.
///
/// # Errors
/// [`SepaError::Empty`] when no transfer is a SEPA one, [`SepaError::Overflow`] when the
/// control sum does not fit.
pub fn to_xml(batch: &Batch, transfers: &[Transfer]) -> Result<Vec<u8>, SepaError> {
    let sepa = sepa_transfers(transfers);
    if sepa.is_empty() {
        return Err(SepaError::Empty);
    }
    let eur = Currency::parse("EUR").map_err(|_| SepaError::Overflow)?;
    let mut total: i64 = 0;
    for t in &sepa {
        total = total
            .checked_add(t.amount.amount_nanos)
            .ok_or(SepaError::Overflow)?;
    }
    let control_sum = super::file_amount(&Money::new(total, eur));
    let count = sepa.len().to_string();
    write(batch, &sepa, &count, &control_sum).map_err(|_| SepaError::Overflow)
}

fn write(batch: &Batch, sepa: &[&Transfer], count: &str, control_sum: &str) -> io::Result<Vec<u8>> {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    w.create_element("Document")
        .with_attribute(("xmlns", NAMESPACE))
        .with_attribute(("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance"))
        .write_inner_content(|w| {
            w.create_element("CstmrCdtTrfInitn")
                .write_inner_content(|w| {
                    w.create_element("GrpHdr").write_inner_content(|w| {
                        text(w, "MsgId", &cut(&batch.message_id, 35))?;
                        text(w, "CreDtTm", &batch.created_at)?;
                        text(w, "NbOfTxs", count)?;
                        text(w, "CtrlSum", control_sum)?;
                        w.create_element("InitgPty")
                            .write_inner_content(|w| text(w, "Nm", &cut(&batch.debtor_name, 70)))?;
                        Ok(())
                    })?;
                    w.create_element("PmtInf").write_inner_content(|w| {
                        text(w, "PmtInfId", &cut(&batch.message_id, 35))?;
                        text(w, "PmtMtd", "TRF")?;
                        text(w, "NbOfTxs", count)?;
                        text(w, "CtrlSum", control_sum)?;
                        w.create_element("PmtTpInf").write_inner_content(|w| {
                            w.create_element("SvcLvl")
                                .write_inner_content(|w| text(w, "Cd", "SEPA"))?;
                            Ok(())
                        })?;
                        text(w, "ReqdExctnDt", &batch.execution_date)?;
                        w.create_element("Dbtr")
                            .write_inner_content(|w| text(w, "Nm", &cut(&batch.debtor_name, 70)))?;
                        account(w, "DbtrAcct", &batch.debtor_iban)?;
                        agent(w, "DbtrAgt", batch.debtor_bic.as_ref())?;
                        text(w, "ChrgBr", "SLEV")?;
                        for t in sepa {
                            transfer(w, t)?;
                        }
                        Ok(())
                    })?;
                    Ok(())
                })?;
            Ok(())
        })?;
    Ok(w.into_inner())
}

fn transfer(w: &mut Writer<Vec<u8>>, t: &Transfer) -> io::Result<()> {
    let PaymentDetails::BankAccount {
        iban,
        bic,
        account_holder,
    } = &t.details
    else {
        return Ok(());
    };
    let creditor = account_holder.as_deref().unwrap_or(&t.payee_name);
    w.create_element("CdtTrfTxInf").write_inner_content(|w| {
        w.create_element("PmtId")
            .write_inner_content(|w| text(w, "EndToEndId", &t.reference()))?;
        w.create_element("Amt").write_inner_content(|w| {
            w.create_element("InstdAmt")
                .with_attribute(("Ccy", "EUR"))
                .write_text_content(BytesText::new(&super::file_amount(&t.amount)))?;
            Ok(())
        })?;
        if let Some(bic) = bic {
            agent(w, "CdtrAgt", Some(bic))?;
        }
        w.create_element("Cdtr")
            .write_inner_content(|w| text(w, "Nm", &cut(creditor, 70)))?;
        account(w, "CdtrAcct", iban)?;
        w.create_element("RmtInf")
            .write_inner_content(|w| text(w, "Ustrd", &cut(&t.note, 140)))?;
        Ok(())
    })?;
    Ok(())
}

fn text(w: &mut Writer<Vec<u8>>, name: &str, value: &str) -> io::Result<()> {
    w.create_element(name)
        .write_text_content(BytesText::new(value))?;
    Ok(())
}

fn account(w: &mut Writer<Vec<u8>>, name: &str, iban: &Iban) -> io::Result<()> {
    w.create_element(name).write_inner_content(|w| {
        w.create_element("Id")
            .write_inner_content(|w| text(w, "IBAN", iban.as_str()))?;
        Ok(())
    })?;
    Ok(())
}

fn agent(w: &mut Writer<Vec<u8>>, name: &str, bic: Option<&Bic>) -> io::Result<()> {
    w.create_element(name).write_inner_content(|w| {
        w.create_element("FinInstnId")
            .write_inner_content(|w| match bic {
                Some(bic) => text(w, "BIC", bic.as_str()),
                None => {
                    w.create_element("Othr")
                        .write_inner_content(|w| text(w, "Id", "NOTPROVIDED"))?;
                    Ok(())
                }
            })?;
        Ok(())
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn batch() -> Batch {
        Batch {
            message_id: "IMPRINT-RUN-1".into(),
            created_at: "2026-12-06T13:00:00".into(),
            execution_date: "2026-12-07".into(),
            debtor_name: "Label & Co <Records>".into(),
            debtor_iban: Iban::parse("DE44500105175407324931").expect("test value"),
            debtor_bic: None,
        }
    }

    fn transfer(id: i64, cents: i64, currency: &str) -> Transfer {
        Transfer {
            payout_id: id,
            payee_name: format!("Payee {id}"),
            amount: Money::new(
                cents * 10_000_000,
                Currency::parse(currency).expect("test value"),
            ),
            details: PaymentDetails::BankAccount {
                iban: Iban::parse("FR1420041010050500013M02606").expect("test value"),
                bic: Some(Bic::parse("BNPAFRPP").expect("test value")),
                account_holder: None,
            },
            note: "Royalties".into(),
        }
    }

    #[test]
    fn writes_only_euro_transfers_and_escapes_text() {
        let xml = String::from_utf8(
            to_xml(
                &batch(),
                &[
                    transfer(1, 1230, "EUR"),
                    transfer(2, 99, "USD"),
                    transfer(3, 1, "EUR"),
                ],
            )
            .expect("test value"),
        )
        .expect("test value");
        assert!(xml.contains("<NbOfTxs>2</NbOfTxs>"));
        assert!(xml.contains("<CtrlSum>12.31</CtrlSum>"));
        assert!(xml.contains("<EndToEndId>IMPRINT-1</EndToEndId>"));
        assert!(!xml.contains("IMPRINT-2"));
        assert!(xml.contains("Label &amp; Co &lt;Records&gt;"));
        assert!(xml.contains(r#"<InstdAmt Ccy="EUR">0.01</InstdAmt>"#));
    }

    #[test]
    fn an_empty_batch_is_refused() {
        assert_eq!(
            to_xml(&batch(), &[transfer(2, 99, "USD")]),
            Err(SepaError::Empty)
        );
    }

    proptest! {
        /// The control sum is the exact sum of the amounts written.
        #[test]
        fn control_sum_is_exact(cents in proptest::collection::vec(1i64..10_000_000, 1..40)) {
            let transfers: Vec<Transfer> = cents
                .iter()
                .enumerate()
                .map(|(i, c)| transfer(i64::try_from(i).expect("test value"), *c, "EUR"))
                .collect();
            let xml = String::from_utf8(to_xml(&batch(), &transfers).expect("test value")).expect("test value");
            let total: i64 = cents.iter().sum();
            let expected = format!("<CtrlSum>{}.{:02}</CtrlSum>", total / 100, total % 100);
            prop_assert!(xml.contains(&expected));
            let written: i64 = xml
                .split("<InstdAmt Ccy=\"EUR\">")
                .skip(1)
                .map(|s| {
                    let amount = &s[..s.find('<').expect("test value")];
                    crate::money::parse_decimal_str(amount).expect("test value") / 10_000_000
                })
                .sum();
            prop_assert_eq!(written, total);
        }
    }
}
