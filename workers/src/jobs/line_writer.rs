//! Writing statement lines fast, on both backends.
//!
//! Lines are the one table that grows by millions of rows, so they bypass the ORM's generic
//! multi-row INSERT (one SQL string with 23,000 parameters per thousand lines):
//! - PostgreSQL: one `INSERT … SELECT FROM UNNEST($1, …, $23)` per batch, each column bound as
//!   an array: a single round trip and a single plan for the whole batch;
//! - SQLite: multi-row INSERTs of 100 lines inside one transaction per batch; the driver runs
//!   SQLite on its own thread, so each statement is a hop worth amortising.
//!
//! Both use `ON CONFLICT (organization_id, fingerprint) DO NOTHING`: a line already stored
//! (from an overlapping statement, or before a retry) is skipped, never doubled.

use chrono::NaiveDate;
use sea_orm::{DatabaseConnection, DbBackend};

/// One statement line as stored.
#[derive(Debug, Clone)]
pub struct NewLine {
    pub organization_id: i64,
    pub statement_id: i64,
    pub line_number: i64,
    pub fingerprint: String,
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
}

const COLUMNS: &str = "organization_id, statement_id, line_number, fingerprint, isrc, upc, title, artist_name, \
    release_title, store, territory, territory_raw, sale_period_start, sale_period_end, usage_type, quantity, \
    amount_nanos, currency, base_amount_nanos, base_currency";

/// Inserts the lines, skipping any whose fingerprint the organisation already has.
///
/// # Errors
/// Database failures; nothing of the batch is written then.
pub async fn insert_lines(db: &DatabaseConnection, lines: &[NewLine]) -> Result<(), sqlx::Error> {
    if lines.is_empty() {
        return Ok(());
    }
    match db.get_database_backend() {
        DbBackend::Postgres => insert_postgres(db.get_postgres_connection_pool(), lines).await,
        _ => insert_sqlite(db.get_sqlite_connection_pool(), lines).await,
    }
}

async fn insert_postgres(pool: &sqlx::PgPool, lines: &[NewLine]) -> Result<(), sqlx::Error> {
    fn col<T: Clone>(lines: &[NewLine], f: impl Fn(&NewLine) -> T) -> Vec<T> {
        lines.iter().map(f).collect()
    }
    let sql = format!(
        "INSERT INTO statement_lines ({COLUMNS}) \
         SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::text[], \
           $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::date[], $14::date[], \
           $15::text[], $16::bigint[], $17::bigint[], $18::text[], $19::bigint[], $20::text[]) \
         ON CONFLICT (organization_id, fingerprint) DO NOTHING"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
        .bind(col(lines, |l| l.organization_id))
        .bind(col(lines, |l| l.statement_id))
        .bind(col(lines, |l| l.line_number))
        .bind(col(lines, |l| l.fingerprint.clone()))
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
        .execute(pool)
        .await?;
    Ok(())
}

/// Rows per SQLite statement: 100 × 20 parameters stays far below SQLite's limit, and every
/// full chunk has the same SQL text, so it is prepared once per connection and reused.
const SQLITE_ROWS_PER_STATEMENT: usize = 100;

async fn insert_sqlite(pool: &sqlx::SqlitePool, lines: &[NewLine]) -> Result<(), sqlx::Error> {
    let row = format!("({})", ["?"; 20].join(", "));
    let mut tx = pool.begin().await?;
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
                .bind(l.fingerprint.clone())
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
                .bind(l.base_currency.clone());
        }
        query.execute(&mut *tx).await?;
    }
    tx.commit().await
}
