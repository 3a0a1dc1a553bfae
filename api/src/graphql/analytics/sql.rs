//! The SQL of analytics: the filter as a WHERE clause, the grain that answers, the aggregates.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::{Context, ID};
use chrono::NaiveDate;
use domain::analytics::{Dimension, Grain};
use domain::period::first_of_month;
use sea_orm::{ConnectionTrait, Statement};
use workers::sums::{split_sum, total};

use super::super::access::{ContextExt, OrgAccess};
use super::super::accounts::decode_or_not_found;
use super::super::error::{ApiError, ApiResult};
use super::super::ids::Kind;

use super::types::*;
/// Builds the WHERE clause and its values; `$1` is the organisation.
pub(super) struct Where {
    pub(super) sql: String,
    pub(super) values: Vec<sea_orm::Value>,
    /// The dimensions filtered on: a roll-up answers only if it keeps them.
    pub(super) filtered: Vec<Dimension>,
}

impl Where {
    pub(super) fn new(organization_id: i64) -> Self {
        Self {
            sql: "organization_id = $1".into(),
            values: vec![organization_id.into()],
            filtered: Vec::new(),
        }
    }

    pub(super) fn add_in<V: Into<sea_orm::Value> + Clone>(
        &mut self,
        dimension: Dimension,
        items: &[V],
    ) {
        let column = workers::jobs::analytics_rollups::column(dimension);
        self.filtered.push(dimension);
        let start = self.values.len() + 1;
        let placeholders: Vec<String> = (start..start + items.len())
            .map(|i| format!("${i}"))
            .collect();
        self.sql
            .push_str(&format!(" AND {column} IN ({})", placeholders.join(", ")));
        self.values.extend(items.iter().cloned().map(Into::into));
    }

    pub(super) fn add_cmp(&mut self, column: &str, op: &str, value: impl Into<sea_orm::Value>) {
        self.values.push(value.into());
        self.sql
            .push_str(&format!(" AND {column} {op} ${}", self.values.len()));
    }
}

pub(super) fn decode_all(kind: Kind, ids: &Option<Vec<ID>>) -> ApiResult<Option<Vec<i64>>> {
    ids.as_ref()
        .map(|list| {
            list.iter()
                .map(|id| decode_or_not_found(kind, id))
                .collect()
        })
        .transpose()
}

/// The filter as SQL, with the artist scope of an artist member enforced.
pub(super) fn build_where(access: &OrgAccess, filter: &AnalyticsFilter) -> ApiResult<Where> {
    let mut w = Where::new(access.organization_id);
    let mut artists = decode_all(Kind::Artist, &filter.artist_ids)?;
    if let Some(own) = access.artist_id {
        match &artists {
            Some(list) if list.iter().any(|a| *a != own) => {
                // Another artist does not exist for her.
                return Err(ApiError::NotFound("Artist"));
            }
            _ => artists = Some(vec![own]),
        }
    }
    if let Some(list) = artists.filter(|l| !l.is_empty()) {
        w.add_in(Dimension::Artist, &list);
    }
    if let Some(list) = decode_all(Kind::Release, &filter.release_ids)?.filter(|l| !l.is_empty()) {
        w.add_in(Dimension::Release, &list);
    }
    if let Some(list) = decode_all(Kind::Track, &filter.track_ids)?.filter(|l| !l.is_empty()) {
        w.add_in(Dimension::Track, &list);
    }
    if let Some(list) = filter.stores.as_ref().filter(|l| !l.is_empty()) {
        w.add_in(Dimension::Store, list);
    }
    if let Some(list) = filter.territories.as_ref().filter(|l| !l.is_empty()) {
        let upper: Vec<String> = list.iter().map(|t| t.trim().to_uppercase()).collect();
        w.add_in(Dimension::Territory, &upper);
    }
    if let Some(from) = filter.from {
        w.add_cmp("month", ">=", first_of_month(from));
    }
    if let Some(to) = filter.to {
        w.add_cmp("month", "<=", first_of_month(to));
    }
    Ok(w)
}

/// What an aggregate is computed from: the organisation, its analytics version, its base
/// currency.
#[derive(Debug, Clone)]
pub(super) struct Scope {
    pub(super) organization_id: i64,
    pub(super) version: i64,
    pub(super) base_currency: String,
}

/// Runs one grouped aggregate over the roll-ups.
pub(super) async fn aggregate(
    ctx: &Context<'_>,
    scope: &Scope,
    where_: &Where,
    group_by: &[AnalyticsDimension],
) -> ApiResult<Arc<Aggregate>> {
    let mut dims: Vec<AnalyticsDimension> = Vec::new();
    for d in group_by {
        if !dims.contains(d) {
            dims.push(*d);
        }
    }
    let cache = &ctx.state().analytics_cache;
    let grain = cache.grain_for(where_, &dims);
    let key = format!(
        "{}:{}:{}:{:?}:{dims:?}:{}",
        scope.organization_id,
        scope.version,
        where_.sql,
        where_.values,
        grain.map_or("full", |g| g.name)
    );
    cache
        .get_or_compute(key, || async {
            let rows = aggregate_uncached(ctx.db(), scope, where_, &dims, grain).await?;
            Aggregate::kept(rows, &scope.base_currency, &dims)
        })
        .await
}

/// Groups kept of an answer: every group, except by track or release, where only the first
/// [`KEPT_ROWS`] are (all a request can ask for); the totals and the count are of every group.
pub(super) const KEPT_ROWS: usize = 1_000;

/// An aggregate as kept: its groups, largest first, and the totals and number of all of them.
/// It reads as its kept groups (`Deref`).
#[derive(Debug)]
pub(super) struct Aggregate {
    rows: Vec<AnalyticsRow>,
    /// The figures of every group, those not kept included.
    pub(super) totals: AnalyticsFigures,
    /// How many groups there are, those not kept included.
    pub(super) count: usize,
}

impl Aggregate {
    /// Keeps `rows` (largest first) whole, or, grouped by track or release, their first
    /// [`KEPT_ROWS`]: by track × month over three years an answer has 180,000 groups, of which
    /// no request shows more than 1,000, and kept whole a few of them filled the cache.
    ///
    /// # Errors
    /// A total past what a sum may report.
    pub(super) fn kept(
        mut rows: Vec<AnalyticsRow>,
        base_currency: &str,
        dims: &[AnalyticsDimension],
    ) -> ApiResult<Self> {
        let totals = totals_of(&rows, base_currency)?;
        let count = rows.len();
        if dims
            .iter()
            .any(|d| matches!(d, AnalyticsDimension::Track | AnalyticsDimension::Release))
            && rows.len() > KEPT_ROWS
        {
            rows.truncate(KEPT_ROWS);
            rows.shrink_to_fit();
        }
        Ok(Self {
            rows,
            totals,
            count,
        })
    }
}

impl std::ops::Deref for Aggregate {
    type Target = [AnalyticsRow];

    fn deref(&self) -> &[AnalyticsRow] {
        &self.rows
    }
}

/// The last month with figures under `where_`, if any (kept like an aggregate, as a row
/// grouped by month).
pub(super) async fn latest_month(
    ctx: &Context<'_>,
    scope: &Scope,
    where_: &Where,
) -> ApiResult<Option<NaiveDate>> {
    let key = format!(
        "latest:{}:{}:{}:{:?}",
        scope.organization_id, scope.version, where_.sql, where_.values
    );
    let rows = ctx
        .state()
        .analytics_cache
        .get_or_compute(key, || async {
            let db = ctx.db();
            let from = ctx
                .state()
                .analytics_cache
                .grain_for(where_, &[])
                .map_or_else(
                    || "analytics_monthly WHERE ".to_owned(),
                    |g| format!("analytics_rollups WHERE grain = '{}' AND ", g.name),
                );
            let sql = format!("SELECT MAX(month) AS latest FROM {from}{}", where_.sql);
            let row = db
                .query_one_raw(Statement::from_sql_and_values(
                    db.get_database_backend(),
                    sql,
                    where_.values.clone(),
                ))
                .await?;
            let latest: Option<NaiveDate> = match row {
                Some(row) => row.try_get("", "latest")?,
                None => None,
            };
            let rows = latest
                .map(|month| AnalyticsRow {
                    organization_id: scope.organization_id,
                    key: Key {
                        month: Some(month),
                        ..Key::default()
                    },
                    figures: AnalyticsFigures::empty(&scope.base_currency),
                })
                .into_iter()
                .collect();
            Aggregate::kept(rows, &scope.base_currency, &[])
        })
        .await?;
    Ok(rows.first().and_then(|row| row.key.month))
}

pub(super) async fn aggregate_uncached(
    db: &impl ConnectionTrait,
    scope: &Scope,
    where_: &Where,
    dims: &[AnalyticsDimension],
    grain: Option<&Grain>,
) -> ApiResult<Vec<AnalyticsRow>> {
    let base_currency = scope.base_currency.as_str();
    // The grain's name is one of the identifiers of `GRAINS`, never the caller's text.
    let from = grain.map_or_else(
        || "analytics_monthly WHERE ".to_owned(),
        |g| format!("analytics_rollups WHERE grain = '{}' AND ", g.name),
    );
    let mut select: Vec<String> = dims.iter().map(|d| d.column().to_owned()).collect();
    select.push("currency".into());
    let group = select.join(", ");
    let sql = format!(
        "SELECT {group}, CAST(SUM(quantity) AS BIGINT) AS quantity, {base}, {earnings}, \
           CAST(SUM(line_count) AS BIGINT) AS lines \
         FROM {from}{} GROUP BY {group}",
        where_.sql,
        base = split_sum("earnings_base_nanos", "base"),
        earnings = split_sum("earnings_nanos", "earnings"),
    );
    let backend = db.get_database_backend();
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            sql,
            where_.values.clone(),
        ))
        .await?;
    // Fold the per-currency rows into one row per group.
    let mut groups: HashMap<Key, AnalyticsFigures> = HashMap::new();
    for row in rows {
        let mut key = Key::default();
        for d in dims {
            let c = d.column();
            match d {
                AnalyticsDimension::Artist => key.artist_id = Some(row.try_get("", c)?),
                AnalyticsDimension::Release => key.release_id = Some(row.try_get("", c)?),
                AnalyticsDimension::Track => key.track_id = Some(row.try_get("", c)?),
                AnalyticsDimension::Store => key.store = Some(row.try_get("", c)?),
                AnalyticsDimension::Territory => key.territory = Some(row.try_get("", c)?),
                AnalyticsDimension::Month => key.month = Some(row.try_get("", c)?),
            }
        }
        let currency: String = row.try_get("", "currency")?;
        let part = AnalyticsFigures {
            quantity: row.try_get("", "quantity")?,
            base_currency: base_currency.to_owned(),
            earnings_base_nanos: total(&row, "base")?.map_err(too_large)?,
            earnings_by_currency: vec![(currency, total(&row, "earnings")?.map_err(too_large)?)],
            line_count: row.try_get("", "lines")?,
        };
        groups
            .entry(key)
            .or_insert_with(|| AnalyticsFigures::empty(base_currency))
            .add(&part)?;
    }
    let mut result: Vec<AnalyticsRow> = groups
        .into_iter()
        .map(|(key, figures)| AnalyticsRow {
            organization_id: scope.organization_id,
            key,
            figures,
        })
        .collect();
    // Largest earnings first; the key breaks ties, so the order is stable between calls.
    result.sort_by(|a, b| {
        b.figures
            .earnings_base_nanos
            .cmp(&a.figures.earnings_base_nanos)
            .then_with(|| a.key.cmp(&b.key))
    });
    Ok(result)
}

/// The figures of all `rows` together.
///
/// # Errors
/// A total past what a sum may report ([`domain::money::MAX_TOTAL_NANOS`]).
pub(super) fn totals_of(rows: &[AnalyticsRow], base_currency: &str) -> ApiResult<AnalyticsFigures> {
    let mut totals = AnalyticsFigures::empty(base_currency);
    for row in rows {
        totals.add(&row.figures)?;
    }
    Ok(totals)
}

/// A total too large to report: the client's error, said plainly, never a wrong number.
pub(super) fn too_large(err: domain::money::MoneyError) -> ApiError {
    ApiError::BadRequest(format!(
        "a total of these figures cannot be reported: {err} (narrow the filter or the period)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(n: i64) -> Vec<AnalyticsRow> {
        (1..=n)
            .rev()
            .map(|i| AnalyticsRow {
                organization_id: 1,
                key: Key {
                    track_id: Some(i),
                    ..Key::default()
                },
                figures: AnalyticsFigures {
                    quantity: i,
                    base_currency: "USD".into(),
                    earnings_base_nanos: i * 1_000,
                    earnings_by_currency: vec![("USD".into(), i * 1_000)],
                    line_count: 1,
                },
            })
            .collect()
    }

    #[test]
    fn by_track_only_the_first_groups_are_kept_and_the_totals_count_them_all() {
        let n = i64::try_from(KEPT_ROWS).expect("small") + 500;
        let kept = Aggregate::kept(rows(n), "USD", &[AnalyticsDimension::Track]).expect("kept");
        assert_eq!(kept.len(), KEPT_ROWS);
        assert_eq!(kept.count, usize::try_from(n).expect("small"));
        assert_eq!(kept[0].key.track_id, Some(n), "largest first");
        assert_eq!(kept.totals.quantity, n * (n + 1) / 2);
        assert_eq!(kept.totals.earnings_base_nanos, n * (n + 1) / 2 * 1_000);
        assert_eq!(kept.totals.line_count, n);
    }

    #[test]
    fn by_artist_or_month_every_group_is_kept() {
        let n = i64::try_from(KEPT_ROWS).expect("small") + 1;
        for dims in [
            &[AnalyticsDimension::Artist][..],
            &[AnalyticsDimension::Month],
            &[AnalyticsDimension::Store, AnalyticsDimension::Territory],
        ] {
            let kept = Aggregate::kept(rows(n), "USD", dims).expect("kept");
            assert_eq!(kept.len(), kept.count);
            assert_eq!(kept.totals.quantity, n * (n + 1) / 2);
        }
    }
}
