//! The money rules end to end: allocation of statement lines, recoupment, payouts, and the
//! conservation of every nano-unit over random sequences of lines, split changes and runs.

use std::collections::{BTreeMap, HashSet};

use chrono::{Months, NaiveDate};
use domain::agreement::{
    AgreementTerms, DealBasis, ExitReleasePolicy, FutureRights, MasterOwner, RecoupmentScope,
};
use domain::allocation::{
    Allocation, AllocationError, AllocationKind, LineInput, SplitVersion, allocate_line,
    masters_reverted, split_in_effect,
};
use domain::money::{Currency, NANOS_PER_UNIT, parse_decimal_str};
use domain::payout::{
    ConservationLedger, HeldReserve, PayoutError, PayoutInput, PayoutLine, compute_payout,
    due_reserves,
};
use domain::recoupment::{
    Recoupable, RecoupableKind, RecoupableScope, SharedCostRule, apply_recoupment, recoup,
    split_shared_cost,
};
use domain::share::{Share, allocate};
use proptest::prelude::*;

const LABEL: i64 = 1;
const WHOLE: u64 = Share::WHOLE_PPB;

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

fn cur(code: &str) -> Currency {
    Currency::parse(code).expect("valid currency")
}

fn units(s: &str) -> i64 {
    parse_decimal_str(s).expect("decimal")
}

fn pct(s: &str) -> Share {
    Share::parse_percent(s).expect("percent")
}

fn terms(artist_share_ppb: u64, basis: DealBasis) -> AgreementTerms {
    AgreementTerms {
        master_owner: MasterOwner::Label,
        label_master_share_ppb: WHOLE,
        artist_revenue_share_ppb: artist_share_ppb,
        deal_basis: basis,
        recoupment_scope: RecoupmentScope::CrossCollateralized,
        advance_nanos: 0,
        artist_may_take_down: false,
        masters_revert_after_months: Some(6),
        exit_release_policy: ExitReleasePolicy::Stay,
        future_rights: FutureRights::None,
        future_options_count: None,
        starts_on: date(2024, 1, 1),
        ends_on: None,
    }
}

fn advance(id: i64, payee_id: i64, amount_nanos: i64) -> Recoupable {
    Recoupable {
        id,
        payee_id,
        kind: RecoupableKind::Advance,
        scope: RecoupableScope::CrossCollateralized,
        incurred_on: date(2025, 1, 1),
        amount_nanos,
        recouped_nanos: 0,
    }
}

fn line<'a>(
    amount_nanos: i64,
    shares: &'a [(i64, Share)],
    artists: &'a [i64],
    terms: &'a AgreementTerms,
) -> LineInput<'a> {
    LineInput {
        amount_nanos,
        release_id: 1,
        sale_date: date(2025, 3, 1),
        shares,
        label_payee_id: LABEL,
        artist_payee_ids: artists,
        terms,
        artist_left_on: None,
    }
}

/// Per (payee, kind) amounts of a line.
fn by_kind(allocations: &[Allocation]) -> BTreeMap<(i64, AllocationKind), i64> {
    allocations
        .iter()
        .map(|a| ((a.payee_id, a.kind), a.amount_nanos))
        .collect()
}

fn payee_total(allocations: &[Allocation], payee: i64) -> i64 {
    allocations
        .iter()
        .filter(|a| a.payee_id == payee)
        .map(|a| a.amount_nanos)
        .sum()
}

fn payout(currency: &str, brought_forward: &str, earnings: &str, minimum: &str) -> PayoutLine {
    compute_payout(&PayoutInput {
        currency: cur(currency),
        brought_forward_nanos: units(brought_forward),
        earnings_nanos: units(earnings),
        recouped_nanos: 0,
        reserve_ppb: 0,
        reserve_releases: Vec::new(),
        minimum_payout_nanos: units(minimum),
    })
    .expect("valid payout")
}

// ---------------------------------------------------------------------------------------------
// Hand-computed examples.

/// A collective of three at a third each ("33.3333334", "33.3333333", "33.3333333"), an 80 %
/// gross artist share, a 50.00 USD advance shared equally, one 100.00 USD line, then a payout
/// run with no minimum and one with a 10.00 minimum.
#[test]
fn three_thirds_with_a_shared_advance() {
    let shares = [
        (2, pct("33.3333334")),
        (3, pct("33.3333333")),
        (4, pct("33.3333333")),
    ];
    let artists = [2, 3, 4];
    let t = terms(800_000_000, DealBasis::Gross);

    let parts = split_shared_cost(
        units("50.00"),
        &[(2, 0), (3, 0), (4, 0)],
        SharedCostRule::Equal,
    )
    .expect("members");
    assert_eq!(
        parts,
        vec![
            (2, 16_666_666_667),
            (3, 16_666_666_667),
            (4, 16_666_666_666)
        ]
    );
    let mut recoupables: Vec<Recoupable> = parts
        .iter()
        .zip(10..)
        .map(|(&(payee, amount), id)| advance(id, payee, amount))
        .collect();

    let result = allocate_line(&line(units("100.00"), &shares, &artists, &t), &recoupables)
        .expect("allocates");
    assert_eq!(result.total_nanos(), i128::from(units("100.00")));
    // Slices 33.3333334 / 33.3333333 / 33.3333333; 80 % of each to the artist, 20 % to the label.
    let k = by_kind(&result.allocations);
    assert_eq!(k[&(LABEL, AllocationKind::LabelShare)], units("20.00"));
    assert_eq!(
        k[&(2, AllocationKind::Recoupment { recoupable_id: 10 })],
        16_666_666_667
    );
    assert_eq!(k[&(2, AllocationKind::ArtistShare)], 10_000_000_053); // 26.66666672 − 16.666666667
    assert_eq!(k[&(3, AllocationKind::ArtistShare)], 9_999_999_973); // 26.66666664 − 16.666666667
    assert_eq!(k[&(4, AllocationKind::ArtistShare)], 9_999_999_974); // 26.66666664 − 16.666666666
    assert_eq!(result.allocations.len(), 7);

    apply_recoupment(&mut recoupables, &result.recoupments).expect("applies");
    assert!(recoupables.iter().all(|r| r.remaining_nanos() == 0));
    assert!(
        result
            .recoupments
            .iter()
            .all(|a| a.remaining_after_nanos == 0)
    );

    // No minimum: everyone paid in whole cents, the rest carried forward.
    let paid: Vec<(i64, i64)> = [2, 3, 4]
        .iter()
        .map(|&p| {
            let e = k[&(p, AllocationKind::ArtistShare)];
            let line = compute_payout(&PayoutInput {
                currency: cur("USD"),
                brought_forward_nanos: 0,
                earnings_nanos: e,
                recouped_nanos: 0,
                reserve_ppb: 0,
                reserve_releases: Vec::new(),
                minimum_payout_nanos: 0,
            })
            .expect("payout");
            (line.payable_nanos, line.carried_forward_nanos)
        })
        .collect();
    assert_eq!(
        paid,
        vec![
            (units("10.00"), 53),
            (units("9.99"), 9_999_973),
            (units("9.99"), 9_999_974)
        ]
    );

    // A 10.00 minimum: payee 3 (9.999999973) is under it and carries everything forward.
    let under = payout("USD", "0", "9.999999973", "10.00");
    assert_eq!(under.payable_nanos, 0);
    assert_eq!(under.carried_forward_nanos, 9_999_999_973);
    assert!(under.below_minimum);
    let over = payout("USD", "0", "10.000000053", "10.00");
    assert_eq!(
        (over.payable_nanos, over.carried_forward_nanos),
        (units("10.00"), 53)
    );
    assert!(!over.below_minimum);
}

#[test]
fn gross_and_net_deal_basis() {
    let shares = [(2, Share::WHOLE)];
    let artists = [2];
    let gross = terms(500_000_000, DealBasis::Gross);
    let net = terms(500_000_000, DealBasis::Net);
    let recoupables = [advance(10, 2, units("30"))];

    // Gross: 50 / 50, then the artist's 50 recoups 30.
    let g = allocate_line(&line(units("100"), &shares, &artists, &gross), &recoupables)
        .expect("allocates");
    let k = by_kind(&g.allocations);
    assert_eq!(k[&(LABEL, AllocationKind::LabelShare)], units("50"));
    assert_eq!(k[&(2, AllocationKind::ArtistShare)], units("20"));
    assert_eq!(
        k[&(2, AllocationKind::Recoupment { recoupable_id: 10 })],
        units("30")
    );

    // Net: 30 recouped off the top, the remaining 70 split 35 / 35.
    let n = allocate_line(&line(units("100"), &shares, &artists, &net), &recoupables)
        .expect("allocates");
    let k = by_kind(&n.allocations);
    assert_eq!(k[&(LABEL, AllocationKind::LabelShare)], units("35"));
    assert_eq!(k[&(2, AllocationKind::ArtistShare)], units("35"));
    assert_eq!(
        k[&(2, AllocationKind::Recoupment { recoupable_id: 10 })],
        units("30")
    );
}

#[test]
fn participants_take_their_slice_and_label_slice_is_the_labels() {
    // Artist 60 %, producer 20 %, label 20 %; artist revenue share 50 %.
    let shares = [(2, pct("60")), (9, pct("20")), (LABEL, pct("20"))];
    let t = terms(500_000_000, DealBasis::Gross);
    let r = allocate_line(&line(units("100"), &shares, &[2], &t), &[]).expect("allocates");
    let k = by_kind(&r.allocations);
    assert_eq!(k[&(9, AllocationKind::ParticipantShare)], units("20"));
    assert_eq!(k[&(2, AllocationKind::ArtistShare)], units("30"));
    assert_eq!(k[&(LABEL, AllocationKind::LabelShare)], units("50"));
    let causes: Vec<&str> = r
        .allocations
        .iter()
        .map(|a| a.cause_suffix.as_str())
        .collect();
    assert_eq!(
        causes,
        vec![
            "participant_share:payee:9",
            "artist_share:payee:2",
            "label_share:payee:1"
        ]
    );
    assert_eq!(AllocationKind::LabelShare.ledger_account(), "label");
}

#[test]
fn reversion_moves_the_label_side_to_the_artist() {
    let shares = [(2, pct("60")), (9, pct("20")), (LABEL, pct("20"))];
    let t = terms(500_000_000, DealBasis::Gross); // reverts 6 months after leaving
    let left_on = Some(date(2025, 1, 31));
    let mut input = line(units("100"), &shares, &[2], &t);
    input.artist_left_on = left_on;

    input.sale_date = date(2025, 7, 30);
    assert!(!masters_reverted(&t, left_on, input.sale_date));
    let before = allocate_line(&input, &[]).expect("allocates");
    assert!(!before.reverted);
    assert_eq!(payee_total(&before.allocations, LABEL), units("50"));
    assert_eq!(payee_total(&before.allocations, 2), units("30"));

    input.sale_date = date(2025, 7, 31);
    let after = allocate_line(&input, &[]).expect("allocates");
    assert!(after.reverted);
    assert_eq!(payee_total(&after.allocations, LABEL), 0);
    assert_eq!(payee_total(&after.allocations, 2), units("80"));
    assert_eq!(payee_total(&after.allocations, 9), units("20"));

    // Never reverting terms, or an artist who has not left: the label keeps its side.
    let never = AgreementTerms {
        masters_revert_after_months: None,
        ..t.clone()
    };
    assert!(!masters_reverted(&never, left_on, date(2040, 1, 1)));
    assert!(!masters_reverted(&t, None, date(2040, 1, 1)));

    // Reverted with the label in the split but no artist payee to give its slice to.
    let no_artist = [(9, pct("50")), (LABEL, pct("50"))];
    let mut input = line(units("1"), &no_artist, &[2], &t);
    input.artist_left_on = left_on;
    input.sale_date = date(2026, 1, 1);
    assert_eq!(
        allocate_line(&input, &[]),
        Err(AllocationError::RevertedWithoutArtist)
    );
}

#[test]
fn allocation_rejects_bad_input() {
    let t = terms(500_000_000, DealBasis::Gross);
    let bad_sum = [(2, pct("50"))];
    assert!(matches!(
        allocate_line(&line(1, &bad_sum, &[2], &t), &[]),
        Err(AllocationError::InvalidSplit(_))
    ));
    let ok = [(2, Share::WHOLE)];
    assert_eq!(
        allocate_line(&line(1, &ok, &[2, LABEL], &t), &[]),
        Err(AllocationError::LabelIsArtist { payee_id: LABEL })
    );
    let greedy = terms(WHOLE + 1, DealBasis::Gross);
    assert_eq!(
        allocate_line(&line(1, &ok, &[2], &greedy), &[]),
        Err(AllocationError::InvalidRevenueShare)
    );
}

#[test]
fn the_split_in_effect_prefers_the_track_then_the_release() {
    let v = |y, shares: Vec<(i64, Share)>| SplitVersion {
        id: i64::from(y),
        effective_from: date(y, 1, 1),
        shares,
    };
    let release = [
        v(2024, vec![(2, Share::WHOLE)]),
        v(2025, vec![(3, Share::WHOLE)]),
    ];
    let track = [v(2026, vec![(4, Share::WHOLE)])];
    let payee = |d| split_in_effect(&track, &release, d).map(|s| s.shares[0].0);
    assert_eq!(payee(date(2023, 6, 1)), None);
    assert_eq!(payee(date(2024, 6, 1)), Some(2));
    assert_eq!(payee(date(2025, 6, 1)), Some(3));
    assert_eq!(payee(date(2026, 6, 1)), Some(4));
}

#[test]
fn payouts_round_down_per_currency() {
    // USD: cents.
    let usd = payout("USD", "0.004", "12.345678", "0");
    assert_eq!(
        (usd.payable_nanos, usd.carried_forward_nanos),
        (units("12.34"), units("0.009678"))
    );
    assert_eq!(usd.rounding_remainder_nanos, units("0.009678"));
    // JPY: no minor unit.
    let jpy = payout("JPY", "0", "1234.99", "1000");
    assert_eq!(
        (jpy.payable_nanos, jpy.carried_forward_nanos),
        (units("1234"), units("0.99"))
    );
    let jpy_low = payout("JPY", "0", "999.99", "1000");
    assert_eq!(
        (jpy_low.payable_nanos, jpy_low.carried_forward_nanos),
        (0, units("999.99"))
    );
    assert!(jpy_low.below_minimum);
    // BHD: fils, three places.
    let bhd = payout("BHD", "1.0001", "2.0009", "0");
    assert_eq!(
        (bhd.payable_nanos, bhd.carried_forward_nanos),
        (units("3.001"), units("0.0000"))
    );
    let bhd = payout("BHD", "0", "0.0009", "0");
    assert_eq!(
        (bhd.payable_nanos, bhd.carried_forward_nanos),
        (0, units("0.0009"))
    );
    assert!(!bhd.below_minimum);
    // A negative balance is carried forward, nothing is paid.
    let owed = payout("USD", "-5", "3", "0");
    assert_eq!(
        (owed.payable_nanos, owed.carried_forward_nanos),
        (0, units("-2"))
    );
}

#[test]
fn reserves_are_held_and_released() {
    let held_in = date(2025, 3, 31);
    let line = compute_payout(&PayoutInput {
        currency: cur("USD"),
        brought_forward_nanos: 0,
        earnings_nanos: units("110"),
        recouped_nanos: units("10"),
        reserve_ppb: 100_000_000,
        reserve_releases: Vec::new(),
        minimum_payout_nanos: 0,
    })
    .expect("payout");
    assert_eq!(line.reserved_nanos, units("10"));
    assert_eq!(line.payable_nanos, units("90"));
    let held = [HeldReserve {
        held_in,
        amount_nanos: line.reserved_nanos,
    }];
    // Released two quarters later.
    let (due, kept) = due_reserves(&held, date(2025, 6, 30), 2, 3);
    assert!(due.is_empty() && kept.len() == 1);
    let (due, kept) = due_reserves(&held, date(2025, 9, 30), 2, 3);
    assert!(due.len() == 1 && kept.is_empty());
    let later = compute_payout(&PayoutInput {
        currency: cur("USD"),
        brought_forward_nanos: 0,
        earnings_nanos: 0,
        recouped_nanos: 0,
        reserve_ppb: 100_000_000,
        reserve_releases: due,
        minimum_payout_nanos: 0,
    })
    .expect("payout");
    assert_eq!(
        (later.reserve_released_nanos, later.payable_nanos),
        (units("10"), units("10"))
    );
    // No reserve against a payee who owes.
    let owing = compute_payout(&PayoutInput {
        currency: cur("USD"),
        brought_forward_nanos: units("-100"),
        earnings_nanos: units("50"),
        recouped_nanos: 0,
        reserve_ppb: 100_000_000,
        reserve_releases: Vec::new(),
        minimum_payout_nanos: 0,
    })
    .expect("payout");
    assert_eq!(
        (owing.reserved_nanos, owing.carried_forward_nanos),
        (0, units("-50"))
    );
    let bad = PayoutInput {
        currency: cur("USD"),
        brought_forward_nanos: 0,
        earnings_nanos: 0,
        recouped_nanos: 0,
        reserve_ppb: WHOLE + 1,
        reserve_releases: Vec::new(),
        minimum_payout_nanos: 0,
    };
    assert_eq!(compute_payout(&bad), Err(PayoutError::InvalidReserveShare));
}

#[test]
fn the_ledger_catches_a_broken_chain() {
    let mut ledger = ConservationLedger::new();
    let line = payout("USD", "1", "0", "0");
    assert!(matches!(
        ledger.record_payout(2, &line),
        Err(PayoutError::BroughtForwardMismatch { .. })
    ));
}

// ---------------------------------------------------------------------------------------------
// Properties.

/// A split of 1..20 payees (ids 2..) with random relative sizes, as ppb shares summing to 100 %.
fn split_strategy() -> impl Strategy<Value = Vec<(i64, Share)>> {
    prop::collection::vec(1_u64..1000, 1..20).prop_map(|weights| {
        let keyed: Vec<(i64, u64)> = weights
            .iter()
            .copied()
            .zip(2..)
            .map(|(w, i)| (i, w))
            .collect();
        allocate(i64::try_from(WHOLE).unwrap_or(i64::MAX), &keyed)
            .unwrap_or_default()
            .into_iter()
            .map(|(payee, ppb)| {
                let ppb = u64::try_from(ppb).unwrap_or(1);
                (payee, Share::from_ppb(ppb).unwrap_or(Share::WHOLE))
            })
            .collect()
    })
}

fn terms_strategy() -> impl Strategy<Value = AgreementTerms> {
    (
        0_u64..=WHOLE,
        prop_oneof![Just(DealBasis::Gross), Just(DealBasis::Net)],
        prop::option::of(1_u32..24),
    )
        .prop_map(|(share, basis, revert)| AgreementTerms {
            masters_revert_after_months: revert,
            ..terms(share, basis)
        })
}

fn recoupables_strategy() -> impl Strategy<Value = Vec<Recoupable>> {
    prop::collection::vec(
        (
            2_i64..8,
            0_i64..1_000_000_000_000,
            0_u32..=100,
            prop::option::of(1_i64..3),
            1_u32..28,
        ),
        0..6,
    )
    .prop_map(|specs| {
        specs
            .into_iter()
            .zip(100..)
            .map(
                |((payee, amount, pct_recouped, release, day), id)| Recoupable {
                    id,
                    payee_id: payee,
                    kind: RecoupableKind::Expense,
                    scope: release.map_or(RecoupableScope::CrossCollateralized, |release_id| {
                        RecoupableScope::Release { release_id }
                    }),
                    incurred_on: date(2025, 1, day),
                    amount_nanos: amount,
                    recouped_nanos: amount / 100 * i64::from(pct_recouped),
                },
            )
            .collect()
    })
}

const LIMIT: i64 = i64::MAX / 4;

proptest! {
    #[test]
    fn allocations_sum_to_the_line(
        amount in prop_oneof![-LIMIT..=LIMIT, -1_000_i64..=1_000, -100_000_000_000_i64..100_000_000_000],
        shares in split_strategy(),
        label_in_split in any::<bool>(),
        artist_mask in any::<u32>(),
        t in terms_strategy(),
        recoupables in recoupables_strategy(),
        left in prop::option::of(0_u32..36),
        sale_month in 0_u32..48,
    ) {
        let mut shares = shares;
        if label_in_split && let Some(first) = shares.first_mut() {
            first.0 = LABEL;
        }
        let artists: Vec<i64> = shares
            .iter()
            .map(|(p, _)| *p)
            .filter(|p| *p != LABEL && artist_mask & (1 << (p % 32)) != 0)
            .collect();
        let base = date(2024, 1, 1);
        let mut input = line(amount, &shares, &artists, &t);
        input.artist_left_on = left.and_then(|m| base.checked_add_months(Months::new(m)));
        input.sale_date = base.checked_add_months(Months::new(sale_month)).unwrap_or(base);
        input.release_id = 1;

        let result = match allocate_line(&input, &recoupables) {
            Err(AllocationError::RevertedWithoutArtist) => {
                prop_assert!(artists.is_empty() && label_in_split);
                return Ok(());
            }
            other => other.expect("valid input allocates"),
        };
        prop_assert_eq!(result.total_nanos(), i128::from(amount));

        let causes: HashSet<&str> = result.allocations.iter().map(|a| a.cause_suffix.as_str()).collect();
        prop_assert_eq!(causes.len(), result.allocations.len(), "causes are unique in a line");
        for a in &result.allocations {
            prop_assert!(a.amount_nanos != 0);
            prop_assert_eq!(a.amount_nanos.signum(), amount.signum(), "every part has the line's sign");
            match a.kind {
                AllocationKind::LabelShare => prop_assert_eq!(a.payee_id, LABEL),
                AllocationKind::ArtistShare | AllocationKind::Recoupment { .. } =>
                    prop_assert!(artists.contains(&a.payee_id)),
                AllocationKind::ParticipantShare =>
                    prop_assert!(!artists.contains(&a.payee_id) && a.payee_id != LABEL),
            }
        }
        // Participants get exactly their slice of the split.
        let weights: Vec<(i64, u64)> = shares.iter().map(|(p, s)| (*p, s.ppb())).collect();
        for (payee, slice) in allocate(amount, &weights).expect("weights") {
            if payee != LABEL && !artists.contains(&payee) {
                prop_assert_eq!(payee_total(&result.allocations, payee), slice);
            }
        }
        if result.reverted {
            prop_assert_eq!(payee_total(&result.allocations, LABEL), 0);
        }
        // The recoupments are the recoupment allocations and keep balances in bounds.
        let mut after = recoupables.clone();
        apply_recoupment(&mut after, &result.recoupments).expect("in bounds");
        let recouped: i64 = result.allocations.iter()
            .filter(|a| matches!(a.kind, AllocationKind::Recoupment { .. }))
            .map(|a| a.amount_nanos).sum();
        let moved: i64 = result.recoupments.iter().map(|a| a.amount_nanos).sum();
        prop_assert_eq!(recouped, moved);
        // Same input, same output: a retried job writes the same entries.
        prop_assert_eq!(allocate_line(&input, &recoupables).expect("again"), result);
    }

    #[test]
    fn reversion_gives_the_label_side_to_the_artist(
        amount in -LIMIT..=LIMIT,
        shares in split_strategy(),
        t in terms_strategy(),
    ) {
        // The first payee is the label, the second (if any) the artist, the rest participants.
        let mut shares = shares;
        shares[0].0 = LABEL;
        prop_assume!(shares.len() >= 2);
        let artist = shares[1].0;
        let t = AgreementTerms { masters_revert_after_months: Some(6), ..t };
        let mut input = line(amount, &shares, std::slice::from_ref(&artist), &t);
        input.artist_left_on = Some(date(2025, 1, 1));
        input.sale_date = date(2025, 6, 30);
        let before = allocate_line(&input, &[]).expect("allocates");
        input.sale_date = date(2025, 7, 1);
        let after = allocate_line(&input, &[]).expect("allocates");
        prop_assert!(!before.reverted && after.reverted);
        prop_assert_eq!(payee_total(&after.allocations, LABEL), 0);
        prop_assert_eq!(
            payee_total(&after.allocations, artist),
            payee_total(&before.allocations, artist) + payee_total(&before.allocations, LABEL)
        );
        for (payee, _) in shares.iter().skip(2) {
            prop_assert_eq!(
                payee_total(&after.allocations, *payee),
                payee_total(&before.allocations, *payee)
            );
        }
    }

    #[test]
    fn recoupment_stays_in_bounds(
        earning in prop_oneof![-LIMIT..=LIMIT, -2_000_000_000_000_i64..2_000_000_000_000],
        payee in 2_i64..8,
        release in 1_i64..3,
        recoupables in recoupables_strategy(),
    ) {
        let r = recoup(payee, release, earning, &recoupables).expect("valid recoupables");
        prop_assert_eq!(i128::from(r.recouped_nanos()) + i128::from(r.payable_nanos), i128::from(earning));
        let eligible = |x: &&Recoupable| x.payee_id == payee && x.scope.covers(release);
        let mut seen = HashSet::new();
        for a in &r.applications {
            prop_assert!(seen.insert(a.recoupable_id), "each recoupable at most once");
            let x = recoupables.iter().find(|x| x.id == a.recoupable_id).expect("known");
            prop_assert!(eligible(&x));
            prop_assert!(a.recouped_after_nanos >= 0 && a.recouped_after_nanos <= x.amount_nanos);
            prop_assert_eq!(a.remaining_after_nanos, x.amount_nanos - a.recouped_after_nanos);
            prop_assert!(a.amount_nanos.signum() == earning.signum());
        }
        let mut after = recoupables.clone();
        apply_recoupment(&mut after, &r.applications).expect("in bounds");
        if earning > 0 && r.payable_nanos > 0 {
            prop_assert!(after.iter().filter(eligible).all(|x| x.remaining_nanos() == 0),
                "something is paid only once everything eligible is recouped");
        }
        if earning < 0 {
            prop_assert!(r.payable_nanos <= 0);
            let fully_recouped = recoupables.iter().filter(eligible).all(|x| x.remaining_nanos() == 0);
            if fully_recouped {
                prop_assert_eq!(r.payable_nanos, earning, "a recouped advance is never reopened");
            }
        }
    }

    #[test]
    fn shared_costs_sum_to_the_cost(
        amount in -LIMIT..=LIMIT,
        weights in prop::collection::vec(1_u64..1_000_000_000, 1..20),
        equal in any::<bool>(),
    ) {
        let members: Vec<(i64, u64)> = weights.iter().copied().zip(2..).map(|(w, i)| (i, w)).collect();
        let rule = if equal { SharedCostRule::Equal } else { SharedCostRule::ByShare };
        let parts = split_shared_cost(amount, &members, rule).expect("members");
        prop_assert_eq!(parts.iter().map(|(_, p)| i128::from(*p)).sum::<i128>(), i128::from(amount));
        if equal {
            let min = parts.iter().map(|p| p.1).min().unwrap_or(0);
            let max = parts.iter().map(|p| p.1).max().unwrap_or(0);
            prop_assert!(max - min <= 1);
        }
    }

    #[test]
    fn payout_invariant_minimum_and_rounding(
        code in prop::sample::select(vec!["USD", "JPY", "BHD", "EUR", "KWD"]),
        brought_forward in -1_000_000_000_000_i64..1_000_000_000_000,
        earnings in -1_000_000_000_000_i64..10_000_000_000_000,
        recouped_pct in 0_i64..=100,
        reserve_ppb in prop_oneof![Just(0_u64), 0_u64..=WHOLE],
        releases in prop::collection::vec(0_i64..100_000_000_000, 0..3),
        minimum in prop_oneof![Just(0_i64), 0_i64..100_000_000_000],
    ) {
        let currency = cur(code);
        let recouped = if earnings > 0 { earnings / 100 * recouped_pct } else { 0 };
        let input = PayoutInput {
            currency,
            brought_forward_nanos: brought_forward,
            earnings_nanos: earnings,
            recouped_nanos: recouped,
            reserve_ppb,
            reserve_releases: releases.iter().map(|&amount_nanos| HeldReserve { held_in: date(2025, 1, 31), amount_nanos }).collect(),
            minimum_payout_nanos: minimum,
        };
        let p = compute_payout(&input).expect("valid");
        let released: i128 = releases.iter().map(|&r| i128::from(r)).sum();
        prop_assert_eq!(
            i128::from(brought_forward) + i128::from(earnings) - i128::from(recouped)
                - i128::from(p.reserved_nanos) + released,
            i128::from(p.payable_nanos) + i128::from(p.carried_forward_nanos)
        );
        prop_assert_eq!(i128::from(p.reserve_released_nanos), released);
        prop_assert!(p.reserved_nanos >= 0);
        let unit = currency.nanos_per_minor_unit();
        prop_assert!(p.payable_nanos >= 0);
        prop_assert_eq!(p.payable_nanos % unit, 0, "paid in whole minor units");
        if p.payable_nanos > 0 {
            prop_assert!(p.payable_nanos >= minimum);
            prop_assert!(p.carried_forward_nanos >= 0 && p.carried_forward_nanos < unit);
            prop_assert_eq!(p.rounding_remainder_nanos, p.carried_forward_nanos);
        } else {
            prop_assert_eq!(p.rounding_remainder_nanos, 0);
            // Nothing paid: the balance is not positive, or rounds to nothing, or is under the minimum.
            let rounded = p.carried_forward_nanos / unit * unit;
            prop_assert!(p.carried_forward_nanos <= 0 || rounded == 0 || rounded < minimum);
        }
        prop_assert_eq!(
            p.below_minimum,
            p.carried_forward_nanos > 0 && p.payable_nanos == 0
                && p.carried_forward_nanos / unit * unit < minimum
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Conservation over random histories.

#[derive(Debug, Clone)]
enum Op {
    /// A statement line: currency index, amount, on the track (else release 2), sale month.
    Line {
        currency: usize,
        amount: i64,
        on_track: bool,
        month: u32,
    },
    /// A new split version, from `month`, for the track or the release.
    SetSplit {
        on_track: bool,
        month: u32,
        weights: Vec<u64>,
        label_weight: u64,
    },
    /// A payout run for every payee in every currency.
    Run,
}

fn op_strategy() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0_usize..3, prop_oneof![-5_000_000_000_i64..50_000_000_000, -LIMIT / 1_000..LIMIT / 1_000], any::<bool>(), 0_u32..24)
            .prop_map(|(currency, amount, on_track, month)| Op::Line { currency, amount, on_track, month }),
        1 => (any::<bool>(), 0_u32..24, prop::collection::vec(1_u64..100, 4), prop_oneof![Just(0_u64), 1_u64..100])
            .prop_map(|(on_track, month, weights, label_weight)| Op::SetSplit { on_track, month, weights, label_weight }),
        2 => Just(Op::Run),
    ]
}

/// One payee's books in one currency between runs.
#[derive(Debug, Default, Clone)]
struct Account {
    carried: i64,
    earnings: i64,
    recouped: i64,
    held: Vec<HeldReserve>,
}

/// Payees: 1 label, 2 and 3 artists (a duo), 4 and 5 participants.
const PAYEES: [i64; 5] = [1, 2, 3, 4, 5];

fn to_split(month: u32, weights: &[u64], label_weight: u64) -> SplitVersion {
    let base = date(2024, 1, 1);
    let mut keyed: Vec<(i64, u64)> = weights
        .iter()
        .copied()
        .zip(2..)
        .map(|(w, p)| (p, w))
        .collect();
    if label_weight > 0 {
        keyed.push((LABEL, label_weight));
    }
    let shares = allocate(i64::try_from(WHOLE).unwrap_or(0), &keyed)
        .expect("weights")
        .into_iter()
        .filter(|(_, ppb)| *ppb > 0)
        .map(|(p, ppb)| {
            (
                p,
                Share::from_ppb(u64::try_from(ppb).unwrap_or(1)).expect("share"),
            )
        })
        .collect();
    SplitVersion {
        id: i64::from(month),
        effective_from: base.checked_add_months(Months::new(month)).unwrap_or(base),
        shares,
    }
}

#[expect(
    clippy::too_many_lines,
    reason = "one simulated history, read top to bottom"
)]
fn simulate(
    ops: &[Op],
    t: &AgreementTerms,
    left_month: Option<u32>,
    reserve_ppb: u64,
    release_after: u32,
    minimums: &[i64; 5],
) -> Result<(), TestCaseError> {
    let currencies = [cur("USD"), cur("JPY"), cur("BHD")];
    let base = date(2024, 1, 1);
    let artists = [2, 3];
    let left_on = left_month.and_then(|m| base.checked_add_months(Months::new(m)));
    let mut release_splits = vec![to_split(0, &[50, 30, 15, 5], 0)];
    let mut track_splits: Vec<SplitVersion> = Vec::new();
    // Per currency: an advance for artist 2 (cross-collateralised), an expense for artist 3 on
    // release 2 only (lines of the track belong to release 1).
    let mut recoupables: Vec<Vec<Recoupable>> = (0..currencies.len())
        .map(|_| {
            vec![
                advance(10, 2, 30 * NANOS_PER_UNIT),
                Recoupable {
                    kind: RecoupableKind::Expense,
                    scope: RecoupableScope::Release { release_id: 2 },
                    ..advance(11, 3, 7 * NANOS_PER_UNIT)
                },
            ]
        })
        .collect();
    let mut accounts: BTreeMap<(usize, i64), Account> = BTreeMap::new();
    let mut ledger = ConservationLedger::new();
    let mut run_count = 0_u32;

    let run = |accounts: &mut BTreeMap<(usize, i64), Account>,
               ledger: &mut ConservationLedger,
               run_count: &mut u32|
     -> Result<(), TestCaseError> {
        *run_count += 1;
        let period_end = base
            .checked_add_months(Months::new(*run_count * 3))
            .unwrap_or(base);
        for (c, &currency) in currencies.iter().enumerate() {
            for (i, &payee) in PAYEES.iter().enumerate() {
                let acc = accounts.entry((c, payee)).or_default();
                let (due, kept) = due_reserves(&acc.held, period_end, release_after, 3);
                let line = compute_payout(&PayoutInput {
                    currency,
                    brought_forward_nanos: acc.carried,
                    earnings_nanos: acc.earnings,
                    recouped_nanos: acc.recouped,
                    reserve_ppb,
                    reserve_releases: due,
                    minimum_payout_nanos: minimums[i],
                })
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
                ledger
                    .record_payout(payee, &line)
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                acc.carried = line.carried_forward_nanos;
                acc.earnings = 0;
                acc.recouped = 0;
                acc.held = kept;
                if line.reserved_nanos > 0 {
                    acc.held.push(HeldReserve {
                        held_in: period_end,
                        amount_nanos: line.reserved_nanos,
                    });
                }
            }
        }
        Ok(())
    };

    for op in ops {
        match op {
            Op::Line {
                currency,
                amount,
                on_track,
                month,
            } => {
                let sale_date = base.checked_add_months(Months::new(*month)).unwrap_or(base);
                let no_override: &[SplitVersion] = &[];
                let track = if *on_track {
                    &track_splits[..]
                } else {
                    no_override
                };
                let Some(split) = split_in_effect(track, &release_splits, sale_date) else {
                    continue;
                };
                let input = LineInput {
                    amount_nanos: *amount,
                    release_id: if *on_track { 1 } else { 2 },
                    sale_date,
                    shares: &split.shares,
                    label_payee_id: LABEL,
                    artist_payee_ids: &artists,
                    terms: t,
                    artist_left_on: left_on,
                };
                let result = match allocate_line(&input, &recoupables[*currency]) {
                    Err(AllocationError::RevertedWithoutArtist) => continue,
                    other => other.map_err(|e| TestCaseError::fail(e.to_string()))?,
                };
                prop_assert_eq!(result.total_nanos(), i128::from(*amount));
                apply_recoupment(&mut recoupables[*currency], &result.recoupments)
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                for a in &result.allocations {
                    ledger.record_allocation(currencies[*currency], a);
                    let acc = accounts.entry((*currency, a.payee_id)).or_default();
                    acc.earnings += a.amount_nanos;
                    if matches!(a.kind, AllocationKind::Recoupment { .. }) {
                        acc.recouped += a.amount_nanos;
                    }
                }
            }
            Op::SetSplit {
                on_track,
                month,
                weights,
                label_weight,
            } => {
                let version = to_split(*month, weights, *label_weight);
                let versions = if *on_track {
                    &mut track_splits
                } else {
                    &mut release_splits
                };
                versions.retain(|v| v.effective_from != version.effective_from);
                versions.push(version);
            }
            Op::Run => run(&mut accounts, &mut ledger, &mut run_count)?,
        }
        ledger
            .check()
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
    }
    run(&mut accounts, &mut ledger, &mut run_count)?;
    ledger
        .check()
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    for (c, currency) in currencies.iter().enumerate() {
        let totals = ledger.totals(*currency);
        prop_assert_eq!(totals.pending, 0, "a final run takes up every earning");
        prop_assert_eq!(
            totals.allocated,
            totals.paid + totals.carried_forward + totals.reserved + totals.recouped
        );
        let recouped: i128 = recoupables[c]
            .iter()
            .map(|r| i128::from(r.recouped_nanos))
            .sum();
        prop_assert_eq!(totals.recouped, recouped);
        for r in &recoupables[c] {
            prop_assert!(r.recouped_nanos >= 0 && r.remaining_nanos() >= 0);
        }
        let carried: i128 = accounts
            .iter()
            .filter(|((ci, _), _)| *ci == c)
            .map(|(_, a)| i128::from(a.carried))
            .sum();
        prop_assert_eq!(totals.carried_forward, carried);
        let held: i128 = accounts
            .iter()
            .filter(|((ci, _), _)| *ci == c)
            .flat_map(|(_, a)| a.held.iter().map(|h| i128::from(h.amount_nanos)))
            .sum();
        prop_assert_eq!(totals.reserved, held);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn every_nano_unit_is_accounted_for(
        ops in prop::collection::vec(op_strategy(), 0..60),
        t in terms_strategy(),
        left_month in prop::option::of(0_u32..18),
        reserve_ppb in prop_oneof![Just(0_u64), 0_u64..=300_000_000],
        release_after in 0_u32..4,
        minimums in prop::array::uniform5(prop_oneof![Just(0_i64), 0_i64..20_000_000_000]),
    ) {
        simulate(&ops, &t, left_month, reserve_ppb, release_after, &minimums)?;
    }
}
