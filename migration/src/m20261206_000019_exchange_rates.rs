//! Money in every currency (issue 15, parts 1 and 2):
//!
//! - `exchange_rates`: the organisation's rate table. A row says `1 from = rate to` on `day`
//!   (`rate` an exact decimal string). Rows are never edited: a new `version` of the same
//!   `(day, from, to)` supersedes the old one, which stays for the record.
//! - `statement_exchange_rates`: rates set on one statement for one currency, by the label
//!   (`source = statement`) or by converting at a remittance's effective rate
//!   (`source = effective`, `remittance_id`). Versioned the same way; a version whose `rate` is
//!   null withdraws the source.
//! - `remittances` and `remittance_statements`: what reached the bank, and the statements it
//!   pays.
//! - `fx_settings`: per organisation, whether payout runs count only reconciled money.
//! - `statement_lines.fx_rate`, `fx_source`: the rate a foreign-currency line was converted at
//!   and where it came from (null: the line waits for a rate, or is in the base currency).
//!
//! SQLite adds one column per `ALTER TABLE`, so each is its own statement.

use sea_orm_migration::{prelude::*, schema::*};

use crate::helpers::{TableDef, currency, drop_tables, nanos, ts};

#[derive(DeriveMigrationName)]
pub struct Migration;

const LINE_COLUMNS: &[&str] = &["fx_rate", "fx_source"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        TableDef::tenant("exchange_rates")
            .col(date("day"))
            .col(currency("from_currency"))
            .col(currency("to_currency"))
            .col(text("rate"))
            .col(big_integer("version"))
            .col(text("source"))
            .col(big_integer_null("created_by_user_id"))
            .col(ts("created_at"))
            .fk("created_by_user_id", "users", ForeignKeyAction::SetNull)
            .unique(&[
                "organization_id",
                "from_currency",
                "to_currency",
                "day",
                "version",
            ])
            .create(manager)
            .await?;
        TableDef::tenant("remittances")
            .col(nanos("amount_nanos"))
            .col(currency("currency"))
            .col(date("received_on"))
            .col(text("from_whom"))
            .col(text("reference"))
            .col(big_integer_null("created_by_user_id"))
            .col(ts("created_at"))
            .fk("created_by_user_id", "users", ForeignKeyAction::SetNull)
            .index(&["organization_id", "received_on"])
            .create(manager)
            .await?;
        TableDef::tenant("remittance_statements")
            .col(big_integer("remittance_id"))
            .col(big_integer("statement_id"))
            .fk("remittance_id", "remittances", ForeignKeyAction::Cascade)
            .fk("statement_id", "statements", ForeignKeyAction::Cascade)
            .unique(&["remittance_id", "statement_id"])
            .index(&["statement_id"])
            .create(manager)
            .await?;
        TableDef::tenant("statement_exchange_rates")
            .col(big_integer("statement_id"))
            .col(currency("currency"))
            .col(text_null("rate"))
            .col(text("source"))
            .col(big_integer_null("remittance_id"))
            .col(big_integer("version"))
            .col(big_integer_null("created_by_user_id"))
            .col(ts("created_at"))
            .fk("statement_id", "statements", ForeignKeyAction::Cascade)
            .fk("remittance_id", "remittances", ForeignKeyAction::Cascade)
            .fk("created_by_user_id", "users", ForeignKeyAction::SetNull)
            .unique(&["statement_id", "currency", "source", "version"])
            .create(manager)
            .await?;
        TableDef::tenant("fx_settings")
            .col(boolean("payouts_reconciled_only"))
            .unique(&["organization_id"])
            .create(manager)
            .await?;
        for name in LINE_COLUMNS {
            manager
                .alter_table(
                    Table::alter()
                        .table(Alias::new("statement_lines"))
                        .add_column(text_null(*name))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in LINE_COLUMNS.iter().rev() {
            manager
                .alter_table(
                    Table::alter()
                        .table(Alias::new("statement_lines"))
                        .drop_column(Alias::new(*name))
                        .to_owned(),
                )
                .await?;
        }
        drop_tables(
            manager,
            &[
                "fx_settings",
                "statement_exchange_rates",
                "remittance_statements",
                "remittances",
                "exchange_rates",
            ],
        )
        .await
    }
}
