//! The SQL of analytics: the filter as a WHERE clause, the grain that answers, the aggregates.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::{Context, ID};
use chrono::NaiveDate;
use domain::analytics::{Dimension, Grain};
use domain::period::first_of_month;
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use workers::sums::{split_sum, total};

use super::super::access::{ContextExt, OrgAccess};
use super::super::accounts::decode_or_not_found;
use super::super::error::{ApiError, ApiResult};
use super::super::ids::Kind;

use super::columnar;
use super::types::*;
/// Builds the WHERE clause and its values; `$1` is the organisation. Every condition is kept
/// twice by the same call, as SQL and as [`RowFilter`] (what the in-memory tables of
/// [`super::columnar`] apply), so the two cannot disagree on what a filter lets through.
pub(super) struct Where {
    pub(super) sql: String,
    pub(super) values: Vec<sea_orm::Value>,
    /// The dimensions filtered on: a roll-up answers only if it keeps them.
    pub(super) filtered: Vec<Dimension>,
    /// The same conditions, for rows already in memory.
    pub(super) rows: RowFilter,
}

/// A filter's conditions on roll-up rows, all of which a row must meet.
#[derive(Debug, Clone, Default)]
pub(super) struct RowFilter {
    /// Artist, release or track ids: the row's id must be one of each list.
    pub(super) ids: Vec<(Dimension, std::collections::HashSet<i64>)>,
    /// Store or territory names: the row's text must be one of each list (byte for byte).
    pub(super) texts: Vec<(Dimension, Vec<String>)>,
    /// First and last month included.
    pub(super) from: Option<NaiveDate>,
    pub(super) to: Option<NaiveDate>,
}

impl Where {
    pub(super) fn new(organization_id: i64) -> Self {
        Self {
            sql: "organization_id = $1".into(),
            values: vec![organization_id.into()],
            filtered: Vec::new(),
            rows: RowFilter::default(),
        }
    }

    fn add_in<V: Into<sea_orm::Value> + Clone>(&mut self, dimension: Dimension, items: &[V]) {
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

    /// Rows whose artist, release or track (`dimension`) is one of `ids`.
    pub(super) fn add_ids(&mut self, dimension: Dimension, ids: &[i64]) {
        self.add_in(dimension, ids);
        self.rows
            .ids
            .push((dimension, ids.iter().copied().collect()));
    }

    /// Rows whose store or territory (`dimension`) is one of `texts`.
    pub(super) fn add_texts(&mut self, dimension: Dimension, texts: &[String]) {
        self.add_in(dimension, texts);
        self.rows.texts.push((dimension, texts.to_vec()));
    }

    fn add_cmp(&mut self, column: &str, op: &str, value: impl Into<sea_orm::Value>) {
        self.values.push(value.into());
        self.sql
            .push_str(&format!(" AND {column} {op} ${}", self.values.len()));
    }

    /// Rows of `month` or later.
    pub(super) fn add_from(&mut self, month: NaiveDate) {
        self.add_cmp("month", ">=", month);
        self.rows.from = Some(self.rows.from.map_or(month, |m| m.max(month)));
    }

    /// Rows of `month` or earlier.
    pub(super) fn add_to(&mut self, month: NaiveDate) {
        self.add_cmp("month", "<=", month);
        self.rows.to = Some(self.rows.to.map_or(month, |m| m.min(month)));
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
        w.add_ids(Dimension::Artist, &list);
    }
    if let Some(list) = decode_all(Kind::Release, &filter.release_ids)?.filter(|l| !l.is_empty()) {
        w.add_ids(Dimension::Release, &list);
    }
    if let Some(list) = decode_all(Kind::Track, &filter.track_ids)?.filter(|l| !l.is_empty()) {
        w.add_ids(Dimension::Track, &list);
    }
    if let Some(list) = filter.stores.as_ref().filter(|l| !l.is_empty()) {
        w.add_texts(Dimension::Store, list);
    }
    if let Some(list) = filter.territories.as_ref().filter(|l| !l.is_empty()) {
        let upper: Vec<String> = list.iter().map(|t| t.trim().to_uppercase()).collect();
        w.add_texts(Dimension::Territory, &upper);
    }
    if let Some(from) = filter.from {
        w.add_from(first_of_month(from));
    }
    if let Some(to) = filter.to {
        w.add_to(first_of_month(to));
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
    let totals_grain = cache.grain_for(where_, &[]);
    let grains = Grains {
        groups: grain,
        totals: totals_grain,
    };
    if Aggregate::keeps_first_only(&dims) {
        let source = cache.table_for(where_, &dims);
        let key = format!(
            "{}:{}:{}:{:?}:{dims:?}:table {source:?}",
            scope.organization_id, scope.version, where_.sql, where_.values,
        );
        return cache
            .get_or_compute(key, || async {
                // From the table in memory; from SQL when the table is too large to hold.
                match columnar::first_groups(
                    ctx.db(),
                    &cache.tables,
                    scope,
                    where_,
                    &dims,
                    source,
                    KEPT_ROWS,
                )
                .await?
                {
                    Some(answer) => Ok(answer),
                    None => {
                        aggregate_uncached(ctx.db(), scope, where_, &dims, grains, KEPT_ROWS).await
                    }
                }
            })
            .await;
    }
    let key = format!(
        "{}:{}:{}:{:?}:{dims:?}:{}",
        scope.organization_id,
        scope.version,
        where_.sql,
        where_.values,
        grain.map_or("full", |g| g.name)
    );
    cache
        .get_or_compute(key, || {
            aggregate_uncached(ctx.db(), scope, where_, &dims, grains, KEPT_ROWS)
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
    /// Every group of an answer, largest first, with their totals.
    ///
    /// # Errors
    /// A total past what a sum may report.
    pub(super) fn whole(rows: Vec<AnalyticsRow>, base_currency: &str) -> ApiResult<Self> {
        let totals = totals_of(&rows, base_currency)?;
        let count = rows.len();
        Ok(Self {
            rows,
            totals,
            count,
        })
    }

    /// An answer that keeps its first groups (`rows`, in order) of `count`, with the totals of
    /// them all.
    pub(super) fn first_of(
        rows: Vec<AnalyticsRow>,
        totals: AnalyticsFigures,
        count: usize,
    ) -> Self {
        Self {
            rows,
            totals,
            count,
        }
    }

    /// Whether an answer grouped by `dims` keeps only its first groups: by track or release,
    /// where one over three years by track × month has 180,000 groups, of which no request
    /// shows more than 1,000.
    pub(super) fn keeps_first_only(dims: &[AnalyticsDimension]) -> bool {
        dims.iter()
            .any(|d| matches!(d, AnalyticsDimension::Track | AnalyticsDimension::Release))
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
            let grain = ctx.state().analytics_cache.grain_for(where_, &[]);
            let sql = format!(
                "SELECT MAX(month) AS latest FROM ({}) a",
                rows_of(grain, where_)
            );
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
            Aggregate::whole(rows, &scope.base_currency)
        })
        .await?;
    Ok(rows.first().and_then(|row| row.key.month))
}

/// Computes an aggregate: every group, or, when [`Aggregate::keeps_first_only`], the first
/// `keep` groups, chosen by the database, which also counts and totals every group. A track ×
/// month answer over three years then brings 1,000 groups into the server instead of 180,000
/// (the server's peak memory under load halved, `bench_analytics`).
pub(super) async fn aggregate_uncached(
    db: &impl ConnectionTrait,
    scope: &Scope,
    where_: &Where,
    dims: &[AnalyticsDimension],
    grains: Grains<'_>,
    keep: usize,
) -> ApiResult<Aggregate> {
    let base_currency = scope.base_currency.as_str();
    let columns: Vec<&str> = dims.iter().map(|d| d.column()).collect();
    let backend = db.get_database_backend();
    let sql = if Aggregate::keeps_first_only(dims) {
        first_groups_sql(
            backend,
            &rows_of(grains.groups, where_),
            &rows_of(grains.totals, where_),
            &columns,
            keep,
        )
    } else {
        grouped_sql(&rows_of(grains.groups, where_), &columns, "")
    };
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            sql,
            where_.values.clone(),
        ))
        .await?;
    if !Aggregate::keeps_first_only(dims) {
        return Aggregate::whole(fold(&rows, dims, scope)?, base_currency);
    }
    let (mut kept, mut totals) = (Vec::new(), Vec::new());
    for row in rows {
        let part: i32 = row.try_get("", "part")?;
        if part == 0 {
            kept.push(row)
        } else {
            totals.push(row)
        }
    }
    let mut rows = fold(&kept, dims, scope)?;
    rows.truncate(keep);
    let mut all = AnalyticsFigures::empty(base_currency);
    let mut count = 0_i64;
    for row in &totals {
        all.add(&figures_of(row, base_currency)?)?;
        count = row.try_get("", "groups")?;
    }
    Ok(Aggregate {
        rows,
        totals: all,
        count: usize::try_from(count).unwrap_or(0),
    })
}

/// The SQL of the roll-up rows under `where_`, from `grain` (`None`: `analytics_monthly`).
fn rows_of(grain: Option<&Grain>, where_: &Where) -> String {
    // The grain's name is one of the identifiers of `GRAINS`, never the caller's text.
    let from = grain.map_or_else(
        || "analytics_monthly WHERE ".to_owned(),
        |g| format!("analytics_rollups WHERE grain = '{}' AND ", g.name),
    );
    format!("SELECT * FROM {from}{}", where_.sql)
}

/// The roll-ups an aggregate reads: the smallest grain that keeps its filter and grouping
/// (`None`: `analytics_monthly`), and the smallest that keeps its filter alone, for the totals.
#[derive(Clone, Copy)]
pub(super) struct Grains<'a> {
    pub(super) groups: Option<&'a Grain>,
    pub(super) totals: Option<&'a Grain>,
}

/// The SQL of the rows `rows_of` (a SELECT of roll-up rows) summed by `columns` and currency;
/// `extra` adds select items.
fn grouped_sql(rows_of: &str, columns: &[&str], extra: &str) -> String {
    let mut select = columns.to_vec();
    select.push("currency");
    let group = select.join(", ");
    format!(
        "SELECT {group}, CAST(SUM(quantity) AS BIGINT) AS quantity, {base}, {earnings}, \
           CAST(SUM(line_count) AS BIGINT) AS lines{extra} \
         FROM ({rows_of}) a GROUP BY {group}",
        base = split_sum("earnings_base_nanos", "base"),
        earnings = split_sum("earnings_nanos", "earnings"),
    )
}

/// The SQL of an answer's first `keep` groups (`part` 0, a row per group and currency, the
/// groups those [`fold`] puts first: base earnings, largest first, then the key) and of the
/// totals of every group (`part` 1, a row per currency, with the number of groups).
///
/// Groups are ranked by their base earnings alone (one sum per group; PostgreSQL's exact
/// NUMERIC sum, SQLite's sum in two parts that cannot overflow), then only the chosen groups'
/// rows are summed in full. The totals come from `totals_of`, the same filter on the smallest
/// roll-up that keeps it (by month alone, when nothing is filtered: a row per month). Ties are
/// broken by the key's columns in [`Key::COLUMNS_IN_ORDER`], text compared byte by byte as Rust
/// compares it. A dimension's column is never NULL in the roll-ups (0 or ''), so groups join on
/// equality.
fn first_groups_sql(
    backend: DbBackend,
    rows_of: &str,
    totals_of: &str,
    columns: &[&str],
    keep: usize,
) -> String {
    let ordered: Vec<String> = Key::COLUMNS_IN_ORDER
        .iter()
        .filter(|c| columns.contains(c))
        .map(|c| match backend {
            DbBackend::Postgres if matches!(*c, "store" | "territory") => {
                format!("{c} COLLATE \"C\"")
            }
            _ => (*c).to_owned(),
        })
        .collect();
    let ranked = match backend {
        DbBackend::Postgres => "SUM(earnings_base_nanos)",
        _ => {
            "SUM(earnings_base_nanos / 1000000000) * 1000000000 + SUM(earnings_base_nanos % 1000000000)"
        }
    };
    let list = columns.join(", ");
    let on: Vec<String> = columns.iter().map(|c| format!("a.{c} = t.{c}")).collect();
    let chosen = format!(
        "SELECT a.* FROM ({rows_of}) a JOIN t ON {}",
        on.join(" AND ")
    );
    let nulls: Vec<String> = columns.iter().map(|c| format!("NULL AS {c}")).collect();
    format!(
        "WITH r AS MATERIALIZED (SELECT {list}, {ranked} AS ranked FROM ({rows_of}) a GROUP BY {list}), \
           t AS (SELECT {list} FROM r ORDER BY ranked DESC, {ordered} LIMIT {keep}) \
         SELECT 0 AS part, g.* FROM ({kept}) g \
         UNION ALL \
         SELECT 1 AS part, {nulls}, g.* FROM ({totals}) g",
        ordered = ordered.join(", "),
        kept = grouped_sql(&chosen, columns, ", 0 AS groups"),
        totals = grouped_sql(totals_of, &[], ", (SELECT COUNT(*) FROM r) AS groups"),
        nulls = nulls.join(", "),
    )
}

/// One row's figures: a group's in one currency, or a currency's totals.
fn figures_of(row: &sea_orm::QueryResult, base_currency: &str) -> ApiResult<AnalyticsFigures> {
    let currency: String = row.try_get("", "currency")?;
    Ok(AnalyticsFigures {
        quantity: row.try_get("", "quantity")?,
        base_currency: base_currency.to_owned(),
        earnings_base_nanos: total(row, "base")?.map_err(too_large)?,
        earnings_by_currency: vec![(currency, total(row, "earnings")?.map_err(too_large)?)],
        line_count: row.try_get("", "lines")?,
    })
}

/// Folds rows of a group and currency into a row per group, largest earnings first; the key
/// breaks ties, so the order is stable between calls.
fn fold(
    rows: &[sea_orm::QueryResult],
    dims: &[AnalyticsDimension],
    scope: &Scope,
) -> ApiResult<Vec<AnalyticsRow>> {
    let base_currency = scope.base_currency.as_str();
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
        groups
            .entry(key)
            .or_insert_with(|| AnalyticsFigures::empty(base_currency))
            .add(&figures_of(row, base_currency)?)?;
    }
    let mut result: Vec<AnalyticsRow> = groups
        .into_iter()
        .map(|(key, figures)| AnalyticsRow {
            organization_id: scope.organization_id,
            key,
            figures,
        })
        .collect();
    sort_groups(&mut result);
    Ok(result)
}

/// The order of an answer's groups: largest base earnings first, the key breaking ties, so the
/// order is stable between calls.
pub(super) fn sort_groups(rows: &mut [AnalyticsRow]) {
    rows.sort_by(|a, b| {
        b.figures
            .earnings_base_nanos
            .cmp(&a.figures.earnings_base_nanos)
            .then_with(|| a.key.cmp(&b.key))
    });
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

    /// A small `analytics_monthly` on `db`: 40 tracks of 8 releases of 4 artists, 4 stores
    /// whose names sort differently by byte and by dictionary, 3 months, 2 currencies, and
    /// amounts with many ties (groups equal in earnings, ordered by their key).
    async fn seed(db: &sea_orm::DatabaseConnection) {
        let date = if db.get_database_backend() == DbBackend::Postgres {
            "DATE"
        } else {
            "TEXT"
        };
        db.execute_unprepared(&format!(
            "CREATE TABLE analytics_monthly (organization_id BIGINT NOT NULL, artist_id BIGINT NOT NULL, \
               release_id BIGINT NOT NULL, track_id BIGINT NOT NULL, store TEXT NOT NULL, \
               territory TEXT NOT NULL, month {date} NOT NULL, currency TEXT NOT NULL, \
               quantity BIGINT NOT NULL, earnings_base_nanos BIGINT NOT NULL, \
               earnings_nanos BIGINT NOT NULL, line_count BIGINT NOT NULL)"
        ))
        .await
        .expect("table");
        let stores = ["apple", "Zed", "\u{c4}mazon", "Bandcamp"];
        let mut values = Vec::new();
        let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
        for track in 1..=40_i64 {
            for (s, store) in stores.iter().enumerate() {
                for month in ["2025-01-01", "2025-02-01", "2025-03-01"] {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    if seed.is_multiple_of(4) {
                        continue;
                    }
                    // Amounts in whole tenths: ties are common; some negative (returns).
                    let base = i64::try_from(seed % 7).expect("small") * 100_000_000
                        - i64::from(s == 3) * 250_000_000;
                    let currency = if seed.is_multiple_of(3) { "EUR" } else { "USD" };
                    let territory = if seed.is_multiple_of(5) { "" } else { "GB" };
                    values.push(format!(
                        "(1, {}, {}, {track}, '{store}', '{territory}', '{month}', '{currency}', {}, {base}, {}, 1)",
                        (track - 1) / 10 + 1,
                        (track - 1) / 5 + 1,
                        seed % 11,
                        base + 7,
                    ));
                }
            }
        }
        // Another organisation's row, which no answer may count.
        values
            .push("(2, 1, 1, 1, 'apple', 'GB', '2025-01-01', 'USD', 5, 999000000000, 1, 1)".into());
        db.execute_unprepared(&format!(
            "INSERT INTO analytics_monthly VALUES {}",
            values.join(", ")
        ))
        .await
        .expect("rows");
    }

    /// Every grouping by track or release, cut at several sizes, with and without filters: the
    /// first groups chosen by SQL and those grouped from the table in memory are exactly the
    /// first of every group summed by SQL and sorted in Rust, with the same figures, and the
    /// totals and count are of every group.
    async fn first_groups_are_the_first_of_every_group(db: &sea_orm::DatabaseConnection) {
        seed(db).await;
        let scope = Scope {
            organization_id: 1,
            version: 0,
            base_currency: "USD".into(),
        };
        let mut stores = Where::new(1);
        stores.add_texts(Dimension::Store, &["apple".to_owned(), "Zed".to_owned()]);
        let mut narrow = Where::new(1);
        narrow.add_ids(Dimension::Release, &[1, 2, 3, 5, 8]);
        narrow.add_texts(Dimension::Territory, &["GB".to_owned()]);
        narrow.add_from(NaiveDate::from_ymd_opt(2025, 2, 1).expect("date"));
        let mut months = Where::new(1);
        months.add_from(NaiveDate::from_ymd_opt(2025, 1, 1).expect("date"));
        months.add_to(NaiveDate::from_ymd_opt(2025, 2, 1).expect("date"));
        months.add_ids(Dimension::Artist, &[2, 3]);
        let groupings = [
            vec![AnalyticsDimension::Track],
            vec![AnalyticsDimension::Release],
            vec![AnalyticsDimension::Track, AnalyticsDimension::Store],
            vec![AnalyticsDimension::Month, AnalyticsDimension::Release],
            vec![AnalyticsDimension::Territory, AnalyticsDimension::Track],
            vec![AnalyticsDimension::Artist, AnalyticsDimension::Track],
        ];
        let table = columnar::Table::load(db, 1, columnar::Source::Full, usize::MAX)
            .await
            .expect("table")
            .expect("small enough");
        for where_ in [Where::new(1), stores, narrow, months] {
            for dims in &groupings {
                let columns: Vec<&str> = dims.iter().map(|d| d.column()).collect();
                let rows_of = format!("SELECT * FROM analytics_monthly WHERE {}", where_.sql);
                let rows = db
                    .query_all_raw(Statement::from_sql_and_values(
                        db.get_database_backend(),
                        grouped_sql(&rows_of, &columns, ""),
                        where_.values.clone(),
                    ))
                    .await
                    .expect("every group");
                let whole = Aggregate::whole(fold(&rows, dims, &scope).expect("fold"), "USD")
                    .expect("whole");
                assert!(whole.count >= 3, "{dims:?}: too few groups to cut");
                for keep in [1, 2, whole.count - 1, whole.count, whole.count + 5] {
                    let grains = Grains {
                        groups: None,
                        totals: None,
                    };
                    let by_sql = aggregate_uncached(db, &scope, &where_, dims, grains, keep)
                        .await
                        .expect("first groups by SQL");
                    let in_memory = table
                        .first_groups(&where_.rows, dims, &scope, keep)
                        .expect("first groups in memory");
                    for first in [by_sql, in_memory] {
                        assert_eq!(first.len(), keep.min(whole.count), "{dims:?} keep {keep}");
                        for (a, b) in first.iter().zip(whole.iter()) {
                            assert_eq!(a.key, b.key, "{dims:?} keep {keep}: order");
                            assert_eq!(
                                (a.figures.quantity, a.figures.earnings_base_nanos),
                                (b.figures.quantity, b.figures.earnings_base_nanos)
                            );
                            assert_eq!(
                                a.figures.earnings_by_currency,
                                b.figures.earnings_by_currency
                            );
                            assert_eq!(a.figures.line_count, b.figures.line_count);
                        }
                        assert_eq!(first.count, whole.count, "{dims:?}: count");
                        assert_eq!(first.totals.quantity, whole.totals.quantity);
                        assert_eq!(
                            first.totals.earnings_base_nanos,
                            whole.totals.earnings_base_nanos
                        );
                        assert_eq!(
                            first.totals.earnings_by_currency,
                            whole.totals.earnings_by_currency
                        );
                        assert_eq!(first.totals.line_count, whole.totals.line_count);
                    }
                }
            }
        }
        // A table past its bound is not read at all: the answer then comes from SQL.
        assert!(
            columnar::Table::load(db, 1, columnar::Source::Full, table.len() - 1)
                .await
                .expect("counted")
                .is_none()
        );
    }

    #[tokio::test]
    async fn first_groups_on_sqlite() {
        let db = entity::db::connect("sqlite::memory:")
            .await
            .expect("sqlite");
        first_groups_are_the_first_of_every_group(&db).await;
    }

    #[tokio::test]
    async fn first_groups_on_postgres() {
        let Ok(server) = std::env::var("IMPRINT_TEST_DATABASE_URL") else {
            eprintln!("IMPRINT_TEST_DATABASE_URL is not set: PostgreSQL not tested");
            return;
        };
        let admin = sea_orm::Database::connect(&server).await.expect("postgres");
        let name = format!("imprint_t_first_groups_{}", std::process::id());
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .expect("database");
        let base = &server[..server.rfind('/').unwrap_or(server.len())];
        let db = sea_orm::Database::connect(format!("{base}/{name}"))
            .await
            .expect("connect");
        first_groups_are_the_first_of_every_group(&db).await;
        db.close().await.expect("close");
        admin
            .execute_unprepared(&format!("DROP DATABASE {name} WITH (FORCE)"))
            .await
            .expect("drop");
    }

    #[test]
    fn only_track_and_release_answers_keep_their_first_groups() {
        assert!(Aggregate::keeps_first_only(&[AnalyticsDimension::Track]));
        assert!(Aggregate::keeps_first_only(&[
            AnalyticsDimension::Month,
            AnalyticsDimension::Release
        ]));
        for dims in [
            &[AnalyticsDimension::Artist][..],
            &[AnalyticsDimension::Month],
            &[AnalyticsDimension::Store, AnalyticsDimension::Territory],
            &[],
        ] {
            assert!(!Aggregate::keeps_first_only(dims));
        }
    }
}
