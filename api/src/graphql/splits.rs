//! Royalty splits: who gets which share of a release's (or one track's) earnings, versioned
//! by the date from which each version applies. Shares must sum to exactly 100 %.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use domain::share::Share;
use entity::{membership, payee, split, split_share};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};

use super::access::{ContextExt, Permission};
use super::audit::{self, Change};
use super::catalogue::{Release, Track};
use super::enums::PayeeKind;
use super::error::{ApiResult, UserError, UserErrors};
use super::guard::{self, Seen};
use super::ids::{self, Kind};
use super::loaders::Loaders;
use super::payees::Payee;

pub const RELEASE_SCOPE: &str = "release";

#[must_use]
pub fn track_scope(track_id: i64) -> String {
    format!("track:{track_id}")
}

/// The split in effect on `day` for a release's track (`track_id`: its own override first,
/// else the release's split) or for the release itself (`track_id = None`), among the
/// release's stored splits `rows`, by the one rule ([`domain::allocation::split_in_effect_by`],
/// the same the allocation uses).
#[must_use]
pub fn split_in_effect(
    rows: Vec<split::Model>,
    track_id: Option<i64>,
    day: NaiveDate,
) -> Option<split::Model> {
    let (own, release): (Vec<split::Model>, Vec<split::Model>) = rows
        .into_iter()
        .partition(|s| track_id.is_some() && s.track_id == track_id);
    let release: Vec<split::Model> = release
        .into_iter()
        .filter(|s| s.track_id.is_none())
        .collect();
    domain::allocation::split_in_effect_by(&own, &release, day, |s| {
        domain::allocation::VersionKey {
            effective_from: s.effective_from,
            id: s.id,
        }
    })
    .cloned()
}

pub struct Split(pub Seen<split::Model>);

#[Object]
impl Split {
    pub async fn id(&self) -> ID {
        ids::encode(Kind::Split, self.0.id)
    }
    async fn release(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Release>> {
        let row = ctx
            .data_unchecked::<super::loaders::Loaders>()
            .release
            .load_one(self.0.release_id)
            .await?;
        Ok(guard::admit_opt(ctx, row).await?.map(Release))
    }
    /// Set when this split overrides the release's split for one track.
    async fn track(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Track>> {
        let Some(id) = self.0.track_id else {
            return Ok(None);
        };
        let row = ctx
            .data_unchecked::<super::loaders::Loaders>()
            .track
            .load_one(id)
            .await?;
        Ok(guard::admit_opt(ctx, row).await?.map(Track))
    }
    /// Applies to sales from this date until the next version's.
    async fn effective_from(&self) -> NaiveDate {
        self.0.effective_from
    }
    async fn shares(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<SplitShare>> {
        let rows = ctx
            .data_unchecked::<Loaders>()
            .shares_by_split
            .load_one(self.0.id)
            .await?
            .unwrap_or_default();
        Ok(guard::admit_all(ctx, rows)
            .await?
            .into_iter()
            .map(SplitShare)
            .collect())
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Split consent: how many of its shares their payees have confirmed, and how many wait.
    async fn consent(&self, ctx: &Context<'_>) -> async_graphql::Result<SplitConsent> {
        let rows = ctx
            .data_unchecked::<Loaders>()
            .shares_by_split
            .load_one(self.0.id)
            .await?
            .unwrap_or_default();
        let confirmed = rows.iter().filter(|s| s.confirmed_at.is_some()).count();
        Ok(SplitConsent {
            confirmed: i32::try_from(confirmed).unwrap_or(i32::MAX),
            pending: i32::try_from(rows.len() - confirmed).unwrap_or(i32::MAX),
        })
    }
}

/// How many shares of a split are confirmed by their payees, and how many are not yet.
#[derive(SimpleObject, Debug, Clone, Copy)]
pub struct SplitConsent {
    pub confirmed: i32,
    pub pending: i32,
}

pub struct SplitShare(pub Seen<split_share::Model>);

#[Object]
impl SplitShare {
    pub async fn id(&self) -> ID {
        ids::encode(Kind::SplitShare, self.0.id)
    }
    /// Whether the payee has confirmed this share (split consent). Shares of payees nobody in
    /// Imprint speaks for are confirmed by the label as it sets them.
    async fn confirmed(&self) -> bool {
        self.0.confirmed_at.is_some()
    }
    async fn confirmed_at(&self) -> Option<DateTime<Utc>> {
        self.0.confirmed_at
    }
    /// The payee, for a caller who may see it (an artist member sees her own payees, not her
    /// co-payees: their name and role are beside the share).
    async fn payee(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Payee>> {
        let row = ctx
            .data_unchecked::<Loaders>()
            .payee
            .load_one(self.0.payee_id)
            .await?;
        Ok(guard::admit_opt(ctx, row).await?.map(Payee))
    }
    /// Who shares: the payee's name, for whoever sees the split.
    async fn payee_name(&self, ctx: &Context<'_>) -> async_graphql::Result<String> {
        Ok(self
            .payee_row(ctx)
            .await?
            .map(|p| p.name)
            .unwrap_or_default())
    }
    /// In what role: the payee's kind (artist, producer, featured…), for whoever sees the split.
    async fn payee_kind(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<PayeeKind>> {
        Ok(self
            .payee_row(ctx)
            .await?
            .map(|p| PayeeKind::from_db(&p.kind))
            .transpose()?)
    }
    /// Percent, exact, e.g. "33.3333334".
    async fn share(&self) -> String {
        u64::try_from(self.0.share_ppb)
            .ok()
            .and_then(|p| Share::from_ppb(p).ok())
            .map_or_else(|| "0".to_owned(), |s| s.to_percent_string())
    }
}

impl SplitShare {
    async fn payee_row(&self, ctx: &Context<'_>) -> ApiResult<Option<entity::payee::Model>> {
        Ok(ctx
            .data_unchecked::<Loaders>()
            .payee
            .load_one(self.0.payee_id)
            .await?)
    }
}

#[derive(InputObject)]
pub struct SplitShareInput {
    pub payee_id: ID,
    /// Percent as a decimal string, at most 7 decimal places: "60", "33.3333334".
    pub share: String,
}

#[derive(InputObject)]
pub struct SetSplitInput {
    pub release_id: ID,
    /// Set to override the release's split for one of its tracks.
    pub track_id: Option<ID>,
    /// Sales from this date on use this version; setting the same date again replaces it.
    pub effective_from: NaiveDate,
    pub shares: Vec<SplitShareInput>,
}

#[derive(SimpleObject, Default)]
pub struct SetSplitPayload {
    pub split: Option<Split>,
    pub user_errors: Vec<UserError>,
}

#[derive(InputObject)]
pub struct ConfirmSplitShareInput {
    pub split_share_id: ID,
}

#[derive(SimpleObject, Default)]
pub struct ConfirmSplitSharePayload {
    pub split_share: Option<SplitShare>,
    pub split: Option<Split>,
    pub user_errors: Vec<UserError>,
}

#[derive(Default)]
pub struct SplitsMutation;

/// Whether every share of the split is confirmed.
async fn all_confirmed(db: &impl sea_orm::ConnectionTrait, split_id: i64) -> ApiResult<bool> {
    Ok(split_share::Entity::find()
        .filter(split_share::Column::SplitId.eq(split_id))
        .filter(split_share::Column::ConfirmedAt.is_null())
        .one(db)
        .await?
        .is_none())
}

/// The payees among `payee_ids` that an artist member speaks for (their artist has one).
async fn spoken_for(
    db: &impl sea_orm::ConnectionTrait,
    organization_id: i64,
    payee_ids: &[i64],
) -> ApiResult<std::collections::HashSet<i64>> {
    let payees = payee::Entity::find()
        .filter(payee::Column::OrganizationId.eq(organization_id))
        .filter(payee::Column::Id.is_in(payee_ids.iter().copied()))
        .all(db)
        .await?;
    let members: std::collections::HashSet<i64> = membership::Entity::find()
        .filter(membership::Column::OrganizationId.eq(organization_id))
        .filter(membership::Column::ArtistId.is_not_null())
        .all(db)
        .await?
        .into_iter()
        .filter_map(|m| m.artist_id)
        .collect();
    Ok(payees
        .into_iter()
        .filter(|p| p.artist_id.is_some_and(|a| members.contains(&a)))
        .map(|p| p.id)
        .collect())
}

#[Object]
impl SplitsMutation {
    /// Split consent: an artist member confirms her own payee's share of a split on her
    /// release. A share of another payee is a user error; the label cannot confirm for her
    /// (it confirms, as it sets the split, the shares of payees no member speaks for).
    /// Confirming twice changes nothing. When it was the last share of a held split, the
    /// lines that waited for it are allocated.
    async fn confirm_split_share(
        &self,
        ctx: &Context<'_>,
        input: ConfirmSplitShareInput,
    ) -> ApiResult<ConfirmSplitSharePayload> {
        let share = guard::fetch::<split_share::Model>(
            ctx,
            Kind::SplitShare,
            &input.split_share_id,
            Permission::ActAsArtist,
        )
        .await?;
        let org = share.organization_id;
        let access = ctx.authorize(org, Permission::ActAsArtist)?;
        let db = ctx.db();
        let payee_artist = payee::Entity::find_by_id(share.payee_id)
            .one(db)
            .await?
            .and_then(|p| p.artist_id);
        let mine = access
            .artist_id
            .is_some_and(|own| domain::consent::artist_confirms(own, payee_artist));
        if !mine {
            return Ok(ConfirmSplitSharePayload {
                split_share: None,
                split: None,
                user_errors: vec![UserError::invalid(
                    "splitShareId",
                    "this share is another payee's: each payee confirms their own",
                )],
            });
        }
        let txn = entity::db::begin_write(db).await?;
        // Conditional: only an unconfirmed share, so a double click confirms once.
        let done = split_share::Entity::update_many()
            .col_expr(
                split_share::Column::ConfirmedAt,
                sea_orm::sea_query::Expr::value(Utc::now()),
            )
            .col_expr(
                split_share::Column::ConfirmedByUserId,
                sea_orm::sea_query::Expr::value(ctx.principal().user_id()),
            )
            .filter(split_share::Column::Id.eq(share.id))
            .filter(split_share::Column::ConfirmedAt.is_null())
            .exec(&txn)
            .await?;
        if done.rows_affected == 1 {
            audit::record(
                &txn,
                ctx.principal(),
                org,
                Change {
                    action: "split_share.confirmed",
                    entity_type: "split_share",
                    entity_id: share.id,
                    before: None,
                    after: Some(serde_json::json!({"confirmed": true})),
                },
            )
            .await?;
        }
        txn.commit().await?;
        let split_id = share.split_id;
        if done.rows_affected == 1 && all_confirmed(db, split_id).await? {
            // A held split is released: the lines that waited for it are allocated now.
            super::ledger::allocate_waiting(ctx, org).await?;
        }
        let row = split_share::Entity::find_by_id(share.id).one(db).await?;
        let split = split::Entity::find_by_id(split_id).one(db).await?;
        Ok(ConfirmSplitSharePayload {
            split_share: guard::admit_opt(ctx, row).await?.map(SplitShare),
            split: guard::admit_opt(ctx, split).await?.map(Split),
            user_errors: Vec::new(),
        })
    }

    async fn set_split(
        &self,
        ctx: &Context<'_>,
        input: SetSplitInput,
    ) -> ApiResult<SetSplitPayload> {
        let release =
            super::catalogue::load_release(ctx, &input.release_id, Permission::ManageSplits)
                .await?;
        let db = ctx.db();
        let org = release.organization_id;
        let mut errors = UserErrors::default();
        let track_id = match &input.track_id {
            Some(id) => match super::refs::find_track(db, org, id).await? {
                Ok(t) if t.release_id == release.id => Some(t.id),
                Ok(_) => {
                    errors.invalid("trackId", "this track is on another release");
                    None
                }
                Err(e) => {
                    errors.push(e.at("trackId"));
                    None
                }
            },
            None => None,
        };
        let mut shares: Vec<(i64, Share)> = Vec::with_capacity(input.shares.len());
        for (i, entry) in input.shares.iter().enumerate() {
            let payee = match super::refs::find_payee(db, org, &entry.payee_id).await? {
                Ok(p) => Some(p.id),
                Err(e) => {
                    errors.push(e.at(&format!("shares.{i}.payeeId")));
                    None
                }
            };
            let share = errors.check(
                &format!("shares.{i}.share"),
                Share::parse_percent(&entry.share),
            );
            if let (Some(payee), Some(share)) = (payee, share) {
                shares.push((payee, share));
            }
        }
        if errors.is_empty()
            && let Err(err) = domain::share::validate_split(&shares)
        {
            errors.invalid("shares", err.to_string());
        }
        if !errors.is_empty() {
            return Ok(SetSplitPayload {
                split: None,
                user_errors: errors.into_vec(),
            });
        }
        let scope_key = track_id.map_or_else(|| RELEASE_SCOPE.to_owned(), track_scope);
        let txn = entity::db::begin_write(db).await?;
        let existing = split::Entity::find()
            .filter(split::Column::ReleaseId.eq(release.id))
            .filter(split::Column::ScopeKey.eq(&scope_key))
            .filter(split::Column::EffectiveFrom.eq(input.effective_from))
            .one(&txn)
            .await?;
        // Split consent: the version this one replaces (the same date's, else the latest of
        // the same scope) lends its confirmations to the shares left unchanged.
        let replaced = match &existing {
            Some(row) => Some(row.id),
            None => split::Entity::find()
                .filter(split::Column::ReleaseId.eq(release.id))
                .filter(split::Column::ScopeKey.eq(&scope_key))
                .order_by_desc(split::Column::EffectiveFrom)
                .order_by_desc(split::Column::Id)
                .one(&txn)
                .await?
                .map(|r| r.id),
        };
        let previous = match replaced {
            Some(id) => {
                split_share::Entity::find()
                    .filter(split_share::Column::SplitId.eq(id))
                    .all(&txn)
                    .await?
            }
            None => Vec::new(),
        };
        let previous_terms: Vec<(i64, i64)> =
            previous.iter().map(|s| (s.payee_id, s.share_ppb)).collect();
        let payee_ids: Vec<i64> = shares.iter().map(|(p, _)| *p).collect();
        let spoken = spoken_for(&txn, org, &payee_ids).await?;
        let now = Utc::now();
        let (row, before) = match existing {
            Some(row) => {
                let old = split_share::Entity::find()
                    .filter(split_share::Column::SplitId.eq(row.id))
                    .all(&txn)
                    .await?;
                split_share::Entity::delete_many()
                    .filter(split_share::Column::SplitId.eq(row.id))
                    .exec(&txn)
                    .await?;
                (row, audit::snapshot(&old))
            }
            None => {
                let row = split::ActiveModel {
                    organization_id: Set(org),
                    release_id: Set(release.id),
                    track_id: Set(track_id),
                    scope_key: Set(scope_key),
                    effective_from: Set(input.effective_from),
                    created_by_user_id: Set(ctx.principal().user_id()),
                    created_at: Set(Utc::now()),
                    ..Default::default()
                }
                .insert(&txn)
                .await?;
                (row, None)
            }
        };
        let mut stored = Vec::with_capacity(shares.len());
        for (payee_id, share) in &shares {
            let ppb = share.ppb() as i64;
            let (confirmed_at, confirmed_by) =
                if domain::consent::keeps_confirmation(&previous_terms, *payee_id, ppb) {
                    previous
                        .iter()
                        .find(|s| s.payee_id == *payee_id && s.share_ppb == ppb)
                        .map_or((None, None), |s| (s.confirmed_at, s.confirmed_by_user_id))
                } else {
                    (None, None)
                };
            let (confirmed_at, confirmed_by) = if confirmed_at.is_none()
                && domain::consent::confirmed_when_set(spoken.contains(payee_id))
            {
                (Some(now), ctx.principal().user_id())
            } else {
                (confirmed_at, confirmed_by)
            };
            stored.push(
                split_share::ActiveModel {
                    organization_id: Set(org),
                    split_id: Set(row.id),
                    payee_id: Set(*payee_id),
                    share_ppb: Set(ppb),
                    confirmed_at: Set(confirmed_at),
                    confirmed_by_user_id: Set(confirmed_by),
                    ..Default::default()
                }
                .insert(&txn)
                .await?,
            );
        }
        audit::record(
            &txn,
            ctx.principal(),
            org,
            Change {
                action: "split.set",
                entity_type: "split",
                entity_id: row.id,
                before,
                after: audit::snapshot(&stored),
            },
        )
        .await?;
        txn.commit().await?;
        // Lines that waited for a split are allocated now; lines already allocated keep their
        // entries until the statement is reallocated.
        super::ledger::allocate_waiting(ctx, org).await?;
        Ok(SetSplitPayload {
            split: guard::admit(ctx, row).await?.map(Split),
            user_errors: Vec::new(),
        })
    }
}
