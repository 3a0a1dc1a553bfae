//! The GraphQL types of analytics: dimensions, filters, figures, rows and the overview.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::NaiveDate;
use domain::analytics::Dimension;

use super::super::access::ContextExt;
use super::super::catalogue::{Release, Track};
use super::super::error::ApiResult;
use super::super::guard;
use super::super::loaders::Loaders;
use super::super::money::Money;
use super::super::roster::Artist;

use super::cache::*;
/// What analytics can be grouped by.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AnalyticsDimension {
    Artist,
    Release,
    Track,
    Store,
    Territory,
    Month,
}

impl AnalyticsDimension {
    /// The roll-up dimension; `None` for the month, which every roll-up keeps.
    pub(super) fn kept(self) -> Option<Dimension> {
        match self {
            Self::Artist => Some(Dimension::Artist),
            Self::Release => Some(Dimension::Release),
            Self::Track => Some(Dimension::Track),
            Self::Store => Some(Dimension::Store),
            Self::Territory => Some(Dimension::Territory),
            Self::Month => None,
        }
    }

    pub(super) fn column(self) -> &'static str {
        match self {
            Self::Artist => "artist_id",
            Self::Release => "release_id",
            Self::Track => "track_id",
            Self::Store => "store",
            Self::Territory => "territory",
            Self::Month => "month",
        }
    }
}

#[derive(InputObject, Default)]
pub struct AnalyticsFilter {
    pub artist_ids: Option<Vec<ID>>,
    pub release_ids: Option<Vec<ID>>,
    pub track_ids: Option<Vec<ID>>,
    pub stores: Option<Vec<String>>,
    /// ISO 3166 alpha-2 codes.
    pub territories: Option<Vec<String>>,
    /// First month included (any day of it).
    pub from: Option<NaiveDate>,
    /// Last month included (any day of it).
    pub to: Option<NaiveDate>,
}

#[derive(InputObject, Clone, Copy)]
pub struct PeriodInput {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// A group's numbers, kept in nano-units; money is formatted only when a client reads it.
#[derive(Clone, Debug, Default)]
pub struct AnalyticsFigures {
    pub(super) quantity: i64,
    pub(super) base_currency: String,
    pub(super) earnings_base_nanos: i64,
    /// (currency, nano-units), sorted by currency.
    pub(super) earnings_by_currency: Vec<(String, i64)>,
    pub(super) line_count: i64,
}

impl AnalyticsFigures {
    pub(super) fn empty(base_currency: &str) -> Self {
        Self {
            base_currency: base_currency.to_owned(),
            ..Self::default()
        }
    }

    /// Adds `other`'s figures to these; money by [`domain::money::add_totals`], so a total
    /// past what may be reported is an error, never a wrapped number.
    pub(super) fn add(&mut self, other: &Self) -> ApiResult<()> {
        let count = |a: i64, b: i64| {
            a.checked_add(b)
                .ok_or_else(|| super::sql::too_large(domain::money::MoneyError::Overflow))
        };
        self.quantity = count(self.quantity, other.quantity)?;
        self.line_count = count(self.line_count, other.line_count)?;
        self.earnings_base_nanos =
            domain::money::add_totals(self.earnings_base_nanos, other.earnings_base_nanos)
                .map_err(super::sql::too_large)?;
        for (currency, nanos) in &other.earnings_by_currency {
            match self
                .earnings_by_currency
                .binary_search_by(|(c, _)| c.cmp(currency))
            {
                Ok(i) => {
                    let sum = &mut self.earnings_by_currency[i].1;
                    *sum =
                        domain::money::add_totals(*sum, *nanos).map_err(super::sql::too_large)?;
                }
                Err(i) => self
                    .earnings_by_currency
                    .insert(i, (currency.clone(), *nanos)),
            }
        }
        Ok(())
    }
}

#[Object]
impl AnalyticsFigures {
    async fn quantity(&self) -> i64 {
        self.quantity
    }
    /// In the organisation's base currency.
    async fn earnings(&self) -> Money {
        Money::from_nanos(self.earnings_base_nanos, &self.base_currency)
    }
    /// The same earnings in the currencies the statements reported them in.
    async fn earnings_by_currency(&self) -> Vec<Money> {
        self.earnings_by_currency
            .iter()
            .map(|(c, n)| Money::from_nanos(*n, c))
            .collect()
    }
    async fn line_count(&self) -> i64 {
        self.line_count
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) struct Key {
    pub(super) artist_id: Option<i64>,
    pub(super) release_id: Option<i64>,
    pub(super) track_id: Option<i64>,
    pub(super) store: Option<String>,
    pub(super) territory: Option<String>,
    pub(super) month: Option<NaiveDate>,
}

impl Key {
    /// The roll-up columns of the fields, in field order: the order `Ord` compares keys in,
    /// which SQL that orders groups as Rust does must follow.
    pub(super) const COLUMNS_IN_ORDER: [&'static str; 6] = [
        "artist_id",
        "release_id",
        "track_id",
        "store",
        "territory",
        "month",
    ];
}

/// One group of the result; the dimensions not grouped by are null.
#[derive(Clone, Debug)]
pub struct AnalyticsRow {
    /// The organisation whose roll-ups the row sums: its artist, release and track are looked
    /// up among that organisation's rows kept by [`AnalyticsCache`].
    pub(super) organization_id: i64,
    pub(super) key: Key,
    pub(super) figures: AnalyticsFigures,
}

/// The row `id` names, as kept with the organisation's scope, else through the request's
/// loader (one query for all the rows of a result) and then kept.
pub(super) async fn named<M, L>(
    ctx: &Context<'_>,
    organization_id: i64,
    id: i64,
    loader: impl FnOnce(&Loaders) -> &DataLoader<L>,
) -> async_graphql::Result<Option<M>>
where
    M: NamedRow,
    L: Loader<i64, Value = M, Error = Arc<sea_orm::DbErr>>,
{
    let cache = &ctx.state().analytics_cache;
    let (mut found, missing) = cache.known::<M>(organization_id, std::iter::once(id));
    if missing.is_empty() {
        return Ok(found.remove(&id));
    }
    let read_at = Instant::now();
    let row = loader(ctx.data_unchecked::<Loaders>()).load_one(id).await?;
    let read: HashMap<i64, M> = row.iter().map(|r| (id, r.clone())).collect();
    cache.remember_named(organization_id, &missing, &read, read_at);
    Ok(row)
}

#[Object]
impl AnalyticsRow {
    /// The artist, for a caller who may read the catalogue (its name is beside the figures).
    async fn artist(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Artist>> {
        let Some(id) = self.key.artist_id.filter(|id| *id > 0) else {
            return Ok(None);
        };
        let row = named(ctx, self.organization_id, id, |l| &l.artist).await?;
        Ok(guard::admit_opt(ctx, row).await?.map(Artist))
    }
    /// The artist's name: the name beside the figures, for whoever reads them.
    async fn artist_name(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        let Some(id) = self.key.artist_id.filter(|id| *id > 0) else {
            return Ok(None);
        };
        let row = named(ctx, self.organization_id, id, |l| &l.artist).await?;
        Ok(row.map(|r| r.name))
    }
    /// The release, for a caller who may read the catalogue (its name is beside the figures).
    async fn release(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Release>> {
        let Some(id) = self.key.release_id.filter(|id| *id > 0) else {
            return Ok(None);
        };
        let row = named(ctx, self.organization_id, id, |l| &l.release).await?;
        Ok(guard::admit_opt(ctx, row).await?.map(Release))
    }
    /// The release's title: the name beside the figures, for whoever reads them.
    async fn release_title(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        let Some(id) = self.key.release_id.filter(|id| *id > 0) else {
            return Ok(None);
        };
        let row = named(ctx, self.organization_id, id, |l| &l.release).await?;
        Ok(row.map(|r| r.title))
    }
    /// The track, for a caller who may read the catalogue (its name is beside the figures).
    async fn track(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Track>> {
        let Some(id) = self.key.track_id.filter(|id| *id > 0) else {
            return Ok(None);
        };
        let row = named(ctx, self.organization_id, id, |l| &l.track).await?;
        Ok(guard::admit_opt(ctx, row).await?.map(Track))
    }
    /// The track's title: the name beside the figures, for whoever reads them.
    async fn track_title(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        let Some(id) = self.key.track_id.filter(|id| *id > 0) else {
            return Ok(None);
        };
        let row = named(ctx, self.organization_id, id, |l| &l.track).await?;
        Ok(row.map(|r| r.title))
    }
    async fn store(&self) -> Option<&str> {
        self.key.store.as_deref()
    }
    async fn territory(&self) -> Option<&str> {
        self.key.territory.as_deref()
    }
    /// First day of the month.
    async fn month(&self) -> Option<NaiveDate> {
        self.key.month
    }
    async fn figures(&self) -> &AnalyticsFigures {
        &self.figures
    }
}

#[derive(SimpleObject)]
pub struct AnalyticsResult {
    pub totals: AnalyticsFigures,
    /// Groups, largest earnings first.
    pub rows: Vec<AnalyticsRow>,
    /// Groups beyond `first` that were not returned.
    pub more_rows: i64,
}

/// A roster artist's numbers in a period and the one before it.
#[derive(SimpleObject)]
pub struct ArtistSummary {
    /// The artist, for a caller who may read the catalogue.
    pub artist: Option<Artist>,
    /// The artist's name, beside the figures for whoever reads them.
    pub artist_name: Option<String>,
    pub current: AnalyticsFigures,
    pub previous: AnalyticsFigures,
    /// Change of base-currency earnings against the previous period, percent with one decimal;
    /// null when the previous period earned nothing.
    pub change_percent: Option<String>,
}

#[derive(SimpleObject)]
pub struct RosterOverview {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub totals: AnalyticsFigures,
    pub previous_totals: AnalyticsFigures,
    pub artists: Vec<ArtistSummary>,
    pub top_tracks: Vec<AnalyticsRow>,
    pub top_stores: Vec<AnalyticsRow>,
    pub top_territories: Vec<AnalyticsRow>,
    /// Each month of the period, first to last, months without figures as zeros.
    pub by_month: Vec<AnalyticsRow>,
}
