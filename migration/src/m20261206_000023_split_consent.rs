//! Split consent:
//!
//! - `split_shares.confirmed_at`, `split_shares.confirmed_by_user_id`: when, and by whom, the
//!   payee's share was confirmed (null: not yet). Setting a split again keeps them only for
//!   the shares it leaves unchanged.
//! - `organizations.unconfirmed_splits`: `pay` (the default: unconfirmed splits are paid by the
//!   current rules) or `hold` (their lines wait, unallocated, until every share is confirmed).
//!
//! SQLite adds one column per `ALTER TABLE`, so each is its own statement.

use sea_orm_migration::prelude::*;

use crate::helpers::ts_null;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let columns = [
            ("split_shares", ts_null("confirmed_at")),
            (
                "split_shares",
                ColumnDef::new(Alias::new("confirmed_by_user_id"))
                    .big_integer()
                    .null()
                    .to_owned(),
            ),
            (
                "organizations",
                ColumnDef::new(Alias::new("unconfirmed_splits"))
                    .text()
                    .not_null()
                    .default("pay")
                    .to_owned(),
            ),
        ];
        for (table, column) in columns {
            manager
                .alter_table(
                    Table::alter()
                        .table(Alias::new(table))
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, name) in [
            ("organizations", "unconfirmed_splits"),
            ("split_shares", "confirmed_by_user_id"),
            ("split_shares", "confirmed_at"),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Alias::new(table))
                        .drop_column(Alias::new(name))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
