//! Opening the database: SQLite (the embedded default) or PostgreSQL, chosen by the URL.

use std::time::Duration;

use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, Database, DatabaseConnection, DatabaseTransaction, DbErr,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

/// How long a SQLite connection waits for another writer's lock before failing.
pub const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_millis(5000);
/// Pool size for a SQLite file: WAL lets readers run beside the one writer.
pub const SQLITE_MAX_CONNECTIONS: u32 = 8;
/// Pool size for PostgreSQL.
pub const POSTGRES_MAX_CONNECTIONS: u32 = 10;

/// Connects to `url` (`sqlite://imprint.db`, `sqlite::memory:`, `postgres://…`).
///
/// For SQLite every pooled connection is opened with `journal_mode=WAL`,
/// `busy_timeout=5000` ms, `foreign_keys=ON`, `synchronous=NORMAL`, a 4 MiB page cache and
/// `temp_store=FILE`, so memory stays bounded whatever the statement's size (sqlx applies these
/// per connection as it opens it, so they hold on all of them), and the file is created if
/// missing, as with `?mode=rwc`. An in-memory SQLite database gets a single connection that
/// is never recycled, because the database lives and dies with it.
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .sqlx_logging(false)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(30));

    if is_sqlite(url) {
        let in_memory = is_sqlite_memory(url);
        options.map_sqlx_sqlite_opts(move |opts| {
            let opts = opts
                .busy_timeout(SQLITE_BUSY_TIMEOUT)
                .foreign_keys(true)
                .synchronous(SqliteSynchronous::Normal)
                // 4 MiB of page cache per connection (twice the default): statement lines arrive by the million and
                // their indexes outgrow the 2 MiB default at once.
                .pragma("cache_size", "-4096")
                // Sorts, temporary indexes and statement journals on disk past a small buffer.
                // In memory, SQLite never spills them: summing a million-line statement by
                // currency sorted ~60 MB in RAM, a million-line UPDATE in a transaction kept
                // ~200 MB of page copies.
                .pragma("temp_store", "file");
            if in_memory {
                opts
            } else {
                opts.create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
            }
        });
        if in_memory {
            options
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None::<Duration>)
                .max_lifetime(None::<Duration>);
        } else {
            options
                .max_connections(SQLITE_MAX_CONNECTIONS)
                .min_connections(1);
        }
    } else {
        options
            .max_connections(POSTGRES_MAX_CONNECTIONS)
            .min_connections(1)
            .idle_timeout(Duration::from_secs(600));
    }

    Database::connect(options).await
}

/// Begins a transaction that is going to write. On SQLite it is `BEGIN IMMEDIATE`, taking the
/// write lock at once (waiting up to the busy timeout), so that two writers never both hold a
/// read snapshot and then fail with `SQLITE_BUSY` on upgrading it; on PostgreSQL it is a plain
/// `BEGIN`.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    let mode = matches!(db.get_database_backend(), sea_orm::DbBackend::Sqlite)
        .then_some(SqliteTransactionMode::Immediate);
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: mode,
        ..TransactionOptions::default()
    })
    .await
}

/// Whether `url` names a SQLite database.
pub fn is_sqlite(url: &str) -> bool {
    url.starts_with("sqlite:")
}

fn is_sqlite_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_sqlite_urls() {
        assert!(is_sqlite("sqlite://imprint.db"));
        assert!(is_sqlite("sqlite::memory:"));
        assert!(!is_sqlite("postgres://postgres@127.0.0.1/postgres"));
        assert!(is_sqlite_memory("sqlite::memory:"));
        assert!(is_sqlite_memory("sqlite://x?mode=memory"));
        assert!(!is_sqlite_memory("sqlite://imprint.db?mode=rwc"));
    }
}
