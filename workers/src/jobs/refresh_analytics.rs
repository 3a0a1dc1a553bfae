//! `RefreshAnalytics`: keeps the monthly roll-ups (organisation × artist × release × track ×
//! store × territory × month × currency) equal to the statement lines they summarise.
//!
//! The unit of work is a month of one organisation: the job deletes the roll-up rows of the
//! months a statement touched and re-aggregates those months from every line of the
//! organisation, in one transaction. Recomputing from the source (rather than adding a
//! statement's sums on top) is what makes the job idempotent and correct whatever happened
//! before: a retried job, an overlapping statement, lines re-matched to another track.

use chrono::NaiveDate;
use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement};

use crate::JobContext;

/// The month a line belongs to: its sale period's start, else its statement's period, else the
/// month the statement was uploaded.
fn month_expression(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => {
            "CAST(date_trunc('month', COALESCE(l.sale_period_start, s.period_start, CAST(s.created_at AS date))) AS date)"
        }
        _ => "date(COALESCE(l.sale_period_start, s.period_start, s.created_at), 'start of month')",
    }
}

/// The advisory-lock namespace for analytics refreshes on PostgreSQL.
const REFRESH_LOCK: i32 = 7_002;

/// `SUM(column)` that cannot fail on an `i64` overflow, on either backend, saturating at the
/// `i64` bounds instead: the sum of the whole units and the sum of the nano-units below one
/// each stay far inside `i64` (a billion lines of the largest amount), and are put together
/// only when the result fits. (SQLite's SUM raises "integer overflow"; PostgreSQL's NUMERIC
/// sum fails its cast back to BIGINT.) The saturated region starts past
/// [`domain::money::MAX_TOTAL_NANOS`], where no real total ever is, and the API refuses any
/// total there ([`crate::sums`]): a saturated month is an error when read, never a number.
/// The roll-ups sum the monthly rows with it again, so a saturated row stays saturated.
pub(crate) fn checked_sum(column: &str) -> String {
    let units = format!("CAST(SUM({column} / 1000000000) AS BIGINT)");
    let rest = format!("CAST(SUM({column} % 1000000000) AS BIGINT)");
    let whole = format!("({units} + {rest} / 1000000000)");
    let bound = domain::money::MAX_TOTAL_NANOS / domain::money::NANOS_PER_UNIT;
    format!(
        "CASE WHEN {whole} > {bound} THEN 9223372036854775807 \
              WHEN {whole} < -{bound} THEN -9223372036854775807 \
              ELSE {whole} * 1000000000 + {rest} % 1000000000 END"
    )
}

/// Roll-up rows a refresh writes past which PostgreSQL is asked to analyse the table (a
/// sample of at most 30,000 rows, tens of milliseconds) before the refresh is announced.
const ANALYZE_AFTER_ROWS: u64 = 10_000;

/// Refreshes the months `statement_id` touched (or every month of the organisation).
///
/// # Errors
/// Database failures; the transaction leaves the roll-ups as they were.
pub async fn run(
    ctx: &JobContext,
    organization_id: i64,
    statement_id: Option<i64>,
) -> anyhow::Result<()> {
    let backend = ctx.db.get_database_backend();
    let month = month_expression(backend);
    // Refreshes of one organisation run one at a time: two at once would each delete the
    // months and insert them again, and the second insert would meet the first's rows on the
    // roll-up's unique key. SQLite: `BEGIN IMMEDIATE` holds the write lock from the start;
    // PostgreSQL: an advisory lock per organisation, until the commit.
    let txn = entity::db::begin_write(&ctx.db).await?;
    if backend == DbBackend::Postgres {
        txn.execute_raw(Statement::from_sql_and_values(
            backend,
            "SELECT pg_advisory_xact_lock($1, hashint8($2))",
            [REFRESH_LOCK.into(), organization_id.into()],
        ))
        .await?;
    }
    let months: Option<Vec<NaiveDate>> = match statement_id {
        None => None,
        Some(id) => {
            let rows = txn
                .query_all_raw(Statement::from_sql_and_values(
                    backend,
                    format!(
                        "SELECT DISTINCT {month} AS month FROM statement_lines l JOIN statements s ON s.id = l.statement_id \
                         WHERE l.statement_id = $1"
                    ),
                    [id.into()],
                ))
                .await?;
            Some(
                rows.iter()
                    .map(|r| r.try_get::<NaiveDate>("", "month"))
                    .collect::<Result<_, DbErr>>()?,
            )
        }
    };
    if months.as_ref().is_some_and(Vec::is_empty) {
        txn.commit().await?;
        return Ok(());
    }
    let (month_filter_rollup, month_filter_lines, values) = match &months {
        None => (String::new(), String::new(), vec![organization_id.into()]),
        Some(list) => {
            let placeholders: Vec<String> =
                (0..list.len()).map(|i| format!("${}", i + 2)).collect();
            let joined = placeholders.join(", ");
            let mut values: Vec<sea_orm::Value> = vec![organization_id.into()];
            values.extend(list.iter().map(|m| sea_orm::Value::from(*m)));
            (
                format!(" AND month IN ({joined})"),
                format!(" AND {month} IN ({joined})"),
                values,
            )
        }
    };
    txn.execute_raw(Statement::from_sql_and_values(
        backend,
        format!("DELETE FROM analytics_monthly WHERE organization_id = $1{month_filter_rollup}"),
        values.clone(),
    ))
    .await?;
    let insert = format!(
        "INSERT INTO analytics_monthly (organization_id, artist_id, release_id, track_id, store, territory, month, currency, \
           quantity, earnings_base_nanos, earnings_nanos, line_count) \
         SELECT l.organization_id, COALESCE(r.artist_id, 0), COALESCE(l.release_id, 0), COALESCE(l.track_id, 0), \
           COALESCE(l.store, ''), COALESCE(l.territory, ''), {month}, l.currency, \
           {quantity}, {base}, {amount}, COUNT(*) \
         FROM statement_lines l \
           JOIN statements s ON s.id = l.statement_id \
           LEFT JOIN releases r ON r.id = l.release_id \
         WHERE l.organization_id = $1{month_filter_lines} \
         GROUP BY l.organization_id, COALESCE(r.artist_id, 0), COALESCE(l.release_id, 0), COALESCE(l.track_id, 0), \
           COALESCE(l.store, ''), COALESCE(l.territory, ''), {month}, l.currency",
        quantity = checked_sum("l.quantity"),
        base = checked_sum("l.base_amount_nanos"),
        amount = checked_sum("l.amount_nanos"),
    );
    let written = txn
        .execute_raw(Statement::from_sql_and_values(
            backend,
            insert,
            values.clone(),
        ))
        .await?
        .rows_affected();
    // The coarser grains of the same months, from the rows just written.
    super::analytics_rollups::rewrite(&txn, &month_filter_rollup, &values).await?;
    // Cached answers keyed by the old version are now stale, in every API process.
    txn.execute_raw(Statement::from_sql_and_values(
        backend,
        "UPDATE organizations SET analytics_version = analytics_version + 1 WHERE id = $1",
        [organization_id.into()],
    ))
    .await?;
    txn.commit().await?;
    // Without statistics for what a large refresh wrote (a first import, a rebuild), the
    // planner takes the (organization_id, month) range for a handful of rows and walks the heap
    // in index order and sorts to group: about 33 ms in place of 6 ms for a year of 15,000
    // roll-up rows. Autovacuum would analyse the table too, but only within a minute or so,
    // and that minute is when the first, uncached, requests after the refresh come. Both
    // tables: the coarser grains in `analytics_rollups` answer most queries.
    if backend == DbBackend::Postgres && written >= ANALYZE_AFTER_ROWS {
        for table in ["analytics_monthly", "analytics_rollups"] {
            if let Err(err) = ctx.db.execute_unprepared(&format!("ANALYZE {table}")).await {
                tracing::warn!(error = %err, organization_id, table, "analysing the roll-ups failed");
            }
        }
    }
    // API processes drop their cached version at once; one that misses the event re-reads the
    // version within its check interval, so a lost event delays the refresh and breaks nothing.
    if let Err(err) = ctx
        .events
        .publish(&crate::events::Event::AnalyticsRefreshed { organization_id })
        .await
    {
        tracing::warn!(error = %err, organization_id, "announcing an analytics refresh failed");
    }
    Ok(())
}
