//! Confirmations: the result files of Wise and PayPal (CSV) and the bank's statement
//! (CAMT.053 XML), read into [`Row`]s and matched to a run's payouts by [`match_rows`].
//!
//! # Matching
//!
//! A completed payment row matches the payout whose [`super::payout_reference`] it carries
//! (SEPA `EndToEndId`, PayPal sender item id, Wise reference), if its amount and currency
//! agree; a row without one of our references matches the one pending payout of the run with
//! exactly its amount and currency (none or several: unmatched). A matched pending payout is
//! paid; one already paid is reported as such and left alone, so importing a file twice
//! changes nothing. Rows that match nothing are reported with their line numbers.

use std::collections::BTreeMap;

use quick_xml::Reader;
use quick_xml::events::Event;

use super::plan::payout_reference;
use crate::money::{Currency, Money, parse_decimal_str};
use crate::payout::PayoutStatus;

/// The kind of confirmation file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A Wise batch or transfers result CSV.
    Wise,
    /// A PayPal Payouts result CSV.
    PayPal,
    /// A bank statement, ISO 20022 `camt.053`.
    Camt053,
}

impl Format {
    /// The word shown to clients.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Wise => "wise",
            Self::PayPal => "paypal",
            Self::Camt053 => "camt053",
        }
    }
}

/// One payment the file reports.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Row {
    /// 1-based line of the file it starts on.
    pub line: u64,
    /// The reference it carries (ours when Imprint wrote the file it pays).
    pub reference: Option<String>,
    /// The provider's or bank's own id of the payment.
    pub transaction_id: Option<String>,
    /// The amount, when the file gives one.
    pub amount_nanos: Option<i64>,
    /// The currency, when the file gives one.
    pub currency: Option<String>,
    /// Why it is not a completed outgoing payment, if it is not.
    pub not_completed: Option<String>,
}

/// Why a file could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfirmationError {
    /// Neither a CSV with a header row we know nor XML.
    #[error("not a Wise or PayPal result CSV nor a CAMT.053 statement: {0}")]
    Unreadable(String),
}

/// Reads a confirmation file.
///
/// # Errors
/// [`ConfirmationError::Unreadable`] when it is none of the known formats.
pub fn read(bytes: &[u8]) -> Result<(Format, Vec<Row>), ConfirmationError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| ConfirmationError::Unreadable("the file is not UTF-8".into()))?;
    let text = text.trim_start_matches('\u{feff}');
    if text.trim_start().starts_with('<') {
        return read_camt(text).map(|rows| (Format::Camt053, rows));
    }
    read_csv(text)
}

fn key(s: &str) -> String {
    s.chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase()
}

const REFERENCE: &[&str] = &[
    "senderitemid",
    "paymentreference",
    "reference",
    "endtoendid",
    "customid",
];
const AMOUNT: &[&str] = &["targetamount", "targetamountafterfees", "amount"];
const CURRENCY: &[&str] = &["targetcurrency", "currency", "currencycode"];
const STATUS: &[&str] = &["status", "transactionstatus", "transferstatus"];
const TRANSACTION: &[&str] = &[
    "transactionid",
    "paypaltransactionid",
    "transferwiseid",
    "transferid",
    "id",
];
const DONE: &[&str] = &[
    "completed",
    "complete",
    "success",
    "succeeded",
    "paid",
    "sent",
    "outgoingpaymentsent",
    "fundssent",
    "transferred",
];

fn read_csv(text: &str) -> Result<(Format, Vec<Row>), ConfirmationError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| ConfirmationError::Unreadable(e.to_string()))?
        .iter()
        .map(key)
        .collect();
    let find = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| headers.iter().position(|h| h == n))
    };
    let reference = find(REFERENCE);
    let amount = find(AMOUNT);
    if reference.is_none() && amount.is_none() {
        return Err(ConfirmationError::Unreadable(
            "the header row names no reference and no amount column".into(),
        ));
    }
    let format = if headers
        .iter()
        .any(|h| h == "senderitemid" || h.contains("paypal"))
    {
        Format::PayPal
    } else {
        Format::Wise
    };
    let (currency, status, transaction) = (find(CURRENCY), find(STATUS), find(TRANSACTION));
    let mut rows = Vec::new();
    for record in reader.records() {
        let Ok(record) = record else { continue };
        let line = record.position().map_or(0, csv::Position::line);
        let cell = |i: Option<usize>| {
            i.and_then(|i| record.get(i))
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let not_completed = cell(status).filter(|s| !DONE.contains(&key(s).as_str()));
        rows.push(Row {
            line,
            reference: cell(reference),
            transaction_id: cell(transaction),
            amount_nanos: cell(amount).and_then(|a| parse_decimal_str(&a.replace(',', "")).ok()),
            currency: cell(currency).map(|c| c.to_ascii_uppercase()),
            not_completed: not_completed.map(|s| format!("status {s}: not a completed payment")),
        });
    }
    Ok((format, rows))
}

/// One `Ntry` being read.
#[derive(Default)]
struct Entry {
    line: u64,
    amount: Option<i64>,
    currency: Option<String>,
    debit: Option<bool>,
    status: Option<String>,
    account_servicer_ref: Option<String>,
    transactions: Vec<Row>,
}

fn read_camt(text: &str) -> Result<Vec<Row>, ConfirmationError> {
    let line_of = |offset: u64| {
        let end = usize::try_from(offset)
            .unwrap_or(text.len())
            .min(text.len());
        u64::try_from(
            text.as_bytes()[..end]
                .iter()
                .filter(|b| **b == b'\n')
                .count(),
        )
        .unwrap_or(0)
            + 1
    };
    let mut reader = Reader::from_str(text);
    let mut path: Vec<String> = Vec::new();
    let mut entry: Option<Entry> = None;
    let mut tx: Option<Row> = None;
    let mut currency_attr: Option<String> = None;
    let mut buffer = String::new();
    let mut rows = Vec::new();
    let mut saw_statement = false;
    loop {
        let offset = reader.buffer_position();
        let event = reader
            .read_event()
            .map_err(|e| ConfirmationError::Unreadable(e.to_string()))?;
        match event {
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                buffer.clear();
                currency_attr = e.try_get_attribute("Ccy").ok().flatten().and_then(|a| {
                    a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .ok()
                        .map(|v| v.into_owned())
                });
                match name.as_str() {
                    "Stmt" | "BkToCstmrStmt" => saw_statement = true,
                    "Ntry" => {
                        entry = Some(Entry {
                            line: line_of(offset),
                            ..Entry::default()
                        });
                    }
                    "TxDtls" => {
                        tx = Some(Row {
                            line: line_of(offset),
                            ..Row::default()
                        });
                    }
                    _ => {}
                }
                path.push(name);
            }
            Event::Text(e) => {
                buffer.push_str(&e.decode().unwrap_or_default());
            }
            Event::GeneralRef(e) => {
                let name = e.decode().unwrap_or_default();
                let c = match name.as_ref() {
                    "amp" => Some('&'),
                    "lt" => Some('<'),
                    "gt" => Some('>'),
                    "quot" => Some('"'),
                    "apos" => Some('\''),
                    _ => e.resolve_char_ref().ok().flatten(),
                };
                buffer.extend(c);
            }
            Event::End(_) => {
                let name = path.pop().unwrap_or_default();
                let parent = path.last().map_or("", String::as_str);
                let value = buffer.trim().to_owned();
                buffer.clear();
                let in_tx = path.iter().any(|p| p == "TxDtls");
                match (name.as_str(), &mut tx, &mut entry) {
                    ("TxDtls", Some(_), Some(en)) => {
                        if let Some(row) = tx.take() {
                            en.transactions.push(row);
                        }
                    }
                    ("EndToEndId", Some(t), _) if in_tx => t.reference = Some(value),
                    ("AcctSvcrRef", Some(t), _) if in_tx => t.transaction_id = Some(value),
                    ("Amt", Some(t), _) if in_tx && t.amount_nanos.is_none() => {
                        t.amount_nanos = parse_decimal_str(&value).ok();
                        t.currency.clone_from(&currency_attr);
                    }
                    ("Amt", None, Some(en)) if parent == "Ntry" => {
                        en.amount = parse_decimal_str(&value).ok();
                        en.currency.clone_from(&currency_attr);
                    }
                    ("CdtDbtInd", None, Some(en)) if parent == "Ntry" => {
                        en.debit = Some(value == "DBIT");
                    }
                    ("Sts", None, Some(en)) if parent == "Ntry" && !value.is_empty() => {
                        en.status = Some(value);
                    }
                    ("Cd", None, Some(en)) if parent == "Sts" => en.status = Some(value),
                    ("AcctSvcrRef", None, Some(en)) if parent == "Ntry" => {
                        en.account_servicer_ref = Some(value);
                    }
                    ("Ntry", _, Some(_)) => {
                        if let Some(en) = entry.take() {
                            rows.extend(entry_rows(en));
                        }
                    }
                    _ => {}
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !saw_statement {
        return Err(ConfirmationError::Unreadable(
            "the XML is not a CAMT.053 bank statement".into(),
        ));
    }
    Ok(rows)
}

/// The payments of one statement entry: its transactions, each completed only if the entry
/// is a booked debit.
fn entry_rows(en: Entry) -> Vec<Row> {
    let not_completed = match (en.debit, en.status.as_deref()) {
        (Some(false), _) => Some("a credit to the account, not a payment".to_owned()),
        (_, Some(s)) if s != "BOOK" => Some(format!("entry status {s}: not booked")),
        _ => None,
    };
    let mut rows = if en.transactions.is_empty() {
        vec![Row {
            line: en.line,
            reference: None,
            transaction_id: en.account_servicer_ref.clone(),
            amount_nanos: en.amount,
            currency: en.currency.clone(),
            not_completed: None,
        }]
    } else {
        en.transactions
    };
    for row in &mut rows {
        if row.amount_nanos.is_none() && en.amount.is_some() {
            row.amount_nanos = en.amount;
            row.currency.clone_from(&en.currency);
        }
        if row.transaction_id.is_none() {
            row.transaction_id.clone_from(&en.account_servicer_ref);
        }
        row.not_completed.clone_from(&not_completed);
    }
    rows
}

/// A payout of the run as the matcher sees it.
#[derive(Debug, Clone)]
pub struct OpenPayout {
    /// The payout's id.
    pub id: i64,
    /// What it pays.
    pub amount: Money,
    /// Where it is.
    pub status: PayoutStatus,
}

/// What importing a file does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MatchReport {
    /// Payouts to mark paid, each once, with the payment reference to record.
    pub to_pay: Vec<(i64, String)>,
    /// Payouts the file confirms that are already paid: nothing changes.
    pub already_paid: Vec<i64>,
    /// Rows that match nothing: `(line, reason)`.
    pub unmatched: Vec<(u64, String)>,
}

/// Matches `rows` of a `format` file to `payouts` by the rule in the module doc.
#[must_use]
pub fn match_rows(format: Format, rows: &[Row], payouts: &[OpenPayout]) -> MatchReport {
    let by_reference: BTreeMap<String, &OpenPayout> = payouts
        .iter()
        .map(|p| (payout_reference(p.id).to_ascii_uppercase(), p))
        .collect();
    let mut report = MatchReport::default();
    // Payout id → the line that took it.
    let mut taken: BTreeMap<i64, u64> = BTreeMap::new();
    for row in rows {
        if let Some(reason) = &row.not_completed {
            report.unmatched.push((row.line, reason.clone()));
            continue;
        }
        let ours = row
            .reference
            .as_deref()
            .map(|r| r.trim().to_ascii_uppercase())
            .filter(|r| r.starts_with("IMPRINT-"));
        let payout = match ours {
            Some(reference) => match by_reference.get(&reference) {
                Some(p) => *p,
                None => {
                    report.unmatched.push((
                        row.line,
                        format!("reference {reference} is no payout of this run"),
                    ));
                    continue;
                }
            },
            None => {
                let candidates: Vec<&OpenPayout> = payouts
                    .iter()
                    .filter(|p| {
                        p.status.can_transition_to(PayoutStatus::Paid)
                            && !taken.contains_key(&p.id)
                            && Some(p.amount.amount_nanos) == row.amount_nanos
                            && row.currency.as_deref() == Some(p.amount.currency.as_str())
                    })
                    .collect();
                match candidates.as_slice() {
                    [one] => *one,
                    [] => {
                        report.unmatched.push((
                            row.line,
                            "no reference of ours and no pending payout of this amount".into(),
                        ));
                        continue;
                    }
                    _ => {
                        report.unmatched.push((
                            row.line,
                            "no reference of ours and several pending payouts of this amount"
                                .into(),
                        ));
                        continue;
                    }
                }
            }
        };
        if let Some(reason) = disagreement(row, &payout.amount) {
            report.unmatched.push((row.line, reason));
            continue;
        }
        if let Some(line) = taken.get(&payout.id) {
            report.unmatched.push((
                row.line,
                format!(
                    "payout {} was already matched on line {line}",
                    payout_reference(payout.id)
                ),
            ));
            continue;
        }
        taken.insert(payout.id, row.line);
        if payout.status == PayoutStatus::Paid {
            report.already_paid.push(payout.id);
        } else if payout.status.can_transition_to(PayoutStatus::Paid) {
            let reference = row
                .transaction_id
                .clone()
                .or_else(|| row.reference.clone())
                .unwrap_or_else(|| payout_reference(payout.id));
            report
                .to_pay
                .push((payout.id, format!("{}:{reference}", format.as_str())));
        } else {
            report.unmatched.push((
                row.line,
                format!(
                    "payout {} is {}, not payable",
                    payout_reference(payout.id),
                    payout.status
                ),
            ));
        }
    }
    report
}

/// Why a row's amount or currency does not agree with the payout's, if it does not.
fn disagreement(row: &Row, amount: &Money) -> Option<String> {
    let currency_differs = row
        .currency
        .as_deref()
        .is_some_and(|c| Currency::parse(c).ok() != Some(amount.currency));
    let amount_differs = row
        .amount_nanos
        .is_some_and(|a| a.abs() != amount.amount_nanos);
    (currency_differs || amount_differs).then(|| {
        format!(
            "the file says {} {}, the payout is {} {}",
            row.amount_nanos.map_or_else(
                || "?".to_owned(),
                |a| Money::new(a, amount.currency).to_decimal_string()
            ),
            row.currency.as_deref().unwrap_or("?"),
            amount.to_decimal_string(),
            amount.currency.as_str()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur(cents: i64) -> Money {
        Money::new(
            cents * 10_000_000,
            Currency::parse("EUR").expect("test value"),
        )
    }

    fn payouts() -> Vec<OpenPayout> {
        vec![
            OpenPayout {
                id: 1,
                amount: eur(1000),
                status: PayoutStatus::Pending,
            },
            OpenPayout {
                id: 2,
                amount: eur(2550),
                status: PayoutStatus::Pending,
            },
            OpenPayout {
                id: 3,
                amount: eur(700),
                status: PayoutStatus::Paid,
            },
        ]
    }

    #[test]
    fn wise_csv_matches_by_reference_and_reports_the_rest() {
        let csv = "TransferWise ID,Status,Target amount,Target currency,Reference\n\
                   T1,outgoing_payment_sent,10.00,EUR,IMPRINT-1\n\
                   T2,cancelled,25.50,EUR,IMPRINT-2\n\
                   T3,outgoing_payment_sent,7.00,EUR,IMPRINT-3\n\
                   T4,outgoing_payment_sent,9.99,EUR,IMPRINT-99\n\
                   T5,outgoing_payment_sent,10.00,EUR,IMPRINT-1\n";
        let (format, rows) = read(csv.as_bytes()).expect("test value");
        assert_eq!(format, Format::Wise);
        let report = match_rows(format, &rows, &payouts());
        assert_eq!(report.to_pay, vec![(1, "wise:T1".to_owned())]);
        assert_eq!(report.already_paid, vec![3]);
        let lines: Vec<u64> = report.unmatched.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, [3, 5, 6]);
    }

    #[test]
    fn paypal_csv_is_recognised_and_amounts_must_agree() {
        let csv = "Transaction ID,Recipient,Sender Item ID,Status,Amount,Currency\n\
                   P1,a@example.com,IMPRINT-2,Completed,25.51,EUR\n\
                   P2,b@example.com,,Completed,10.00,EUR\n";
        let (format, rows) = read(csv.as_bytes()).expect("test value");
        assert_eq!(format, Format::PayPal);
        let report = match_rows(format, &rows, &payouts());
        // The second row has no reference, but one pending payout of exactly 10.00 EUR.
        assert_eq!(report.to_pay, vec![(1, "paypal:P2".to_owned())]);
        assert_eq!(report.unmatched.len(), 1);
        assert_eq!(report.unmatched[0].0, 2);
    }

    #[test]
    fn camt053_booked_debits_match_by_end_to_end_id() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">
 <BkToCstmrStmt><Stmt>
  <Ntry>
   <Amt Ccy="EUR">35.50</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts>BOOK</Sts>
   <AcctSvcrRef>BANK-1</AcctSvcrRef>
   <NtryDtls>
    <TxDtls><Refs><EndToEndId>IMPRINT-1</EndToEndId></Refs><AmtDtls><TxAmt><Amt Ccy="EUR">10.00</Amt></TxAmt></AmtDtls></TxDtls>
    <TxDtls><Refs><EndToEndId>IMPRINT-2</EndToEndId></Refs><Amt Ccy="EUR">25.50</Amt></TxDtls>
   </NtryDtls>
  </Ntry>
  <Ntry>
   <Amt Ccy="EUR">99.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
  </Ntry>
 </Stmt></BkToCstmrStmt>
</Document>"#;
        let (format, rows) = read(xml.as_bytes()).expect("test value");
        assert_eq!(format, Format::Camt053);
        let report = match_rows(format, &rows, &payouts());
        assert_eq!(
            report.to_pay,
            vec![
                (1, "camt053:BANK-1".to_owned()),
                (2, "camt053:BANK-1".to_owned())
            ]
        );
        assert_eq!(
            report.unmatched,
            vec![(12, "a credit to the account, not a payment".to_owned())]
        );
    }

    #[test]
    fn garbage_is_refused() {
        assert!(read(b"just,some,words\n1,2,3\n").is_err());
        assert!(read(b"<html><body>hi</body></html>").is_err());
        assert!(read(&[0xff, 0xfe, 0x00]).is_err());
    }
}
