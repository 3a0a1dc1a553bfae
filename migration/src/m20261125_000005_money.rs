//! Money: the append-only ledger, payout runs and per-payee payouts.

use sea_orm_migration::{prelude::*, schema::*};

use crate::helpers::{TableDef, currency, drop_tables, nanos, ts, ts_null};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // The ledger is append-only and outlives what caused its entries, so apart from the
        // payee its references are plain columns without foreign keys. `cause` is unique per
        // organisation: a retried job cannot write the same entry twice.
        TableDef::tenant("ledger_entries")
            .col(big_integer_null("payee_id"))
            .col(text("account"))
            .col(nanos("amount_nanos"))
            .col(currency("currency"))
            .col(text("cause"))
            .col(big_integer_null("statement_id"))
            .col(big_integer_null("statement_line_id"))
            .col(big_integer_null("payout_run_id"))
            .col(big_integer_null("recoupable_id"))
            .col(big_integer_null("release_id"))
            .col(big_integer_null("track_id"))
            .col(date_null("period"))
            .col(ts("created_at"))
            .fk("payee_id", "payees", ForeignKeyAction::NoAction)
            .unique(&["organization_id", "cause"])
            .index(&["organization_id", "payee_id", "currency"])
            .index(&["organization_id", "statement_id"])
            .index(&["organization_id", "payout_run_id"])
            .create(manager)
            .await?;

        TableDef::tenant("payout_runs")
            .col(date("period_end"))
            .col(text("status"))
            .col(big_integer_null("created_by_user_id"))
            .col(big_integer_null("approved_by_user_id"))
            .col(ts_null("approved_at"))
            .col(ts_null("paid_at"))
            .col(text_null("failure_reason"))
            .col(ts("created_at"))
            .col(ts("updated_at"))
            .fk("created_by_user_id", "users", ForeignKeyAction::SetNull)
            .fk("approved_by_user_id", "users", ForeignKeyAction::SetNull)
            .index(&["organization_id", "period_end"])
            .create(manager)
            .await?;

        TableDef::tenant("payouts")
            .col(big_integer("payout_run_id"))
            .col(big_integer("payee_id"))
            .col(currency("currency"))
            .col(nanos("brought_forward_nanos"))
            .col(nanos("earnings_nanos"))
            .col(nanos("recouped_nanos"))
            .col(nanos("reserved_nanos"))
            .col(nanos("reserve_released_nanos"))
            .col(nanos("payable_nanos"))
            .col(nanos("carried_forward_nanos"))
            .col(text("status"))
            .col(text_null("payment_reference"))
            .col(ts_null("paid_at"))
            .col(ts("created_at"))
            .fk("payout_run_id", "payout_runs", ForeignKeyAction::Cascade)
            .fk("payee_id", "payees", ForeignKeyAction::NoAction)
            .unique(&["payout_run_id", "payee_id", "currency"])
            .index(&["organization_id", "payee_id"])
            .create(manager)
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(manager, &["payouts", "payout_runs", "ledger_entries"]).await
    }
}
