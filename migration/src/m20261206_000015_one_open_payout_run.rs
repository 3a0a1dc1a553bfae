//! At most one open payout run per organisation, enforced by the database.
//!
//! "One open run" was a `SELECT` then an `INSERT`: five concurrent `createPayoutRun` calls
//! for the same period created four runs over the same earnings, and paying two of them paid
//! everyone twice. A partial unique index on `payout_runs (organization_id)` over the open
//! statuses (`domain::payout::RunStatus::OPEN`: draft, computing, ready, approved) makes the
//! second insert fail whatever the timing; the API answers it with a `userError`. Paid, failed
//! and cancelled runs are outside the index, so an organisation keeps any number of them.
//!
//! Runs carry no currency (one run pays every currency), so the index is per organisation.
//! The same SQL runs on SQLite and PostgreSQL. Going up refuses, naming them, while an
//! organisation already has two open runs (the race could have made them): which one to keep,
//! and whether any of their payouts were paid, is a person's decision, so cancel the extra
//! ones (`cancelPayoutRun`) and run the migration again. Nothing is changed meanwhile.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The open statuses, as stored; they must match `domain::payout::RunStatus::OPEN`.
const OPEN_STATUSES_SQL: &str = "'draft', 'computing', 'ready', 'approved'";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let doubled = db
            .query_all_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                format!(
                    "SELECT organization_id, COUNT(*) FROM payout_runs \
                     WHERE status IN ({OPEN_STATUSES_SQL}) GROUP BY organization_id HAVING COUNT(*) > 1"
                ),
            ))
            .await?;
        if !doubled.is_empty() {
            let mut organisations = Vec::with_capacity(doubled.len());
            for row in &doubled {
                let id: i64 = row.try_get_by_index(0)?;
                let runs: i64 = row.try_get_by_index(1)?;
                organisations.push(format!("organisation {id} ({runs} open runs)"));
            }
            return Err(DbErr::Migration(format!(
                "several open payout runs: {}; cancel all but one of each, then migrate again",
                organisations.join(", ")
            )));
        }
        db.execute_unprepared(&format!(
            "CREATE UNIQUE INDEX uq_payout_runs_open ON payout_runs (organization_id) \
                 WHERE status IN ({OPEN_STATUSES_SQL})"
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP INDEX uq_payout_runs_open")
            .await?;
        Ok(())
    }
}
