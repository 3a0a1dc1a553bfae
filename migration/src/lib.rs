//! Imprint's database migrations, one area per file. The same code runs on SQLite and
//! PostgreSQL: every table has a BIGINT auto-increment `id`, tenant tables an
//! `organization_id` that cascades from `organizations`, money is BIGINT nano-units beside a
//! currency code, and foreign keys are declared inside `CREATE TABLE` (SQLite cannot add them
//! later).
//!
//! ```ignore
//! use migration::{Migrator, MigratorTrait};
//! Migrator::up(&db, None).await?;
//! ```

pub use sea_orm_migration::prelude::*;

mod helpers;
mod m20261125_000001_identity;
mod m20261125_000002_roster;
mod m20261125_000003_catalogue;
mod m20261125_000004_statements;
mod m20261125_000005_money;
mod m20261125_000006_analytics;
mod m20261125_000007_audit_webhooks;
mod m20261125_000008_analytics_version;
mod m20261125_000009_money_runs;
mod m20261125_000010_webhooks;
mod m20261125_000011_statement_line_order;
mod m20261125_000012_ledger_partial_indexes;
mod m20261125_000013_statement_line_isrc_index;
mod m20261206_000014_statement_line_keys;
mod m20261206_000015_one_open_payout_run;
mod m20261206_000016_credential_expiry;
mod m20261206_000017_analytics_rollups;
mod m20261206_000018_ledger_indexes_artist_grain;
mod m20261206_000019_exchange_rates;
mod m20261206_000020_payout_currency_withholding;
mod m20261206_000021_payment_details;
mod m20261206_000022_mail_outbox;
mod m20261206_000023_split_consent;
mod m20261206_000024_reconciled_payouts;
mod m20261206_000025_ledger_foreign_keys_as_triggers;

/// All of Imprint's migrations, in order.
#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_identity::Migration),
            Box::new(m20261125_000002_roster::Migration),
            Box::new(m20261125_000003_catalogue::Migration),
            Box::new(m20261125_000004_statements::Migration),
            Box::new(m20261125_000005_money::Migration),
            Box::new(m20261125_000006_analytics::Migration),
            Box::new(m20261125_000007_audit_webhooks::Migration),
            Box::new(m20261125_000008_analytics_version::Migration),
            Box::new(m20261125_000009_money_runs::Migration),
            Box::new(m20261125_000010_webhooks::Migration),
            Box::new(m20261125_000011_statement_line_order::Migration),
            Box::new(m20261125_000012_ledger_partial_indexes::Migration),
            Box::new(m20261125_000013_statement_line_isrc_index::Migration),
            Box::new(m20261206_000014_statement_line_keys::Migration),
            Box::new(m20261206_000015_one_open_payout_run::Migration),
            Box::new(m20261206_000016_credential_expiry::Migration),
            Box::new(m20261206_000017_analytics_rollups::Migration),
            Box::new(m20261206_000018_ledger_indexes_artist_grain::Migration),
            Box::new(m20261206_000019_exchange_rates::Migration),
            Box::new(m20261206_000020_payout_currency_withholding::Migration),
            Box::new(m20261206_000021_payment_details::Migration),
            Box::new(m20261206_000022_mail_outbox::Migration),
            Box::new(m20261206_000023_split_consent::Migration),
            Box::new(m20261206_000024_reconciled_payouts::Migration),
            Box::new(m20261206_000025_ledger_foreign_keys_as_triggers::Migration),
        ]
    }
}
