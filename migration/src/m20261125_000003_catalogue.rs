//! Catalogue: releases, tracks and their artists, splits, recoupable advances and expenses.

use sea_orm_migration::{prelude::*, schema::*};

use crate::helpers::{TableDef, currency, drop_tables, nanos, ts};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        TableDef::tenant("releases")
            .col(big_integer("artist_id"))
            .col(text("title"))
            .col(text_null("upc"))
            .col(text("release_type"))
            .col(date_null("release_date"))
            .col(text("status"))
            .col(text_null("label_name"))
            .col(ts("created_at"))
            .col(ts("updated_at"))
            .fk("artist_id", "artists", ForeignKeyAction::Cascade)
            // NULL UPCs are distinct in a unique index on both backends.
            .unique(&["organization_id", "upc"])
            .index(&["organization_id", "artist_id"])
            .create(manager)
            .await?;

        TableDef::tenant("tracks")
            .col(big_integer("release_id"))
            .col(text("title"))
            .col(text_null("isrc"))
            .col(text_null("iswc"))
            .col(integer_null("duration_ms"))
            .col(integer("position"))
            .col(ts("created_at"))
            .col(ts("updated_at"))
            .fk("release_id", "releases", ForeignKeyAction::Cascade)
            .unique(&["organization_id", "isrc"])
            .unique(&["release_id", "position"])
            .create(manager)
            .await?;

        TableDef::tenant("track_artists")
            .col(big_integer("track_id"))
            .col(big_integer("artist_id"))
            .col(text("role"))
            .fk("track_id", "tracks", ForeignKeyAction::Cascade)
            .fk("artist_id", "artists", ForeignKeyAction::Cascade)
            .unique(&["track_id", "artist_id", "role"])
            .index(&["organization_id", "artist_id"])
            .create(manager)
            .await?;

        TableDef::tenant("splits")
            .col(big_integer("release_id"))
            .col(big_integer_null("track_id"))
            .col(text("scope_key"))
            .col(date("effective_from"))
            .col(big_integer_null("created_by_user_id"))
            .col(ts("created_at"))
            .fk("release_id", "releases", ForeignKeyAction::Cascade)
            .fk("track_id", "tracks", ForeignKeyAction::Cascade)
            .fk("created_by_user_id", "users", ForeignKeyAction::SetNull)
            .unique(&["release_id", "scope_key", "effective_from"])
            .index(&["organization_id"])
            .index(&["track_id"])
            .create(manager)
            .await?;

        TableDef::tenant("split_shares")
            .col(big_integer("split_id"))
            .col(big_integer("payee_id"))
            .col(big_integer("share_ppb"))
            .fk("split_id", "splits", ForeignKeyAction::Cascade)
            .fk("payee_id", "payees", ForeignKeyAction::NoAction)
            .unique(&["split_id", "payee_id"])
            .index(&["organization_id", "payee_id"])
            .create(manager)
            .await?;

        TableDef::tenant("recoupables")
            .col(text("kind"))
            .col(text("description"))
            .col(nanos("amount_nanos"))
            .col(currency("currency"))
            .col(big_integer_null("artist_id"))
            .col(big_integer_null("release_id"))
            .col(big_integer_null("payee_id"))
            .col(boolean("cross_collateralized"))
            .col(text_null("shared_rule"))
            .col(date("incurred_on"))
            .col(ts("created_at"))
            .fk("artist_id", "artists", ForeignKeyAction::NoAction)
            .fk("release_id", "releases", ForeignKeyAction::NoAction)
            .fk("payee_id", "payees", ForeignKeyAction::NoAction)
            .index(&["organization_id", "artist_id"])
            .index(&["organization_id", "release_id"])
            .index(&["payee_id"])
            .create(manager)
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(
            manager,
            &[
                "recoupables",
                "split_shares",
                "splits",
                "track_artists",
                "tracks",
                "releases",
            ],
        )
        .await
    }
}
