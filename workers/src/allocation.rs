//! What allocating an organisation's statement lines reads: its catalogue, splits, agreements,
//! payees and recoupables, loaded once per job into the shapes `domain::allocation` takes.
//!
//! The rules themselves live in `domain`; this module only loads and looks up.

use std::collections::HashMap;

use anyhow::Context as _;
use chrono::NaiveDate;
use domain::agreement::{
    AgreementTerm, AgreementTerms, DealBasis, ExitReleasePolicy, FutureRights, MasterOwner,
    PayeeKind, RecoupmentScope, agreement_in_force,
};
use domain::allocation::{LineInput, SplitVersion, split_in_effect};
use domain::recoupment::{Recoupable, RecoupableKind, RecoupableScope};
use domain::share::Share;
use entity::{agreement, artist, payee, recoupable, release, split, split_share, track};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

/// The domain's view of a stored agreement.
///
/// # Errors
/// When a stored value is not one the domain knows (the database was edited by hand).
pub fn terms_of(row: &agreement::Model) -> anyhow::Result<AgreementTerms> {
    let bad = |what: &str| anyhow::anyhow!("agreement {}: bad stored {what}", row.id);
    Ok(AgreementTerms {
        master_owner: row.master_owner.parse().map_err(|_| bad("master_owner"))?,
        label_master_share_ppb: u64::try_from(row.label_master_share_ppb)
            .map_err(|_| bad("label share"))?,
        artist_revenue_share_ppb: u64::try_from(row.artist_revenue_share_ppb)
            .map_err(|_| bad("revenue share"))?,
        deal_basis: row.deal_basis.parse().map_err(|_| bad("deal_basis"))?,
        recoupment_scope: row
            .recoupment_scope
            .parse()
            .map_err(|_| bad("recoupment_scope"))?,
        advance_nanos: row.advance_nanos,
        artist_may_take_down: row.artist_may_take_down,
        masters_revert_after_months: row
            .masters_revert_after_months
            .map(|m| u32::try_from(m).map_err(|_| bad("revert months")))
            .transpose()?,
        exit_release_policy: row
            .exit_release_policy
            .parse()
            .map_err(|_| bad("exit_release_policy"))?,
        future_rights: row
            .future_rights
            .parse()
            .map_err(|_| bad("future_rights"))?,
        future_options_count: row
            .future_options_count
            .map(|m| u32::try_from(m).map_err(|_| bad("options count")))
            .transpose()?,
        starts_on: row.starts_on,
        ends_on: row.ends_on,
    })
}

/// The scope a stored recoupable recoups from: cross-collateralised when flagged so or when it
/// is tied to no release, else its release.
#[must_use]
pub fn scope_of(row: &recoupable::Model) -> RecoupableScope {
    match (row.cross_collateralized, row.release_id) {
        (false, Some(release_id)) => RecoupableScope::Release { release_id },
        _ => RecoupableScope::CrossCollateralized,
    }
}

/// The domain's view of a stored recoupable, with its running balance.
///
/// # Errors
/// When the stored kind is unknown.
pub fn recoupable_of(row: &recoupable::Model) -> anyhow::Result<Option<Recoupable>> {
    let Some(payee_id) = row.payee_id else {
        // A collective's shared cost before it is divided: only its members' parts recoup.
        return Ok(None);
    };
    let kind: RecoupableKind = row
        .kind
        .parse()
        .map_err(|_| anyhow::anyhow!("recoupable {}: bad stored kind", row.id))?;
    Ok(Some(Recoupable {
        id: row.id,
        payee_id,
        kind,
        scope: scope_of(row),
        incurred_on: row.incurred_on,
        amount_nanos: row.amount_nanos,
        recouped_nanos: row.recouped_nanos,
    }))
}

/// The terms used when an artist has no agreement at all: nobody is an artist payee then, so
/// the split is paid as it stands (the label payee's slice to the label, everyone else's in
/// full) and no revenue split, recoupment or reversion applies.
fn no_agreement() -> AgreementTerms {
    AgreementTerms {
        master_owner: MasterOwner::Label,
        label_master_share_ppb: Share::WHOLE_PPB,
        artist_revenue_share_ppb: Share::WHOLE_PPB,
        deal_basis: DealBasis::Gross,
        recoupment_scope: RecoupmentScope::Release,
        advance_nanos: 0,
        artist_may_take_down: false,
        masters_revert_after_months: None,
        exit_release_policy: ExitReleasePolicy::Stay,
        future_rights: FutureRights::None,
        future_options_count: None,
        starts_on: NaiveDate::MIN,
        ends_on: None,
    }
}

/// Why a matched line could not be allocated: shown on the statement, counted per reason.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Unallocated {
    /// The organisation has no label payee (it was deleted by hand).
    NoLabelPayee,
    /// The line's track or release is not in the catalogue any more.
    UnknownCatalogue,
    /// No split is in effect for the line's sale date.
    NoSplit,
    /// The split in effect has a share its payee has not confirmed, and the organisation holds
    /// such splits (split consent).
    SplitUnconfirmed,
    /// The line is in another currency and there is no exchange rate yet.
    NoExchangeRate(String),
    /// The domain refused the inputs (an invalid stored split, say).
    Rejected(String),
}

impl std::fmt::Display for Unallocated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NoLabelPayee => f.write_str("the organisation has no label payee"),
            Self::UnknownCatalogue => f.write_str("the matched track or release no longer exists"),
            Self::NoSplit => f.write_str("no split is in effect on the sale date"),
            Self::SplitUnconfirmed => {
                f.write_str("held: a payee has not confirmed their share of the split in effect")
            }
            Self::NoExchangeRate(currency) => write!(
                f,
                "the line is in {currency} and there is no exchange rate to the base currency"
            ),
            Self::Rejected(reason) => f.write_str(reason),
        }
    }
}

/// Everything allocation reads about one organisation, loaded once per job.
#[derive(Debug)]
pub struct OrgBook {
    label_payee: Option<i64>,
    track_release: HashMap<i64, i64>,
    release_artist: HashMap<i64, i64>,
    release_splits: HashMap<i64, Vec<SplitVersion>>,
    track_splits: HashMap<i64, Vec<SplitVersion>>,
    /// Per artist: `(agreement id, terms)`.
    agreements: HashMap<i64, Vec<(i64, AgreementTerms)>>,
    artist_payees: HashMap<i64, Vec<i64>>,
    artist_left_on: HashMap<i64, NaiveDate>,
    neutral: AgreementTerms,
    /// Split consent: the splits whose lines are held (the organisation holds unconfirmed
    /// splits, and these have a share not yet confirmed).
    held_splits: std::collections::HashSet<i64>,
}

/// A line's allocation inputs, borrowed from the [`OrgBook`].
#[derive(Debug)]
pub struct Resolved<'a> {
    pub release_id: i64,
    pub input: LineInput<'a>,
}

impl OrgBook {
    /// Loads the organisation's catalogue, splits, agreements and payees.
    ///
    /// # Errors
    /// Database failures, or a stored value the domain does not know.
    pub async fn load(db: &impl ConnectionTrait, organization_id: i64) -> anyhow::Result<Self> {
        let mut book = OrgBook {
            label_payee: None,
            track_release: HashMap::new(),
            release_artist: HashMap::new(),
            release_splits: HashMap::new(),
            track_splits: HashMap::new(),
            agreements: HashMap::new(),
            artist_payees: HashMap::new(),
            artist_left_on: HashMap::new(),
            neutral: no_agreement(),
            held_splits: std::collections::HashSet::new(),
        };
        let payees = payee::Entity::find()
            .filter(payee::Column::OrganizationId.eq(organization_id))
            .order_by_asc(payee::Column::Id)
            .all(db)
            .await?;
        for p in &payees {
            let kind: PayeeKind = p
                .kind
                .parse()
                .map_err(|_| anyhow::anyhow!("payee {}: bad stored kind", p.id))?;
            match (kind, p.artist_id) {
                // The oldest label payee (payees come in id order) is the label's own account.
                (PayeeKind::Label, _) if book.label_payee.is_none() => {
                    book.label_payee = Some(p.id);
                }
                (PayeeKind::Artist, Some(artist_id)) => {
                    book.artist_payees.entry(artist_id).or_default().push(p.id);
                }
                _ => {}
            }
        }
        let tracks: Vec<(i64, i64)> = track::Entity::find()
            .select_only()
            .column(track::Column::Id)
            .column(track::Column::ReleaseId)
            .filter(track::Column::OrganizationId.eq(organization_id))
            .into_tuple()
            .all(db)
            .await?;
        book.track_release = tracks.into_iter().collect();
        let releases: Vec<(i64, i64)> = release::Entity::find()
            .select_only()
            .column(release::Column::Id)
            .column(release::Column::ArtistId)
            .filter(release::Column::OrganizationId.eq(organization_id))
            .into_tuple()
            .all(db)
            .await?;
        book.release_artist = releases.into_iter().collect();
        let left: Vec<(i64, Option<NaiveDate>)> = artist::Entity::find()
            .select_only()
            .column(artist::Column::Id)
            .column(artist::Column::LeftOn)
            .filter(artist::Column::OrganizationId.eq(organization_id))
            .into_tuple()
            .all(db)
            .await?;
        book.artist_left_on = left
            .into_iter()
            .filter_map(|(id, left_on)| left_on.map(|d| (id, d)))
            .collect();

        let agreements = agreement::Entity::find()
            .filter(agreement::Column::OrganizationId.eq(organization_id))
            .all(db)
            .await?;
        for a in &agreements {
            book.agreements
                .entry(a.artist_id)
                .or_default()
                .push((a.id, terms_of(a)?));
        }

        let splits = split::Entity::find()
            .filter(split::Column::OrganizationId.eq(organization_id))
            .all(db)
            .await?;
        let shares = split_share::Entity::find()
            .filter(split_share::Column::OrganizationId.eq(organization_id))
            .all(db)
            .await?;
        // Split consent (the one rule: domain::consent::may_allocate).
        let setting: domain::consent::UnconfirmedSplits =
            entity::organization::Entity::find_by_id(organization_id)
                .one(db)
                .await?
                .map_or_else(
                    || Ok(domain::consent::UnconfirmedSplits::Pay),
                    |o| o.unconfirmed_splits.parse(),
                )
                .map_err(|_| {
                    anyhow::anyhow!("organization {organization_id}: bad unconfirmed_splits")
                })?;
        let mut confirmations: HashMap<i64, Vec<bool>> = HashMap::new();
        for s in &shares {
            confirmations
                .entry(s.split_id)
                .or_default()
                .push(s.confirmed_at.is_some());
        }
        book.held_splits = confirmations
            .into_iter()
            .filter(|(_, confirmed)| {
                !domain::consent::may_allocate(setting, confirmed.iter().copied())
            })
            .map(|(split, _)| split)
            .collect();
        let mut by_split: HashMap<i64, Vec<(i64, Share)>> = HashMap::new();
        for s in shares {
            let ppb = u64::try_from(s.share_ppb)
                .ok()
                .and_then(|p| Share::from_ppb(p).ok());
            let share = ppb.with_context(|| format!("split share {}: bad stored share", s.id))?;
            by_split
                .entry(s.split_id)
                .or_default()
                .push((s.payee_id, share));
        }
        for s in splits {
            let mut shares = by_split.remove(&s.id).unwrap_or_default();
            shares.sort_by_key(|(payee, _)| *payee);
            let version = SplitVersion {
                id: s.id,
                effective_from: s.effective_from,
                shares,
            };
            match s.track_id {
                Some(track_id) => book.track_splits.entry(track_id).or_default().push(version),
                None => book
                    .release_splits
                    .entry(s.release_id)
                    .or_default()
                    .push(version),
            }
        }
        Ok(book)
    }

    /// The allocation inputs of a line matched to `track_id` (or only to `release_id`), sold on
    /// `sale_date`, for `amount_nanos` of the base currency.
    ///
    /// # Errors
    /// Why the line cannot be allocated.
    pub fn resolve(
        &self,
        track_id: Option<i64>,
        release_id: Option<i64>,
        sale_date: NaiveDate,
        amount_nanos: i64,
    ) -> Result<Resolved<'_>, Unallocated> {
        let label_payee_id = self.label_payee.ok_or(Unallocated::NoLabelPayee)?;
        let release_id = match track_id {
            Some(t) => *self
                .track_release
                .get(&t)
                .ok_or(Unallocated::UnknownCatalogue)?,
            None => release_id.ok_or(Unallocated::UnknownCatalogue)?,
        };
        let artist_id = *self
            .release_artist
            .get(&release_id)
            .ok_or(Unallocated::UnknownCatalogue)?;
        let empty: &[SplitVersion] = &[];
        let track_versions = track_id
            .and_then(|t| self.track_splits.get(&t))
            .map_or(empty, Vec::as_slice);
        let release_versions = self
            .release_splits
            .get(&release_id)
            .map_or(empty, Vec::as_slice);
        let split = split_in_effect(track_versions, release_versions, sale_date)
            .ok_or(Unallocated::NoSplit)?;
        // Split consent: a held split's lines wait for its last confirmation.
        if self.held_splits.contains(&split.id) {
            return Err(Unallocated::SplitUnconfirmed);
        }
        let (terms, artist_payee_ids): (&AgreementTerms, &[i64]) =
            match self.agreements.get(&artist_id) {
                Some(versions) => {
                    // The agreement in force on the sale date, ended or not (see the domain).
                    let (_, terms) =
                        agreement_in_force(versions, sale_date, |(id, t)| AgreementTerm {
                            id: *id,
                            starts_on: t.starts_on,
                            ends_on: t.ends_on,
                        })
                        .ok_or(Unallocated::UnknownCatalogue)?;
                    let payees = self
                        .artist_payees
                        .get(&artist_id)
                        .map_or(&[][..], Vec::as_slice);
                    (terms, payees)
                }
                None => (&self.neutral, &[]),
            };
        Ok(Resolved {
            release_id,
            input: LineInput {
                amount_nanos,
                release_id,
                sale_date,
                shares: &split.shares,
                label_payee_id,
                artist_payee_ids,
                terms,
                artist_left_on: self.artist_left_on.get(&artist_id).copied(),
            },
        })
    }
}
