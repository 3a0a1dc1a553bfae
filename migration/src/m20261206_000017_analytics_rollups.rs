//! Analytics roll-ups at coarser grains, beside `analytics_monthly`.
//!
//! `analytics_monthly` keeps every dimension and so about a row per statement line: a query that
//! groups by store alone still reads every row of its months. `analytics_rollups` keeps the same
//! sums at the grains of `domain::analytics::GRAINS` (each dimension alone, a few pairs, month
//! only), each row naming its grain; the dimensions a grain does not keep hold 0 or '' as in
//! `analytics_monthly`. `RefreshAnalytics` rewrites a month's rows of every grain in the same
//! transaction as the month's full rows. Going up fills it from `analytics_monthly` with the
//! grains as they were when this was written.

use sea_orm_migration::{prelude::*, schema::*};

use crate::helpers::{TableDef, currency, drop_tables, nanos};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// (grain, the columns it keeps), as `domain::analytics::GRAINS` had them.
const GRAINS: &[(&str, &[&str])] = &[
    ("month", &[]),
    ("store", &["store"]),
    ("territory", &["territory"]),
    ("artist", &["artist_id"]),
    ("release", &["release_id"]),
    ("track", &["track_id"]),
    ("release_track", &["release_id", "track_id"]),
    ("artist_store", &["artist_id", "store"]),
    ("artist_territory", &["artist_id", "territory"]),
    ("store_territory", &["store", "territory"]),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        TableDef::tenant("analytics_rollups")
            .col(text("grain"))
            .col(big_integer("artist_id").default(0_i64).take())
            .col(big_integer("release_id").default(0_i64).take())
            .col(big_integer("track_id").default(0_i64).take())
            .col(text("store").default("").take())
            .col(text("territory").default("").take())
            .col(date("month"))
            .col(currency("currency"))
            .col(big_integer("quantity"))
            .col(nanos("earnings_base_nanos"))
            .col(nanos("earnings_nanos"))
            .col(big_integer("line_count"))
            .unique(&[
                "organization_id",
                "grain",
                "month",
                "artist_id",
                "release_id",
                "track_id",
                "store",
                "territory",
                "currency",
            ])
            .create(manager)
            .await?;
        let db = manager.get_connection();
        for (grain, columns) in GRAINS {
            let kept: String = columns.iter().map(|c| format!("{c}, ")).collect();
            db.execute_unprepared(&format!(
                "INSERT INTO analytics_rollups (organization_id, grain, {kept}month, currency, \
                   quantity, earnings_base_nanos, earnings_nanos, line_count) \
                 SELECT organization_id, '{grain}', {kept}month, currency, CAST(SUM(quantity) AS BIGINT), \
                   CAST(SUM(earnings_base_nanos) AS BIGINT), CAST(SUM(earnings_nanos) AS BIGINT), \
                   CAST(SUM(line_count) AS BIGINT) \
                 FROM analytics_monthly GROUP BY organization_id, {kept}month, currency"
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(manager, &["analytics_rollups"]).await
    }
}
