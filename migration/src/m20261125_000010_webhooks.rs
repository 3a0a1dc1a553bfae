//! What partner webhooks need beyond the tables of 000007:
//!
//! - `webhooks.description`: what the endpoint is for, as its owner named it.
//! - `webhooks.previous_secret` and `previous_secret_expires_at`: after a rotation the old
//!   secret keeps signing beside the new one for a while, so the partner can switch without
//!   refusing deliveries in between.
//! - `webhook_deliveries.last_attempt_at`: when the latest attempt started, for the delivery
//!   log (and, while it runs, the attempt's claim).
//!
//! The `(webhook_id, event_id)` unique key that makes deliveries idempotent exists since 000007.
//! SQLite adds one column per `ALTER TABLE`, so each is its own statement.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(Clone, Copy)]
enum ColumnKind {
    NullText,
    NullTimestamp,
}

const COLUMNS: &[(&str, &str, ColumnKind)] = &[
    ("webhooks", "description", ColumnKind::NullText),
    ("webhooks", "previous_secret", ColumnKind::NullText),
    (
        "webhooks",
        "previous_secret_expires_at",
        ColumnKind::NullTimestamp,
    ),
    (
        "webhook_deliveries",
        "last_attempt_at",
        ColumnKind::NullTimestamp,
    ),
];

fn column(name: &'static str, kind: ColumnKind) -> ColumnDef {
    let mut def = ColumnDef::new(Alias::new(name));
    match kind {
        ColumnKind::NullText => def.text().null(),
        ColumnKind::NullTimestamp => def.timestamp_with_time_zone().null(),
    };
    def
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, name, kind) in COLUMNS {
            manager
                .alter_table(
                    Table::alter()
                        .table(Alias::new(*table))
                        .add_column(column(name, *kind))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, name, _) in COLUMNS.iter().rev() {
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
