//! The terms of an artist's agreement with the label, and the rules that make them coherent.
//!
//! An agreement is written by a person in a form, so all of its problems should be reported at
//! once, each against the input field that causes it: [`AgreementTerms::validate`] returns every
//! [`TermError`] with the camelCase name of the GraphQL input field, which the API passes on as
//! `userErrors` without translation. Shares are parts per billion as in [`crate::share`]; money
//! is nano-units as in [`crate::money`].

use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::enums::string_enum;
use crate::share::Share;

string_enum! {
    /// Who owns the master recordings made under the agreement.
    pub enum MasterOwner: "master owner" {
        /// The label owns 100 %.
        Label => "label",
        /// The artist owns 100 %; the label licenses.
        Artist => "artist",
        /// Both, the label holding `label_master_share_ppb`.
        Joint => "joint",
    }
}

string_enum! {
    /// What the artist's revenue share is applied to.
    pub enum DealBasis: "deal basis" {
        /// Earnings as received.
        Gross => "gross",
        /// Earnings after recoupable costs are recouped.
        Net => "net",
    }
}

string_enum! {
    /// Which earnings recoup the advance and expenses.
    pub enum RecoupmentScope: "recoupment scope" {
        /// Each release recoups its own costs.
        Release => "release",
        /// All of the artist's releases recoup all of their costs together.
        CrossCollateralized => "cross_collateralized",
    }
}

string_enum! {
    /// What happens to the artist's releases when they leave the label.
    pub enum ExitReleasePolicy: "exit release policy" {
        /// Releases stay in stores.
        Stay => "stay",
        /// Releases are taken down.
        TakeDown => "take_down",
    }
}

string_enum! {
    /// The label's rights over the artist's future releases.
    pub enum FutureRights: "future rights" {
        /// No rights.
        None => "none",
        /// The label may match any offer first.
        FirstRefusal => "first_refusal",
        /// The label holds a number of options on future releases.
        Options => "options",
    }
}

string_enum! {
    /// Who a payee is, for statements and reports.
    pub enum PayeeKind: "payee kind" {
        /// A roster artist.
        Artist => "artist",
        /// A producer with points.
        Producer => "producer",
        /// A featured guest.
        Featured => "featured",
        /// The label itself.
        Label => "label",
        /// Anyone else.
        Other => "other",
    }
}

/// One problem with agreement terms, against the GraphQL input field that causes it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{field}: {message}")]
pub struct TermError {
    /// camelCase input field name, e.g. `"labelMasterShare"`.
    pub field: &'static str,
    /// What is wrong, for a person.
    pub message: String,
}

impl TermError {
    fn new(field: &'static str, message: impl Into<String>) -> TermError {
        TermError {
            field,
            message: message.into(),
        }
    }
}

/// The terms of an agreement, as entered. Check them with [`AgreementTerms::validate`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgreementTerms {
    /// Who owns the masters.
    pub master_owner: MasterOwner,
    /// The label's share of the masters in ppb: 100 % for label, 0 for artist, between for
    /// joint.
    pub label_master_share_ppb: u64,
    /// The artist's share of revenue in ppb; the label keeps the rest.
    pub artist_revenue_share_ppb: u64,
    /// Gross or net of recouped costs.
    pub deal_basis: DealBasis,
    /// Per release or cross-collateralised.
    pub recoupment_scope: RecoupmentScope,
    /// The advance paid to the artist, in nano-units of the organisation's base currency.
    pub advance_nanos: i64,
    /// Whether the artist may take down their own releases.
    pub artist_may_take_down: bool,
    /// Masters revert to the artist this many months after they leave; `None` = never.
    pub masters_revert_after_months: Option<u32>,
    /// What happens to releases when the artist leaves.
    pub exit_release_policy: ExitReleasePolicy,
    /// Rights over future releases.
    pub future_rights: FutureRights,
    /// Number of options, only with [`FutureRights::Options`].
    pub future_options_count: Option<u32>,
    /// First day of the term.
    pub starts_on: NaiveDate,
    /// Last day of the term; `None` = open-ended.
    pub ends_on: Option<NaiveDate>,
}

impl AgreementTerms {
    /// Checks the terms, returning every problem found.
    ///
    /// # Errors
    ///
    /// A non-empty list of [`TermError`]s, one per problem, in field order.
    pub fn validate(&self) -> Result<(), Vec<TermError>> {
        let mut errors = Vec::new();
        let whole = Share::WHOLE_PPB;
        let label_share = self.label_master_share_ppb;
        match self.master_owner {
            MasterOwner::Joint if label_share == 0 || label_share >= whole => {
                errors.push(TermError::new(
                    "labelMasterShare",
                    "a jointly owned master needs a label share above 0% and below 100%",
                ));
            }
            MasterOwner::Label if label_share != whole => errors.push(TermError::new(
                "labelMasterShare",
                "when the label owns the master its share must be 100%",
            )),
            MasterOwner::Artist if label_share != 0 => errors.push(TermError::new(
                "labelMasterShare",
                "when the artist owns the master the label's share must be 0%",
            )),
            _ => {}
        }
        if self.artist_revenue_share_ppb > whole {
            errors.push(TermError::new(
                "artistRevenueShare",
                "the artist's revenue share must be at most 100%",
            ));
        }
        if self.advance_nanos < 0 {
            errors.push(TermError::new("advance", "the advance cannot be negative"));
        }
        if self.masters_revert_after_months == Some(0) {
            errors.push(TermError::new(
                "mastersRevertAfterMonths",
                "masters revert after at least 1 month; leave it empty if they never revert",
            ));
        }
        match (self.future_rights, self.future_options_count) {
            (FutureRights::Options, None) => errors.push(TermError::new(
                "futureOptionsCount",
                "give the number of options the label holds",
            )),
            (FutureRights::Options, Some(0)) => errors.push(TermError::new(
                "futureOptionsCount",
                "the label must hold at least 1 option",
            )),
            (FutureRights::None | FutureRights::FirstRefusal, Some(_)) => {
                errors.push(TermError::new(
                    "futureOptionsCount",
                    "an options count is only allowed when future rights are options",
                ));
            }
            _ => {}
        }
        if let Some(ends_on) = self.ends_on
            && ends_on <= self.starts_on
        {
            errors.push(TermError::new(
                "endsOn",
                format!(
                    "the end date must be after the start date ({})",
                    self.starts_on
                ),
            ));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// The label's share of revenue in ppb: the whole minus the artist's share.
    #[must_use]
    pub fn label_revenue_share_ppb(&self) -> u64 {
        Share::WHOLE_PPB.saturating_sub(self.artist_revenue_share_ppb)
    }

    /// The day the masters revert to an artist who left on `left_on`: `left_on` plus
    /// `masters_revert_after_months` calendar months, or `None` when they never revert.
    ///
    /// A day past the end of the target month is clamped to its last day (left on 31 August,
    /// six months → 28 or 29 February), which is how a contract's "N months after" is read.
    #[must_use]
    pub fn master_reverted_on(&self, left_on: NaiveDate) -> Option<NaiveDate> {
        let months = self.masters_revert_after_months?;
        left_on.checked_add_months(Months::new(months))
    }
}

/// When an agreement applies: its id (the tie-break) and its term.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgreementTerm {
    /// The stored agreement's id: between agreements starting the same day, the higher id (the
    /// one entered later) wins.
    pub id: i64,
    /// First day of the term.
    pub starts_on: NaiveDate,
    /// Last day of the term; `None` = open-ended. Not read by [`agreement_in_force`]: see there.
    pub ends_on: Option<NaiveDate>,
}

/// Which of an artist's agreements governs a sale made, or a decision taken, on `day`: the
/// latest one started on or before `day` (greatest `starts_on`, then greatest id), **whether
/// or not its term has ended**; for a day before every start, the first one. `None` only when
/// there is no agreement at all. The order of `agreements` does not matter.
///
/// # What an ended agreement means for later sales
///
/// The end of an agreement closes the term in which recordings are made and delivered, not the
/// life of the recordings made under it: sales of them after `endsOn` are still paid under its
/// revenue split, deal basis and recoupment. What changes after an artist's exit is said by the
/// agreement's exit terms, not by its end date: the masters revert
/// [`masters_revert_after_months`](AgreementTerms::masters_revert_after_months) after the artist
/// leaves ([`crate::allocation::masters_reverted`]: the label then takes nothing from those
/// sales), and [`exit_release_policy`](AgreementTerms::exit_release_policy) says whether the
/// releases stay up. Only a newer agreement (a renewal, a new deal) replaces an ended one, from
/// its own start. A sale dated before the first agreement (a catalogue signed with its back
/// sales) is governed by the first.
///
/// The API (`Artist.currentAgreement`, an artist's right to take down a release, the exit
/// terms applied on leaving) and the allocation job all ask this function.
#[must_use]
pub fn agreement_in_force<A>(
    agreements: &[A],
    day: NaiveDate,
    term: impl Fn(&A) -> AgreementTerm,
) -> Option<&A> {
    let order = |a: &&A| {
        let t = term(a);
        (t.starts_on, t.id)
    };
    agreements
        .iter()
        .filter(|a| term(a).starts_on <= day)
        .max_by_key(order)
        .or_else(|| agreements.iter().min_by_key(order))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
    }

    fn terms() -> AgreementTerms {
        AgreementTerms {
            master_owner: MasterOwner::Label,
            label_master_share_ppb: Share::WHOLE_PPB,
            artist_revenue_share_ppb: 500_000_000,
            deal_basis: DealBasis::Net,
            recoupment_scope: RecoupmentScope::Release,
            advance_nanos: 1_000 * crate::money::NANOS_PER_UNIT,
            artist_may_take_down: false,
            masters_revert_after_months: Some(24),
            exit_release_policy: ExitReleasePolicy::Stay,
            future_rights: FutureRights::Options,
            future_options_count: Some(2),
            starts_on: date(2025, 1, 1),
            ends_on: Some(date(2027, 1, 1)),
        }
    }

    fn fields(t: &AgreementTerms) -> Vec<&'static str> {
        match t.validate() {
            Ok(()) => Vec::new(),
            Err(errors) => errors.iter().map(|e| e.field).collect(),
        }
    }

    #[test]
    fn good_terms_validate() {
        assert_eq!(terms().validate(), Ok(()));
        let joint = AgreementTerms {
            master_owner: MasterOwner::Joint,
            label_master_share_ppb: 500_000_000,
            future_rights: FutureRights::None,
            future_options_count: None,
            ends_on: None,
            ..terms()
        };
        assert_eq!(joint.validate(), Ok(()));
        assert_eq!(joint.label_revenue_share_ppb(), 500_000_000);
    }

    #[test]
    fn master_share_must_match_owner() {
        for (owner, share, ok) in [
            (MasterOwner::Joint, 0, false),
            (MasterOwner::Joint, Share::WHOLE_PPB, false),
            (MasterOwner::Joint, 1, true),
            (MasterOwner::Label, 999_999_999, false),
            (MasterOwner::Artist, 0, true),
            (MasterOwner::Artist, 1, false),
        ] {
            let t = AgreementTerms {
                master_owner: owner,
                label_master_share_ppb: share,
                ..terms()
            };
            let expected: Vec<&str> = if ok { vec![] } else { vec!["labelMasterShare"] };
            assert_eq!(fields(&t), expected, "{owner} {share}");
        }
    }

    #[test]
    fn all_problems_are_reported_at_once() {
        let t = AgreementTerms {
            artist_revenue_share_ppb: Share::WHOLE_PPB + 1,
            advance_nanos: -1,
            masters_revert_after_months: Some(0),
            future_options_count: None,
            ends_on: Some(date(2025, 1, 1)),
            ..terms()
        };
        assert_eq!(
            fields(&t),
            vec![
                "artistRevenueShare",
                "advance",
                "mastersRevertAfterMonths",
                "futureOptionsCount",
                "endsOn"
            ]
        );
        let errors = t.validate().expect_err("invalid");
        assert_eq!(
            errors[4].to_string(),
            "endsOn: the end date must be after the start date (2025-01-01)"
        );
    }

    #[test]
    fn options_count_only_with_options() {
        let t = AgreementTerms {
            future_options_count: Some(0),
            ..terms()
        };
        assert_eq!(fields(&t), vec!["futureOptionsCount"]);
        let t = AgreementTerms {
            future_rights: FutureRights::FirstRefusal,
            ..terms()
        };
        assert_eq!(fields(&t), vec!["futureOptionsCount"]);
    }

    #[test]
    fn masters_revert_n_calendar_months_after_leaving() {
        let t = terms();
        assert_eq!(
            t.master_reverted_on(date(2025, 3, 15)),
            Some(date(2027, 3, 15))
        );
        let six = AgreementTerms {
            masters_revert_after_months: Some(6),
            ..terms()
        };
        assert_eq!(
            six.master_reverted_on(date(2025, 8, 31)),
            Some(date(2026, 2, 28))
        );
        let never = AgreementTerms {
            masters_revert_after_months: None,
            ..terms()
        };
        assert_eq!(never.master_reverted_on(date(2025, 8, 31)), None);
    }

    #[test]
    fn enum_words() {
        assert_eq!(
            RecoupmentScope::CrossCollateralized.as_str(),
            "cross_collateralized"
        );
        assert_eq!(ExitReleasePolicy::TakeDown.as_str(), "take_down");
        assert_eq!(FutureRights::FirstRefusal.as_str(), "first_refusal");
        assert_eq!("joint".parse(), Ok(MasterOwner::Joint));
        assert_eq!(PayeeKind::ALL.len(), 5);
        assert_eq!(DealBasis::ALL, &[DealBasis::Gross, DealBasis::Net]);
        for k in PayeeKind::ALL {
            assert_eq!(k.as_str().parse(), Ok(*k));
        }
    }
}
