//! The coarser analytics roll-ups (`analytics_rollups`, one set of rows per grain of
//! `domain::analytics::GRAINS`), rewritten by `RefreshAnalytics` beside `analytics_monthly`.
//!
//! They are summed from the full roll-up rows of the same months, just written in the same
//! transaction: the same lines, read once. Sums are cast back to BIGINT, which fails the
//! refresh on overflow (PostgreSQL sums BIGINT as NUMERIC and the cast checks the range; SQLite
//! raises "integer overflow") rather than storing a wrapped figure.

use domain::analytics::{Dimension, GRAINS};
use sea_orm::{ConnectionTrait, DbErr, Statement};

use super::refresh_analytics::checked_sum;

/// The column that keeps `dimension`, in both roll-up tables.
#[must_use]
pub fn column(dimension: Dimension) -> &'static str {
    match dimension {
        Dimension::Artist => "artist_id",
        Dimension::Release => "release_id",
        Dimension::Track => "track_id",
        Dimension::Store => "store",
        Dimension::Territory => "territory",
    }
}

/// Replaces every grain's rows of the organisation `$1` in the months `month_filter` selects
/// (`""` for all; its placeholders are `values` after the organisation) with sums of the
/// `analytics_monthly` rows of those months. Returns the rows written.
///
/// # Errors
/// Database failures, an overflowing sum among them.
pub async fn rewrite(
    db: &impl ConnectionTrait,
    month_filter: &str,
    values: &[sea_orm::Value],
) -> Result<u64, DbErr> {
    let backend = db.get_database_backend();
    db.execute_raw(Statement::from_sql_and_values(
        backend,
        format!("DELETE FROM analytics_rollups WHERE organization_id = $1{month_filter}"),
        values.to_vec(),
    ))
    .await?;
    let mut written = 0;
    for grain in GRAINS {
        let kept: String = grain
            .dimensions
            .iter()
            .map(|d| format!("{}, ", column(*d)))
            .collect();
        let name = grain.name;
        let insert = format!(
            "INSERT INTO analytics_rollups (organization_id, grain, {kept}month, currency, \
               quantity, earnings_base_nanos, earnings_nanos, line_count) \
             SELECT organization_id, '{name}', {kept}month, currency, {quantity}, {base}, {amount}, \
               CAST(SUM(line_count) AS BIGINT) \
             FROM analytics_monthly WHERE organization_id = $1{month_filter} \
             GROUP BY organization_id, {kept}month, currency",
            quantity = checked_sum("quantity"),
            base = checked_sum("earnings_base_nanos"),
            amount = checked_sum("earnings_nanos"),
        );
        written += db
            .execute_raw(Statement::from_sql_and_values(
                backend,
                insert,
                values.to_vec(),
            ))
            .await?
            .rows_affected();
    }
    Ok(written)
}
