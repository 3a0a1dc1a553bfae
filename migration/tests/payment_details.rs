//! `m20261206_000021_payment_details` moves the old free-text `payout_method` into structured
//! payment details where it reads as an IBAN or an e-mail address, and keeps it as a note
//! otherwise; the old text stays. On a temporary SQLite file and, when
//! `IMPRINT_TEST_DATABASE_URL` is set, on a fresh PostgreSQL database.

use std::time::{SystemTime, UNIX_EPOCH};

use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, Statement};

/// Migrations before this one.
const BEFORE: u32 = 17;

fn unique_suffix() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_nanos();
    format!("{}_{nanos:x}", std::process::id())
}

/// `(payout_method, rail, account, note)` expected after the migration.
type Case = (
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    Option<&'static str>,
);

const CASES: [Case; 5] = [
    (
        "IBAN: DE44 5001 0517 5407 3249 31",
        Some("iban"),
        Some("DE44500105175407324931"),
        None,
    ),
    (
        "PayPal ada@Example.com",
        Some("paypal"),
        Some("ada@example.com"),
        None,
    ),
    (
        "Wise: theo@example.org",
        Some("wise"),
        Some("theo@example.org"),
        None,
    ),
    // A checksum that fails: not an IBAN, kept as a note.
    (
        "DE45500105175407324931",
        None,
        None,
        Some("DE45500105175407324931"),
    ),
    (
        "cheque to the studio",
        None,
        None,
        Some("cheque to the studio"),
    ),
];

async fn exercise(db: &DatabaseConnection) {
    Migrator::up(db, Some(BEFORE))
        .await
        .expect("migrate up to 17");
    db.execute_unprepared(
        "INSERT INTO organizations (id, name, kind, base_currency, created_at) \
         VALUES (1, 'Tern', 'label', 'EUR', '2026-01-01 00:00:00+00:00')",
    )
    .await
    .expect("organization");
    for (i, (text, ..)) in CASES.iter().enumerate() {
        db.execute_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            "INSERT INTO payees (id, organization_id, name, kind, currency, minimum_payout_nanos, \
             payout_method, reserve_ppb, created_at, updated_at) \
             VALUES ($1, 1, 'P', 'producer', 'EUR', 0, $2, 0, '2026-01-01 00:00:00+00:00', \
             '2026-01-01 00:00:00+00:00')",
            [i64::try_from(i).expect("index").into(), (*text).into()],
        ))
        .await
        .expect("payee");
    }
    Migrator::up(db, None).await.expect("migrate up");
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT payout_method, payment_rail, payment_account, payment_note FROM payees ORDER BY id",
        ))
        .await
        .expect("payees");
    assert_eq!(rows.len(), CASES.len());
    for (row, (text, rail, account, note)) in rows.iter().zip(CASES) {
        let got: (String, Option<String>, Option<String>, Option<String>) = (
            row.try_get_by_index(0).expect("payout_method"),
            row.try_get_by_index(1).expect("rail"),
            row.try_get_by_index(2).expect("account"),
            row.try_get_by_index(3).expect("note"),
        );
        assert_eq!(
            got,
            (
                text.to_owned(),
                rail.map(str::to_owned),
                account.map(str::to_owned),
                note.map(str::to_owned)
            ),
            "{text}"
        );
    }
    // Down and up again: the columns go and come back.
    Migrator::down(db, Some(1)).await.expect("migrate down one");
    Migrator::up(db, None).await.expect("migrate up again");
}

#[tokio::test]
async fn old_payout_methods_on_sqlite() {
    let path = std::env::temp_dir().join(format!("imprint_pd_{}.db", unique_suffix()));
    let mut options = ConnectOptions::new(format!("sqlite://{}?mode=rwc", path.display()));
    options.max_connections(1).sqlx_logging(false);
    let db = Database::connect(options).await.expect("open sqlite");
    exercise(&db).await;
    db.close().await.expect("close");
    let _ = std::fs::remove_file(path);
}

#[tokio::test]
async fn old_payout_methods_on_postgres() {
    let Ok(admin_url) = std::env::var("IMPRINT_TEST_DATABASE_URL") else {
        eprintln!("IMPRINT_TEST_DATABASE_URL is not set: the PostgreSQL run was skipped");
        return;
    };
    let admin = Database::connect(admin_url.as_str())
        .await
        .expect("connect to IMPRINT_TEST_DATABASE_URL");
    let name = format!("imprint_pd_{}", unique_suffix());
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create test database");
    let url = match admin_url.rfind('/') {
        Some(at) => format!("{}/{name}", &admin_url[..at]),
        None => panic!("no database in {admin_url}"),
    };
    let db = Database::connect(url.as_str()).await.expect("connect");
    let outcome = tokio::spawn({
        let db = db.clone();
        async move { exercise(&db).await }
    })
    .await;
    db.close().await.expect("close");
    admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await
        .expect("drop test database");
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic.into_panic());
    }
}
