//! Property tests for the rules the API and the workers both ask: the agreement in force, the
//! split in effect, payout run and payout transitions, payments, delivery readiness and the
//! money-summary balance. Each has one home in `domain`; these pin down what it answers.

use chrono::NaiveDate;
use domain::agreement::{AgreementTerm, agreement_in_force};
use domain::allocation::{SplitVersion, VersionKey, split_in_effect, split_in_effect_by};
use domain::catalogue::{DeliveryFacts, DeliveryGap, ReleaseStatus, delivery_gaps};
use domain::payout::{
    ConservationTotals, PaymentOutcome, PayoutStatus, RunStatus, payment_outcome,
};
use proptest::prelude::*;

fn day(offset: i64) -> NaiveDate {
    NaiveDate::from_ymd_opt(2020, 1, 1).expect("date") + chrono::Duration::days(offset)
}

fn terms() -> impl Strategy<Value = Vec<AgreementTerm>> {
    prop::collection::vec((0_i64..400, prop::option::of(0_i64..400)), 0..8).prop_map(|v| {
        v.into_iter()
            .enumerate()
            .map(|(i, (start, length))| AgreementTerm {
                id: i64::try_from(i).unwrap_or(0) + 1,
                starts_on: day(start),
                ends_on: length.map(|l| day(start + l)),
            })
            .collect()
    })
}

fn versions(first_id: i64) -> impl Strategy<Value = Vec<SplitVersion>> {
    prop::collection::vec(0_i64..100, 0..6).prop_map(move |starts| {
        starts
            .into_iter()
            .enumerate()
            .map(|(i, start)| SplitVersion {
                id: first_id + i64::try_from(i).unwrap_or(0),
                effective_from: day(start * 7),
                shares: Vec::new(),
            })
            .collect()
    })
}

fn run_status() -> impl Strategy<Value = RunStatus> {
    prop::sample::select(RunStatus::ALL.to_vec())
}

fn payout_status() -> impl Strategy<Value = PayoutStatus> {
    prop::sample::select(PayoutStatus::ALL.to_vec())
}

proptest! {
    #[test]
    fn the_agreement_in_force_is_the_latest_started_ended_or_not(
        agreements in terms(),
        on in 0_i64..500,
        seed in any::<u64>(),
    ) {
        let on = day(on);
        let found = agreement_in_force(&agreements, on, |a| *a).copied();
        prop_assert_eq!(found.is_none(), agreements.is_empty());
        let started: Vec<&AgreementTerm> = agreements.iter().filter(|a| a.starts_on <= on).collect();
        if let Some(f) = found {
            if started.is_empty() {
                // Before every start: the first one.
                prop_assert!(agreements.iter().all(|a| (a.starts_on, a.id) >= (f.starts_on, f.id)));
            } else {
                prop_assert!(f.starts_on <= on);
                // Latest start, then highest id; ended ones count like the others.
                prop_assert!(started.iter().all(|a| (a.starts_on, a.id) <= (f.starts_on, f.id)));
            }
        }
        // The order the agreements come in does not matter.
        let mut shuffled = agreements.clone();
        let n = shuffled.len();
        if n > 1 {
            shuffled.rotate_left(usize::try_from(seed % n as u64).unwrap_or(0));
            shuffled.reverse();
        }
        prop_assert_eq!(agreement_in_force(&shuffled, on, |a| *a).copied(), found);
    }

    #[test]
    fn the_split_in_effect_prefers_the_track_and_breaks_ties_by_id(
        track in versions(100),
        release in versions(1),
        on in 0_i64..800,
    ) {
        let on = day(on);
        let found = split_in_effect(&track, &release, on);
        let effective = |vs: &[SplitVersion]| vs.iter().filter(|v| v.effective_from <= on).count();
        match found {
            None => prop_assert_eq!(effective(&track) + effective(&release), 0),
            Some(v) => {
                prop_assert!(v.effective_from <= on);
                let from_track = track.iter().any(|t| t.id == v.id);
                prop_assert_eq!(from_track, effective(&track) > 0);
                let pool = if from_track { &track } else { &release };
                prop_assert!(pool.iter().filter(|w| w.effective_from <= on)
                    .all(|w| (w.effective_from, w.id) <= (v.effective_from, v.id)));
            }
        }
        // The same answer over any representation and any order.
        let mut reversed_track = track.clone();
        reversed_track.reverse();
        let mut reversed_release = release.clone();
        reversed_release.reverse();
        let other = split_in_effect_by(&reversed_track, &reversed_release, on, |v| VersionKey {
            effective_from: v.effective_from,
            id: v.id,
        });
        prop_assert_eq!(other.map(|v| v.id), found.map(|v| v.id));
    }

    #[test]
    fn runs_move_forward_only_and_cancel_only_while_open(from in run_status(), to in run_status()) {
        let allowed = from.can_transition_to(to);
        prop_assert!(!(from == to && allowed), "staying is not a move");
        if !from.is_open() {
            prop_assert!(!allowed, "{} is final", from);
        }
        if to == RunStatus::Cancelled {
            prop_assert_eq!(allowed, from.is_open());
        }
        if to == RunStatus::Paid {
            prop_assert_eq!(allowed, from == RunStatus::Approved);
        }
        if to == RunStatus::Approved {
            prop_assert_eq!(allowed, from == RunStatus::Ready);
        }
        prop_assert_eq!(from.is_open(), RunStatus::OPEN.contains(&from));
        prop_assert_eq!(from.as_str().parse::<RunStatus>(), Ok(from));
    }

    #[test]
    fn a_paid_payout_is_final(from in payout_status(), to in payout_status(), payable in any::<i64>()) {
        let allowed = from.can_transition_to(to);
        if from == PayoutStatus::Paid || from == PayoutStatus::Cancelled {
            prop_assert!(!allowed);
        }
        if to == PayoutStatus::Paid {
            prop_assert_eq!(allowed, from == PayoutStatus::Pending);
        }
        // Only money that moved is settled in the ledger.
        prop_assert_eq!(
            from.is_settled_in_ledger(),
            matches!(from, PayoutStatus::Paid | PayoutStatus::CarriedForward)
        );
        prop_assert_eq!(PayoutStatus::computed(payable) == PayoutStatus::Pending, payable > 0);
    }

    #[test]
    fn paying_is_idempotent_per_payout(
        status in payout_status(),
        stored in prop::option::of("[A-C]{1,2}"),
        reference in "[A-C]{1,2}",
    ) {
        let outcome = payment_outcome(status, stored.as_deref(), &reference);
        let expected = match status {
            PayoutStatus::Pending => PaymentOutcome::Record,
            PayoutStatus::Paid if stored.as_deref() == Some(reference.as_str()) => PaymentOutcome::AlreadyRecorded,
            PayoutStatus::Paid => PaymentOutcome::PaidWithAnotherReference,
            _ => PaymentOutcome::NotPayable,
        };
        prop_assert_eq!(outcome, expected);
        // Recording and then repeating the same reference is a no-op.
        if outcome == PaymentOutcome::Record {
            prop_assert_eq!(
                payment_outcome(PayoutStatus::Paid, Some(&reference), &reference),
                PaymentOutcome::AlreadyRecorded
            );
        }
    }

    #[test]
    fn a_release_is_ready_for_delivery_exactly_when_nothing_is_missing(
        has_upc in any::<bool>(),
        has_release_date in any::<bool>(),
        track_count in 0_usize..4,
        without in 0_usize..4,
        status in prop::sample::select(ReleaseStatus::ALL.to_vec()),
    ) {
        let facts = DeliveryFacts {
            has_upc,
            has_release_date,
            track_count,
            tracks_without_isrc: without.min(track_count),
        };
        let gaps = delivery_gaps(&facts);
        let ready = has_upc && has_release_date && track_count > 0 && facts.tracks_without_isrc == 0;
        prop_assert_eq!(gaps.is_empty(), ready);
        prop_assert_eq!(gaps.contains(&DeliveryGap::NoUpc), !has_upc);
        prop_assert_eq!(gaps.contains(&DeliveryGap::NoTracks), track_count == 0);
        prop_assert_eq!(status.delivers(), matches!(status, ReleaseStatus::Scheduled | ReleaseStatus::Live));
    }

    #[test]
    fn the_books_balance_exactly_when_every_nano_is_accounted_for(
        parts in prop::array::uniform6(-(1_i128 << 80)..(1_i128 << 80)),
        off in -3_i128..=3,
    ) {
        let [paid, withheld, carried_forward, reserved, recouped, pending] = parts;
        let totals = ConservationTotals {
            allocated: paid + withheld + carried_forward + reserved + recouped + pending + off,
            paid,
            withheld,
            carried_forward,
            reserved,
            recouped,
            pending,
        };
        prop_assert_eq!(totals.is_balanced(), off == 0);
    }
}

#[test]
fn an_ended_agreement_governs_until_a_newer_one_starts() {
    let first = AgreementTerm {
        id: 1,
        starts_on: day(0),
        ends_on: Some(day(100)),
    };
    let renewal = AgreementTerm {
        id: 2,
        starts_on: day(200),
        ends_on: None,
    };
    let both = [renewal, first];
    let at = |d| agreement_in_force(&both, day(d), |a| *a).map(|a| a.id);
    assert_eq!(at(50), Some(1));
    assert_eq!(at(150), Some(1), "after its end, before the renewal");
    assert_eq!(at(250), Some(2));
    assert_eq!(at(-10), Some(1), "before the first start: the first");
}
