//! What allocation and payout runs need beyond the money tables of 000005:
//!
//! - `statements.allocation_generation`: bumped by `reallocateStatement`. A line's ledger causes
//!   carry the generation they were allocated in, so a reallocation writes new entries beside
//!   the reversals of the old ones instead of colliding with them.
//! - `statements.allocation_status`, `allocated_count`, `unallocated_count`, `allocation_issues`
//!   (a JSON list of why lines could not be allocated): what `AllocateStatement` did.
//! - `recoupables.recouped_nanos`: the running sum of the recoupable's `recoupment` ledger
//!   entries, written in the same transaction as they are, so allocation reads a balance instead
//!   of summing a million entries.
//! - `ledger_entries (statement_line_id)` and `(recoupable_id)`: allocation looks up which lines
//!   already have entries; a recoupable's history lists its entries.
//! - `organizations.payout_period_months` and `reserve_release_periods`: how long a period is
//!   and after how many periods a reserve is released.
//! - `payout_runs.ledger_watermark`: the last ledger entry a run may take up, fixed when it
//!   starts computing, so a retried run sees the same entries.
//! - `payouts.rounding_remainder_nanos` and `below_minimum`: why an amount was carried forward.
//!
//! SQLite adds one column per `ALTER TABLE`, so each is its own statement.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const COLUMNS: &[(&str, &str, ColumnKind)] = &[
    ("statements", "allocation_generation", ColumnKind::BigInt(0)),
    (
        "statements",
        "allocation_status",
        ColumnKind::Text("pending"),
    ),
    ("statements", "allocated_count", ColumnKind::BigInt(0)),
    ("statements", "unallocated_count", ColumnKind::BigInt(0)),
    ("statements", "allocation_issues", ColumnKind::Text("[]")),
    ("recoupables", "recouped_nanos", ColumnKind::BigInt(0)),
    ("organizations", "payout_period_months", ColumnKind::Int(3)),
    (
        "organizations",
        "reserve_release_periods",
        ColumnKind::Int(2),
    ),
    ("payout_runs", "ledger_watermark", ColumnKind::NullBigInt),
    ("payouts", "rounding_remainder_nanos", ColumnKind::BigInt(0)),
    ("payouts", "below_minimum", ColumnKind::Bool(false)),
];

#[derive(Clone, Copy)]
enum ColumnKind {
    BigInt(i64),
    NullBigInt,
    Int(i32),
    Bool(bool),
    Text(&'static str),
}

fn column(name: &'static str, kind: ColumnKind) -> ColumnDef {
    let mut def = ColumnDef::new(Alias::new(name));
    match kind {
        ColumnKind::BigInt(default) => def.big_integer().not_null().default(default),
        ColumnKind::NullBigInt => def.big_integer().null(),
        ColumnKind::Int(default) => def.integer().not_null().default(default),
        ColumnKind::Bool(default) => def.boolean().not_null().default(default),
        ColumnKind::Text(default) => def.text().not_null().default(default),
    };
    def
}

const INDEXES: &[(&str, &str)] = &[
    ("idx_ledger_entries_statement_line_id", "statement_line_id"),
    ("idx_ledger_entries_recoupable_id", "recoupable_id"),
];

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
        for (name, column) in INDEXES {
            manager
                .create_index(
                    Index::create()
                        .name(*name)
                        .table(Alias::new("ledger_entries"))
                        .col(Alias::new(*column))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, _) in INDEXES {
            manager
                .drop_index(
                    Index::drop()
                        .name(*name)
                        .table(Alias::new("ledger_entries"))
                        .to_owned(),
                )
                .await?;
        }
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
