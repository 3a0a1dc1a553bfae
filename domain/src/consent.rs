//! Split consent: each payee of a split confirms their share.
//!
//! - **Who confirms.** A payee of an artist who has an ARTIST member is confirmed by that
//!   member, herself (`confirmSplitShare`, [`crate::auth::Permission::ActAsArtist`]). Any other
//!   payee (a producer outside Imprint, the label's own payee, an artist with no member) has
//!   nobody to confirm for them in Imprint: the label member who sets the split speaks for them,
//!   so their share is confirmed as it is set ([`confirmed_when_set`]).
//! - **What a change resets.** Setting a split again keeps the confirmation of every share it
//!   leaves unchanged (same payee, same share) and resets the others ([`keeps_confirmation`]).
//! - **Paid or held.** An organisation setting ([`UnconfirmedSplits`]) decides whether a line
//!   whose split in effect has an unconfirmed share is paid by the split as it stands (the
//!   default) or held, unallocated, until every share is confirmed ([`may_allocate`]).

use crate::enums::string_enum;

string_enum! {
    /// What allocation does with a split that not every payee has confirmed.
    pub enum UnconfirmedSplits: "unconfirmed splits setting" {
        /// Paid by the split as it stands: consent is shown and flagged, not enforced.
        Pay => "pay",
        /// Held: its lines wait, unallocated, until every share is confirmed.
        Hold => "hold",
    }
}

/// Whether a line may be allocated by a split whose shares' confirmations are `confirmed`.
#[must_use]
pub fn may_allocate(setting: UnconfirmedSplits, confirmed: impl IntoIterator<Item = bool>) -> bool {
    match setting {
        UnconfirmedSplits::Pay => true,
        UnconfirmedSplits::Hold => confirmed.into_iter().all(|c| c),
    }
}

/// Whether a share is confirmed as the label sets it: when no artist member speaks for its
/// payee (`payee_artist_member`: the payee belongs to an artist who has an ARTIST member).
#[must_use]
pub const fn confirmed_when_set(payee_artist_member: bool) -> bool {
    !payee_artist_member
}

/// Whether a share set again keeps its confirmation: the version it replaces (`previous`,
/// `(payee, share in ppb)`) gave the same payee the same share.
#[must_use]
pub fn keeps_confirmation(previous: &[(i64, i64)], payee_id: i64, share_ppb: i64) -> bool {
    previous.contains(&(payee_id, share_ppb))
}

/// Whether an artist member of `member_artist` may confirm a share whose payee belongs to
/// `payee_artist`: her own artist's payee only.
#[must_use]
pub fn artist_confirms(member_artist: i64, payee_artist: Option<i64>) -> bool {
    payee_artist == Some(member_artist)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pay_by_default_hold_until_all_confirmed() {
        assert!(may_allocate(UnconfirmedSplits::Pay, [false, true]));
        assert!(!may_allocate(UnconfirmedSplits::Hold, [true, false]));
        assert!(may_allocate(UnconfirmedSplits::Hold, [true, true]));
        assert_eq!("hold".parse(), Ok(UnconfirmedSplits::Hold));
    }

    #[test]
    fn a_change_resets_changed_shares_only() {
        let previous = [(1, 600_000_000), (2, 400_000_000)];
        assert!(keeps_confirmation(&previous, 1, 600_000_000));
        assert!(!keeps_confirmation(&previous, 2, 300_000_000));
        assert!(!keeps_confirmation(&previous, 3, 100_000_000));
    }

    #[test]
    fn who_confirms() {
        assert!(confirmed_when_set(false));
        assert!(!confirmed_when_set(true));
        assert!(artist_confirms(7, Some(7)));
        assert!(!artist_confirms(7, Some(8)));
        assert!(!artist_confirms(7, None));
    }
}
