//! Credentials that end:
//!
//! - `api_keys.expires_at`: a key may be created to work only until a date; past it the key is
//!   refused like a revoked one (null: until revoked).
//! - `invitations.revoked_at`: an invitation withdrawn before it was accepted cannot be
//!   accepted any more.
//!
//! SQLite adds one column per `ALTER TABLE`, so each is its own statement.

use sea_orm_migration::prelude::*;

use crate::helpers::ts_null;

#[derive(DeriveMigrationName)]
pub struct Migration;

const COLUMNS: &[(&str, &str)] = &[("api_keys", "expires_at"), ("invitations", "revoked_at")];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, name) in COLUMNS {
            manager
                .alter_table(
                    Table::alter()
                        .table(Alias::new(*table))
                        .add_column(ts_null(name))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, name) in COLUMNS.iter().rev() {
            manager
                .alter_table(
                    Table::alter()
                        .table(Alias::new(*table))
                        .drop_column(Alias::new(*name))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
