//! Recoupment: advances and expenses won back from an artist's earnings before they are paid.
//!
//! A [`Recoupable`] is one advance or expense charged to one payee (the artist's payee, or one
//! member of a collective after [`split_shared_cost`]), with how much of it has been recouped so
//! far. Its [`RecoupableScope`] says which earnings may recoup it: those of one release, or
//! (cross-collateralised) those of every release the payee earns from as the artist.
//!
//! # Rules
//!
//! - **Order.** A positive earning recoups the eligible recoupables oldest first (by
//!   `incurred_on`, then by id), each up to its remaining balance; whatever is left is payable.
//!   So `recouped + payable == earning`, exactly, and no recoupable is ever recouped beyond its
//!   amount.
//! - **Returns.** A negative earning (a refund or a chargeback) is handled as a negative royalty
//!   in a royalty account: while the payee is still unrecouped (some eligible recoupable has a
//!   remaining balance) the return first *un-recoups* the open recoupables, newest first, each
//!   by at most what it has recouped, so no recouped balance ever goes below zero; the rest of
//!   the return (all of it once everything is recouped) is charged to the payee's balance, where
//!   it may carry forward as a negative balance. A fully recouped advance is never reopened.
//! - **Zero** earns and recoups nothing.
//! - **Collectives.** A cost shared by a collective is split into one recoupable per member by
//!   [`split_shared_cost`], equally or by the members' shares, exactly (largest remainder).
//!
//! Amounts are nano-units of the organisation's base currency (the currency statement lines are
//! allocated in); the caller only passes recoupables in that currency.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::agreement::RecoupmentScope;
use crate::enums::string_enum;
use crate::share::{SplitError, allocate};

string_enum! {
    /// What a recoupable is.
    pub enum RecoupableKind: "recoupable kind" {
        /// Money paid to the artist ahead of earnings.
        Advance => "advance",
        /// A cost the label paid on the artist's behalf (recording, video, marketing…).
        Expense => "expense",
    }
}

string_enum! {
    /// How a collective's shared cost is divided among its members.
    pub enum SharedCostRule: "shared cost rule" {
        /// Equal parts.
        Equal => "equal",
        /// In proportion to the members' weights (their shares in the collective's split).
        ByShare => "by_share",
    }
}

/// Why a recoupment could not be computed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RecoupmentError {
    /// A recoupable whose amounts make no sense (negative, or recouped beyond its amount).
    #[error(
        "recoupable {id}: amount {amount_nanos} and recouped {recouped_nanos} must satisfy 0 ≤ recouped ≤ amount"
    )]
    InvalidRecoupable {
        /// The recoupable's id.
        id: i64,
        /// Its amount.
        amount_nanos: i64,
        /// What it had recouped.
        recouped_nanos: i64,
    },
    /// A shared cost with no members.
    #[error("a shared cost needs at least one member")]
    NoMembers,
    /// The same member twice in a shared cost.
    #[error("member {payee_id} appears twice in the shared cost")]
    DuplicateMember {
        /// The repeated payee.
        payee_id: i64,
    },
    /// The weights of a by-share split are all zero.
    #[error("cannot split a cost by shares that are all zero")]
    ZeroWeights,
    /// An application names a recoupable that is not in the list.
    #[error("recoupable {id} is not in the list")]
    UnknownRecoupable {
        /// The missing id.
        id: i64,
    },
}

/// Which earnings may recoup a recoupable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RecoupableScope {
    /// Only the earnings of this release.
    Release {
        /// The release whose earnings recoup it.
        release_id: i64,
    },
    /// The payee's earnings from any release (cross-collateralised).
    CrossCollateralized,
}

impl RecoupableScope {
    /// The scope of a recoupable under an agreement's [`RecoupmentScope`].
    ///
    /// Cross-collateralised agreements recoup everything from everything. Per-release
    /// agreements recoup a cost from its release; a cost tied to no release (typically the
    /// advance itself) can only be won back across the artist's releases, so it is
    /// cross-collateralised.
    #[must_use]
    pub fn for_agreement(scope: RecoupmentScope, release_id: Option<i64>) -> RecoupableScope {
        match (scope, release_id) {
            (RecoupmentScope::Release, Some(release_id)) => RecoupableScope::Release { release_id },
            _ => RecoupableScope::CrossCollateralized,
        }
    }

    /// Whether earnings on `release_id` may recoup under this scope.
    #[must_use]
    pub fn covers(self, release_id: i64) -> bool {
        match self {
            RecoupableScope::Release { release_id: own } => own == release_id,
            RecoupableScope::CrossCollateralized => true,
        }
    }
}

/// An advance or expense and how much of it has been recouped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recoupable {
    /// The recoupable's id.
    pub id: i64,
    /// The payee whose artist earnings recoup it.
    pub payee_id: i64,
    /// Advance or expense.
    pub kind: RecoupableKind,
    /// Which earnings recoup it.
    pub scope: RecoupableScope,
    /// When it was incurred: older recoupables are recouped first.
    pub incurred_on: NaiveDate,
    /// The whole amount, ≥ 0.
    pub amount_nanos: i64,
    /// How much has been recouped so far, `0 ≤ recouped ≤ amount`.
    pub recouped_nanos: i64,
}

impl Recoupable {
    /// What is still to be recouped: `amount − recouped`.
    #[must_use]
    pub fn remaining_nanos(&self) -> i64 {
        self.amount_nanos - self.recouped_nanos
    }

    fn check(&self) -> Result<(), RecoupmentError> {
        if self.amount_nanos < 0
            || self.recouped_nanos < 0
            || self.recouped_nanos > self.amount_nanos
        {
            return Err(RecoupmentError::InvalidRecoupable {
                id: self.id,
                amount_nanos: self.amount_nanos,
                recouped_nanos: self.recouped_nanos,
            });
        }
        Ok(())
    }
}

/// How much one recoupable recouped from one earning, and its balance afterwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoupApplication {
    /// The recoupable.
    pub recoupable_id: i64,
    /// Recouped by this earning; negative when a return un-recouped it.
    pub amount_nanos: i64,
    /// Its recouped total afterwards.
    pub recouped_after_nanos: i64,
    /// What remains to recoup afterwards.
    pub remaining_after_nanos: i64,
}

/// The result of recouping one earning.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Recoupment {
    /// Per recoupable touched, in the order applied.
    pub applications: Vec<RecoupApplication>,
    /// What is left for the payee: `earning − Σ applications`.
    pub payable_nanos: i64,
}

impl Recoupment {
    /// The total recouped (negative when a return un-recouped).
    #[must_use]
    pub fn recouped_nanos(&self) -> i64 {
        self.applications.iter().map(|a| a.amount_nanos).sum()
    }
}

/// Recoups `earning_nanos`, earned by `payee_id` as the artist on `release_id`, from the
/// recoupables it may recoup (see the module rules).
///
/// Recoupables of other payees, or whose scope does not cover the release, are ignored. The
/// input is not changed: apply the result with [`apply_recoupment`].
///
/// # Errors
///
/// [`RecoupmentError::InvalidRecoupable`] when an eligible recoupable has inconsistent amounts.
pub fn recoup(
    payee_id: i64,
    release_id: i64,
    earning_nanos: i64,
    recoupables: &[Recoupable],
) -> Result<Recoupment, RecoupmentError> {
    let mut eligible: Vec<&Recoupable> = recoupables
        .iter()
        .filter(|r| r.payee_id == payee_id && r.scope.covers(release_id))
        .collect();
    for r in &eligible {
        r.check()?;
    }
    eligible.sort_by_key(|r| (r.incurred_on, r.id));
    let mut applications = Vec::new();
    let mut left = earning_nanos;
    if earning_nanos > 0 {
        for r in eligible {
            if left == 0 {
                break;
            }
            let take = left.min(r.remaining_nanos());
            if take > 0 {
                left -= take;
                applications.push(application(r, take));
            }
        }
    } else if earning_nanos < 0 && eligible.iter().any(|r| r.remaining_nanos() > 0) {
        // Unrecouped: the return deepens the deficit, newest open recoupable first.
        for r in eligible.iter().rev().filter(|r| r.remaining_nanos() > 0) {
            if left == 0 {
                break;
            }
            let give_back = left.max(-r.recouped_nanos);
            if give_back < 0 {
                left -= give_back;
                applications.push(application(r, give_back));
            }
        }
    }
    Ok(Recoupment {
        applications,
        payable_nanos: left,
    })
}

fn application(r: &Recoupable, amount_nanos: i64) -> RecoupApplication {
    let recouped_after_nanos = r.recouped_nanos + amount_nanos;
    RecoupApplication {
        recoupable_id: r.id,
        amount_nanos,
        recouped_after_nanos,
        remaining_after_nanos: r.amount_nanos - recouped_after_nanos,
    }
}

/// Records `applications` in `recoupables` (their `recouped_nanos` change).
///
/// # Errors
///
/// [`RecoupmentError::UnknownRecoupable`] when an application names a recoupable not in the
/// list, [`RecoupmentError::InvalidRecoupable`] when it would take a balance out of
/// `0..=amount`; nothing is changed then.
pub fn apply_recoupment(
    recoupables: &mut [Recoupable],
    applications: &[RecoupApplication],
) -> Result<(), RecoupmentError> {
    let mut updated = recoupables.to_vec();
    for a in applications {
        let r = updated.iter_mut().find(|r| r.id == a.recoupable_id).ok_or(
            RecoupmentError::UnknownRecoupable {
                id: a.recoupable_id,
            },
        )?;
        r.recouped_nanos = r.recouped_nanos.saturating_add(a.amount_nanos);
        r.check()?;
    }
    recoupables.clone_from_slice(&updated);
    Ok(())
}

/// Splits a collective's shared cost among its members, exactly.
///
/// `members` are `(payee_id, weight)`; weights are ignored for [`SharedCostRule::Equal`] and are
/// the members' shares (ppb, or any integer weights) for [`SharedCostRule::ByShare`]. The parts
/// sum to `amount_nanos`; leftover nano-units go by largest remainder, ties to the earlier
/// member. Each part becomes that member's recoupable.
///
/// # Errors
///
/// [`RecoupmentError::NoMembers`], [`RecoupmentError::DuplicateMember`], or
/// [`RecoupmentError::ZeroWeights`] for a by-share split whose weights are all zero.
pub fn split_shared_cost(
    amount_nanos: i64,
    members: &[(i64, u64)],
    rule: SharedCostRule,
) -> Result<Vec<(i64, i64)>, RecoupmentError> {
    if members.is_empty() {
        return Err(RecoupmentError::NoMembers);
    }
    for (i, (payee_id, _)) in members.iter().enumerate() {
        if members[..i].iter().any(|(p, _)| p == payee_id) {
            return Err(RecoupmentError::DuplicateMember {
                payee_id: *payee_id,
            });
        }
    }
    let weights: Vec<(i64, u64)> = match rule {
        SharedCostRule::Equal => members.iter().map(|(p, _)| (*p, 1)).collect(),
        SharedCostRule::ByShare => members.to_vec(),
    };
    allocate(amount_nanos, &weights).map_err(|e| match e {
        SplitError::ZeroTotalWeight => RecoupmentError::ZeroWeights,
        _ => RecoupmentError::NoMembers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 1, d).expect("valid date")
    }

    fn rec(id: i64, day_: u32, amount: i64, recouped: i64, scope: RecoupableScope) -> Recoupable {
        Recoupable {
            id,
            payee_id: 7,
            kind: RecoupableKind::Expense,
            scope,
            incurred_on: day(day_),
            amount_nanos: amount,
            recouped_nanos: recouped,
        }
    }

    #[test]
    fn oldest_first_then_payable() {
        let cross = RecoupableScope::CrossCollateralized;
        let list = [rec(2, 5, 30, 0, cross), rec(1, 3, 50, 40, cross)];
        let r = recoup(7, 1, 25, &list).expect("valid");
        assert_eq!(r.payable_nanos, 0);
        assert_eq!(
            r.applications
                .iter()
                .map(|a| (a.recoupable_id, a.amount_nanos, a.remaining_after_nanos))
                .collect::<Vec<_>>(),
            vec![(1, 10, 0), (2, 15, 15)]
        );
        let r = recoup(7, 1, 100, &list).expect("valid");
        assert_eq!((r.recouped_nanos(), r.payable_nanos), (40, 60));
    }

    #[test]
    fn scope_and_payee_filter() {
        let list = [
            rec(1, 1, 50, 0, RecoupableScope::Release { release_id: 9 }),
            Recoupable {
                payee_id: 8,
                ..rec(2, 1, 50, 0, RecoupableScope::CrossCollateralized)
            },
        ];
        assert_eq!(recoup(7, 1, 10, &list).expect("valid").payable_nanos, 10);
        assert_eq!(recoup(7, 9, 10, &list).expect("valid").payable_nanos, 0);
    }

    #[test]
    fn returns_unrecoup_only_while_unrecouped() {
        let cross = RecoupableScope::CrossCollateralized;
        let list = [rec(1, 1, 50, 50, cross), rec(2, 2, 30, 10, cross)];
        let r = recoup(7, 1, -25, &list).expect("valid");
        assert_eq!(r.recouped_nanos(), -10);
        assert_eq!(r.payable_nanos, -15);
        let done = [rec(1, 1, 50, 50, cross)];
        let r = recoup(7, 1, -25, &done).expect("valid");
        assert_eq!((r.recouped_nanos(), r.payable_nanos), (0, -25));
    }

    #[test]
    fn apply_and_reject() {
        let cross = RecoupableScope::CrossCollateralized;
        let mut list = vec![rec(1, 1, 50, 0, cross)];
        let r = recoup(7, 1, 20, &list).expect("valid");
        apply_recoupment(&mut list, &r.applications).expect("applies");
        assert_eq!(list[0].recouped_nanos, 20);
        assert!(recoup(7, 1, 1, &[rec(3, 1, 5, 6, cross)]).is_err());
        let bad = RecoupApplication {
            recoupable_id: 1,
            amount_nanos: 100,
            recouped_after_nanos: 120,
            remaining_after_nanos: -70,
        };
        assert!(apply_recoupment(&mut list, &[bad]).is_err());
        assert_eq!(list[0].recouped_nanos, 20);
    }

    #[test]
    fn shared_costs() {
        assert_eq!(
            split_shared_cost(100, &[(1, 0), (2, 0), (3, 0)], SharedCostRule::Equal),
            Ok(vec![(1, 34), (2, 33), (3, 33)])
        );
        assert_eq!(
            split_shared_cost(100, &[(1, 3), (2, 1)], SharedCostRule::ByShare),
            Ok(vec![(1, 75), (2, 25)])
        );
        assert_eq!(
            split_shared_cost(1, &[], SharedCostRule::Equal),
            Err(RecoupmentError::NoMembers)
        );
        assert_eq!(
            split_shared_cost(1, &[(1, 1), (1, 1)], SharedCostRule::Equal),
            Err(RecoupmentError::DuplicateMember { payee_id: 1 })
        );
        assert_eq!(
            split_shared_cost(1, &[(1, 0)], SharedCostRule::ByShare),
            Err(RecoupmentError::ZeroWeights)
        );
    }
}
