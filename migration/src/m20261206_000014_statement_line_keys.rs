//! Statement lines keyed by 16 bytes, with two indexes fewer, and written without a per-row
//! foreign-key check on PostgreSQL.
//!
//! Every statement line pays for each index and foreign key of its table, and at millions of
//! lines a statement that was most of what an import cost on PostgreSQL. Measured there, a
//! million lines (`INSERT … SELECT` into a copy of this table):
//!
//! | | seconds |
//! | --- | --- |
//! | as created (text key, four foreign keys) | 13.1 |
//! | text key, no foreign keys | 8.9 |
//! | 16-byte key, no foreign keys | 6.9 |
//! | no key index, no foreign keys | 4.1 |
//!
//! and by binary `COPY`, each index on its own beside the primary key (2.6 s alone): the key
//! +2.5 s (random insertions: a `uuid` costs the same), `(organization_id, track_id)` +1.2 s,
//! `(release_id)` +0.9 s, `(statement_id, id)` +0.6 s.
//!
//! 1. **The key.** `fingerprint` becomes the 16-byte `LineKey` (`domain::statement::LineKey`):
//!    the first 96 bits of the line's SHA-256, then its occurrence within its file as a 32-bit
//!    big-endian number. Stored keys (`<64 hex digits>:<occurrence>`) convert to exactly what
//!    the new code computes, so lines stored before and after deduplicate alike. PostgreSQL
//!    stores it as `bytea`; SQLite keeps the column's declared type and stores a blob (a TEXT
//!    column keeps blobs as they are).
//! 2. **Foreign keys, PostgreSQL only.** A foreign key checks each inserted row with a query of
//!    its own (a trigger per row and key: four per line here). Lines are written by one path,
//!    the parse job, with its statement's ids and ids from that organisation's catalogue, so
//!    the check finds nothing; what the keys gave beyond the check is what happens on a
//!    delete, and triggers on the parent tables now do that: deleting a statement (or, through
//!    its cascade, an organisation) deletes its lines; deleting a track or a release clears
//!    the lines' reference to it. `organization_id` needs no trigger: a line's organisation is
//!    its statement's, and statements cascade from organisations. On SQLite a foreign-key
//!    check is a lookup in the parent's primary key, and the keys stay (SQLite cannot drop a
//!    key without rebuilding the table).
//! 3. **Indexes, both backends.** `(organization_id, track_id)` and `(release_id)` give way to
//!    `idx_statement_lines_unmatched`, `(organization_id, id) WHERE track_id IS NULL AND
//!    release_id IS NULL`: the one search by organisation is for its unmatched lines (matching
//!    after a catalogue change), nothing searches lines by track or release, and most lines
//!    arrive matched and are not in it at all. What loses its index is deleting a track or a
//!    release, which Imprint does not offer: the trigger (PostgreSQL) or the foreign key's
//!    action (SQLite) then reads the table through.
//!
//! Going down restores the text column and the keys; the keys then hold 24 hex digits where
//! the older code wrote 64, so lines imported again after a downgrade are not recognised as
//! the same.

use sea_orm::DbBackend;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// (foreign key, column, parent, on delete), as migration `statements` created them.
const FOREIGN_KEYS: &[(&str, &str, &str, &str)] = &[
    (
        "fk_statement_lines_organization_id",
        "organization_id",
        "organizations",
        "CASCADE",
    ),
    (
        "fk_statement_lines_statement_id",
        "statement_id",
        "statements",
        "CASCADE",
    ),
    (
        "fk_statement_lines_track_id",
        "track_id",
        "tracks",
        "SET NULL",
    ),
    (
        "fk_statement_lines_release_id",
        "release_id",
        "releases",
        "SET NULL",
    ),
];

/// (trigger and function name, parent table, per row or per statement, what it does)
///
/// A statement's lines are found by the `(statement_id, id)` index, one statement at a time.
/// Tracks and releases have no index into the lines: their triggers run once per `DELETE`
/// (an organisation's cascade is one), over the rows it removed (`gone`), so a delete reads
/// the lines once, not once per track.
const TRIGGERS: &[(&str, &str, &str, &str)] = &[
    (
        "statement_lines_on_statement_delete",
        "statements",
        "FOR EACH ROW",
        "DELETE FROM statement_lines WHERE statement_id = OLD.id",
    ),
    (
        "statement_lines_on_track_delete",
        "tracks",
        "REFERENCING OLD TABLE AS gone FOR EACH STATEMENT",
        "UPDATE statement_lines l SET track_id = NULL FROM gone \
         WHERE l.organization_id = gone.organization_id AND l.track_id = gone.id",
    ),
    (
        "statement_lines_on_release_delete",
        "releases",
        "REFERENCING OLD TABLE AS gone FOR EACH STATEMENT",
        "UPDATE statement_lines l SET release_id = NULL FROM gone \
         WHERE l.organization_id = gone.organization_id AND l.release_id = gone.id",
    ),
];

/// (index dropped, its columns)
const DROPPED_INDEXES: &[(&str, &str)] = &[
    (
        "idx_statement_lines_organization_id_track_id",
        "organization_id, track_id",
    ),
    ("idx_statement_lines_release_id", "release_id"),
];

const UNMATCHED: &str = "CREATE INDEX idx_statement_lines_unmatched ON statement_lines \
    (organization_id, id) WHERE track_id IS NULL AND release_id IS NULL";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(UNMATCHED).await?;
        for (name, _) in DROPPED_INDEXES {
            db.execute_unprepared(&format!("DROP INDEX {name}")).await?;
        }
        match db.get_database_backend() {
            DbBackend::Postgres => {
                db.execute_unprepared(
                    "ALTER TABLE statement_lines ALTER COLUMN fingerprint TYPE bytea USING \
                       decode(substr(fingerprint, 1, 24), 'hex') \
                       || int4send(split_part(fingerprint, ':', 2)::int)",
                )
                .await?;
                for (name, ..) in FOREIGN_KEYS {
                    db.execute_unprepared(&format!(
                        "ALTER TABLE statement_lines DROP CONSTRAINT {name}"
                    ))
                    .await?;
                }
                for (name, parent, granularity, action) in TRIGGERS {
                    db.execute_unprepared(&format!(
                        "CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS \
                         $$ BEGIN {action}; RETURN NULL; END $$"
                    ))
                    .await?;
                    db.execute_unprepared(&format!(
                        "CREATE TRIGGER {name} AFTER DELETE ON {parent} \
                         {granularity} EXECUTE FUNCTION {name}()"
                    ))
                    .await?;
                }
            }
            _ => {
                db.execute_unprepared(
                    "UPDATE statement_lines SET fingerprint = unhex(substr(fingerprint, 1, 24) \
                       || printf('%08x', CAST(substr(fingerprint, instr(fingerprint, ':') + 1) AS INTEGER))) \
                     WHERE typeof(fingerprint) = 'text'",
                )
                .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for (name, columns) in DROPPED_INDEXES {
            db.execute_unprepared(&format!(
                "CREATE INDEX {name} ON statement_lines ({columns})"
            ))
            .await?;
        }
        db.execute_unprepared("DROP INDEX idx_statement_lines_unmatched")
            .await?;
        match db.get_database_backend() {
            DbBackend::Postgres => {
                for (name, parent, ..) in TRIGGERS {
                    db.execute_unprepared(&format!("DROP TRIGGER {name} ON {parent}"))
                        .await?;
                    db.execute_unprepared(&format!("DROP FUNCTION {name}()"))
                        .await?;
                }
                for (name, column, parent, on_delete) in FOREIGN_KEYS {
                    db.execute_unprepared(&format!(
                        "ALTER TABLE statement_lines ADD CONSTRAINT {name} FOREIGN KEY ({column}) \
                         REFERENCES {parent} (id) ON DELETE {on_delete}"
                    ))
                    .await?;
                }
                db.execute_unprepared(
                    "ALTER TABLE statement_lines ALTER COLUMN fingerprint TYPE text USING \
                       encode(substr(fingerprint, 1, 12), 'hex') || ':' \
                       || ((get_byte(fingerprint, 12)::bigint << 24) | (get_byte(fingerprint, 13) << 16) \
                           | (get_byte(fingerprint, 14) << 8) | get_byte(fingerprint, 15))::text",
                )
                .await?;
            }
            _ => {
                // The occurrence from its 8 hex digits: SQLite's CAST reads no hex.
                let digits = "hex(substr(fingerprint, 13, 4))";
                let occurrence = (1..=8)
                    .map(|k| {
                        format!(
                            "((instr('0123456789ABCDEF', substr({digits}, {k}, 1)) - 1) << {})",
                            4 * (8 - k)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(" | ");
                db.execute_unprepared(&format!(
                    "UPDATE statement_lines SET fingerprint = \
                       lower(hex(substr(fingerprint, 1, 12))) || ':' || ({occurrence}) \
                     WHERE typeof(fingerprint) = 'blob'"
                ))
                .await?;
            }
        }
        Ok(())
    }
}
