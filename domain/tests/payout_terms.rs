//! Paying a payout by the payee's terms: withholding, and the payee's own currency at the
//! run's rate, rounded half-even once to the payout currency's minor unit, the remainder
//! carried forward. No nano-unit is lost or created.

use std::collections::BTreeMap;

use domain::allocation::{Allocation, AllocationKind};
use domain::money::{Currency, decimal_from_nanos, parse_decimal_str};
use domain::payout::{
    ConservationLedger, PaymentTerms, PayoutInput, PayoutRate, RateError, compute_paid_payout,
    payout_rate,
};
use proptest::prelude::*;
use rust_decimal::Decimal;

fn cur(code: &str) -> Currency {
    Currency::parse(code).expect("currency")
}

fn units(s: &str) -> i64 {
    parse_decimal_str(s).expect("decimal")
}

fn rate(s: &str) -> PayoutRate {
    PayoutRate::parse(s).expect("rate")
}

fn input(currency: &str, earnings: &str) -> PayoutInput {
    PayoutInput {
        currency: cur(currency),
        brought_forward_nanos: 0,
        earnings_nanos: units(earnings),
        recouped_nanos: 0,
        reserve_ppb: 0,
        reserve_releases: Vec::new(),
        minimum_payout_nanos: 0,
    }
}

fn terms(withholding_ppb: u64, conversion: Option<(&str, &str)>) -> PaymentTerms {
    PaymentTerms {
        withholding_ppb,
        conversion: conversion.map(|(c, r)| (cur(c), rate(r))),
    }
}

#[test]
fn thirty_percent_withholding_pays_seventy_percent() {
    let line =
        compute_paid_payout(&input("USD", "100.004"), &terms(300_000_000, None)).expect("valid");
    assert_eq!(line.payable_nanos, units("100.00"));
    assert_eq!(line.withheld_nanos, units("30.00"));
    assert_eq!(line.paid_nanos, units("70.00"));
    assert_eq!(line.payout_amount_nanos, units("70.00"));
    assert_eq!(line.payout_currency, cur("USD"));
    assert_eq!(line.carried_forward_nanos, units("0.004"));
}

#[test]
fn withholding_rounds_half_even_to_the_ledger_minor_unit() {
    // 30 % of 10.05 = 3.015 → 3.02 (half to even), of 10.15 = 3.045 → 3.04.
    let a = compute_paid_payout(&input("USD", "10.05"), &terms(300_000_000, None)).expect("a");
    assert_eq!(a.withheld_nanos, units("3.02"));
    assert_eq!(a.paid_nanos, units("7.03"));
    let b = compute_paid_payout(&input("USD", "10.15"), &terms(300_000_000, None)).expect("b");
    assert_eq!(b.withheld_nanos, units("3.04"));
    assert_eq!(b.paid_nanos, units("7.11"));
}

#[test]
fn a_eur_payee_of_a_usd_ledger_is_paid_half_even_to_cents_and_the_rest_is_carried() {
    // Payable 12.34 USD (0.005678901 carried as today); 12.34 × 0.92 = 11.3528 EUR → 11.35.
    // 11.35 EUR stands for 11.35 / 0.92 = 12.336956521739… → 12.336956522 USD; the other
    // 0.003043478 USD is carried too.
    let line = compute_paid_payout(
        &input("USD", "12.345678901"),
        &terms(0, Some(("EUR", "0.92"))),
    )
    .expect("valid");
    assert_eq!(line.payable_nanos, units("12.34"));
    assert_eq!(line.payout_currency, cur("EUR"));
    assert_eq!(line.exchange_rate, Decimal::new(92, 2));
    assert_eq!(line.payout_amount_nanos, units("11.35"));
    assert_eq!(line.paid_nanos, units("12.336956522"));
    assert_eq!(line.rounding_remainder_nanos, units("0.008722379"));
    assert_eq!(line.carried_forward_nanos, units("0.008722379"));
    assert_eq!(
        line.paid_nanos + line.withheld_nanos + line.carried_forward_nanos,
        units("12.345678901"),
        "exact to the nano"
    );
}

#[test]
fn ties_go_to_the_even_minor_unit_in_every_currency() {
    for (code, r, expected) in [
        ("EUR", "0.125", "0.12"),
        ("EUR", "0.135", "0.14"),
        ("JPY", "150.5", "150"),
        ("JPY", "151.5", "152"),
        ("BHD", "0.3765", "0.376"),
        ("BHD", "0.3775", "0.378"),
    ] {
        let line =
            compute_paid_payout(&input("USD", "1.00"), &terms(0, Some((code, r)))).expect(code);
        assert_eq!(line.payout_amount_nanos, units(expected), "{code} at {r}");
    }
}

#[test]
fn rounding_up_carries_a_small_debt_rather_than_creating_money() {
    // 1.00 USD × 0.135 = 0.135 EUR → 0.14 EUR, which stands for 1.037037037 USD: the payee
    // was paid 0.037037037 USD more than the balance and owes it to the next run.
    let line = compute_paid_payout(&input("USD", "1.00"), &terms(0, Some(("EUR", "0.135"))))
        .expect("valid");
    assert_eq!(line.paid_nanos, units("1.037037037"));
    assert_eq!(line.carried_forward_nanos, units("-0.037037037"));
}

#[test]
fn too_little_to_pay_in_the_payout_currency_is_carried_whole() {
    // 0.01 USD at 0.4 = 0.004 EUR → 0.00: nothing is paid.
    let line =
        compute_paid_payout(&input("USD", "0.01"), &terms(0, Some(("EUR", "0.4")))).expect("valid");
    assert_eq!(line.payable_nanos, 0);
    assert_eq!(line.paid_nanos, 0);
    assert_eq!(line.payout_amount_nanos, 0);
    assert_eq!(line.carried_forward_nanos, units("0.01"));
}

#[test]
fn a_rate_is_a_positive_decimal_and_a_missing_one_names_its_currency() {
    assert!(matches!(
        PayoutRate::parse("0"),
        Err(RateError::NotPositive)
    ));
    assert!(matches!(
        PayoutRate::parse("-1.2"),
        Err(RateError::NotPositive)
    ));
    assert!(matches!(
        PayoutRate::parse("1e3"),
        Err(RateError::NotADecimal)
    ));
    assert!(matches!(
        PayoutRate::parse("abc"),
        Err(RateError::NotADecimal)
    ));
    let rates = BTreeMap::from([(cur("EUR"), rate("0.92"))]);
    assert_eq!(
        payout_rate(&rates, cur("USD"), cur("USD")),
        Ok(PayoutRate::ONE)
    );
    assert_eq!(
        payout_rate(&rates, cur("USD"), cur("EUR")),
        Ok(rate("0.92"))
    );
    let missing = payout_rate(&rates, cur("USD"), cur("GBP")).expect_err("no GBP rate");
    assert!(missing.to_string().contains("GBP"), "{missing}");
}

#[test]
fn a_withholding_rate_above_100_percent_is_refused() {
    assert!(compute_paid_payout(&input("USD", "1"), &terms(1_000_000_001, None)).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Whatever the balance, withholding, currency and rate: `payable = paid + withheld + fx
    /// remainder` and `balance = paid + withheld + carried forward`, exactly; the payment is
    /// whole minor units of its currency, at most half a minor unit from `(payable − withheld)
    /// × rate`; the conservation ledger balances.
    #[test]
    fn no_nano_unit_is_lost_or_created(
        ledger in prop::sample::select(vec!["USD", "JPY", "BHD", "EUR"]),
        payout in prop::sample::select(vec!["USD", "JPY", "BHD", "EUR", "KWD", "GBP"]),
        brought_forward in -1_000_000_000_000_i64..1_000_000_000_000,
        earnings in -1_000_000_000_000_i64..50_000_000_000_000,
        withholding_ppb in prop_oneof![Just(0_u64), Just(300_000_000_u64), Just(1_000_000_000_u64), 0_u64..=1_000_000_000],
        rate_mantissa in 1_i64..100_000,
        rate_scale in 0_u32..8,
    ) {
        let ledger = cur(ledger);
        let payout = cur(payout);
        let r = PayoutRate::new(Decimal::new(rate_mantissa, rate_scale)).expect("positive");
        let input = PayoutInput {
            currency: ledger,
            brought_forward_nanos: brought_forward,
            earnings_nanos: earnings,
            recouped_nanos: 0,
            reserve_ppb: 0,
            reserve_releases: Vec::new(),
            minimum_payout_nanos: 0,
        };
        let terms = PaymentTerms { withholding_ppb, conversion: Some((payout, r)) };
        let line = compute_paid_payout(&input, &terms).expect("valid");
        let balance = i128::from(brought_forward) + i128::from(earnings);
        prop_assert_eq!(
            balance,
            i128::from(line.paid_nanos) + i128::from(line.withheld_nanos) + i128::from(line.carried_forward_nanos)
        );
        prop_assert!(line.withheld_nanos >= 0 && line.withheld_nanos <= line.payable_nanos);
        prop_assert_eq!(line.withheld_nanos % ledger.nanos_per_minor_unit(), 0);
        prop_assert_eq!(line.payout_amount_nanos % line.payout_currency.nanos_per_minor_unit(), 0);
        prop_assert!(line.payout_amount_nanos >= 0);
        if line.payable_nanos > 0 {
            let exact = decimal_from_nanos(line.payable_nanos - line.withheld_nanos) * line.exchange_rate;
            let half_unit = decimal_from_nanos(line.payout_currency.nanos_per_minor_unit()) / Decimal::TWO;
            prop_assert!((decimal_from_nanos(line.payout_amount_nanos) - exact).abs() <= half_unit);
            // The ledger amount the payment stands for is the payment at the rate, to the nano.
            let back = decimal_from_nanos(line.payout_amount_nanos) / line.exchange_rate;
            prop_assert!((decimal_from_nanos(line.paid_nanos) - back).abs() <= decimal_from_nanos(1) / Decimal::TWO);
        } else {
            prop_assert_eq!(line.paid_nanos, 0);
            prop_assert_eq!(line.payout_amount_nanos, 0);
        }
        let mut books = ConservationLedger::new();
        if brought_forward != 0 {
            // An earlier run that carried the whole balance forward (below its minimum).
            let earlier = compute_paid_payout(&PayoutInput { earnings_nanos: brought_forward, brought_forward_nanos: 0, minimum_payout_nanos: i64::MAX, ..input.clone() }, &PaymentTerms::default()).expect("earlier");
            prop_assert_eq!(earlier.carried_forward_nanos, brought_forward);
            books.record_allocation(ledger, &Allocation { payee_id: 1, amount_nanos: brought_forward, kind: AllocationKind::ParticipantShare, cause_suffix: String::new() });
            books.record_payout(1, &earlier).expect("earlier recorded");
        }
        books.record_allocation(ledger, &Allocation { payee_id: 1, amount_nanos: earnings, kind: AllocationKind::ParticipantShare, cause_suffix: String::new() });
        books.record_payout(1, &line).expect("recorded");
        prop_assert_eq!(books.check(), Ok(()));
    }
}
