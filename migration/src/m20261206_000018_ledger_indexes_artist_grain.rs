//! Two changes for scale: the ledger's indexes reviewed, and the analytics roll-up grain
//! `artist_release_track`.
//!
//! ## The ledger's indexes
//!
//! Reviewed against the queries that read `ledger_entries`, each EXPLAINed on PostgreSQL over
//! 1.5 million synthetic ledger entries (two organisations, 500 payees, the indexes as before
//! this migration, analysed): every allocation entry pays one btree insertion per index, so an
//! index stays only if a query uses it. The plans: allocation's "lines of this chunk with entries" is an index scan of `statement_line_id`;
//! the `reversal:` lookup an index-only scan of `(organization_id, cause)`; a payee's balances
//! a bitmap scan of `(organization_id, payee_id, currency)`; a payee's ledger page the primary
//! key; recoupment to date the partial `recoupable_id` index; a payout run's sums a sequential
//! scan (they read most of the ledger). No plan used `(organization_id, statement_id)`.
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
//!
//! ## The grain `artist_release_track`
//!
//! An artist member's analytics are always filtered to her artist, so her grouping by track or
//! release needed the artist beside them, which no grain kept: it was answered from
//! `analytics_monthly`, a row per line. A track has one release and one artist, so a grain
//! keeping all three is as small as `track`. Going up fills it from `analytics_monthly` like
//! migration 000017 filled the others; `RefreshAnalytics` keeps it from then on
//! (`domain::analytics::GRAINS`).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const DROPPED: &str = "idx_ledger_entries_organization_id_statement_id";

const GRAIN: &str = "artist_release_track";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(&format!("DROP INDEX IF EXISTS {DROPPED}"))
            .await?;
        // Plain BIGINT sums: a group past an i64 of nano-units fails the migration (loudly)
        // rather than writing a wrong figure; `RefreshAnalytics` saturates such a group instead,
        // and the API refuses it when read.
        manager
            .get_connection()
            .execute_unprepared(&format!(
                "INSERT INTO analytics_rollups (organization_id, grain, artist_id, release_id, track_id, \
                   month, currency, quantity, earnings_base_nanos, earnings_nanos, line_count) \
                 SELECT organization_id, '{GRAIN}', artist_id, release_id, track_id, month, currency, \
                   CAST(SUM(quantity) AS BIGINT), CAST(SUM(earnings_base_nanos) AS BIGINT), \
                   CAST(SUM(earnings_nanos) AS BIGINT), CAST(SUM(line_count) AS BIGINT) \
                 FROM analytics_monthly \
                 GROUP BY organization_id, artist_id, release_id, track_id, month, currency"
            ))
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
        manager
            .get_connection()
            .execute_unprepared(&format!(
                "DELETE FROM analytics_rollups WHERE grain = '{GRAIN}'"
            ))
            .await?;
        Ok(())
    }
}
