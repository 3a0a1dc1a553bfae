//! Roster: store profiles, payees, agreements (`artists` itself is in the identity migration).

use sea_orm_migration::{prelude::*, schema::*};

use crate::helpers::{TableDef, currency, drop_tables, nanos, ts};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        TableDef::tenant("artist_profiles")
            .col(big_integer("artist_id"))
            .col(text("store"))
            .col(text_null("external_id"))
            .col(text_null("url"))
            .col(text("claim_state"))
            .col(ts("updated_at"))
            .fk("artist_id", "artists", ForeignKeyAction::Cascade)
            .unique(&["artist_id", "store"])
            .index(&["organization_id"])
            .create(manager)
            .await?;

        TableDef::tenant("payees")
            .col(text("name"))
            .col(text_null("email"))
            .col(text("kind"))
            .col(big_integer_null("artist_id"))
            .col(currency("currency"))
            .col(nanos("minimum_payout_nanos"))
            .col(text_null("payout_method"))
            .col(big_integer("reserve_ppb").default(0_i64).take())
            .col(ts("created_at"))
            .col(ts("updated_at"))
            .fk("artist_id", "artists", ForeignKeyAction::SetNull)
            .index(&["organization_id", "artist_id"])
            .create(manager)
            .await?;

        TableDef::tenant("agreements")
            .col(big_integer("artist_id"))
            .col(text("title"))
            .col(text("master_owner"))
            .col(big_integer("label_master_share_ppb"))
            .col(big_integer("artist_revenue_share_ppb"))
            .col(text("deal_basis"))
            .col(text("recoupment_scope"))
            .col(nanos("advance_nanos"))
            .col(currency("currency"))
            .col(boolean("artist_may_take_down"))
            .col(integer_null("masters_revert_after_months"))
            .col(text("exit_release_policy"))
            .col(text("future_rights"))
            .col(integer_null("future_options_count"))
            .col(date("starts_on"))
            .col(date_null("ends_on"))
            .col(text_null("document_url"))
            .col(ts("created_at"))
            .col(ts("updated_at"))
            .fk("artist_id", "artists", ForeignKeyAction::Cascade)
            .index(&["organization_id", "artist_id"])
            .create(manager)
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(manager, &["agreements", "payees", "artist_profiles"]).await
    }
}
