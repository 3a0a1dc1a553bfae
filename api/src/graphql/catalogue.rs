//! The catalogue: releases and their tracks, identifiers validated and normalised, and the
//! release status lifecycle (with takedowns by artists only where their agreement allows).

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use domain::catalogue::ReleaseStatus as DomainStatus;
use domain::ids::{Isrc, Iswc, Upc};
use entity::{agreement, artist_profile, release, statement, track, track_artist};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

use super::access::{ContextExt, Permission};
use super::accounts::decode_or_not_found;
use super::audit::{self, Change};
use super::enums::{ClaimState, ReleaseStatus, ReleaseType, TrackArtistRole};
use super::error::{ApiError, ApiResult, UserError, UserErrorCode, UserErrors};
use super::guard::{self, Seen};
use super::ids::{self, Kind};
use super::loaders::Loaders;
use super::roster::{Artist, agreement_in_force};
use super::splits::Split;

pub struct Release(pub Seen<release::Model>);

#[Object]
impl Release {
    pub async fn id(&self) -> ID {
        ids::encode(Kind::Release, self.0.id)
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// The primary artist the release goes out under.
    async fn artist(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Artist>> {
        let row = ctx
            .data_unchecked::<super::loaders::Loaders>()
            .artist
            .load_one(self.0.artist_id)
            .await?;
        Ok(guard::admit_opt(ctx, row).await?.map(Artist))
    }
    /// GTIN (UPC-A or EAN-13), digits only, check digit verified.
    async fn upc(&self) -> Option<&str> {
        self.0.upc.as_deref()
    }
    async fn release_type(&self) -> ApiResult<ReleaseType> {
        ReleaseType::from_db(&self.0.release_type)
    }
    async fn release_date(&self) -> Option<NaiveDate> {
        self.0.release_date
    }
    async fn status(&self) -> ApiResult<ReleaseStatus> {
        ReleaseStatus::from_db(&self.0.status)
    }
    async fn label_name(&self) -> Option<&str> {
        self.0.label_name.as_deref()
    }
    async fn tracks(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Track>> {
        let rows = ctx
            .data_unchecked::<Loaders>()
            .tracks_by_release
            .load_one(self.0.id)
            .await?
            .unwrap_or_default();
        Ok(guard::admit_all(ctx, rows)
            .await?
            .into_iter()
            .map(Track)
            .collect())
    }
    /// Every split version of the release and its track overrides, oldest first.
    async fn splits(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Split>> {
        let rows = ctx
            .data_unchecked::<Loaders>()
            .splits_by_release
            .load_one(self.0.id)
            .await?
            .unwrap_or_default();
        Ok(guard::admit_all(ctx, rows)
            .await?
            .into_iter()
            .map(Split)
            .collect())
    }
    /// The release-level split in effect on `on` (default today).
    async fn current_split(
        &self,
        ctx: &Context<'_>,
        on: Option<NaiveDate>,
    ) -> async_graphql::Result<Option<Split>> {
        let day = on.unwrap_or_else(|| Utc::now().date_naive());
        let rows = ctx
            .data_unchecked::<Loaders>()
            .splits_by_release
            .load_one(self.0.id)
            .await?
            .unwrap_or_default();
        let split = super::splits::split_in_effect(rows, None, day);
        Ok(guard::admit_opt(ctx, split).await?.map(Split))
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

pub struct Track(pub Seen<track::Model>);

#[Object]
impl Track {
    pub async fn id(&self) -> ID {
        ids::encode(Kind::Track, self.0.id)
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn release(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Release>> {
        let row = ctx
            .data_unchecked::<super::loaders::Loaders>()
            .release
            .load_one(self.0.release_id)
            .await?;
        Ok(guard::admit_opt(ctx, row).await?.map(Release))
    }
    /// ISRC, normalised: 12 characters, upper case, no hyphens.
    async fn isrc(&self) -> Option<&str> {
        self.0.isrc.as_deref()
    }
    async fn iswc(&self) -> Option<&str> {
        self.0.iswc.as_deref()
    }
    async fn duration_ms(&self) -> Option<i32> {
        self.0.duration_ms
    }
    async fn position(&self) -> i32 {
        self.0.position
    }
    async fn artists(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<TrackArtist>> {
        let rows = ctx
            .data_unchecked::<Loaders>()
            .track_artists_by_track
            .load_one(self.0.id)
            .await?
            .unwrap_or_default();
        Ok(guard::admit_all(ctx, rows)
            .await?
            .into_iter()
            .map(TrackArtist)
            .collect())
    }
    /// The split that applies to this track on `on` (default today): its own override if it
    /// has one, else the release's.
    async fn effective_split(
        &self,
        ctx: &Context<'_>,
        on: Option<NaiveDate>,
    ) -> async_graphql::Result<Option<Split>> {
        let day = on.unwrap_or_else(|| Utc::now().date_naive());
        let rows = ctx
            .data_unchecked::<Loaders>()
            .splits_by_release
            .load_one(self.0.release_id)
            .await?
            .unwrap_or_default();
        let split = super::splits::split_in_effect(rows, Some(self.0.id), day);
        Ok(guard::admit_opt(ctx, split).await?.map(Split))
    }
}

pub struct TrackArtist(pub Seen<track_artist::Model>);

#[Object]
impl TrackArtist {
    /// The artist, for a caller who may see them (an artist member sees herself, not the
    /// artists featured on her tracks: their names are in `name`).
    async fn artist(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Artist>> {
        let row = ctx
            .data_unchecked::<Loaders>()
            .artist
            .load_one(self.0.artist_id)
            .await?;
        Ok(guard::admit_opt(ctx, row).await?.map(Artist))
    }
    /// The credited artist's name, for whoever sees the track.
    async fn name(&self, ctx: &Context<'_>) -> async_graphql::Result<String> {
        let row = ctx
            .data_unchecked::<Loaders>()
            .artist
            .load_one(self.0.artist_id)
            .await?;
        Ok(row.map(|a| a.name).unwrap_or_default())
    }
    async fn role(&self) -> ApiResult<TrackArtistRole> {
        TrackArtistRole::from_db(&self.0.role)
    }
}

#[derive(InputObject)]
pub struct CreateReleaseInput {
    /// The primary artist; the release belongs to their organisation.
    pub artist_id: ID,
    pub title: String,
    pub upc: Option<String>,
    pub release_type: ReleaseType,
    pub release_date: Option<NaiveDate>,
    pub label_name: Option<String>,
}

#[derive(InputObject)]
pub struct UpdateReleaseInput {
    pub release_id: ID,
    pub title: Option<String>,
    pub upc: Option<String>,
    pub release_type: Option<ReleaseType>,
    pub release_date: Option<NaiveDate>,
    pub label_name: Option<String>,
}

#[derive(InputObject)]
pub struct TrackArtistInput {
    pub artist_id: ID,
    pub role: TrackArtistRole,
}

#[derive(InputObject)]
pub struct AddTrackInput {
    pub release_id: ID,
    pub title: String,
    pub isrc: Option<String>,
    pub iswc: Option<String>,
    pub duration_ms: Option<i32>,
    /// 1-based; defaults to after the last track.
    pub position: Option<i32>,
    /// Defaults to the release's artist as primary.
    pub artists: Option<Vec<TrackArtistInput>>,
}

#[derive(InputObject)]
pub struct UpdateTrackInput {
    pub track_id: ID,
    pub title: Option<String>,
    pub isrc: Option<String>,
    pub iswc: Option<String>,
    pub duration_ms: Option<i32>,
    pub position: Option<i32>,
}

#[derive(InputObject)]
pub struct SetReleaseStatusInput {
    pub release_id: ID,
    pub status: ReleaseStatus,
}

#[derive(SimpleObject, Default)]
pub struct ReleasePayload {
    pub release: Option<Release>,
    pub user_errors: Vec<UserError>,
}

#[derive(SimpleObject, Default)]
pub struct TrackPayload {
    pub track: Option<Track>,
    pub user_errors: Vec<UserError>,
}

async fn check_upc(
    db: &impl ConnectionTrait,
    errors: &mut UserErrors,
    organization_id: i64,
    raw: &str,
    except_release: Option<i64>,
) -> ApiResult<Option<String>> {
    let Some(upc) = errors.check("upc", Upc::parse(raw)) else {
        return Ok(None);
    };
    let mut taken = release::Entity::find()
        .filter(release::Column::OrganizationId.eq(organization_id))
        .filter(release::Column::Upc.eq(upc.as_str()));
    if let Some(id) = except_release {
        taken = taken.filter(release::Column::Id.ne(id));
    }
    if taken.one(db).await?.is_some() {
        errors.push(UserError::new(
            "upc",
            UserErrorCode::Taken,
            "another release already has this UPC",
        ));
        return Ok(None);
    }
    Ok(Some(upc.as_str().to_owned()))
}

async fn check_isrc(
    db: &impl ConnectionTrait,
    errors: &mut UserErrors,
    organization_id: i64,
    raw: &str,
    except_track: Option<i64>,
) -> ApiResult<Option<String>> {
    let Some(isrc) = errors.check("isrc", Isrc::parse(raw)) else {
        return Ok(None);
    };
    let mut taken = track::Entity::find()
        .filter(track::Column::OrganizationId.eq(organization_id))
        .filter(track::Column::Isrc.eq(isrc.as_str()));
    if let Some(id) = except_track {
        taken = taken.filter(track::Column::Id.ne(id));
    }
    if taken.one(db).await?.is_some() {
        errors.push(UserError::new(
            "isrc",
            UserErrorCode::Taken,
            "another track already has this ISRC",
        ));
        return Ok(None);
    }
    Ok(Some(isrc.as_str().to_owned()))
}

fn check_duration(errors: &mut UserErrors, duration_ms: Option<i32>) {
    if duration_ms.is_some_and(|d| d <= 0) {
        errors.invalid("durationMs", "a duration is positive");
    }
}

async fn position_taken(
    db: &impl ConnectionTrait,
    release_id: i64,
    position: i32,
    except: Option<i64>,
) -> ApiResult<bool> {
    let mut q = track::Entity::find()
        .filter(track::Column::ReleaseId.eq(release_id))
        .filter(track::Column::Position.eq(position));
    if let Some(id) = except {
        q = q.filter(track::Column::Id.ne(id));
    }
    Ok(q.one(db).await?.is_some())
}

#[derive(Default)]
pub struct CatalogueMutation;

#[Object]
impl CatalogueMutation {
    async fn create_release(
        &self,
        ctx: &Context<'_>,
        input: CreateReleaseInput,
    ) -> ApiResult<ReleasePayload> {
        let artist =
            super::roster::load_artist(ctx, &input.artist_id, Permission::WriteCatalogue).await?;
        let db = ctx.db();
        let mut errors = UserErrors::default();
        let title = input.title.trim().to_owned();
        if title.is_empty() {
            errors.push(UserError::new(
                "title",
                UserErrorCode::Required,
                "a release needs a title",
            ));
        }
        let upc = match input
            .upc
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            Some(raw) => check_upc(db, &mut errors, artist.organization_id, raw, None).await?,
            None => None,
        };
        if !errors.is_empty() {
            return Ok(ReleasePayload {
                release: None,
                user_errors: errors.into_vec(),
            });
        }
        let now = Utc::now();
        let row = release::ActiveModel {
            organization_id: Set(artist.organization_id),
            artist_id: Set(artist.id),
            title: Set(title),
            upc: Set(upc),
            release_type: Set(input.release_type.as_db().to_owned()),
            release_date: Set(input.release_date),
            status: Set(DomainStatus::Draft.as_str().to_owned()),
            label_name: Set(input.label_name.filter(|l| !l.trim().is_empty())),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(db)
        .await?;
        rematch(ctx, row.organization_id).await;
        Ok(ReleasePayload {
            release: guard::admit(ctx, row).await?.map(Release),
            user_errors: Vec::new(),
        })
    }

    async fn update_release(
        &self,
        ctx: &Context<'_>,
        input: UpdateReleaseInput,
    ) -> ApiResult<ReleasePayload> {
        let row = load_release(ctx, &input.release_id, Permission::WriteCatalogue).await?;
        let db = ctx.db();
        let mut errors = UserErrors::default();
        if input.title.as_deref().is_some_and(|t| t.trim().is_empty()) {
            errors.push(UserError::new(
                "title",
                UserErrorCode::Required,
                "a release needs a title",
            ));
        }
        let upc = match input.upc.as_deref().map(str::trim) {
            Some("") => Some(None),
            Some(raw) => check_upc(db, &mut errors, row.organization_id, raw, Some(row.id))
                .await?
                .map(Some),
            None => None,
        };
        if upc == Some(None) && row.status != DomainStatus::Draft.as_str() {
            errors.invalid("upc", "a release that has left draft keeps its UPC");
        }
        if !errors.is_empty() {
            return Ok(ReleasePayload {
                release: None,
                user_errors: errors.into_vec(),
            });
        }
        let mut active: release::ActiveModel = row.into();
        if let Some(title) = input.title {
            active.title = Set(title.trim().to_owned());
        }
        if let Some(upc) = upc {
            active.upc = Set(upc);
        }
        if let Some(t) = input.release_type {
            active.release_type = Set(t.as_db().to_owned());
        }
        if input.release_date.is_some() {
            active.release_date = Set(input.release_date);
        }
        if let Some(label) = input.label_name {
            active.label_name = Set(Some(label).filter(|l| !l.trim().is_empty()));
        }
        active.updated_at = Set(Utc::now());
        let row = active.update(db).await?;
        rematch(ctx, row.organization_id).await;
        Ok(ReleasePayload {
            release: guard::admit(ctx, row).await?.map(Release),
            user_errors: Vec::new(),
        })
    }

    async fn add_track(&self, ctx: &Context<'_>, input: AddTrackInput) -> ApiResult<TrackPayload> {
        let release = load_release(ctx, &input.release_id, Permission::WriteCatalogue).await?;
        let db = ctx.db();
        let mut errors = UserErrors::default();
        let title = input.title.trim().to_owned();
        if title.is_empty() {
            errors.push(UserError::new(
                "title",
                UserErrorCode::Required,
                "a track needs a title",
            ));
        }
        let isrc = match input
            .isrc
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            Some(raw) => check_isrc(db, &mut errors, release.organization_id, raw, None).await?,
            None => None,
        };
        let iswc = match input
            .iswc
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            Some(raw) => errors
                .check("iswc", Iswc::parse(raw))
                .map(|i| i.as_str().to_owned()),
            None => None,
        };
        check_duration(&mut errors, input.duration_ms);
        let position = match input.position {
            Some(p) if p < 1 => {
                errors.invalid("position", "positions start at 1");
                None
            }
            Some(p) => {
                if position_taken(db, release.id, p, None).await? {
                    errors.push(UserError::new(
                        "position",
                        UserErrorCode::Taken,
                        "another track has this position",
                    ));
                }
                Some(p)
            }
            None => {
                let last: Option<i32> = track::Entity::find()
                    .select_only()
                    .column(track::Column::Position)
                    .filter(track::Column::ReleaseId.eq(release.id))
                    .order_by_desc(track::Column::Position)
                    .into_tuple()
                    .one(db)
                    .await?;
                Some(last.unwrap_or(0) + 1)
            }
        };
        let mut credits = Vec::new();
        match &input.artists {
            None => credits.push((
                release.artist_id,
                domain::catalogue::TrackArtistRole::Primary,
            )),
            Some(list) => {
                for (i, credit) in list.iter().enumerate() {
                    match super::refs::find_artist(db, release.organization_id, &credit.artist_id)
                        .await?
                    {
                        Ok(a) => credits.push((a.id, credit.role.into())),
                        Err(e) => errors.push(e.at(&format!("artists.{i}.artistId"))),
                    }
                }
                if !credits
                    .iter()
                    .any(|(_, r)| *r == domain::catalogue::TrackArtistRole::Primary)
                    && errors.is_empty()
                {
                    errors.invalid("artists", "a track needs at least one primary artist");
                }
            }
        }
        credits.sort_by_key(|(id, role)| (*id, role.as_str()));
        credits.dedup();
        let (Some(position), true) = (position, errors.is_empty()) else {
            return Ok(TrackPayload {
                track: None,
                user_errors: errors.into_vec(),
            });
        };
        let now = Utc::now();
        let txn = entity::db::begin_write(db).await?;
        let row = track::ActiveModel {
            organization_id: Set(release.organization_id),
            release_id: Set(release.id),
            title: Set(title),
            isrc: Set(isrc),
            iswc: Set(iswc),
            duration_ms: Set(input.duration_ms),
            position: Set(position),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        for (artist_id, role) in credits {
            track_artist::ActiveModel {
                organization_id: Set(release.organization_id),
                track_id: Set(row.id),
                artist_id: Set(artist_id),
                role: Set(role.as_str().to_owned()),
                ..Default::default()
            }
            .insert(&txn)
            .await?;
        }
        txn.commit().await?;
        rematch(ctx, row.organization_id).await;
        Ok(TrackPayload {
            track: guard::admit(ctx, row).await?.map(Track),
            user_errors: Vec::new(),
        })
    }

    async fn update_track(
        &self,
        ctx: &Context<'_>,
        input: UpdateTrackInput,
    ) -> ApiResult<TrackPayload> {
        let id = decode_or_not_found(Kind::Track, &input.track_id)?;
        let db = ctx.db();
        let row = track::Entity::find_by_id(id)
            .one(db)
            .await?
            .ok_or(ApiError::NotFound("Track"))?;
        let release = release::Entity::find_by_id(row.release_id)
            .one(db)
            .await?
            .ok_or(ApiError::NotFound("Release"))?;
        ctx.authorize(row.organization_id, Permission::WriteCatalogue)?
            .check_artist(release.artist_id)?;
        let mut errors = UserErrors::default();
        if input.title.as_deref().is_some_and(|t| t.trim().is_empty()) {
            errors.push(UserError::new(
                "title",
                UserErrorCode::Required,
                "a track needs a title",
            ));
        }
        let isrc = match input.isrc.as_deref().map(str::trim) {
            Some("") => Some(None),
            Some(raw) => check_isrc(db, &mut errors, row.organization_id, raw, Some(row.id))
                .await?
                .map(Some),
            None => None,
        };
        let iswc = match input.iswc.as_deref().map(str::trim) {
            Some("") => Some(None),
            Some(raw) => errors
                .check("iswc", Iswc::parse(raw))
                .map(|i| Some(i.as_str().to_owned())),
            None => None,
        };
        check_duration(&mut errors, input.duration_ms);
        if let Some(p) = input.position {
            if p < 1 {
                errors.invalid("position", "positions start at 1");
            } else if position_taken(db, row.release_id, p, Some(row.id)).await? {
                errors.push(UserError::new(
                    "position",
                    UserErrorCode::Taken,
                    "another track has this position",
                ));
            }
        }
        if !errors.is_empty() {
            return Ok(TrackPayload {
                track: None,
                user_errors: errors.into_vec(),
            });
        }
        let mut active: track::ActiveModel = row.into();
        if let Some(title) = input.title {
            active.title = Set(title.trim().to_owned());
        }
        if let Some(isrc) = isrc {
            active.isrc = Set(isrc);
        }
        if let Some(iswc) = iswc {
            active.iswc = Set(iswc);
        }
        if input.duration_ms.is_some() {
            active.duration_ms = Set(input.duration_ms);
        }
        if let Some(p) = input.position {
            active.position = Set(p);
        }
        active.updated_at = Set(Utc::now());
        let row = active.update(db).await?;
        rematch(ctx, row.organization_id).await;
        Ok(TrackPayload {
            track: guard::admit(ctx, row).await?.map(Track),
            user_errors: Vec::new(),
        })
    }

    /// Moves a release through `draft → scheduled → live → taken_down`. Managers may make any
    /// allowed move; an artist member may only take down their own release, and only where
    /// their agreement gives them that right.
    async fn set_release_status(
        &self,
        ctx: &Context<'_>,
        input: SetReleaseStatusInput,
    ) -> ApiResult<ReleasePayload> {
        let row = load_release(ctx, &input.release_id, Permission::ReadCatalogue).await?;
        let db = ctx.db();
        let next: DomainStatus = input.status.into();
        let current: DomainStatus = row.status.parse().map_err(|_| {
            ApiError::internal(anyhow::anyhow!("release {}: bad stored status", row.id))
        })?;
        let refuse = |message: String| {
            Ok(ReleasePayload {
                release: None,
                user_errors: vec![UserError::new("status", UserErrorCode::NotAllowed, message)],
            })
        };
        match ctx.authorize(row.organization_id, Permission::WriteCatalogue) {
            Ok(_) => {}
            Err(ApiError::Forbidden(_))
                if ctx.principal().role_in(row.organization_id)
                    == Some(domain::auth::Role::Artist) =>
            {
                // load_release already checked that this is the artist's own release.
                if next != DomainStatus::TakenDown {
                    return Err(ApiError::Forbidden(
                        "artists may only take their releases down",
                    ));
                }
                let agreements = agreement::Entity::find()
                    .filter(agreement::Column::ArtistId.eq(row.artist_id))
                    .all(db)
                    .await?;
                let allowed = agreement_in_force(agreements, Utc::now().date_naive())
                    .is_some_and(|a| a.artist_may_take_down);
                if !allowed {
                    return refuse("your agreement does not allow you to take down your releases; ask the label".into());
                }
            }
            Err(other) => return Err(other),
        }
        if current == next {
            return Ok(ReleasePayload {
                release: Some(Release(row)),
                user_errors: Vec::new(),
            });
        }
        if !current.can_transition_to(next) {
            return refuse(format!(
                "a {} release cannot become {}",
                current.as_str(),
                next.as_str()
            ));
        }
        if next.delivers() {
            let tracks = track::Entity::find()
                .filter(track::Column::ReleaseId.eq(row.id))
                .all(db)
                .await?;
            let facts = domain::catalogue::DeliveryFacts {
                has_upc: row.upc.is_some(),
                has_release_date: row.release_date.is_some(),
                track_count: tracks.len(),
                tracks_without_isrc: tracks.iter().filter(|t| t.isrc.is_none()).count(),
            };
            let mut errors = UserErrors::default();
            for gap in domain::catalogue::delivery_gaps(&facts) {
                let code = if gap.is_missing_value() {
                    UserErrorCode::Required
                } else {
                    UserErrorCode::NotAllowed
                };
                errors.push(UserError::new(gap.field(), code, gap.message()));
            }
            if !errors.is_empty() {
                return Ok(ReleasePayload {
                    release: None,
                    user_errors: errors.into_vec(),
                });
            }
        }
        let txn = entity::db::begin_write(db).await?;
        let before = audit::snapshot(&row);
        let artist_id = row.artist_id;
        let mut active: release::ActiveModel = row.into();
        active.status = Set(next.as_str().to_owned());
        active.updated_at = Set(Utc::now());
        let updated = active.update(&txn).await?;
        if next == DomainStatus::Live {
            // The artist's store profiles exist once their first release is live; claiming them
            // stays the artist's own act.
            artist_profile::Entity::update_many()
                .col_expr(
                    artist_profile::Column::ClaimState,
                    sea_orm::sea_query::Expr::value(ClaimState::Unclaimed.as_db()),
                )
                .filter(artist_profile::Column::ArtistId.eq(artist_id))
                .filter(artist_profile::Column::ClaimState.eq(ClaimState::NotLive.as_db()))
                .exec(&txn)
                .await?;
        }
        audit::record(
            &txn,
            ctx.principal(),
            updated.organization_id,
            Change {
                action: "release.status_changed",
                entity_type: "release",
                entity_id: updated.id,
                before,
                after: audit::snapshot(&updated),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(ReleasePayload {
            release: guard::admit(ctx, updated).await?.map(Release),
            user_errors: Vec::new(),
        })
    }
}

/// Loads a release by global id and checks the caller's permission and artist scope on it.
///
/// # Errors
/// NOT_FOUND, or the authorization failure.
/// After the catalogue's identifiers, titles or credits changed: statement lines they now
/// match are matched, allocated and rolled up by a job. The change itself is stored already;
/// a queue that does not answer is logged, and the lines wait for the next change or
/// `matchStatementLines`.
async fn rematch(ctx: &Context<'_>, organization_id: i64) {
    // Most catalogue changes happen with nothing waiting to match: no job then.
    let waiting = statement::Entity::find()
        .filter(statement::Column::OrganizationId.eq(organization_id))
        .filter(statement::Column::Status.eq(workers::ingest::STATUS_PARSED))
        .filter(statement::Column::UnmatchedCount.gt(0))
        .one(ctx.db())
        .await;
    if matches!(waiting, Ok(None)) {
        return;
    }
    if let Err(err) = ctx
        .state()
        .queue
        .push(workers::Job::MatchLines { organization_id })
        .await
    {
        tracing::warn!(organization_id, error = %err, "could not queue re-matching");
    }
}

pub async fn load_release(
    ctx: &Context<'_>,
    id: &ID,
    permission: Permission,
) -> ApiResult<Seen<release::Model>> {
    guard::fetch(ctx, Kind::Release, id, permission).await
}
