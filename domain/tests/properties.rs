//! Property tests for the rules where a single wrong case loses money or mismatches a line:
//! exact allocation, exact decimal parsing, GTIN check digits and share round-trips.

use std::str::FromStr;

use domain::ids::{Upc, gtin_check_digit};
use domain::money::{Currency, Money, decimal_from_nanos, nanos_from_decimal, parse_decimal_str};
use domain::share::{Share, SplitError, allocate, validate_split};
use proptest::prelude::*;
use rust_decimal::Decimal;

const LIMIT: i64 = i64::MAX / 4;

fn weights() -> impl Strategy<Value = Vec<u64>> {
    prop::collection::vec(
        prop_oneof![Just(0_u64), 1_u64..=10, 0_u64..(1 << 40)],
        1..24,
    )
    .prop_filter("at least one non-zero weight", |w| w.iter().any(|&x| x > 0))
}

fn digits(len: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(0_u8..=9, len)
}

fn to_string(digits: &[u8]) -> String {
    digits.iter().map(|d| char::from(b'0' + d)).collect()
}

proptest! {
    #[test]
    fn allocate_parts_sum_to_the_whole_and_stay_within_one_unit(
        amount in prop_oneof![-LIMIT..=LIMIT, -1000_i64..=1000],
        weights in weights(),
    ) {
        let keyed: Vec<(usize, u64)> = weights.iter().copied().enumerate().collect();
        let parts = allocate(amount, &keyed).expect("non-zero total weight");
        prop_assert_eq!(parts.len(), weights.len());

        let total: i128 = weights.iter().map(|&w| i128::from(w)).sum();
        let sum: i128 = parts.iter().map(|&(_, p)| i128::from(p)).sum();
        prop_assert_eq!(sum, i128::from(amount));

        for ((key, part), (i, w)) in parts.iter().zip(keyed.iter()) {
            prop_assert_eq!(key, i, "parts come back in input order");
            // |part − amount·w/total| < 1  ⇔  |part·total − amount·w| < total
            let error = (i128::from(*part) * total - i128::from(amount) * i128::from(*w)).abs();
            prop_assert!(error < total, "part {} for weight {} of {} is off by ≥ 1", part, w, total);
            if *w == 0 {
                prop_assert_eq!(*part, 0);
            }
        }

        let negated = allocate(-amount, &keyed).expect("non-zero total weight");
        for ((_, p), (_, n)) in parts.iter().zip(negated.iter()) {
            prop_assert_eq!(*n, -*p, "a negative amount is the mirror of the positive split");
        }
    }

    #[test]
    fn decimal_strings_round_trip_through_nanos(n in any::<i64>()) {
        let decimal = decimal_from_nanos(n);
        prop_assert_eq!(parse_decimal_str(&decimal.to_string()), Ok(n));
        prop_assert_eq!(nanos_from_decimal(decimal), Ok(n));
        let usd = Currency::parse("USD").expect("valid");
        prop_assert_eq!(parse_decimal_str(&Money::new(n, usd).to_decimal_string()), Ok(n));
    }

    #[test]
    fn parse_agrees_with_rust_decimal_where_it_can(mantissa in any::<i64>(), scale in 0_u32..=18) {
        let decimal = Decimal::new(mantissa, scale);
        let text = decimal.to_string();
        prop_assert_eq!(parse_decimal_str(&text), nanos_from_decimal(decimal));
    }

    #[test]
    fn extra_digits_round_half_even(
        n in -LIMIT..=LIMIT,
        tail in prop::collection::vec(0_u8..=9, 1..40),
    ) {
        // `n` written with its 9 places, then more digits than rust_decimal could hold.
        let text = format!("{}{}", decimal_from_nanos(n), to_string(&tail));
        let first = tail[0];
        let rest_nonzero = tail[1..].iter().any(|&d| d != 0);
        let away_from_zero = first > 5 || (first == 5 && (rest_nonzero || n % 2 != 0));
        let step = if n < 0 { -1 } else { 1 };
        let expected = if away_from_zero { n + step } else { n };
        prop_assert_eq!(parse_decimal_str(&text), Ok(expected), "{}", text);
    }

    #[test]
    fn upc_with_computed_check_digit_validates_and_any_one_digit_change_fails(
        body in prop_oneof![digits(7), digits(11), digits(12), digits(13)],
        position in any::<prop::sample::Index>(),
        bump in 1_u8..=9,
    ) {
        let body = to_string(&body);
        let check = gtin_check_digit(&body).expect("digits");
        let code = format!("{body}{check}");
        let upc = Upc::parse(&code).expect("a computed check digit is valid");
        prop_assert_eq!(upc.as_str(), code.as_str());
        prop_assert_eq!(Upc::parse_unchecked(&code).map(|(_, ok)| ok), Ok(true));

        let mut changed: Vec<u8> = code.bytes().map(|b| b - b'0').collect();
        let i = position.index(changed.len());
        changed[i] = (changed[i] + bump) % 10;
        let changed = to_string(&changed);
        prop_assert!(Upc::parse(&changed).is_err(), "{} should fail its check digit", changed);
        prop_assert_eq!(Upc::parse_unchecked(&changed).map(|(_, ok)| ok), Ok(false));
    }

    #[test]
    fn share_percent_strings_round_trip(ppb in 1_u64..=Share::WHOLE_PPB) {
        let share = Share::from_ppb(ppb).expect("in range");
        let text = share.to_percent_string();
        prop_assert_eq!(Share::parse_percent(&text), Ok(share));
        prop_assert_eq!(Share::parse_percent(&share.to_string()), Ok(share));
        prop_assert!(!text.ends_with('0') || !text.contains('.'), "no trailing zeros: {}", text);
    }

    #[test]
    fn splits_that_sum_to_the_whole_validate_and_others_do_not(
        cuts in prop::collection::btree_set(1_u64..Share::WHOLE_PPB, 0..12),
        extra in 1_u64..1000,
    ) {
        let mut bounds: Vec<u64> = vec![0];
        bounds.extend(cuts);
        bounds.push(Share::WHOLE_PPB);
        let shares: Vec<(usize, Share)> = bounds
            .windows(2)
            .enumerate()
            .map(|(i, w)| (i, Share::from_ppb(w[1] - w[0]).expect("positive")))
            .collect();
        prop_assert_eq!(validate_split(&shares), Ok(()));

        let mut more = shares.clone();
        more.push((more.len(), Share::from_ppb(extra).expect("positive")));
        prop_assert_eq!(
            validate_split(&more),
            Err(SplitError::BadSum { sum_ppb: Share::WHOLE_PPB + extra })
        );
    }

    #[test]
    fn payout_rounding_loses_nothing(n in any::<i64>(), code in prop::sample::select(vec!["USD", "JPY", "KWD", "EUR"])) {
        let currency = Currency::from_str(code).expect("valid");
        let unit = currency.nanos_per_minor_unit();
        let (payable, remainder) = Money::new(n, currency).round_down_to_minor_unit();
        prop_assert_eq!(i128::from(payable.amount_nanos) + i128::from(remainder.amount_nanos), i128::from(n));
        prop_assert_eq!(payable.amount_nanos % unit, 0);
        prop_assert!(remainder.amount_nanos.abs() < unit);
        prop_assert!(payable.amount_nanos.unsigned_abs() <= n.unsigned_abs());
        prop_assert!(remainder.amount_nanos == 0 || remainder.amount_nanos.signum() == n.signum());
    }
}
