//! Writing statement lines fast, on both backends.
//!
//! Lines are the one table that grows by millions of rows, so they bypass the ORM's generic
//! multi-row INSERT (one SQL string with 23 parameters a line):
//! - PostgreSQL: `COPY statement_lines FROM STDIN (FORMAT binary)`, one per batch: the rows go
//!   over as the server stores them (no SQL text to parse, no per-row plan), and the server
//!   writes them to the table in pages (`heap_multi_insert`) rather than one at a time;
//! - SQLite: multi-row INSERTs of 100 lines inside one transaction per batch; the driver runs
//!   SQLite on its own thread, so each statement is a hop worth amortising.
//!
//! A line whose key the organisation already has (from an overlapping statement, or from this
//! one before a retry) is skipped, never doubled. On SQLite and in PostgreSQL's fallback that is
//! `ON CONFLICT (organization_id, fingerprint) DO NOTHING`. A COPY cannot skip a row: the
//! unique index refuses the whole batch (SQLSTATE 23505, nothing of it is kept), and the batch
//! is then written again by `INSERT … SELECT FROM UNNEST($1, …, $23) ON CONFLICT DO NOTHING`,
//! each column bound as an array. A file with no line seen before (the common case) is all
//! COPY; a retried or overlapping one pays a refused COPY per batch that meets an old line.
//!
//! Lines arrive matched (track, release, method), so each is written once and never updated
//! after.
//!
//! Measured on PostgreSQL, a million lines (`bench_ingest`, parse and match): 35.9 s by UNNEST
//! with the text key and four foreign keys; 14.7 s by COPY with the 16-byte key and no foreign
//! keys (migration `statement_line_keys`), the server now busy in index insertions and idle
//! while the job prepared the next batch; 8.2 s with two batches written at once, 6.3 s with
//! three ([`LineWriter`]). A batch committed without waiting for its WAL to be flushed gained
//! nothing measurable, but costs nothing either and keeps the disk out of the loop.

use chrono::{Datelike as _, NaiveDate};
use domain::statement::LineKey;
use sea_orm::{DatabaseConnection, DbBackend};

/// One statement line as stored.
#[derive(Debug, Clone)]
pub struct NewLine {
    pub organization_id: i64,
    pub statement_id: i64,
    pub line_number: i64,
    pub fingerprint: LineKey,
    pub isrc: Option<String>,
    pub upc: Option<String>,
    pub title: Option<String>,
    pub artist_name: Option<String>,
    pub release_title: Option<String>,
    pub store: Option<String>,
    pub territory: Option<String>,
    pub territory_raw: Option<String>,
    pub sale_period_start: Option<NaiveDate>,
    pub sale_period_end: Option<NaiveDate>,
    pub usage_type: Option<String>,
    pub quantity: i64,
    pub amount_nanos: i64,
    pub currency: String,
    pub base_amount_nanos: i64,
    pub base_currency: String,
    /// The match found as the line was read (see `crate::matching::CatalogueIndex`).
    pub track_id: Option<i64>,
    pub release_id: Option<i64>,
    pub match_method: Option<&'static str>,
}

const COLUMNS: &str = "organization_id, statement_id, line_number, fingerprint, isrc, upc, title, artist_name, \
    release_title, store, territory, territory_raw, sale_period_start, sale_period_end, usage_type, quantity, \
    amount_nanos, currency, base_amount_nanos, base_currency, track_id, release_id, match_method";

/// How many [`COLUMNS`] a line has: the fields of a COPY row, the placeholders of a row.
const COLUMN_COUNT: usize = 23;

/// Writes one job's lines.
///
/// On PostgreSQL three batches are written at once, each on its own connection: the server spends
/// its time in index insertions, one core per connection, and the job meanwhile prepares the next
/// batch. A million lines took 8.2 s with two at once, 6.3–7.1 s with three, 6.7–7.1 s with four
/// (on two cores). Each batch is its own transaction, so which of two lands first does not matter;
/// a failed one is reported by the next call ([`LineWriter::insert`] or [`LineWriter::finish`]),
/// and the job fails and is retried.
///
/// On SQLite every batch goes through one connection, held for the job, one at a time (SQLite
/// has one writer), and one transaction takes several batches ([`SQLITE_LINES_PER_COMMIT`]):
/// every line lands on its own page of the key index, and a commit writes each page it
/// changed to the WAL, so at 5,000 lines a commit a million lines wrote their index some 200
/// times over (23.5 s; 12.1 s at 50,000 lines a commit and a 64 MiB page cache). Nothing else
/// can write to the database while that transaction is open, this job included: the job calls
/// [`LineWriter::commit`] before it writes anything else (a progress update, line errors),
/// about twice a second. The pool hands out its idle connections in turn, and each connection keeps
/// its own page cache (4 MiB, more while a transaction holds dirty pages) and runs on its own
/// thread, whose allocations the allocator keeps in an arena of its own: rotating 300,000
/// lines' worth of index pages through eight connections had 76 MB in SQLite's page caches at
/// the peak (heaptrack), and twice the heap in resident memory. (An in-memory database has a
/// single connection, which the job needs for everything else it writes, so there each batch
/// borrows it from the pool.)
pub struct LineWriter {
    sqlite: Option<HeldSqlite>,
    in_flight: std::collections::VecDeque<tokio::task::JoinHandle<Result<(), sqlx::Error>>>,
}

/// Batches written at once on PostgreSQL.
const POSTGRES_WRITERS: usize = 3;

/// Lines SQLite takes into one transaction at most.
pub const SQLITE_LINES_PER_COMMIT: usize = 50_000;

/// The page cache of the held SQLite connection while the job writes (KiB, as `cache_size`
/// takes it negative): the pages one transaction changes stay there until the commit instead
/// of spilling to the WAL early. The pool's own setting is back when the writer finishes.
const SQLITE_WRITER_CACHE_KIB: i64 = 65_536;

/// The SQLite connection a job writes its lines through, and its open transaction.
struct HeldSqlite {
    conn: sqlx::pool::PoolConnection<sqlx::Sqlite>,
    /// The connection's own `cache_size`, put back at the end.
    cache_size: i64,
    /// Lines in the open transaction (none open at 0).
    open_lines: usize,
    /// Committed and the page cache put back: the connection can go back to the pool.
    finished: bool,
}

impl HeldSqlite {
    async fn insert(&mut self, lines: &[NewLine]) -> Result<(), sqlx::Error> {
        if self.open_lines == 0 {
            sqlx::query("BEGIN IMMEDIATE")
                .execute(&mut *self.conn)
                .await?;
        }
        self.open_lines += lines.len();
        insert_sqlite_rows(&mut self.conn, lines).await?;
        if self.open_lines >= SQLITE_LINES_PER_COMMIT {
            self.commit().await?;
        }
        Ok(())
    }

    async fn commit(&mut self) -> Result<(), sqlx::Error> {
        if self.open_lines > 0 {
            sqlx::query("COMMIT").execute(&mut *self.conn).await?;
            self.open_lines = 0;
        }
        Ok(())
    }
}

impl Drop for LineWriter {
    fn drop(&mut self) {
        // A job that failed before `finish`: closing the connection rolls back an open
        // transaction (returned to the pool, the connection would keep it and the write
        // lock) and drops the enlarged page cache.
        if let Some(held) = &mut self.sqlite
            && !held.finished
        {
            held.conn.close_on_drop();
        }
    }
}

impl LineWriter {
    /// # Errors
    /// No connection could be had.
    pub async fn new(db: &DatabaseConnection) -> Result<Self, sqlx::Error> {
        let sqlite = match db.get_database_backend() {
            DbBackend::Sqlite => {
                let pool = db.get_sqlite_connection_pool();
                if pool.options().get_max_connections() > 1 {
                    let mut conn = pool.acquire().await?;
                    let cache_size: i64 = sqlx::query_scalar("PRAGMA cache_size")
                        .fetch_one(&mut *conn)
                        .await?;
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "PRAGMA cache_size = -{SQLITE_WRITER_CACHE_KIB}"
                    )))
                    .execute(&mut *conn)
                    .await?;
                    Some(HeldSqlite {
                        conn,
                        cache_size,
                        open_lines: 0,
                        finished: false,
                    })
                } else {
                    None
                }
            }
            _ => None,
        };
        Ok(Self {
            sqlite,
            in_flight: Default::default(),
        })
    }

    /// Inserts the lines, skipping any whose key the organisation already has. On PostgreSQL
    /// the batch may still be on its way when this returns: [`LineWriter::finish`] waits.
    ///
    /// # Errors
    /// Database failures, of this batch or (PostgreSQL) of one before it; nothing of a failed
    /// batch is written.
    pub async fn insert(
        &mut self,
        db: &DatabaseConnection,
        lines: Vec<NewLine>,
    ) -> anyhow::Result<()> {
        if lines.is_empty() {
            return Ok(());
        }
        match (db.get_database_backend(), &mut self.sqlite) {
            (DbBackend::Postgres, _) => {
                while self.in_flight.len() >= POSTGRES_WRITERS {
                    self.wait_oldest().await?;
                }
                let pool = db.get_postgres_connection_pool().clone();
                self.in_flight.push_back(tokio::spawn(async move {
                    write_postgres(&pool, &lines).await
                }));
                Ok(())
            }
            (_, Some(held)) => Ok(held.insert(&lines).await?),
            (_, None) => {
                use sqlx::Connection as _;
                let mut borrowed = db.get_sqlite_connection_pool().acquire().await?;
                let mut tx = borrowed.begin().await?;
                insert_sqlite_rows(&mut tx, &lines).await?;
                Ok(tx.commit().await?)
            }
        }
    }

    /// Commits the lines SQLite holds in the open transaction, so that the job can write
    /// something else. Nothing to do on PostgreSQL, whose batches commit on their own.
    ///
    /// # Errors
    /// The commit failed.
    pub async fn commit(&mut self) -> Result<(), sqlx::Error> {
        match &mut self.sqlite {
            Some(held) => held.commit().await,
            None => Ok(()),
        }
    }

    /// Waits for every batch still being written (PostgreSQL), or commits the last ones and
    /// gives the connection its page cache back (SQLite).
    ///
    /// # Errors
    /// The first failure among them.
    pub async fn finish(&mut self) -> anyhow::Result<()> {
        let mut first = Ok(());
        while !self.in_flight.is_empty() {
            let outcome = self.wait_oldest().await;
            if first.is_ok() {
                first = outcome;
            }
        }
        first?;
        if let Some(held) = &mut self.sqlite {
            held.commit().await?;
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "PRAGMA cache_size = {}",
                held.cache_size
            )))
            .execute(&mut *held.conn)
            .await?;
            held.finished = true;
        }
        Ok(())
    }

    async fn wait_oldest(&mut self) -> anyhow::Result<()> {
        match self.in_flight.pop_front() {
            Some(handle) => Ok(handle
                .await
                .map_err(|e| anyhow::anyhow!("a statement line batch's task: {e}"))??),
            None => Ok(()),
        }
    }
}

/// A batch on PostgreSQL: by COPY, or when a line's key is already stored, by INSERT.
async fn write_postgres(pool: &sqlx::PgPool, lines: &[NewLine]) -> Result<(), sqlx::Error> {
    match copy_postgres(pool, lines).await {
        Err(sqlx::Error::Database(err))
            if err.kind() == sqlx::error::ErrorKind::UniqueViolation =>
        {
            insert_postgres(pool, lines).await
        }
        other => other,
    }
}

/// `COPY … FROM STDIN (FORMAT binary)` of the batch: all of it, or nothing when a line's key
/// is already there.
async fn copy_postgres(pool: &sqlx::PgPool, lines: &[NewLine]) -> Result<(), sqlx::Error> {
    let mut rows = BinaryCopy::new(lines.len());
    for l in lines {
        rows.row();
        rows.bigint(Some(l.organization_id));
        rows.bigint(Some(l.statement_id));
        rows.bigint(Some(l.line_number));
        rows.field(Some(l.fingerprint.as_bytes()));
        rows.text(l.isrc.as_deref());
        rows.text(l.upc.as_deref());
        rows.text(l.title.as_deref());
        rows.text(l.artist_name.as_deref());
        rows.text(l.release_title.as_deref());
        rows.text(l.store.as_deref());
        rows.text(l.territory.as_deref());
        rows.text(l.territory_raw.as_deref());
        rows.date(l.sale_period_start);
        rows.date(l.sale_period_end);
        rows.text(l.usage_type.as_deref());
        rows.bigint(Some(l.quantity));
        rows.bigint(Some(l.amount_nanos));
        rows.text(Some(&l.currency));
        rows.bigint(Some(l.base_amount_nanos));
        rows.text(Some(&l.base_currency));
        rows.bigint(l.track_id);
        rows.bigint(l.release_id);
        rows.text(l.match_method);
    }
    let mut tx = pool.begin().await?;
    // Each batch's commit need not wait for its WAL to reach the disk: the job's last commit
    // (the statement marked parsed) is synchronous and flushes everything written before it,
    // so a crash can only lose batches of a statement that is not yet parsed, whose retried
    // job writes them again.
    sqlx::query("SET LOCAL synchronous_commit = off")
        .execute(&mut *tx)
        .await?;
    let mut copy = tx
        .copy_in_raw(&format!(
            "COPY statement_lines ({COLUMNS}) FROM STDIN (FORMAT binary)"
        ))
        .await?;
    copy.send(rows.finish()).await?;
    copy.finish().await?;
    tx.commit().await
}

/// Rows in PostgreSQL's binary `COPY` format: a header, then per row its field count and each
/// field as a length (−1 for NULL) and its bytes in the type's binary form, then a trailer.
struct BinaryCopy {
    buf: Vec<u8>,
}

impl BinaryCopy {
    /// PostgreSQL's date epoch, 2000-01-01, in days from 0001-01-01 (chrono's count).
    const PG_EPOCH_FROM_CE: i32 = 730_120;

    fn new(rows: usize) -> Self {
        let mut buf = Vec::with_capacity(19 + rows * 256);
        buf.extend_from_slice(b"PGCOPY\n\xff\r\n\0");
        buf.extend_from_slice(&0_i32.to_be_bytes()); // flags: no OIDs
        buf.extend_from_slice(&0_i32.to_be_bytes()); // no header extension
        Self { buf }
    }

    /// Starts a row of [`COLUMN_COUNT`] fields.
    fn row(&mut self) {
        let fields = i16::try_from(COLUMN_COUNT).expect("a row under 32,768 fields");
        self.buf.extend_from_slice(&fields.to_be_bytes());
    }

    fn field(&mut self, bytes: Option<&[u8]>) {
        match bytes {
            Some(bytes) => {
                let len = i32::try_from(bytes.len()).expect("a field under 2 GiB");
                self.buf.extend_from_slice(&len.to_be_bytes());
                self.buf.extend_from_slice(bytes);
            }
            None => self.buf.extend_from_slice(&(-1_i32).to_be_bytes()),
        }
    }

    fn bigint(&mut self, value: Option<i64>) {
        self.field(
            value
                .map(i64::to_be_bytes)
                .as_ref()
                .map(<[u8; 8]>::as_slice),
        );
    }

    fn text(&mut self, value: Option<&str>) {
        self.field(value.map(str::as_bytes));
    }

    fn date(&mut self, value: Option<NaiveDate>) {
        let days = value.map(|d| (d.num_days_from_ce() - Self::PG_EPOCH_FROM_CE).to_be_bytes());
        self.field(days.as_ref().map(<[u8; 4]>::as_slice));
    }

    fn finish(mut self) -> Vec<u8> {
        self.buf.extend_from_slice(&(-1_i16).to_be_bytes());
        self.buf
    }
}

/// The batch by `INSERT … ON CONFLICT DO NOTHING`, for a batch whose COPY met a stored key.
async fn insert_postgres(pool: &sqlx::PgPool, lines: &[NewLine]) -> Result<(), sqlx::Error> {
    fn col<T: Clone>(lines: &[NewLine], f: impl Fn(&NewLine) -> T) -> Vec<T> {
        lines.iter().map(f).collect()
    }
    let sql = format!(
        "INSERT INTO statement_lines ({COLUMNS}) \
         SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::bigint[], $4::bytea[], $5::text[], $6::text[], \
           $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::date[], $14::date[], \
           $15::text[], $16::bigint[], $17::bigint[], $18::text[], $19::bigint[], $20::text[], \
           $21::bigint[], $22::bigint[], $23::text[]) \
         ON CONFLICT (organization_id, fingerprint) DO NOTHING"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
        .bind(col(lines, |l| l.organization_id))
        .bind(col(lines, |l| l.statement_id))
        .bind(col(lines, |l| l.line_number))
        .bind(col(lines, |l| l.fingerprint.as_bytes().to_vec()))
        .bind(col(lines, |l| l.isrc.clone()))
        .bind(col(lines, |l| l.upc.clone()))
        .bind(col(lines, |l| l.title.clone()))
        .bind(col(lines, |l| l.artist_name.clone()))
        .bind(col(lines, |l| l.release_title.clone()))
        .bind(col(lines, |l| l.store.clone()))
        .bind(col(lines, |l| l.territory.clone()))
        .bind(col(lines, |l| l.territory_raw.clone()))
        .bind(col(lines, |l| l.sale_period_start))
        .bind(col(lines, |l| l.sale_period_end))
        .bind(col(lines, |l| l.usage_type.clone()))
        .bind(col(lines, |l| l.quantity))
        .bind(col(lines, |l| l.amount_nanos))
        .bind(col(lines, |l| l.currency.clone()))
        .bind(col(lines, |l| l.base_amount_nanos))
        .bind(col(lines, |l| l.base_currency.clone()))
        .bind(col(lines, |l| l.track_id))
        .bind(col(lines, |l| l.release_id))
        .bind(col(lines, |l| l.match_method))
        .execute(pool)
        .await?;
    Ok(())
}

/// Rows per SQLite statement: 100 × 23 parameters stays far below SQLite's limit, and every
/// full chunk has the same SQL text, so it is prepared once per connection and reused.
const SQLITE_ROWS_PER_STATEMENT: usize = 100;

/// The lines as multi-row INSERTs, in the caller's transaction.
async fn insert_sqlite_rows(
    conn: &mut sqlx::SqliteConnection,
    lines: &[NewLine],
) -> Result<(), sqlx::Error> {
    let row = format!("({})", ["?"; COLUMN_COUNT].join(", "));
    for chunk in lines.chunks(SQLITE_ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO statement_lines ({COLUMNS}) VALUES {} ON CONFLICT (organization_id, fingerprint) DO NOTHING",
            vec![row.as_str(); chunk.len()].join(", ")
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for l in chunk {
            query = query
                .bind(l.organization_id)
                .bind(l.statement_id)
                .bind(l.line_number)
                .bind(l.fingerprint.as_bytes().as_slice())
                .bind(l.isrc.clone())
                .bind(l.upc.clone())
                .bind(l.title.clone())
                .bind(l.artist_name.clone())
                .bind(l.release_title.clone())
                .bind(l.store.clone())
                .bind(l.territory.clone())
                .bind(l.territory_raw.clone())
                .bind(l.sale_period_start)
                .bind(l.sale_period_end)
                .bind(l.usage_type.clone())
                .bind(l.quantity)
                .bind(l.amount_nanos)
                .bind(l.currency.clone())
                .bind(l.base_amount_nanos)
                .bind(l.base_currency.clone())
                .bind(l.track_id)
                .bind(l.release_id)
                .bind(l.match_method);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use sea_orm::{ConnectionTrait, Statement};

    use super::*;

    async fn database(dir: &tempfile::TempDir) -> DatabaseConnection {
        let url = format!("sqlite://{}/lines.db?mode=rwc", dir.path().display());
        let db = entity::db::connect(&url).await.expect("sqlite");
        db.execute_unprepared(
            "CREATE TABLE statement_lines (id INTEGER PRIMARY KEY, organization_id BIGINT NOT NULL, \
               statement_id BIGINT NOT NULL, line_number BIGINT NOT NULL, fingerprint BLOB NOT NULL, \
               isrc TEXT, upc TEXT, title TEXT, artist_name TEXT, release_title TEXT, store TEXT, \
               territory TEXT, territory_raw TEXT, sale_period_start DATE, sale_period_end DATE, \
               usage_type TEXT, quantity BIGINT NOT NULL, amount_nanos BIGINT NOT NULL, currency TEXT NOT NULL, \
               base_amount_nanos BIGINT NOT NULL, base_currency TEXT NOT NULL, track_id BIGINT, \
               release_id BIGINT, match_method TEXT, UNIQUE (organization_id, fingerprint))",
        )
        .await
        .expect("table");
        db
    }

    fn lines(from: u32, count: u32) -> Vec<NewLine> {
        let mut keys = domain::statement::Fingerprinter::new();
        (from..from + count)
            .map(|n| {
                let mut line = domain::statement::StatementLine::new(u64::from(n), "EUR");
                line.isrc = Some(format!("QZABC{n:07}"));
                NewLine {
                    organization_id: 1,
                    statement_id: 1,
                    line_number: i64::from(n),
                    fingerprint: keys.key(&line, domain::statement::Format::DistroKid),
                    isrc: line.isrc,
                    upc: None,
                    title: None,
                    artist_name: None,
                    release_title: None,
                    store: None,
                    territory: None,
                    territory_raw: None,
                    sale_period_start: None,
                    sale_period_end: None,
                    usage_type: None,
                    quantity: 1,
                    amount_nanos: 1_000,
                    currency: "EUR".into(),
                    base_amount_nanos: 1_000,
                    base_currency: "EUR".into(),
                    track_id: None,
                    release_id: None,
                    match_method: None,
                }
            })
            .collect()
    }

    async fn count(db: &DatabaseConnection) -> i64 {
        db.query_one_raw(Statement::from_string(
            DbBackend::Sqlite,
            "SELECT COUNT(*) AS n FROM statement_lines",
        ))
        .await
        .expect("count")
        .expect("row")
        .try_get("", "n")
        .expect("n")
    }

    #[test]
    fn a_copy_row_has_a_field_per_column_in_postgres_binary_form() {
        assert_eq!(COLUMNS.split(',').count(), COLUMN_COUNT);
        let line = &lines(7, 1)[0];
        let mut rows = BinaryCopy::new(1);
        rows.row();
        rows.bigint(Some(line.organization_id));
        rows.field(Some(line.fingerprint.as_bytes()));
        rows.text(None);
        rows.date(NaiveDate::from_ymd_opt(2000, 1, 1));
        rows.date(NaiveDate::from_ymd_opt(1999, 12, 31));
        rows.text(Some("ÉU"));
        let bytes = rows.finish();
        let mut expected = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0".to_vec();
        expected.extend_from_slice(&[0, 23]);
        expected.extend_from_slice(&[0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 1]);
        expected.extend_from_slice(&[0, 0, 0, 16]);
        expected.extend_from_slice(line.fingerprint.as_bytes());
        expected.extend_from_slice(&[0xff, 0xff, 0xff, 0xff]); // NULL
        expected.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0]); // PostgreSQL's day 0
        expected.extend_from_slice(&[0, 0, 0, 4, 0xff, 0xff, 0xff, 0xff]); // the day before
        expected.extend_from_slice(&[0, 0, 0, 3, 0xc3, 0x89, b'U']);
        expected.extend_from_slice(&[0xff, 0xff]); // trailer
        assert_eq!(bytes, expected);
    }

    #[tokio::test]
    async fn sqlite_lines_commit_in_large_transactions_and_an_abandoned_one_rolls_back() {
        let dir = tempfile::tempdir().expect("dir");
        let db = database(&dir).await;

        // Lines below the commit size stay in the open transaction, invisible to others.
        let mut writer = LineWriter::new(&db).await.expect("writer");
        writer.insert(&db, lines(0, 300)).await.expect("insert");
        assert_eq!(count(&db).await, 0, "not committed yet");
        writer.commit().await.expect("commit");
        assert_eq!(count(&db).await, 300);
        // The same lines again are skipped; new ones are added.
        writer.insert(&db, lines(200, 200)).await.expect("insert");
        writer.finish().await.expect("finish");
        assert_eq!(count(&db).await, 400);
        drop(writer);

        // A writer dropped mid-transaction (its job failed) rolls back and releases the write
        // lock: the next writer gets in at once, and the pool's page cache is as it was.
        let mut abandoned = LineWriter::new(&db).await.expect("writer");
        abandoned
            .insert(&db, lines(1_000, 500))
            .await
            .expect("insert");
        drop(abandoned);
        let mut next = LineWriter::new(&db).await.expect("writer");
        next.insert(&db, lines(2_000, 10)).await.expect("insert");
        next.finish().await.expect("finish");
        assert_eq!(count(&db).await, 410, "the abandoned lines are gone");
        drop(next);
        let pool = db.get_sqlite_connection_pool();
        let mut held = Vec::new();
        for _ in 0..pool.size() {
            held.push(pool.acquire().await.expect("connection"));
        }
        for conn in &mut held {
            let cache: i64 = sqlx::query_scalar("PRAGMA cache_size")
                .fetch_one(&mut **conn)
                .await
                .expect("cache_size");
            assert!(
                cache > -SQLITE_WRITER_CACHE_KIB,
                "a pooled connection kept the writer's page cache"
            );
        }
    }
}
