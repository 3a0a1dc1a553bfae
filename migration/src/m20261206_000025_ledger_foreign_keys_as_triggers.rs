//! Ledger entries written without a per-row foreign-key check on PostgreSQL.
//!
//! Allocation writes an entry per matched line and payee (three a line for a release split
//! three ways), and every entry paid for a trigger per foreign key: `organization_id` and
//! `payee_id`, each a query of its own taking a share lock on the parent row. Measured on
//! PostgreSQL, a million entries (`INSERT … SELECT` into a copy of this table, 2 cores):
//!
//! | | seconds |
//! | --- | --- |
//! | as created (two foreign keys, five indexes) | 15.5 |
//! | no foreign keys | 9.6 |
//! | no foreign keys, no `(organization_id, cause)` key | 5.7 |
//!
//! The idempotency key stays: it is what makes a retried allocation write nothing twice.
//!
//! Entries are written by two paths (allocation, payout runs), with ids read in the same
//! transaction from the same organisation's payees, so the check found nothing. What the keys
//! gave beyond the check is what happens on a delete, and triggers on the parent tables now do
//! that, once per deleted parent row instead of once per written entry:
//! - deleting an organisation deletes its entries (the key's `ON DELETE CASCADE`);
//! - deleting a payee who has entries fails, as the key's `NO ACTION` did. Imprint never
//!   deletes a payee; the trigger keeps a stray `DELETE` from leaving entries that point at
//!   no one. It is checked at the commit, so an organisation's cascade (which removes the
//!   entries too) passes.
//!
//! On SQLite a foreign-key check is a lookup in the parent's primary key, and the keys stay
//! (SQLite cannot drop a key without rebuilding the table).

use sea_orm::DbBackend;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// (foreign key, column, parent, on delete), as the `ledger` migration created them.
const FOREIGN_KEYS: &[(&str, &str, &str, &str)] = &[
    (
        "fk_ledger_entries_organization_id",
        "organization_id",
        "organizations",
        "CASCADE",
    ),
    (
        "fk_ledger_entries_payee_id",
        "payee_id",
        "payees",
        "NO ACTION",
    ),
];

/// (trigger and function name, parent table, how it is created, what it does for the deleted
/// row `OLD`). The payee's check is deferred to the commit: an organisation's cascade deletes its
/// payees and its entries by separate triggers, in an order of PostgreSQL's choosing.
const TRIGGERS: &[(&str, &str, &str, &str)] = &[
    (
        "ledger_entries_on_organization_delete",
        "organizations",
        "TRIGGER",
        "DELETE FROM ledger_entries WHERE organization_id = OLD.id",
    ),
    (
        "ledger_entries_on_payee_delete",
        "payees",
        "CONSTRAINT TRIGGER",
        "IF EXISTS (SELECT 1 FROM ledger_entries \
           WHERE organization_id = OLD.organization_id AND payee_id = OLD.id) THEN \
           RAISE foreign_key_violation USING MESSAGE = format( \
             'payee %s still has ledger entries', OLD.id); \
         END IF",
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if db.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        for (name, ..) in FOREIGN_KEYS {
            db.execute_unprepared(&format!(
                "ALTER TABLE ledger_entries DROP CONSTRAINT {name}"
            ))
            .await?;
        }
        for (name, parent, kind, action) in TRIGGERS {
            db.execute_unprepared(&format!(
                "CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS \
                 $$ BEGIN {action}; RETURN NULL; END $$"
            ))
            .await?;
            db.execute_unprepared(&format!(
                "CREATE {kind} {name} AFTER DELETE ON {parent} {deferred} \
                 FOR EACH ROW EXECUTE FUNCTION {name}()",
                deferred = if *kind == "TRIGGER" {
                    ""
                } else {
                    "DEFERRABLE INITIALLY DEFERRED"
                }
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if db.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        for (name, parent, ..) in TRIGGERS {
            db.execute_unprepared(&format!("DROP TRIGGER {name} ON {parent}"))
                .await?;
            db.execute_unprepared(&format!("DROP FUNCTION {name}()"))
                .await?;
        }
        for (name, column, parent, on_delete) in FOREIGN_KEYS {
            db.execute_unprepared(&format!(
                "ALTER TABLE ledger_entries ADD CONSTRAINT {name} FOREIGN KEY ({column}) \
                 REFERENCES {parent} (id) ON DELETE {on_delete}"
            ))
            .await?;
        }
        Ok(())
    }
}
