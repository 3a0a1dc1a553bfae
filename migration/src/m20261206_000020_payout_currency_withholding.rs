//! Payees paid in their own currency, and withholding:
//!
//! - `payouts`: what a payout withheld (`withheld_nanos`, at `withholding_ppb`), the ledger
//!   amount its payment stands for (`paid_nanos`), and the payment itself in the payee's
//!   currency (`payout_currency`, `exchange_rate`, `payout_amount_nanos`). Existing payouts were
//!   paid in the ledger currency with nothing withheld, so they are filled in as such.
//! - `payout_runs.exchange_rates`: the rates a run was given (a JSON object, currency → decimal
//!   string), kept as the record of what it converted at.
//! - `payees`: the tax profile (country, form on file, tax id masked and keyed-hashed, never in
//!   clear) and the withholding rate.
//!
//! SQLite adds one column per `ALTER TABLE`, so each is its own statement.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const COLUMNS: &[(&str, &str, &str)] = &[
    ("payouts", "withheld_nanos", "BIGINT NOT NULL DEFAULT 0"),
    ("payouts", "withholding_ppb", "BIGINT NOT NULL DEFAULT 0"),
    ("payouts", "paid_nanos", "BIGINT NOT NULL DEFAULT 0"),
    ("payouts", "payout_currency", "TEXT NOT NULL DEFAULT ''"),
    ("payouts", "exchange_rate", "TEXT NOT NULL DEFAULT '1'"),
    (
        "payouts",
        "payout_amount_nanos",
        "BIGINT NOT NULL DEFAULT 0",
    ),
    (
        "payout_runs",
        "exchange_rates",
        "TEXT NOT NULL DEFAULT '{}'",
    ),
    ("payees", "tax_country", "TEXT NULL"),
    ("payees", "tax_form", "TEXT NULL"),
    ("payees", "tax_id_masked", "TEXT NULL"),
    ("payees", "tax_id_hash", "TEXT NULL"),
    ("payees", "withholding_ppb", "BIGINT NOT NULL DEFAULT 0"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for (table, name, ty) in COLUMNS {
            db.execute_unprepared(&format!("ALTER TABLE {table} ADD COLUMN {name} {ty}"))
                .await?;
        }
        db.execute_unprepared(
            "UPDATE payouts SET paid_nanos = payable_nanos, payout_amount_nanos = payable_nanos, \
             payout_currency = currency",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for (table, name, _) in COLUMNS.iter().rev() {
            db.execute_unprepared(&format!("ALTER TABLE {table} DROP COLUMN {name}"))
                .await?;
        }
        Ok(())
    }
}
