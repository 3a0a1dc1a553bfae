//! The `analytics` and `rosterOverview` queries.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use async_graphql::{Context, ID, Object};
use domain::period::{MonthSpan, PeriodError};
use sea_orm::EntityTrait;

use super::super::access::{ContextExt, OrgAccess, Permission};
use super::super::accounts::decode_or_not_found;
use super::super::error::{ApiError, ApiResult};
use super::super::guard;
use super::super::ids::Kind;
use super::super::roster::Artist;
use super::{cache::*, sql::*, types::*};

pub(super) async fn org_access(
    ctx: &Context<'_>,
    organization_id: &ID,
) -> ApiResult<(OrgAccess, Scope)> {
    let id = decode_or_not_found(Kind::Organization, organization_id)?;
    let access = ctx.authorize(id, Permission::ReadAnalytics)?;
    let cache = &ctx.state().analytics_cache;
    let observed = ctx.data_opt::<Arc<ObservedScopes>>();
    if let Ok((scope, read_at)) = cache.known_scope_at(id) {
        observe(observed, id, read_at);
        return Ok((access, scope));
    }
    let _reading = cache.reading(id).await;
    // The request that read it while this one waited left it here.
    let generation = match cache.known_scope_at(id) {
        Ok((scope, read_at)) => {
            observe(observed, id, read_at);
            return Ok((access, scope));
        }
        Err(generation) => generation,
    };
    let read_at = Instant::now();
    observe(observed, id, read_at);
    let org = entity::organization::Entity::find_by_id(id)
        .one(ctx.db())
        .await?
        .ok_or(ApiError::NotFound("Organization"))?;
    let scope = Scope {
        organization_id: org.id,
        version: org.analytics_version,
        base_currency: org.base_currency,
    };
    cache.remember(scope.clone(), generation, read_at);
    Ok((access, scope))
}

/// The rows of `ids`, by id: those kept with the scope, and the others in one query for all of
/// them, asked directly rather than through the request's loader, which would wait out its
/// batching delay for nothing; then kept.
pub(super) async fn named_rows<M: NamedRow>(
    ctx: &Context<'_>,
    scope: &Scope,
    ids: &[i64],
) -> ApiResult<HashMap<i64, M>> {
    let cache = &ctx.state().analytics_cache;
    let org = scope.organization_id;
    let (found, missing) = cache.known::<M>(org, ids.iter().copied());
    if missing.is_empty() {
        return Ok(found);
    }
    let _reading = cache.reading(org).await;
    // The request that read them while this one waited left them here.
    let (mut found, missing) = cache.known::<M>(org, ids.iter().copied());
    if missing.is_empty() {
        return Ok(found);
    }
    let read_at = Instant::now();
    let read: HashMap<i64, M> = M::read(ctx.db(), org, &missing)
        .await?
        .into_iter()
        .map(|row| (row.id(), row))
        .collect();
    cache.remember_named(org, &missing, &read, read_at);
    found.extend(read);
    Ok(found)
}

pub(super) fn change_percent(
    current: &AnalyticsFigures,
    previous: &AnalyticsFigures,
) -> Option<String> {
    let now = current.earnings_base_nanos;
    let before = previous.earnings_base_nanos;
    if before == 0 {
        return None;
    }
    // In i128: two totals a sum may report are apart by more than an i64 can hold.
    let difference = i128::from(now) - i128::from(before);
    let change = rust_decimal::Decimal::from_i128_with_scale(difference, 0)
        * rust_decimal::Decimal::from(100)
        / rust_decimal::Decimal::from(before);
    Some(change.round_dp(1).to_string())
}

#[derive(Default)]
pub struct AnalyticsQuery;

pub(super) const TOP: usize = 5;

#[Object]
impl AnalyticsQuery {
    /// Quantities and earnings from the roll-ups, filtered and grouped. An artist member sees
    /// only their own artist's numbers.
    async fn analytics(
        &self,
        ctx: &Context<'_>,
        organization_id: ID,
        filter: Option<AnalyticsFilter>,
        group_by: Vec<AnalyticsDimension>,
        #[graphql(default = 100, desc = "At most this many groups (1 to 1000).")] first: i32,
    ) -> ApiResult<AnalyticsResult> {
        let (access, scope) = org_access(ctx, &organization_id).await?;
        if !(1..=1000).contains(&first) {
            return Err(ApiError::BadRequest(format!(
                "first must be between 1 and 1000, got {first}"
            )));
        }
        let filter = filter.unwrap_or_default();
        let where_ = build_where(&access, &filter)?;
        let all = aggregate(ctx, &scope, &where_, &group_by).await?;
        let totals = all.totals.clone();
        let limit = usize::try_from(first).unwrap_or(100);
        let more_rows = i64::try_from(all.count.saturating_sub(limit)).unwrap_or(0);
        let rows = all.iter().take(limit).cloned().collect();
        Ok(AnalyticsResult {
            totals,
            rows,
            more_rows,
        })
    }

    /// The roster at a glance for a period (default: the last 12 months with data): totals,
    /// each artist against the previous period of the same length, top tracks, stores and
    /// territories, and the figures of each month. `artistIds` and `releaseIds` narrow it all,
    /// the previous period included; an artist member can only narrow within her own artist.
    async fn roster_overview(
        &self,
        ctx: &Context<'_>,
        organization_id: ID,
        period: Option<PeriodInput>,
        #[graphql(desc = "Only these artists (and, for an artist member, only her own).")]
        artist_ids: Option<Vec<ID>>,
        #[graphql(desc = "Only these releases.")] release_ids: Option<Vec<ID>>,
    ) -> ApiResult<RosterOverview> {
        let (access, scope) = org_access(ctx, &organization_id).await?;
        let base = scope.base_currency.clone();
        let bad = |e: PeriodError| ApiError::BadRequest(e.to_string());
        let span = match period {
            Some(p) => MonthSpan::new(p.from, p.to).map_err(bad)?,
            None => {
                // The last twelve months that have figures (for this caller), so a label whose
                // latest statement is older still sees its numbers rather than zeros.
                let everything = build_where(&access, &AnalyticsFilter::default())?;
                let latest = latest_month(ctx, &scope, &everything).await?;
                MonthSpan::default_for(latest, chrono::Utc::now().date_naive()).map_err(bad)?
            }
        };
        let before = span.previous().map_err(bad)?;
        let (from, to) = (span.from(), span.to());
        let (prev_from, prev_to) = (before.from(), before.to());
        // The same filters for both periods, so the comparison compares like with like.
        let current = AnalyticsFilter {
            artist_ids: artist_ids.clone(),
            release_ids: release_ids.clone(),
            from: Some(from),
            to: Some(to),
            ..Default::default()
        };
        let previous = AnalyticsFilter {
            artist_ids,
            release_ids,
            from: Some(prev_from),
            to: Some(prev_to),
            ..Default::default()
        };
        let w_now = build_where(&access, &current)?;
        let w_before = build_where(&access, &previous)?;
        // Independent aggregates, asked together: after a refresh, when none is cached, they
        // run side by side on the pool's connections rather than one after another.
        let (by_artist, by_artist_before, tracks, stores, territories, months) = futures::try_join!(
            aggregate(ctx, &scope, &w_now, &[AnalyticsDimension::Artist]),
            aggregate(ctx, &scope, &w_before, &[AnalyticsDimension::Artist]),
            aggregate(ctx, &scope, &w_now, &[AnalyticsDimension::Track]),
            aggregate(ctx, &scope, &w_now, &[AnalyticsDimension::Store]),
            aggregate(ctx, &scope, &w_now, &[AnalyticsDimension::Territory]),
            aggregate(ctx, &scope, &w_now, &[AnalyticsDimension::Month]),
        )?;
        // Every month of the period, those without figures as zeros, in order.
        let mut by_month_found: HashMap<chrono::NaiveDate, AnalyticsFigures> = months
            .iter()
            .filter_map(|r| r.key.month.map(|m| (m, r.figures.clone())))
            .collect();
        let by_month: Vec<AnalyticsRow> = span
            .month_starts()
            .into_iter()
            .map(|month| AnalyticsRow {
                organization_id: scope.organization_id,
                key: Key {
                    month: Some(month),
                    ..Key::default()
                },
                figures: by_month_found
                    .remove(&month)
                    .unwrap_or_else(|| AnalyticsFigures::empty(&base)),
            })
            .collect();
        let totals = by_artist.totals.clone();
        let previous_totals = by_artist_before.totals.clone();
        let mut before: HashMap<Option<i64>, AnalyticsFigures> = by_artist_before
            .iter()
            .map(|r| (r.key.artist_id, r.figures.clone()))
            .collect();
        let empty = AnalyticsFigures::empty(&base);
        let artist_ids: Vec<i64> = by_artist
            .iter()
            .filter_map(|r| r.key.artist_id.filter(|id| *id > 0))
            .collect();
        let mut names = named_rows::<entity::artist::Model>(ctx, &scope, &artist_ids).await?;
        let mut artists = Vec::with_capacity(by_artist.len());
        for row in by_artist.iter() {
            let previous = before
                .remove(&row.key.artist_id)
                .unwrap_or_else(|| empty.clone());
            let model = row.key.artist_id.and_then(|id| names.remove(&id));
            let artist_name = model.as_ref().map(|m| m.name.clone());
            let artist = guard::admit_opt(ctx, model).await?.map(Artist);
            artists.push(ArtistSummary {
                artist,
                artist_name,
                change_percent: change_percent(&row.figures, &previous),
                current: row.figures.clone(),
                previous,
            });
        }
        let top = |rows: &[AnalyticsRow]| -> Vec<AnalyticsRow> {
            rows.iter().take(TOP).cloned().collect()
        };
        let top_tracks: Vec<AnalyticsRow> = tracks
            .iter()
            .filter(|r| r.key.track_id.is_some_and(|id| id > 0))
            .take(TOP)
            .cloned()
            .collect();
        // Read (or found kept) here, so the rows' `track` fields find them kept.
        let track_ids: Vec<i64> = top_tracks.iter().filter_map(|r| r.key.track_id).collect();
        named_rows::<entity::track::Model>(ctx, &scope, &track_ids).await?;
        let top_stores = top(&stores);
        let top_territories = top(&territories);
        Ok(RosterOverview {
            from,
            to,
            totals,
            previous_totals,
            artists,
            top_tracks,
            top_stores,
            top_territories,
            by_month,
        })
    }
}
