//! Answers by track or release, grouped in the server from an organisation's roll-up rows held
//! as columns.
//!
//! Grouping by track or release groups a roll-up row per track (and store and territory) and
//! month: 35,000–315,000 rows for a few months to three years at a million lines. Inside
//! PostgreSQL that cost 0.5–0.8 µs a row on two cores, 55–120 ms a cold answer
//! (`bench_analytics`). The same rows, held here as columns, are grouped in a few milliseconds.
//!
//! A [`Table`] is one roll-up of one organisation at one analytics version: the grain keeping
//! artist, release and track (a row per track and month) when a question neither filters nor
//! groups by store or territory, else `analytics_monthly`. It is read once per version in one
//! snapshot (a refresh moves the version, so a table is never stale), by the first question that
//! needs it while the others wait for it, and kept within [`TABLE_BYTES`] (the least used go
//! first). Its rows are sorted by month, so a period is a slice of them.
//!
//! The rules stay where they are: the filter is the [`RowFilter`] that [`Where`] records beside
//! its SQL in the same calls; figures are checked and put together by
//! `domain::money::total_from_parts` and [`AnalyticsFigures::add`] as the SQL answers are; groups
//! are ordered by [`sort_groups`].

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;
use domain::analytics::{Dimension, GRAINS, Grain};
use domain::money::{MoneyError, total_from_parts};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, TransactionTrait};

use super::super::error::{ApiError, ApiResult};
use super::cache::{SingleFlight, locked};
use super::sql::{Aggregate, RowFilter, Scope, Where, sort_groups, too_large};
use super::types::{AnalyticsDimension, AnalyticsFigures, AnalyticsRow, Key};

/// What the tables of all organisations may weigh together in one process. A million lines
/// over 5,000 tracks and three years make about 495,000 rows in the two tables (36 MB).
pub(super) const TABLE_BYTES: u64 = 96 * 1024 * 1024;

/// The most rows one table may have (a third of [`TABLE_BYTES`]): a larger roll-up is never
/// read into memory, its answers come from SQL (`sql::first_groups_sql`).
const MAX_TABLE_ROWS: usize = (TABLE_BYTES as usize) / 3 / ROW_BYTES;

/// Months read per query while a table loads: each query's rows pass through the driver at
/// once, so this bounds the memory a load takes beside the table it builds.
const MONTHS_PER_READ: usize = 3;

/// Bytes a table row takes in its columns.
const ROW_BYTES: usize = std::mem::size_of::<NaiveDate>() + 3 * 8 + 3 * 4 + 4 * 8;

/// The roll-up a table holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Source {
    /// The grain of `analytics_rollups` that keeps artist, release and track.
    Grain(&'static Grain),
    /// `analytics_monthly`, every dimension.
    Full,
}

impl Source {
    /// The table that answers a question filtering on `filtered` and grouping by `dims`: the
    /// grain keeping artist, release and track when it keeps them all, else the full roll-up.
    pub(super) fn for_question(
        filtered: &[Dimension],
        dims: &[AnalyticsDimension],
        full_only: bool,
    ) -> Self {
        let track_grain = GRAINS.iter().find(|g| {
            [Dimension::Artist, Dimension::Release, Dimension::Track]
                .iter()
                .all(|d| g.dimensions.contains(d))
                && g.dimensions.len() == 3
        });
        match track_grain {
            Some(grain)
                if !full_only
                    && filtered
                        .iter()
                        .copied()
                        .chain(dims.iter().filter_map(|d| d.kept()))
                        .all(|d| grain.dimensions.contains(&d)) =>
            {
                Self::Grain(grain)
            }
            _ => Self::Full,
        }
    }

    fn rows_sql(self) -> String {
        match self {
            // The grain's name is one of the identifiers of `GRAINS`, never the caller's text.
            Self::Grain(g) => format!("analytics_rollups WHERE grain = '{}' AND ", g.name),
            Self::Full => "analytics_monthly WHERE ".to_owned(),
        }
    }
}

/// One roll-up of one organisation, as columns, its rows in month order.
#[derive(Debug, Default)]
pub(super) struct Table {
    month: Vec<NaiveDate>,
    artist: Vec<i64>,
    release: Vec<i64>,
    track: Vec<i64>,
    /// Store, territory and currency as indexes into `texts`.
    store: Vec<u32>,
    territory: Vec<u32>,
    currency: Vec<u32>,
    texts: Vec<String>,
    quantity: Vec<i64>,
    base: Vec<i64>,
    earnings: Vec<i64>,
    lines: Vec<i64>,
}

/// A table's key: organisation, analytics version, source.
type TableKey = (i64, i64, Source);

/// The process's tables, by organisation, version and source.
#[derive(Debug)]
pub(super) struct Tables {
    kept: moka::sync::Cache<TableKey, Arc<Table>>,
    /// One load per table: the questions that need it meanwhile wait for it.
    loading: SingleFlight<TableKey>,
    /// Tables found to have more rows than one may hold, at the latest version seen.
    too_large: Mutex<HashSet<TableKey>>,
}

impl Default for Tables {
    fn default() -> Self {
        Self {
            kept: moka::sync::Cache::builder()
                .max_capacity(TABLE_BYTES)
                .weigher(|_, table: &Arc<Table>| u32::try_from(table.bytes()).unwrap_or(u32::MAX))
                .build(),
            loading: SingleFlight::default(),
            too_large: Mutex::default(),
        }
    }
}

impl Tables {
    /// The organisation's table of `source` at the scope's version, read if it is not kept;
    /// `None` when it has more rows than a table may hold.
    ///
    /// # Errors
    /// Database failures.
    pub(super) async fn get(
        &self,
        db: &DatabaseConnection,
        scope: &Scope,
        source: Source,
    ) -> ApiResult<Option<Arc<Table>>> {
        let key = (scope.organization_id, scope.version, source);
        if let Some(table) = self.kept.get(&key) {
            return Ok(Some(table));
        }
        if locked(&self.too_large).contains(&key) {
            return Ok(None);
        }
        self.loading
            .one_at_a_time(&key, || async {
                if let Some(table) = self.kept.get(&key) {
                    return Ok(Some(table));
                }
                if locked(&self.too_large).contains(&key) {
                    return Ok(None);
                }
                let started = std::time::Instant::now();
                let Some(table) =
                    Table::load(db, scope.organization_id, source, MAX_TABLE_ROWS).await?
                else {
                    tracing::info!(
                        organization_id = scope.organization_id,
                        version = scope.version,
                        source = ?source,
                        "analytics table too large to hold: answered by SQL"
                    );
                    let mut too_large = locked(&self.too_large);
                    too_large.retain(|(org, version, _)| {
                        *org != scope.organization_id || *version >= scope.version
                    });
                    too_large.insert(key);
                    return Ok(None);
                };
                let table = Arc::new(table);
                tracing::info!(
                    organization_id = scope.organization_id,
                    version = scope.version,
                    source = ?source,
                    rows = table.len(),
                    megabytes = table.bytes() / (1024 * 1024),
                    elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                    "analytics table loaded"
                );
                self.kept.insert(key, table.clone());
                // The organisation's tables of earlier versions are never asked for again.
                for (old, _) in self.kept.iter() {
                    if old.0 == scope.organization_id && old.1 < scope.version {
                        self.kept.invalidate(&*old);
                    }
                }
                Ok(Some(table))
            })
            .await
    }
}

/// A group's sums in one currency, each money column in the two parts the SQL sums use.
#[derive(Debug, Default, Clone, Copy)]
struct Sums {
    quantity: i128,
    base_units: i128,
    base_rest: i128,
    earnings_units: i128,
    earnings_rest: i128,
    lines: i128,
}

impl Sums {
    fn add_row(&mut self, table: &Table, i: usize) {
        const NANOS: i64 = 1_000_000_000;
        self.quantity += i128::from(table.quantity[i]);
        self.base_units += i128::from(table.base[i] / NANOS);
        self.base_rest += i128::from(table.base[i] % NANOS);
        self.earnings_units += i128::from(table.earnings[i] / NANOS);
        self.earnings_rest += i128::from(table.earnings[i] % NANOS);
        self.lines += i128::from(table.lines[i]);
    }

    /// The figures these sums report in `currency`, checked as the SQL answers' are: every sum
    /// fits a BIGINT, and each money total is one `total_from_parts` may report.
    fn figures(&self, currency: &str, base_currency: &str) -> ApiResult<AnalyticsFigures> {
        let fit = |v: i128| i64::try_from(v).map_err(|_| too_large(MoneyError::Overflow));
        let money =
            |units: i128, rest: i128| total_from_parts(fit(units)?, fit(rest)?).map_err(too_large);
        Ok(AnalyticsFigures {
            quantity: fit(self.quantity)?,
            base_currency: base_currency.to_owned(),
            earnings_base_nanos: money(self.base_units, self.base_rest)?,
            earnings_by_currency: vec![(
                currency.to_owned(),
                money(self.earnings_units, self.earnings_rest)?,
            )],
            line_count: fit(self.lines)?,
        })
    }
}

/// A group as grouped here: the dimensions not grouped by hold 0, `u32::MAX` or
/// `NaiveDate::MIN`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct GroupKey {
    artist: i64,
    release: i64,
    track: i64,
    store: u32,
    territory: u32,
    month: NaiveDate,
}

impl Table {
    /// Reads the organisation's rows of `source` in one snapshot, a few months per query;
    /// `None`, having read nothing but their count, when there are more than `max_rows`.
    pub(super) async fn load(
        db: &DatabaseConnection,
        organization_id: i64,
        source: Source,
        max_rows: usize,
    ) -> ApiResult<Option<Self>> {
        let txn = db.begin().await?;
        let backend = txn.get_database_backend();
        if backend == DbBackend::Postgres {
            // Every read of the load sees the same roll-ups (SQLite's read transaction does).
            txn.execute_unprepared("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                .await?;
        }
        let from = source.rows_sql();
        let months: Vec<NaiveDate> = txn
            .query_all_raw(Statement::from_sql_and_values(
                backend,
                format!("SELECT DISTINCT month FROM {from}organization_id = $1 ORDER BY month"),
                [organization_id.into()],
            ))
            .await?
            .iter()
            .map(|r| r.try_get::<NaiveDate>("", "month"))
            .collect::<Result<_, _>>()?;
        let count: i64 = txn
            .query_one_raw(Statement::from_sql_and_values(
                backend,
                format!("SELECT COUNT(*) AS n FROM {from}organization_id = $1"),
                [organization_id.into()],
            ))
            .await?
            .map_or(Ok(0), |r| r.try_get("", "n"))?;
        let count = usize::try_from(count).unwrap_or(usize::MAX);
        if count > max_rows {
            txn.commit().await?;
            return Ok(None);
        }
        // Every column at its exact size: grown by doubling, a table could hold twice its rows.
        let mut table = Table::with_capacity(count);
        let mut texts: HashMap<String, u32> = HashMap::new();
        for chunk in months.chunks(MONTHS_PER_READ) {
            let (Some(first), Some(last)) = (chunk.first(), chunk.last()) else {
                continue;
            };
            let rows = txn
                .query_all_raw(Statement::from_sql_and_values(
                    backend,
                    format!(
                        "SELECT month, artist_id, release_id, track_id, store, territory, currency, \
                           quantity, earnings_base_nanos, earnings_nanos, line_count \
                         FROM {from}organization_id = $1 AND month >= $2 AND month <= $3 ORDER BY month"
                    ),
                    [organization_id.into(), (*first).into(), (*last).into()],
                ))
                .await?;
            // Read by position, in the SELECT's order.
            for row in &rows {
                let mut text = |index: usize| -> ApiResult<u32> {
                    let value: String = row.try_get_by_index(index)?;
                    if let Some(code) = texts.get(&value) {
                        return Ok(*code);
                    }
                    let code = u32::try_from(table.texts.len()).map_err(ApiError::internal)?;
                    table.texts.push(value.clone());
                    texts.insert(value, code);
                    Ok(code)
                };
                let store = text(4)?;
                let territory = text(5)?;
                let currency = text(6)?;
                table.store.push(store);
                table.territory.push(territory);
                table.currency.push(currency);
                table.month.push(row.try_get_by_index(0)?);
                table.artist.push(row.try_get_by_index(1)?);
                table.release.push(row.try_get_by_index(2)?);
                table.track.push(row.try_get_by_index(3)?);
                table.quantity.push(row.try_get_by_index(7)?);
                table.base.push(row.try_get_by_index(8)?);
                table.earnings.push(row.try_get_by_index(9)?);
                table.lines.push(row.try_get_by_index(10)?);
            }
        }
        txn.commit().await?;
        Ok(Some(table))
    }

    /// Its rows.
    pub(super) fn len(&self) -> usize {
        self.month.len()
    }

    fn with_capacity(rows: usize) -> Self {
        Self {
            month: Vec::with_capacity(rows),
            artist: Vec::with_capacity(rows),
            release: Vec::with_capacity(rows),
            track: Vec::with_capacity(rows),
            store: Vec::with_capacity(rows),
            territory: Vec::with_capacity(rows),
            currency: Vec::with_capacity(rows),
            texts: Vec::new(),
            quantity: Vec::with_capacity(rows),
            base: Vec::with_capacity(rows),
            earnings: Vec::with_capacity(rows),
            lines: Vec::with_capacity(rows),
        }
    }

    /// What the table weighs, for the cache's bound.
    fn bytes(&self) -> usize {
        self.month.len() * ROW_BYTES + self.texts.iter().map(|t| t.len() + 24).sum::<usize>()
    }

    /// The first `keep` groups by `dims` of the rows `filter` lets through (base earnings,
    /// largest first, then the key, as [`sort_groups`] orders them), with the totals and the
    /// number of every group.
    ///
    /// # Errors
    /// A figure past what may be reported.
    pub(super) fn first_groups(
        &self,
        filter: &RowFilter,
        dims: &[AnalyticsDimension],
        scope: &Scope,
        keep: usize,
    ) -> ApiResult<Aggregate> {
        let base_currency = scope.base_currency.as_str();
        let start = filter
            .from
            .map_or(0, |from| self.month.partition_point(|m| *m < from));
        let end = filter.to.map_or(self.month.len(), |to| {
            self.month.partition_point(|m| *m <= to)
        });
        let ids: Vec<(&[i64], &HashSet<i64>)> = filter
            .ids
            .iter()
            .map(|(d, set)| (self.ids_of(*d), set))
            .collect();
        let codes: Vec<(&[u32], HashSet<u32>)> = filter
            .texts
            .iter()
            .map(|(d, wanted)| {
                let set = self
                    .texts
                    .iter()
                    .enumerate()
                    .filter(|(_, t)| wanted.contains(t))
                    .filter_map(|(code, _)| u32::try_from(code).ok())
                    .collect();
                (self.codes_of(*d), set)
            })
            .collect();
        let has = |d: AnalyticsDimension| dims.contains(&d);
        // The group of row `i`, if the filter lets it through.
        let group_of = |i: usize| -> Option<GroupKey> {
            if !ids.iter().all(|(column, set)| set.contains(&column[i]))
                || !codes.iter().all(|(column, set)| set.contains(&column[i]))
            {
                return None;
            }
            let pick = |d, value: i64| if has(d) { value } else { 0 };
            let code = |d, value: u32| if has(d) { value } else { u32::MAX };
            Some(GroupKey {
                artist: pick(AnalyticsDimension::Artist, self.artist[i]),
                release: pick(AnalyticsDimension::Release, self.release[i]),
                track: pick(AnalyticsDimension::Track, self.track[i]),
                store: code(AnalyticsDimension::Store, self.store[i]),
                territory: code(AnalyticsDimension::Territory, self.territory[i]),
                month: if has(AnalyticsDimension::Month) {
                    self.month[i]
                } else {
                    NaiveDate::MIN
                },
            })
        };
        let rows_in_period = start..end.max(start);
        // First pass: every group's base earnings (exact), and the totals by currency.
        let mut ranked: HashMap<GroupKey, i128> = HashMap::new();
        let mut totals: HashMap<u32, Sums> = HashMap::new();
        for i in rows_in_period.clone() {
            let Some(key) = group_of(i) else { continue };
            *ranked.entry(key).or_default() += i128::from(self.base[i]);
            totals.entry(self.currency[i]).or_default().add_row(self, i);
        }
        let count = ranked.len();
        let mut first: Vec<(GroupKey, i128)> = ranked.into_iter().collect();
        let order = |a: &(GroupKey, i128), b: &(GroupKey, i128)| {
            b.1.cmp(&a.1).then_with(|| self.key_order(&a.0, &b.0))
        };
        if first.len() > keep && keep > 0 {
            first.select_nth_unstable_by(keep - 1, order);
        }
        first.truncate(keep);
        // Second pass: the figures of the groups kept, by currency.
        let mut kept: HashMap<GroupKey, Vec<(u32, Sums)>> =
            first.iter().map(|(key, _)| (*key, Vec::new())).collect();
        for i in rows_in_period {
            let Some(by_currency) = group_of(i).and_then(|key| kept.get_mut(&key)) else {
                continue;
            };
            let currency = self.currency[i];
            match by_currency.iter_mut().find(|(c, _)| *c == currency) {
                Some((_, sums)) => sums.add_row(self, i),
                None => {
                    let mut sums = Sums::default();
                    sums.add_row(self, i);
                    by_currency.push((currency, sums));
                }
            }
        }
        let mut rows = Vec::with_capacity(kept.len());
        for (key, by_currency) in &kept {
            let mut figures = AnalyticsFigures::empty(base_currency);
            for (currency, sums) in by_currency {
                figures.add(&sums.figures(self.text(*currency), base_currency)?)?;
            }
            rows.push(AnalyticsRow {
                organization_id: scope.organization_id,
                key: self.key_of(key, dims),
                figures,
            });
        }
        sort_groups(&mut rows);
        let mut all = AnalyticsFigures::empty(base_currency);
        for (currency, sums) in &totals {
            all.add(&sums.figures(self.text(*currency), base_currency)?)?;
        }
        Ok(Aggregate::first_of(rows, all, count))
    }

    fn ids_of(&self, dimension: Dimension) -> &[i64] {
        match dimension {
            Dimension::Artist => &self.artist,
            Dimension::Release => &self.release,
            _ => &self.track,
        }
    }

    fn codes_of(&self, dimension: Dimension) -> &[u32] {
        match dimension {
            Dimension::Store => &self.store,
            _ => &self.territory,
        }
    }

    fn text(&self, code: u32) -> &str {
        self.texts.get(code as usize).map_or("", String::as_str)
    }

    /// Keys compared as [`Key`] compares them (its fields in order, text byte by byte).
    fn key_order(&self, a: &GroupKey, b: &GroupKey) -> Ordering {
        a.artist
            .cmp(&b.artist)
            .then_with(|| a.release.cmp(&b.release))
            .then_with(|| a.track.cmp(&b.track))
            .then_with(|| self.text(a.store).cmp(self.text(b.store)))
            .then_with(|| self.text(a.territory).cmp(self.text(b.territory)))
            .then_with(|| a.month.cmp(&b.month))
    }

    fn key_of(&self, key: &GroupKey, dims: &[AnalyticsDimension]) -> Key {
        let has = |d: AnalyticsDimension| dims.contains(&d);
        Key {
            artist_id: has(AnalyticsDimension::Artist).then_some(key.artist),
            release_id: has(AnalyticsDimension::Release).then_some(key.release),
            track_id: has(AnalyticsDimension::Track).then_some(key.track),
            store: has(AnalyticsDimension::Store).then(|| self.text(key.store).to_owned()),
            territory: has(AnalyticsDimension::Territory)
                .then(|| self.text(key.territory).to_owned()),
            month: has(AnalyticsDimension::Month).then_some(key.month),
        }
    }
}

/// The first groups of a question by track or release, from the table that answers it; `None`
/// when that table is too large to hold.
///
/// # Errors
/// Database failures; a figure past what may be reported.
pub(super) async fn first_groups(
    db: &DatabaseConnection,
    tables: &Tables,
    scope: &Scope,
    where_: &Where,
    dims: &[AnalyticsDimension],
    source: Source,
    keep: usize,
) -> ApiResult<Option<Aggregate>> {
    match tables.get(db, scope, source).await? {
        Some(table) => table
            .first_groups(&where_.rows, dims, scope, keep)
            .map(Some),
        None => Ok(None),
    }
}
