//! Statement ingestion: import templates, uploaded statements, their lines and errors, and the
//! identifier aliases remembered from manual matching.

use sea_orm_migration::{prelude::*, schema::*};

use crate::helpers::{TableDef, counter, currency, currency_null, drop_tables, nanos, ts, ts_null};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        TableDef::tenant("import_templates")
            .col(text("name"))
            .col(text("header_signature"))
            .col(json_binary("mapping"))
            .col(ts("created_at"))
            .unique(&["organization_id", "header_signature"])
            .create(manager)
            .await?;

        TableDef::tenant("statements")
            .col(text_null("source"))
            .col(text_null("format"))
            .col(text("filename"))
            .col(text("sha256"))
            .col(text("storage_key"))
            .col(big_integer("size_bytes"))
            .col(currency_null("currency"))
            .col(date_null("period_start"))
            .col(date_null("period_end"))
            .col(text("status"))
            .col(counter("line_count"))
            .col(counter("error_count"))
            .col(counter("skipped_count"))
            .col(counter("matched_count"))
            .col(counter("unmatched_count"))
            .col(counter("bytes_processed"))
            .col(json_binary("totals"))
            .col(json_binary("warnings"))
            .col(text_null("failure_reason"))
            .col(big_integer_null("uploaded_by_user_id"))
            .col(ts("created_at"))
            .col(ts("updated_at"))
            .col(ts_null("parsed_at"))
            .fk("uploaded_by_user_id", "users", ForeignKeyAction::SetNull)
            .unique(&["organization_id", "sha256"])
            .create(manager)
            .await?;

        TableDef::tenant("statement_lines")
            .col(big_integer("statement_id"))
            .col(big_integer("line_number"))
            .col(text("fingerprint"))
            .col(text_null("isrc"))
            .col(text_null("upc"))
            .col(text_null("title"))
            .col(text_null("artist_name"))
            .col(text_null("release_title"))
            .col(text_null("store"))
            .col(text_null("territory"))
            .col(text_null("territory_raw"))
            .col(date_null("sale_period_start"))
            .col(date_null("sale_period_end"))
            .col(text_null("usage_type"))
            .col(big_integer("quantity"))
            .col(nanos("amount_nanos"))
            .col(currency("currency"))
            .col(nanos("base_amount_nanos"))
            .col(currency("base_currency"))
            .col(big_integer_null("track_id"))
            .col(big_integer_null("release_id"))
            .col(text_null("match_method"))
            .fk("statement_id", "statements", ForeignKeyAction::Cascade)
            .fk("track_id", "tracks", ForeignKeyAction::SetNull)
            .fk("release_id", "releases", ForeignKeyAction::SetNull)
            .unique(&["organization_id", "fingerprint"])
            .index(&["statement_id", "line_number"])
            .index(&["organization_id", "track_id"])
            .index(&["organization_id", "isrc"])
            .index(&["release_id"])
            .create(manager)
            .await?;

        TableDef::tenant("statement_errors")
            .col(big_integer("statement_id"))
            .col(big_integer("line_number"))
            .col(text("reason"))
            .col(text_null("raw"))
            .fk("statement_id", "statements", ForeignKeyAction::Cascade)
            .index(&["statement_id", "line_number"])
            .index(&["organization_id"])
            .create(manager)
            .await?;

        TableDef::tenant("identifier_aliases")
            .col(text("identifier"))
            .col(big_integer("track_id"))
            .col(big_integer_null("created_by_user_id"))
            .col(ts("created_at"))
            .fk("track_id", "tracks", ForeignKeyAction::Cascade)
            .fk("created_by_user_id", "users", ForeignKeyAction::SetNull)
            .unique(&["organization_id", "identifier"])
            .index(&["track_id"])
            .create(manager)
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(
            manager,
            &[
                "identifier_aliases",
                "statement_errors",
                "statement_lines",
                "statements",
                "import_templates",
            ],
        )
        .await
    }
}
