//! Allocation: dividing one statement line among the payees it belongs to, exactly.
//!
//! # The rule
//!
//! A line's amount (nano-units of the base currency, negative for a return) is divided in up
//! to three steps, each by the largest-remainder rule of [`crate::share::allocate`], so that
//! the allocations of a line always sum to the line, to the nano-unit:
//!
//! 1. **The split.** The split in effect for the line's sale date ([`split_in_effect`]: the
//!    track's split if the track has one by then, else the release's) is applied literally:
//!    a payee with 20 % in the split is allotted 20 % of the line. Each slice is then one of
//!    three kinds, by who holds it:
//!    - the **label payee**'s slice is the label's ([`AllocationKind::LabelShare`]);
//!    - an **artist payee**'s slice (a payee that represents the artist whose agreement
//!      governs the release: the artist, or each member of a collective) is the *artist pool*,
//!      governed by the agreement (steps 2 and 3);
//!    - any **other** payee (a producer with points, a featured guest) is paid their slice in
//!      full ([`AllocationKind::ParticipantShare`]): they are not party to the agreement, and
//!      no recoupment or revenue split touches their slice.
//! 2. **The agreement's revenue split** divides each artist pool between the artist payee
//!    ([`AllocationKind::ArtistShare`]) and the label (added to its `LabelShare`), by
//!    `artist_revenue_share_ppb` and the rest.
//! 3. **Recoupment** ([`crate::recoupment`]) takes the artist payee's open recoupables, oldest
//!    first, from the artist side ([`AllocationKind::Recoupment`] entries, attributed to the
//!    artist payee); when and from what depends on the deal basis:
//!    - **gross**: the revenue split applies to the whole pool; recoupment then comes out of the
//!      artist's part only. The label's part is never reduced by the artist's costs.
//!    - **net**: costs come off the pool first, and only what remains is split between artist
//!      and label, so both bear the costs in proportion to their revenue shares (a 50/50 net
//!      deal).
//!
//! **Master ownership and reversion.** Before reversion the money follows the revenue split
//! whoever owns the masters (for artist-owned or joint masters the label's revenue share is
//! what the artist agreed to give it as licensee or co-owner). When the artist has left and
//! the agreement's `masters_revert_after_months` have passed ([`masters_reverted`]: the line's
//! sale date on or after [`AgreementTerms::master_reverted_on`]), the label no longer takes
//! anything from the recordings: the revenue split gives the whole pool to the artist, and the
//! label payee's own slice in the split is redistributed among the artist payees in proportion
//! to their shares in the split. Participants keep their slices. Recoupment still applies: an
//! unrecouped advance stays owed.
//!
//! `AgreementTerms::advance_nanos` is not read here: the advance is recouped through its own
//! [`Recoupable`]. One agreement governs a line; a guest artist with their own agreement is a
//! participant of this one.
//!
//! # Ledger causes
//!
//! Each [`Allocation`] has one payee and one kind, at most one per (payee, kind) per line, and
//! its `cause_suffix` says which: `artist_share:payee:7`, `label_share:payee:1`,
//! `participant_share:payee:9`, `recoupment:payee:7:recoupable:3`. The caller prefixes it
//! with the line (`statement_line:{id}:{cause_suffix}`), which makes the ledger's unique cause,
//! so a second run writes nothing. Zero amounts are not emitted.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::agreement::{AgreementTerms, DealBasis};
use crate::recoupment::{RecoupApplication, Recoupable, RecoupmentError, apply_recoupment, recoup};
use crate::share::{Share, SplitError, allocate, validate_split};

/// Why a line could not be allocated.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AllocationError {
    /// The split in effect is not a valid split.
    #[error("the split in effect is invalid: {0}")]
    InvalidSplit(#[from] SplitError),
    /// The agreement gives the artist more than 100 % of revenue.
    #[error("the agreement's artist revenue share is above 100%")]
    InvalidRevenueShare,
    /// The label payee is also listed as an artist payee.
    #[error("payee {payee_id} cannot be both the label and the artist")]
    LabelIsArtist {
        /// The payee listed as both.
        payee_id: i64,
    },
    /// The masters have reverted but the split has no artist payee to give the label's slice to.
    #[error("the masters have reverted to the artist but the split names no artist payee")]
    RevertedWithoutArtist,
    /// Recoupment failed on inconsistent recoupables.
    #[error(transparent)]
    Recoupment(#[from] RecoupmentError),
}

/// One version of a release's or a track's split.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitVersion {
    /// The stored split's id: between two versions effective the same day, the higher id
    /// (the one set later) wins.
    pub id: i64,
    /// The first sale date it applies to.
    pub effective_from: NaiveDate,
    /// `(payee_id, share)`, summing to 100 %.
    pub shares: Vec<(i64, Share)>,
}

/// When a split version applies: its `effective_from`, and its id for the tie-break.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct VersionKey {
    /// The first sale date the version applies to.
    pub effective_from: NaiveDate,
    /// The version's id: the higher wins between versions effective the same day.
    pub id: i64,
}

/// The split in effect on `sale_date`: the track's latest version effective by then, else the
/// release's; `None` when neither has one (the line cannot be allocated yet). "Latest" is the
/// greatest `effective_from`, and between versions effective the same day the greatest id, so
/// the answer does not depend on the order the versions are given in.
///
/// A track override that starts later than the sale does not hide the release split that was in
/// effect at the time of the sale.
#[must_use]
pub fn split_in_effect<'a>(
    track_versions: &'a [SplitVersion],
    release_versions: &'a [SplitVersion],
    sale_date: NaiveDate,
) -> Option<&'a SplitVersion> {
    split_in_effect_by(track_versions, release_versions, sale_date, |v| {
        VersionKey {
            effective_from: v.effective_from,
            id: v.id,
        }
    })
}

/// [`split_in_effect`] over any representation of split versions (the API's stored rows, say),
/// `key` telling when each applies. The one rule, for whoever holds the versions.
#[must_use]
pub fn split_in_effect_by<'a, V>(
    track_versions: &'a [V],
    release_versions: &'a [V],
    sale_date: NaiveDate,
    key: impl Fn(&V) -> VersionKey,
) -> Option<&'a V> {
    let latest = |versions: &'a [V]| {
        versions
            .iter()
            .filter(|v| key(v).effective_from <= sale_date)
            .max_by_key(|v| key(v))
    };
    latest(track_versions).or_else(|| latest(release_versions))
}

/// Whether the masters have reverted to an artist who left on `artist_left_on` by `sale_date`.
#[must_use]
pub fn masters_reverted(
    terms: &AgreementTerms,
    artist_left_on: Option<NaiveDate>,
    sale_date: NaiveDate,
) -> bool {
    artist_left_on
        .and_then(|left_on| terms.master_reverted_on(left_on))
        .is_some_and(|reverted_on| sale_date >= reverted_on)
}

/// What an allocation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum AllocationKind {
    /// The artist payee's part after the revenue split and recoupment: payable to them.
    ArtistShare,
    /// The label's slice of the split plus its revenue share of the artist pools.
    LabelShare,
    /// A payee outside the agreement (producer, guest): their slice of the split in full.
    ParticipantShare,
    /// Part of an artist payee's earnings retained to recoup an advance or expense (negative
    /// when a return un-recoups it).
    Recoupment {
        /// The recoupable recouped.
        recoupable_id: i64,
    },
}

impl AllocationKind {
    /// The `ledger_entries.account` the allocation is written to.
    #[must_use]
    pub fn ledger_account(self) -> &'static str {
        match self {
            AllocationKind::ArtistShare | AllocationKind::ParticipantShare => "earnings",
            AllocationKind::LabelShare => "label",
            AllocationKind::Recoupment { .. } => "recoupment",
        }
    }

    /// The cause suffix for `payee_id` (see the module doc).
    #[must_use]
    pub fn cause_suffix(self, payee_id: i64) -> String {
        match self {
            AllocationKind::ArtistShare => format!("artist_share:payee:{payee_id}"),
            AllocationKind::LabelShare => format!("label_share:payee:{payee_id}"),
            AllocationKind::ParticipantShare => format!("participant_share:payee:{payee_id}"),
            AllocationKind::Recoupment { recoupable_id } => {
                format!("recoupment:payee:{payee_id}:recoupable:{recoupable_id}")
            }
        }
    }
}

/// One payee's part of a line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allocation {
    /// Who it is allotted to (for a recoupment, the artist payee whose earnings recouped).
    pub payee_id: i64,
    /// What it is.
    pub kind: AllocationKind,
    /// Signed nano-units of the line's currency.
    pub amount_nanos: i64,
    /// Unique within the line; prefix it with the line to make the ledger cause.
    pub cause_suffix: String,
}

impl Allocation {
    fn new(payee_id: i64, kind: AllocationKind, amount_nanos: i64) -> Allocation {
        Allocation {
            payee_id,
            kind,
            amount_nanos,
            cause_suffix: kind.cause_suffix(payee_id),
        }
    }
}

/// Everything needed to allocate one matched statement line.
#[derive(Debug, Clone, Copy)]
pub struct LineInput<'a> {
    /// The line's amount in nano-units of the base currency; negative for a return.
    pub amount_nanos: i64,
    /// The release the line's track belongs to (for per-release recoupment).
    pub release_id: i64,
    /// The line's sale date (start of its sale period): picks the split and decides reversion.
    pub sale_date: NaiveDate,
    /// The split in effect (see [`split_in_effect`]).
    pub shares: &'a [(i64, Share)],
    /// The label's payee.
    pub label_payee_id: i64,
    /// The payees that represent the artist side of the agreement.
    pub artist_payee_ids: &'a [i64],
    /// The governing agreement.
    pub terms: &'a AgreementTerms,
    /// When the artist left the label, if they have.
    pub artist_left_on: Option<NaiveDate>,
}

/// The allocation of one line.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LineAllocation {
    /// Per (payee, kind), summing exactly to the line amount; zero amounts omitted.
    pub allocations: Vec<Allocation>,
    /// What recoupment did to each recoupable, with its balance afterwards: apply them with
    /// [`apply_recoupment`] before allocating the next line.
    pub recoupments: Vec<RecoupApplication>,
    /// Whether the masters had reverted on the sale date.
    pub reverted: bool,
}

impl LineAllocation {
    /// The sum of the allocations (always the line amount).
    #[must_use]
    pub fn total_nanos(&self) -> i128 {
        self.allocations
            .iter()
            .map(|a| i128::from(a.amount_nanos))
            .sum()
    }
}

/// Allocates one line by the rule in the module doc.
///
/// `recoupables` are the open recoupables of the artist payees in their current state; they are
/// not changed (see [`LineAllocation::recoupments`]).
///
/// # Errors
///
/// [`AllocationError`] for an invalid split or revenue share, the label payee listed as an
/// artist payee, reverted masters with no artist payee in the split, or invalid recoupables.
pub fn allocate_line(
    input: &LineInput<'_>,
    recoupables: &[Recoupable],
) -> Result<LineAllocation, AllocationError> {
    let terms = input.terms;
    if terms.artist_revenue_share_ppb > Share::WHOLE_PPB {
        return Err(AllocationError::InvalidRevenueShare);
    }
    validate_split(input.shares)?;
    let label = input.label_payee_id;
    if input.artist_payee_ids.contains(&label) {
        return Err(AllocationError::LabelIsArtist { payee_id: label });
    }
    let is_artist = |p: &i64| input.artist_payee_ids.contains(p);
    let reverted = masters_reverted(terms, input.artist_left_on, input.sale_date);

    let weights: Vec<(i64, u64)> = input.shares.iter().map(|(p, s)| (*p, s.ppb())).collect();
    let slices = allocate(input.amount_nanos, &weights)?;

    let mut label_total: i64 = 0;
    // (payee, pool, split weight) for artist payees, in split order.
    let mut pools: Vec<(i64, i64, u64)> = Vec::new();
    let mut out: Vec<Allocation> = Vec::new();
    let mut participants: Vec<(i64, i64)> = Vec::new();
    for ((payee, slice), (_, weight)) in slices.into_iter().zip(&weights) {
        if payee == label {
            label_total = slice;
        } else if is_artist(&payee) {
            pools.push((payee, slice, *weight));
        } else {
            participants.push((payee, slice));
        }
    }
    let label_in_split = input.shares.iter().any(|(p, _)| *p == label);
    if reverted && label_in_split {
        if pools.is_empty() {
            return Err(AllocationError::RevertedWithoutArtist);
        }
        let artist_weights: Vec<(usize, u64)> =
            pools.iter().enumerate().map(|(i, p)| (i, p.2)).collect();
        for (i, extra) in allocate(label_total, &artist_weights)? {
            pools[i].1 += extra;
        }
        label_total = 0;
    }

    let (artist_ppb, label_ppb) = if reverted {
        (Share::WHOLE_PPB, 0)
    } else {
        (
            terms.artist_revenue_share_ppb,
            terms.label_revenue_share_ppb(),
        )
    };
    let revenue_split = |amount: i64| -> Result<(i64, i64), SplitError> {
        let parts = allocate(amount, &[(true, artist_ppb), (false, label_ppb)])?;
        let artist = parts.first().map_or(0, |p| p.1);
        Ok((artist, amount - artist))
    };

    let mut working = recoupables.to_vec();
    let mut recoupments = Vec::new();
    for (payee, slice) in participants {
        out.push(Allocation::new(
            payee,
            AllocationKind::ParticipantShare,
            slice,
        ));
    }
    for (payee, pool, _) in pools {
        let (artist_part, label_part, recouped) = match terms.deal_basis {
            DealBasis::Gross => {
                let (artist, label_part) = revenue_split(pool)?;
                let r = recoup(payee, input.release_id, artist, &working)?;
                (r.payable_nanos, label_part, r)
            }
            DealBasis::Net => {
                let r = recoup(payee, input.release_id, pool, &working)?;
                let (artist, label_part) = revenue_split(r.payable_nanos)?;
                (artist, label_part, r)
            }
        };
        apply_recoupment(&mut working, &recouped.applications)?;
        label_total += label_part;
        out.push(Allocation::new(
            payee,
            AllocationKind::ArtistShare,
            artist_part,
        ));
        for a in &recouped.applications {
            out.push(Allocation::new(
                payee,
                AllocationKind::Recoupment {
                    recoupable_id: a.recoupable_id,
                },
                a.amount_nanos,
            ));
        }
        recoupments.extend(recouped.applications);
    }
    out.push(Allocation::new(
        label,
        AllocationKind::LabelShare,
        label_total,
    ));
    out.retain(|a| a.amount_nanos != 0);
    Ok(LineAllocation {
        allocations: out,
        recoupments,
        reverted,
    })
}
