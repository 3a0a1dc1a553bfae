//! Payout rails: where a payee's money goes (IBAN, PayPal, Wise), the files a bank or
//! provider takes to pay an approved run, and the confirmations they give back.
//!
//! # Layout
//!
//! - [`details`]: structured payment details ([`PaymentDetails`]), IBAN and BIC validation, the
//!   reading of the old free-text `payout_method`, masking.
//! - [`plan`]: which rail pays which payout ([`rail_for`]), the one rule the exports and the
//!   API's "payouts without usable details" list share.
//! - [`wise`], [`paypal`], [`sepa`]: the three export writers.
//! - [`confirmation`]: reading Wise and PayPal result CSVs and CAMT.053 bank statements, and
//!   matching their rows to payouts.

pub mod confirmation;
pub mod details;
pub mod paypal;
pub mod plan;
pub mod sepa;
pub mod wise;

pub use details::{Bic, DetailsError, Iban, PaymentDetails, WiseRecipient};
pub use plan::{Rail, Transfer, Unusable, payout_reference, rail_for};

use crate::money::Money;

/// An amount as the rail files write it: a plain decimal with the currency's minor-unit places
/// (`"12.30"`, `"1500"` for JPY), exact.
#[must_use]
pub fn file_amount(money: &Money) -> String {
    money.to_decimal_string()
}
