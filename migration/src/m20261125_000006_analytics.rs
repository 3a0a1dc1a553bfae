//! Monthly analytics roll-up.
//!
//! `artist_id`, `release_id` and `track_id` are NOT NULL and hold 0 when the dimension is
//! unknown (an unmatched line), and `store` / `territory` hold '' when unknown. NULLs are
//! distinct in a unique index on both SQLite and PostgreSQL (before PG 15's NULLS NOT
//! DISTINCT), so with NULLs the roll-up key below could not be used for upserts. For the same
//! reason these columns carry no foreign keys.

use sea_orm_migration::{prelude::*, schema::*};

use crate::helpers::{TableDef, currency, drop_tables, nanos};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        TableDef::tenant("analytics_monthly")
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
                "artist_id",
                "release_id",
                "track_id",
                "store",
                "territory",
                "month",
                "currency",
            ])
            .index(&["organization_id", "month"])
            .create(manager)
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(manager, &["analytics_monthly"]).await
    }
}
