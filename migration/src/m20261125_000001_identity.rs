//! Identity and access: organisations, users, sessions, memberships, invitations, API keys.
//!
//! `artists` is created here too (not in the roster migration) because memberships and
//! invitations reference it and SQLite cannot add a foreign key after the fact.

use sea_orm_migration::{prelude::*, schema::*};

use crate::helpers::{TableDef, drop_tables, ts, ts_null};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        TableDef::new("organizations")
            .col(text("name"))
            .col(text("kind"))
            .col(crate::helpers::currency("base_currency"))
            .col(ts("created_at"))
            .create(manager)
            .await?;

        TableDef::new("users")
            .col(text("email"))
            .col(text("name"))
            .col(text("password_hash"))
            .col(ts("created_at"))
            .unique(&["email"])
            .create(manager)
            .await?;

        TableDef::new("auth_tokens")
            .col(big_integer("user_id"))
            .col(text("token_hash"))
            .col(ts("created_at"))
            .col(ts("expires_at"))
            .col(ts_null("last_used_at"))
            .fk("user_id", "users", ForeignKeyAction::Cascade)
            .unique(&["token_hash"])
            .index(&["user_id"])
            .create(manager)
            .await?;

        TableDef::tenant("artists")
            .col(text("name"))
            .col(text_null("sort_name"))
            .col(date("joined_on"))
            .col(date_null("left_on"))
            .col(ts("created_at"))
            .col(ts("updated_at"))
            .index(&["organization_id", "name"])
            .create(manager)
            .await?;

        TableDef::tenant("memberships")
            .col(big_integer("user_id"))
            .col(text("role"))
            .col(big_integer_null("artist_id"))
            .col(ts("created_at"))
            .fk("user_id", "users", ForeignKeyAction::Cascade)
            .fk("artist_id", "artists", ForeignKeyAction::SetNull)
            .unique(&["organization_id", "user_id"])
            .index(&["user_id"])
            .create(manager)
            .await?;

        TableDef::tenant("invitations")
            .col(text("email"))
            .col(text("role"))
            .col(big_integer_null("artist_id"))
            .col(text("token_hash"))
            .col(big_integer("invited_by_user_id"))
            .col(ts("created_at"))
            .col(ts("expires_at"))
            .col(ts_null("accepted_at"))
            .col(big_integer_null("accepted_by_user_id"))
            .fk("artist_id", "artists", ForeignKeyAction::SetNull)
            .fk("invited_by_user_id", "users", ForeignKeyAction::Cascade)
            .fk("accepted_by_user_id", "users", ForeignKeyAction::SetNull)
            .unique(&["token_hash"])
            .index(&["organization_id", "email"])
            .create(manager)
            .await?;

        TableDef::tenant("api_keys")
            .col(text("name"))
            .col(text("token_prefix"))
            .col(text("token_hash"))
            .col(text("scopes"))
            .col(big_integer_null("created_by_user_id"))
            .col(ts("created_at"))
            .col(ts_null("last_used_at"))
            .col(ts_null("revoked_at"))
            .fk("created_by_user_id", "users", ForeignKeyAction::SetNull)
            .unique(&["token_hash"])
            .index(&["organization_id"])
            .create(manager)
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(
            manager,
            &[
                "api_keys",
                "invitations",
                "memberships",
                "artists",
                "auth_tokens",
                "users",
                "organizations",
            ],
        )
        .await
    }
}
