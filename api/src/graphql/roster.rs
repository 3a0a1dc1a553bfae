//! The roster: artists, their store profiles, and what happens when one leaves.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{NaiveDate, Utc};
use entity::{agreement, artist, artist_profile, payee, release};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};

use super::access::{ContextExt, Permission};
use super::agreements::Agreement;
use super::audit::{self, Change};
use super::catalogue::Release;
use super::connection::{Page, PageArgs, paginate};
use super::enums::{ClaimState, StoreService};
use super::error::{ApiResult, UserError, UserErrorCode, UserErrors};
use super::guard::{self, Seen};
use super::ids::{self, Kind};
use super::loaders::Loaders;
use super::payees::Payee;

pub struct Artist(pub Seen<artist::Model>);

#[Object]
impl Artist {
    pub async fn id(&self) -> ID {
        ids::encode(Kind::Artist, self.0.id)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn sort_name(&self) -> Option<&str> {
        self.0.sort_name.as_deref()
    }
    async fn joined_on(&self) -> NaiveDate {
        self.0.joined_on
    }
    /// Set when the artist left the roster.
    async fn left_on(&self) -> Option<NaiveDate> {
        self.0.left_on
    }
    /// The artist's own profiles on the stores, and whether they have claimed them.
    async fn profiles(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ArtistProfile>> {
        let loaders = ctx.data_unchecked::<Loaders>();
        let rows = loaders
            .profiles_by_artist
            .load_one(self.0.id)
            .await?
            .unwrap_or_default();
        Ok(guard::admit_all(ctx, rows)
            .await?
            .into_iter()
            .map(ArtistProfile)
            .collect())
    }
    /// Every agreement with this artist, oldest first.
    async fn agreements(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Agreement>> {
        let loaders = ctx.data_unchecked::<Loaders>();
        let rows = loaders
            .agreements_by_artist
            .load_one(self.0.id)
            .await?
            .unwrap_or_default();
        Ok(guard::admit_all(ctx, rows)
            .await?
            .into_iter()
            .map(Agreement)
            .collect())
    }
    /// The agreement in force today: the latest one that has started, even if its term has
    /// ended (its terms still govern the sales of the recordings made under it, until a newer
    /// agreement starts); before the first one starts, the first one.
    async fn current_agreement(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<Agreement>> {
        let loaders = ctx.data_unchecked::<Loaders>();
        let rows = loaders
            .agreements_by_artist
            .load_one(self.0.id)
            .await?
            .unwrap_or_default();
        let current = agreement_in_force(rows, Utc::now().date_naive());
        Ok(guard::admit_opt(ctx, current).await?.map(Agreement))
    }
    async fn releases(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Page<Release>> {
        ctx.authorize(self.0.organization_id, Permission::ReadCatalogue)?
            .check_artist(self.0.id)?;
        let select = release::Entity::find()
            .filter(release::Column::OrganizationId.eq(self.0.organization_id))
            .filter(release::Column::ArtistId.eq(self.0.id));
        paginate(
            ctx,
            select,
            release::Column::Id,
            &PageArgs::new(first, after),
            |m| m.id,
            Release,
        )
        .await
    }
    /// The payees linked to this artist (usually one: the artist themself).
    async fn payees(&self, ctx: &Context<'_>) -> ApiResult<Vec<Payee>> {
        let rows = payee::Entity::find()
            .filter(payee::Column::OrganizationId.eq(self.0.organization_id))
            .filter(payee::Column::ArtistId.eq(self.0.id))
            .order_by_asc(payee::Column::Id)
            .all(ctx.db())
            .await?;
        Ok(guard::admit_all(ctx, rows)
            .await?
            .into_iter()
            .map(Payee)
            .collect())
    }
}

/// The agreement in force on `day` among an artist's stored agreements, by the one rule
/// ([`domain::agreement::agreement_in_force`]: an ended agreement still governs until a newer
/// one starts).
#[must_use]
pub fn agreement_in_force(rows: Vec<agreement::Model>, day: NaiveDate) -> Option<agreement::Model> {
    domain::agreement::agreement_in_force(&rows, day, |a| domain::agreement::AgreementTerm {
        id: a.id,
        starts_on: a.starts_on,
        ends_on: a.ends_on,
    })
    .cloned()
}

pub struct ArtistProfile(pub Seen<artist_profile::Model>);

#[Object]
impl ArtistProfile {
    pub async fn id(&self) -> ID {
        ids::encode(Kind::ArtistProfile, self.0.id)
    }
    async fn store(&self) -> ApiResult<StoreService> {
        StoreService::from_db(&self.0.store)
    }
    /// The store's id for the artist (Spotify artist id, Apple Music artist id, …).
    async fn external_id(&self) -> Option<&str> {
        self.0.external_id.as_deref()
    }
    async fn url(&self) -> Option<&str> {
        self.0.url.as_deref()
    }
    /// Where the artist's claim stands. The artist changes it herself (`claimArtistProfile`);
    /// the label sees it. A profile is NOT_LIVE until a release of the artist goes live.
    async fn claim_state(&self) -> ApiResult<ClaimState> {
        ClaimState::from_db(&self.0.claim_state)
    }
}

#[derive(InputObject)]
pub struct ArtistProfileInput {
    pub store: StoreService,
    pub external_id: Option<String>,
    pub url: Option<String>,
}

#[derive(InputObject)]
pub struct ClaimArtistProfileInput {
    pub artist_profile_id: ID,
    /// CLAIMED (the default), CLAIM_PENDING while the store checks her claim, or UNCLAIMED to
    /// give the profile up.
    #[graphql(default_with = "ClaimState::Claimed")]
    pub claim_state: ClaimState,
}

#[derive(SimpleObject, Default)]
pub struct ArtistProfilePayload {
    pub artist_profile: Option<ArtistProfile>,
    pub user_errors: Vec<UserError>,
}

#[derive(InputObject)]
pub struct CreateArtistInput {
    pub organization_id: ID,
    pub name: String,
    pub sort_name: Option<String>,
    /// Defaults to today.
    pub joined_on: Option<NaiveDate>,
    #[graphql(default)]
    pub profiles: Vec<ArtistProfileInput>,
    /// Also create the artist's payee, in the organisation's base currency (default true).
    #[graphql(default = true)]
    pub create_payee: bool,
}

#[derive(InputObject)]
pub struct UpdateArtistInput {
    pub artist_id: ID,
    pub name: Option<String>,
    pub sort_name: Option<String>,
    /// Profiles to add or replace, by store.
    #[graphql(default)]
    pub profiles: Vec<ArtistProfileInput>,
}

#[derive(InputObject)]
pub struct ArtistLeavesInput {
    pub artist_id: ID,
    /// Defaults to today.
    pub left_on: Option<NaiveDate>,
}

#[derive(SimpleObject, Default)]
pub struct ArtistPayload {
    pub artist: Option<Artist>,
    pub user_errors: Vec<UserError>,
}

#[derive(SimpleObject, Default)]
pub struct ArtistLeavesPayload {
    pub artist: Option<Artist>,
    /// The agreement whose exit terms were applied, if any.
    pub agreement: Option<Agreement>,
    /// When the masters revert to the artist under the exit terms, if they do.
    pub masters_revert_on: Option<NaiveDate>,
    /// Releases taken down because the agreement says releases are taken down on exit.
    pub taken_down_releases: Vec<Release>,
    pub user_errors: Vec<UserError>,
}

#[derive(Default)]
pub struct RosterMutation;

fn check_profile_inputs(errors: &mut UserErrors, profiles: &[ArtistProfileInput]) {
    for (i, profile) in profiles.iter().enumerate() {
        if profiles[..i].iter().any(|p| p.store == profile.store) {
            errors.invalid(&format!("profiles.{i}.store"), "one profile per store");
        }
        if let Some(url) = &profile.url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            errors.invalid(
                &format!("profiles.{i}.url"),
                "a profile URL starts with https://",
            );
        }
    }
}

async fn upsert_profiles(
    txn: &impl sea_orm::ConnectionTrait,
    artist: &artist::Model,
    profiles: Vec<ArtistProfileInput>,
) -> ApiResult<()> {
    let now = Utc::now();
    for input in profiles {
        let store = input.store.as_db();
        let existing = artist_profile::Entity::find()
            .filter(artist_profile::Column::ArtistId.eq(artist.id))
            .filter(artist_profile::Column::Store.eq(store))
            .one(txn)
            .await?;
        match existing {
            Some(row) => {
                let mut active: artist_profile::ActiveModel = row.into();
                if input.external_id.is_some() {
                    active.external_id = Set(input.external_id);
                }
                if input.url.is_some() {
                    active.url = Set(input.url);
                }
                active.updated_at = Set(now);
                active.update(txn).await?;
            }
            None => {
                artist_profile::ActiveModel {
                    organization_id: Set(artist.organization_id),
                    artist_id: Set(artist.id),
                    store: Set(store.to_owned()),
                    external_id: Set(input.external_id),
                    url: Set(input.url),
                    // Live once a release of the artist is; claimed by the artist herself.
                    claim_state: Set(ClaimState::NotLive.as_db().to_owned()),
                    updated_at: Set(now),
                    ..Default::default()
                }
                .insert(txn)
                .await?;
            }
        }
    }
    Ok(())
}

#[Object]
impl RosterMutation {
    /// The artist's own act: claims her profile on a store (or gives it up). Only an ARTIST
    /// member, for her own artist's profiles; another artist's profile is not found, and the
    /// label (which sees the claim state) is refused.
    async fn claim_artist_profile(
        &self,
        ctx: &Context<'_>,
        input: ClaimArtistProfileInput,
    ) -> ApiResult<ArtistProfilePayload> {
        let profile = guard::fetch::<artist_profile::Model>(
            ctx,
            Kind::ArtistProfile,
            &input.artist_profile_id,
            Permission::ActAsArtist,
        )
        .await?;
        let from = ClaimState::from_db(&profile.claim_state)?;
        let to = input.claim_state;
        if let Err(message) = domain::catalogue::ClaimState::from(from).artist_may_move(to.into()) {
            return Ok(ArtistProfilePayload {
                artist_profile: None,
                user_errors: vec![UserError::invalid("claimState", message)],
            });
        }
        let db = ctx.db();
        if from != to {
            let txn = entity::db::begin_write(db).await?;
            // Conditional: only from the state read, so a double click changes it once.
            let done = artist_profile::Entity::update_many()
                .col_expr(
                    artist_profile::Column::ClaimState,
                    sea_orm::sea_query::Expr::value(to.as_db()),
                )
                .col_expr(
                    artist_profile::Column::UpdatedAt,
                    sea_orm::sea_query::Expr::value(Utc::now()),
                )
                .filter(artist_profile::Column::Id.eq(profile.id))
                .filter(artist_profile::Column::ClaimState.eq(from.as_db()))
                .exec(&txn)
                .await?;
            if done.rows_affected == 1 {
                audit::record(
                    &txn,
                    ctx.principal(),
                    profile.organization_id,
                    Change {
                        action: "artist_profile.claim",
                        entity_type: "artist_profile",
                        entity_id: profile.id,
                        before: Some(serde_json::json!({"claim_state": from.as_db()})),
                        after: Some(serde_json::json!({"claim_state": to.as_db()})),
                    },
                )
                .await?;
            }
            txn.commit().await?;
        }
        let row = artist_profile::Entity::find_by_id(profile.id)
            .one(db)
            .await?;
        Ok(ArtistProfilePayload {
            artist_profile: guard::admit_opt(ctx, row).await?.map(ArtistProfile),
            user_errors: Vec::new(),
        })
    }

    async fn create_artist(
        &self,
        ctx: &Context<'_>,
        input: CreateArtistInput,
    ) -> ApiResult<ArtistPayload> {
        let org =
            guard::organization(ctx, &input.organization_id, Permission::WriteCatalogue).await?;
        let organization_id = org.id;
        let mut errors = UserErrors::default();
        let name = input.name.trim().to_owned();
        if name.is_empty() {
            errors.push(UserError::new(
                "name",
                UserErrorCode::Required,
                "an artist needs a name",
            ));
        }
        check_profile_inputs(&mut errors, &input.profiles);
        if !errors.is_empty() {
            return Ok(ArtistPayload {
                artist: None,
                user_errors: errors.into_vec(),
            });
        }
        let db = ctx.db();
        let now = Utc::now();
        let txn = entity::db::begin_write(db).await?;
        let artist = artist::ActiveModel {
            organization_id: Set(organization_id),
            name: Set(name.clone()),
            sort_name: Set(input
                .sort_name
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())),
            joined_on: Set(input.joined_on.unwrap_or_else(|| now.date_naive())),
            left_on: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        upsert_profiles(&txn, &artist, input.profiles).await?;
        if input.create_payee {
            payee::ActiveModel {
                organization_id: Set(organization_id),
                name: Set(name),
                email: Set(None),
                kind: Set(domain::agreement::PayeeKind::Artist.as_str().to_owned()),
                artist_id: Set(Some(artist.id)),
                currency: Set(org.base_currency.clone()),
                minimum_payout_nanos: Set(0),
                payout_method: Set(None),
                reserve_ppb: Set(0),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
            .insert(&txn)
            .await?;
        }
        txn.commit().await?;
        Ok(ArtistPayload {
            artist: guard::admit(ctx, artist).await?.map(Artist),
            user_errors: Vec::new(),
        })
    }

    async fn update_artist(
        &self,
        ctx: &Context<'_>,
        input: UpdateArtistInput,
    ) -> ApiResult<ArtistPayload> {
        let artist = load_artist(ctx, &input.artist_id, Permission::WriteCatalogue).await?;
        let mut errors = UserErrors::default();
        if input.name.as_deref().is_some_and(|n| n.trim().is_empty()) {
            errors.push(UserError::new(
                "name",
                UserErrorCode::Required,
                "an artist needs a name",
            ));
        }
        check_profile_inputs(&mut errors, &input.profiles);
        if !errors.is_empty() {
            return Ok(ArtistPayload {
                artist: None,
                user_errors: errors.into_vec(),
            });
        }
        let txn = entity::db::begin_write(ctx.db()).await?;
        let mut active: artist::ActiveModel = artist.into_inner().into();
        if let Some(name) = input.name {
            active.name = Set(name.trim().to_owned());
        }
        if let Some(sort_name) = input.sort_name {
            active.sort_name = Set(Some(sort_name.trim().to_owned()).filter(|s| !s.is_empty()));
        }
        active.updated_at = Set(Utc::now());
        let updated = active.update(&txn).await?;
        upsert_profiles(&txn, &updated, input.profiles).await?;
        txn.commit().await?;
        Ok(ArtistPayload {
            artist: guard::admit(ctx, updated).await?.map(Artist),
            user_errors: Vec::new(),
        })
    }

    /// Records that an artist left the roster and applies their agreement's exit terms: the
    /// masters' reversion date, and whether their releases stay up or are taken down.
    async fn artist_leaves(
        &self,
        ctx: &Context<'_>,
        input: ArtistLeavesInput,
    ) -> ApiResult<ArtistLeavesPayload> {
        let artist = load_artist(ctx, &input.artist_id, Permission::ManageAgreements).await?;
        let left_on = input.left_on.unwrap_or_else(|| Utc::now().date_naive());
        if artist.left_on.is_some() {
            return Ok(ArtistLeavesPayload {
                user_errors: vec![UserError::new(
                    "artistId",
                    UserErrorCode::NotAllowed,
                    "this artist has already left",
                )],
                ..Default::default()
            });
        }
        if left_on < artist.joined_on {
            return Ok(ArtistLeavesPayload {
                user_errors: vec![UserError::invalid(
                    "leftOn",
                    "an artist cannot leave before they joined",
                )],
                ..Default::default()
            });
        }
        let db = ctx.db();
        let txn = entity::db::begin_write(db).await?;
        let agreements = agreement::Entity::find()
            .filter(agreement::Column::ArtistId.eq(artist.id))
            .all(&txn)
            .await?;
        let agreement = agreement_in_force(agreements, left_on);
        let terms = agreement
            .as_ref()
            .map(super::agreements::terms_of)
            .transpose()?;
        let masters_revert_on = terms.as_ref().and_then(|t| t.master_reverted_on(left_on));
        let take_down = terms.as_ref().is_some_and(|t| {
            t.exit_release_policy == domain::agreement::ExitReleasePolicy::TakeDown
        });

        let before = audit::snapshot(&*artist);
        let mut active: artist::ActiveModel = artist.into_inner().into();
        active.left_on = Set(Some(left_on));
        active.updated_at = Set(Utc::now());
        let artist = active.update(&txn).await?;

        let mut taken_down = Vec::new();
        if take_down {
            let releases = release::Entity::find()
                .filter(release::Column::ArtistId.eq(artist.id))
                .filter(release::Column::Status.is_in([
                    domain::catalogue::ReleaseStatus::Live.as_str(),
                    domain::catalogue::ReleaseStatus::Scheduled.as_str(),
                ]))
                .all(&txn)
                .await?;
            for row in releases {
                let mut active: release::ActiveModel = row.into();
                active.status = Set(domain::catalogue::ReleaseStatus::TakenDown
                    .as_str()
                    .to_owned());
                active.updated_at = Set(Utc::now());
                taken_down.push(active.update(&txn).await?);
            }
        }
        audit::record(
            &txn,
            ctx.principal(),
            artist.organization_id,
            Change {
                action: "artist.left",
                entity_type: "artist",
                entity_id: artist.id,
                before,
                after: Some(serde_json::json!({
                    "artist": audit::snapshot(&artist),
                    "mastersRevertOn": masters_revert_on,
                    "takenDownReleaseIds": taken_down.iter().map(|r| r.id).collect::<Vec<_>>(),
                })),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(ArtistLeavesPayload {
            artist: guard::admit(ctx, artist).await?.map(Artist),
            agreement: guard::admit_opt(ctx, agreement).await?.map(Agreement),
            masters_revert_on,
            taken_down_releases: guard::admit_all(ctx, taken_down)
                .await?
                .into_iter()
                .map(Release)
                .collect(),
            user_errors: Vec::new(),
        })
    }
}

/// Loads an artist by global id and checks the caller's permission on it.
///
/// # Errors
/// NOT_FOUND (also for another organisation's or artist's), or FORBIDDEN.
pub async fn load_artist(
    ctx: &Context<'_>,
    id: &ID,
    permission: Permission,
) -> ApiResult<Seen<artist::Model>> {
    guard::fetch(ctx, Kind::Artist, id, permission).await
}
