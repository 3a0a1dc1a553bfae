//! Structured payment details instead of free text:
//!
//! - `payees.payment_rail` (`iban` | `paypal` | `wise`), `payment_account` (the IBAN, the
//!   e-mail address or the Wise recipient id), `payment_bic`, `payment_account_holder`, and
//!   `payment_note` (what the old `payout_method` said when it could not be read as details);
//! - `organizations.payout_iban`, `payout_bic`: the label's own account, the debtor of its SEPA
//!   credit transfers.
//!
//! The old `payout_method` text is read with `domain::rails::PaymentDetails::from_legacy_text`:
//! an IBAN or an e-mail address becomes details, anything else a note. The column stays (the
//! API still shows it, deprecated). SQLite adds one column per `ALTER TABLE`.

use domain::rails::PaymentDetails;
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, Statement};

#[derive(DeriveMigrationName)]
pub struct Migration;

const COLUMNS: &[(&str, &str)] = &[
    ("payees", "payment_rail"),
    ("payees", "payment_account"),
    ("payees", "payment_bic"),
    ("payees", "payment_account_holder"),
    ("payees", "payment_note"),
    ("organizations", "payout_iban"),
    ("organizations", "payout_bic"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, name) in COLUMNS {
            manager
                .alter_table(
                    Table::alter()
                        .table(Alias::new(*table))
                        .add_column(ColumnDef::new(Alias::new(*name)).text().null())
                        .to_owned(),
                )
                .await?;
        }
        let db = manager.get_connection();
        let backend = db.get_database_backend();
        let rows = db
            .query_all_raw(Statement::from_string(
                backend,
                "SELECT id, payout_method FROM payees WHERE payout_method IS NOT NULL",
            ))
            .await?;
        for row in rows {
            let id: i64 = row.try_get_by_index(0)?;
            let text: String = row.try_get_by_index(1)?;
            if text.trim().is_empty() {
                continue;
            }
            let values: Vec<sea_orm_migration::sea_orm::Value> =
                match PaymentDetails::from_legacy_text(&text) {
                    Some(details) => {
                        let (rail, account, bic, holder) = details.to_columns();
                        vec![
                            Some(rail).into(),
                            Some(account).into(),
                            bic.into(),
                            holder.into(),
                            None::<String>.into(),
                            id.into(),
                        ]
                    }
                    None => vec![
                        None::<String>.into(),
                        None::<String>.into(),
                        None::<String>.into(),
                        None::<String>.into(),
                        Some(text).into(),
                        id.into(),
                    ],
                };
            db.execute_raw(Statement::from_sql_and_values(
                backend,
                "UPDATE payees SET payment_rail = $1, payment_account = $2, payment_bic = $3, \
                 payment_account_holder = $4, payment_note = $5 WHERE id = $6",
                values,
            ))
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
