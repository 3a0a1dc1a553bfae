//! The ledger's indexes, reviewed against the queries that read `ledger_entries` (EXPLAIN on
//! PostgreSQL over a million-line statement's three million entries): every allocation entry
//! pays one btree insertion per index, so an index stays only if a query uses it.
//!
//! Dropped:
//! - `idx_ledger_entries_organization_id_statement_id`: no query of the API or the workers
//!   filters or joins the ledger by `statement_id` (allocation finds a statement's entries by
//!   `statement_line_id`, balances by payee, payout runs by payee and entry id), so it was
//!   maintained for every entry and read by nothing. Its leading `organization_id` (the
//!   organisation's foreign key) is served by `uq_ledger_entries_organization_id_cause`.
//!
//! Kept, and why:
//! - the primary key: payout runs' watermarks (`id <= $n`), pagination of a payee's entries;
//! - `uq_ledger_entries_organization_id_cause`: the idempotency guarantee itself (a retried
//!   job cannot write an entry twice) and the lookup of `reversal:{id}` causes;
//! - `idx_ledger_entries_organization_id_payee_id_currency`: a payee's balances and entries
//!   (`organization_id = $1 AND payee_id = $2`), and the payee foreign key's checks;
//! - `idx_ledger_entries_statement_line_id`: allocation's "which lines of this chunk already
//!   have entries" and the reversal of earlier generations, an index range scan per chunk (a
//!   sequential scan of the ledger per chunk without it);
//! - the partial `payout_run` and `recoupable` indexes (migration 000012): they index only the
//!   few entries that have those ids, and serve the payout and recoupment queries.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const DROPPED: &str = "idx_ledger_entries_organization_id_statement_id";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(&format!("DROP INDEX IF EXISTS {DROPPED}"))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(&format!(
                "CREATE INDEX {DROPPED} ON ledger_entries (organization_id, statement_id)"
            ))
            .await?;
        Ok(())
    }
}
