//! Applies every migration up, down and up again on a temporary SQLite file and, when
//! `IMPRINT_TEST_DATABASE_URL` names a PostgreSQL server, on a freshly created database there;
//! then checks the keys, unique constraints and cascades the rest of Imprint relies on.

use std::time::{SystemTime, UNIX_EPOCH};

use migration::{Migrator, MigratorTrait};
use sea_orm::prelude::Json;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend};

/// Every table the migrations create.
const TABLES: [&str; 29] = [
    "organizations",
    "users",
    "auth_tokens",
    "memberships",
    "invitations",
    "api_keys",
    "artists",
    "artist_profiles",
    "payees",
    "agreements",
    "releases",
    "tracks",
    "track_artists",
    "splits",
    "split_shares",
    "recoupables",
    "import_templates",
    "statements",
    "statement_lines",
    "statement_errors",
    "identifier_aliases",
    "ledger_entries",
    "analytics_monthly",
    "analytics_rollups",
    "payout_runs",
    "payouts",
    "audit_log",
    "webhooks",
    "webhook_deliveries",
];

fn unique_suffix() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_nanos();
    format!("{}_{nanos:x}", std::process::id())
}

#[tokio::test]
async fn migrations_on_sqlite() {
    let path = std::env::temp_dir().join(format!("imprint_mig_{}.db", unique_suffix()));
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let mut options = ConnectOptions::new(url);
    options.max_connections(1).sqlx_logging(false);
    let db = Database::connect(options).await.expect("open sqlite");
    db.execute_unprepared("PRAGMA foreign_keys = ON")
        .await
        .expect("enable foreign keys");

    exercise(&db).await;

    db.close().await.expect("close sqlite");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

#[tokio::test]
async fn migrations_on_postgres() {
    let Ok(admin_url) = std::env::var("IMPRINT_TEST_DATABASE_URL") else {
        eprintln!("IMPRINT_TEST_DATABASE_URL is not set: the PostgreSQL migration run was skipped");
        return;
    };
    let admin = Database::connect(admin_url.as_str())
        .await
        .expect("connect to IMPRINT_TEST_DATABASE_URL");
    let name = format!("imprint_mig_{}", unique_suffix());
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create test database");

    let db = Database::connect(database_url(&admin_url, &name).as_str())
        .await
        .expect("connect to test database");
    // Run the checks in a task so that a failure still drops the database below.
    let outcome = tokio::spawn({
        let db = db.clone();
        async move { exercise(&db).await }
    })
    .await;
    db.close().await.expect("close test database");
    admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await
        .expect("drop test database");
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic.into_panic());
    }
}

/// `postgres://user@host:port/db?params` with the database name replaced.
fn database_url(url: &str, database: &str) -> String {
    let (base, params) = match url.split_once('?') {
        Some((base, params)) => (base, Some(params)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let authority_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{database}", &base[..authority_end]);
    if let Some(params) = params {
        out.push('?');
        out.push_str(params);
    }
    out
}

async fn exercise(db: &DatabaseConnection) {
    Migrator::up(db, None).await.expect("migrate up");
    assert_tables(db, true).await;
    Migrator::down(db, None).await.expect("migrate down");
    assert_tables(db, false).await;
    Migrator::up(db, None).await.expect("migrate up again");
    assert_tables(db, true).await;
    assert!(
        Migrator::get_pending_migrations(db)
            .await
            .expect("pending migrations")
            .is_empty()
    );

    assert_auto_increment_ids(db).await;
    assert_line_keys_convert(db).await;
    assert_rollups_filled(db).await;
    assert_constraints(db).await;
    assert_one_open_run(db).await;
}

/// A payout run of `org` in `status`.
async fn payout_run(
    db: &DatabaseConnection,
    org: i64,
    status: &str,
) -> Result<i64, sea_orm::DbErr> {
    insert(
        db,
        "payout_runs",
        &[
            ("organization_id", org.into()),
            (
                "period_end",
                Expr::val(sea_orm::prelude::Date::from_ymd_opt(2025, 1, 31).expect("date")),
            ),
            ("status", status.into()),
            ("created_at", Expr::current_timestamp()),
            ("updated_at", Expr::current_timestamp()),
        ],
    )
    .await
}

/// Migration `one_open_payout_run`: a second open run of an organisation is refused by the
/// database, closed runs are not counted, and going up refuses while two are open.
async fn assert_one_open_run(db: &DatabaseConnection) {
    let org = organization(db, "Runs").await;
    let other = organization(db, "Other runs").await;
    let first = payout_run(db, org, "ready").await.expect("an open run");
    assert!(
        payout_run(db, org, "draft").await.is_err(),
        "a second open run"
    );
    payout_run(db, org, "paid")
        .await
        .expect("closed runs are many");
    payout_run(db, org, "cancelled")
        .await
        .expect("closed runs are many");
    payout_run(db, other, "approved")
        .await
        .expect("another organisation's");

    Migrator::down(
        db,
        Some(steps_down_to_before("m20261206_000015_one_open_payout_run")),
    )
    .await
    .expect("down: no index");
    payout_run(db, org, "computing")
        .await
        .expect("two open runs without the index");
    let refused = Migrator::up(db, None).await;
    assert!(
        refused.as_ref().is_err_and(|e| e
            .to_string()
            .contains(&format!("organisation {org} (2 open runs)"))),
        "up refuses while two runs are open: {refused:?}"
    );
    db.execute_raw(sea_orm::Statement::from_sql_and_values(
        db.get_database_backend(),
        "UPDATE payout_runs SET status = 'cancelled' WHERE id = $1",
        [first.into()],
    ))
    .await
    .expect("cancel one");
    Migrator::up(db, None)
        .await
        .expect("up once one is cancelled");
}

/// Steps down from the last migration to just before `name`, whatever came after it.
fn steps_down_to_before(name: &str) -> u32 {
    let names: Vec<String> = Migrator::migrations()
        .iter()
        .map(|m| m.name().to_owned())
        .collect();
    let at = names.iter().position(|n| n == name).expect("a migration");
    u32::try_from(names.len() - at).expect("a few migrations")
}

/// Migration `analytics_rollups` fills its grains from the full roll-up rows already there.
async fn assert_rollups_filled(db: &DatabaseConnection) {
    let org = organization(db, "Rollups").await;
    Migrator::down(
        db,
        Some(steps_down_to_before("m20261206_000017_analytics_rollups")),
    )
    .await
    .expect("down to the full roll-up only");
    for (store, territory, quantity) in [
        ("Spotify", "US", 3_i64),
        ("Spotify", "GB", 4),
        ("Deezer", "US", 5),
    ] {
        db.execute_raw(sea_orm::Statement::from_sql_and_values(
            db.get_database_backend(),
            "INSERT INTO analytics_monthly (organization_id, artist_id, release_id, track_id, store, territory, month, \
               currency, quantity, earnings_base_nanos, earnings_nanos, line_count) \
             VALUES ($1, 7, 8, 9, $2, $3, '2025-01-01', 'EUR', $4, 10, 10, 1)",
            [org.into(), store.into(), territory.into(), quantity.into()],
        ))
        .await
        .expect("a full roll-up row");
    }
    Migrator::up(db, None).await.expect("up to the grains");
    let sum = |grain: &'static str| async move {
        let row = db
            .query_one_raw(sea_orm::Statement::from_sql_and_values(
                db.get_database_backend(),
                "SELECT COUNT(*) AS n, CAST(SUM(quantity) AS BIGINT) AS q FROM analytics_rollups \
                 WHERE organization_id = $1 AND grain = $2",
                [org.into(), grain.into()],
            ))
            .await
            .expect("sum")
            .expect("a row");
        (
            row.try_get::<i64>("", "n").expect("n"),
            row.try_get::<i64>("", "q").expect("q"),
        )
    };
    assert_eq!(sum("month").await, (1, 12));
    assert_eq!(sum("store").await, (2, 12));
    assert_eq!(sum("store_territory").await, (3, 12));
    assert_eq!(sum("artist").await, (1, 12));
}

/// Migration `statement_line_keys` turns a stored `<sha-256 hex>:<occurrence>` into the 16
/// bytes the code now writes (96 bits of the hash, the occurrence big-endian), and back.
async fn assert_line_keys_convert(db: &DatabaseConnection) {
    let org = organization(db, "Keys").await;
    let statement_id = statement(db, org, "keys").await.expect("statement");
    let below_keys = steps_down_to_before("m20261206_000014_statement_line_keys");
    Migrator::down(db, Some(below_keys))
        .await
        .expect("down to text keys");
    let old = "00ff7f80a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c:300";
    db.execute_raw(sea_orm::Statement::from_sql_and_values(
        db.get_database_backend(),
        "INSERT INTO statement_lines (organization_id, statement_id, line_number, fingerprint, quantity, \
           amount_nanos, currency, base_amount_nanos, base_currency) VALUES ($1, $2, 1, $3, 1, 5, 'EUR', 5, 'EUR')",
        [org.into(), statement_id.into(), old.into()],
    ))
    .await
    .expect("line with a text key");
    Migrator::up(db, None).await.expect("up to byte keys");
    // Each read its own SQL text: a prepared statement cached by the connection must not see
    // its column change type under it.
    let read = |db: &DatabaseConnection, nth: usize| {
        let db = db.clone();
        async move {
            db.query_one_raw(sea_orm::Statement::from_sql_and_values(
                db.get_database_backend(),
                format!(
                    "SELECT fingerprint, {nth} AS nth FROM statement_lines WHERE statement_id = $1"
                ),
                [statement_id.into()],
            ))
            .await
            .expect("read the key")
            .expect("the line")
        }
    };
    let key: Vec<u8> = read(db, 1).await.try_get("", "fingerprint").expect("bytes");
    assert_eq!(
        key,
        [
            0x00, 0xff, 0x7f, 0x80, 0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6, 0x07, 0x18, 0, 0, 0x01,
            0x2c
        ]
    );
    Migrator::down(db, Some(below_keys))
        .await
        .expect("down again");
    let text: String = read(db, 2).await.try_get("", "fingerprint").expect("text");
    assert_eq!(text, "00ff7f80a1b2c3d4e5f60718:300");
    Migrator::up(db, None).await.expect("up again");
    let key_again: Vec<u8> = read(db, 3).await.try_get("", "fingerprint").expect("bytes");
    assert_eq!(key_again, key);
}

async fn assert_tables(db: &DatabaseConnection, present: bool) {
    let manager = migration::SchemaManager::new(db);
    for table in TABLES {
        let has = manager.has_table(table).await.expect("has_table");
        assert_eq!(has, present, "table {table} present = {has}");
    }
}

async fn assert_auto_increment_ids(db: &DatabaseConnection) {
    for table in TABLES {
        match db.get_database_backend() {
            DbBackend::Sqlite => {
                let sql = format!(
                    "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = '{table}'"
                );
                let row = db
                    .query_one_raw(sea_orm::Statement::from_string(DbBackend::Sqlite, sql))
                    .await
                    .expect("read sqlite_master")
                    .expect("table in sqlite_master");
                let ddl: String = row.try_get("", "sql").expect("sql column");
                assert!(
                    ddl.contains("\"id\" integer NOT NULL PRIMARY KEY AUTOINCREMENT"),
                    "{table}: id is not an INTEGER PRIMARY KEY AUTOINCREMENT: {ddl}"
                );
            }
            DbBackend::Postgres => {
                let sql = format!(
                    "SELECT data_type, is_identity FROM information_schema.columns \
                     WHERE table_schema = current_schema() AND table_name = '{table}' \
                     AND column_name = 'id'"
                );
                let row = db
                    .query_one_raw(sea_orm::Statement::from_string(DbBackend::Postgres, sql))
                    .await
                    .expect("read information_schema")
                    .expect("id column");
                let data_type: String = row.try_get("", "data_type").expect("data_type");
                let identity: String = row.try_get("", "is_identity").expect("is_identity");
                assert_eq!(data_type, "bigint", "{table}.id type");
                assert_eq!(identity, "YES", "{table}.id is not an identity column");
            }
            other => panic!("unexpected backend {other:?}"),
        }
    }
}

async fn insert(
    db: &DatabaseConnection,
    table: &str,
    values: &[(&str, Expr)],
) -> Result<i64, sea_orm::DbErr> {
    let mut stmt = Query::insert();
    stmt.into_table(table.to_owned())
        .columns(values.iter().map(|(c, _)| c.to_string()))
        .values(values.iter().map(|(_, v)| v.clone()))
        .expect("as many values as columns")
        .returning_col("id");
    let row = db.query_one(&stmt).await?.expect("RETURNING id");
    row.try_get("", "id")
}

async fn organization(db: &DatabaseConnection, name: &str) -> i64 {
    insert(
        db,
        "organizations",
        &[
            ("name", name.into()),
            ("kind", "label".into()),
            ("base_currency", "EUR".into()),
            ("created_at", Expr::current_timestamp()),
        ],
    )
    .await
    .expect("insert organization")
}

async fn statement(
    db: &DatabaseConnection,
    organization_id: i64,
    sha256: &str,
) -> Result<i64, sea_orm::DbErr> {
    insert(
        db,
        "statements",
        &[
            ("organization_id", organization_id.into()),
            ("filename", "report.csv".into()),
            ("sha256", sha256.into()),
            ("storage_key", format!("statements/{sha256}").into()),
            ("size_bytes", 1234_i64.into()),
            ("status", "uploaded".into()),
            ("totals", Expr::val(Json::Object(Default::default()))),
            ("warnings", Expr::val(Json::Array(Vec::new()))),
            ("created_at", Expr::current_timestamp()),
            ("updated_at", Expr::current_timestamp()),
        ],
    )
    .await
}

async fn ledger_entry(
    db: &DatabaseConnection,
    organization_id: i64,
    cause: &str,
) -> Result<i64, sea_orm::DbErr> {
    insert(
        db,
        "ledger_entries",
        &[
            ("organization_id", organization_id.into()),
            ("account", "earnings".into()),
            ("amount_nanos", (-1_500_000_000_i64).into()),
            ("currency", "EUR".into()),
            ("cause", cause.into()),
            ("created_at", Expr::current_timestamp()),
        ],
    )
    .await
}

async fn count(db: &DatabaseConnection, table: &str, organization_id: i64) -> i64 {
    let stmt = Query::select()
        .expr_as(Expr::col("id").count(), "n")
        .from(table.to_owned())
        .and_where(Expr::col("organization_id").eq(organization_id))
        .to_owned();
    let row = db.query_one(&stmt).await.expect("count").expect("a row");
    row.try_get("", "n").expect("count column")
}

async fn assert_constraints(db: &DatabaseConnection) {
    let a = organization(db, "Label A").await;
    let b = organization(db, "Label B").await;
    assert!(b > a, "ids increase");

    let sha = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    let first = statement(db, a, sha).await.expect("first statement");
    assert!(
        statement(db, a, sha).await.is_err(),
        "same sha256 twice in one organisation"
    );
    let other = statement(db, b, sha)
        .await
        .expect("same sha256 in another organisation");
    assert_ne!(first, other);

    ledger_entry(db, a, "earn:line:1:payee:1")
        .await
        .expect("ledger entry");
    assert!(
        ledger_entry(db, a, "earn:line:1:payee:1").await.is_err(),
        "same ledger cause twice in one organisation"
    );
    ledger_entry(db, b, "earn:line:1:payee:1")
        .await
        .expect("same cause in another organisation");

    // Foreign keys are enforced.
    assert!(
        statement(db, 999_999, "deadbeef").await.is_err(),
        "unknown organisation"
    );

    // A statement line goes with its statement (a foreign key on SQLite, a trigger on
    // PostgreSQL); deleting a track or a release clears the lines' reference to it.
    let artist = insert(
        db,
        "artists",
        &[
            ("organization_id", a.into()),
            ("name", "Nova".into()),
            ("joined_on", Expr::current_date()),
            ("created_at", Expr::current_timestamp()),
            ("updated_at", Expr::current_timestamp()),
        ],
    )
    .await
    .expect("artist");
    let release = insert(
        db,
        "releases",
        &[
            ("organization_id", a.into()),
            ("artist_id", artist.into()),
            ("title", "Tides".into()),
            ("release_type", "single".into()),
            ("status", "live".into()),
            ("created_at", Expr::current_timestamp()),
            ("updated_at", Expr::current_timestamp()),
        ],
    )
    .await
    .expect("release");
    let track = insert(
        db,
        "tracks",
        &[
            ("organization_id", a.into()),
            ("release_id", release.into()),
            ("title", "Tides".into()),
            ("position", 1.into()),
            ("created_at", Expr::current_timestamp()),
            ("updated_at", Expr::current_timestamp()),
        ],
    )
    .await
    .expect("track");
    let doomed = statement(db, a, "doomed").await.expect("statement");
    let mut line_ids = Vec::new();
    for (statement_id, key) in [(first, 1_u8), (doomed, 2), (other, 3)] {
        let org = if statement_id == other { b } else { a };
        let (track_id, release_id) = if org == a {
            (Some(track), Some(release))
        } else {
            (None, None)
        };
        line_ids.push(
            insert(
                db,
                "statement_lines",
                &[
                    ("organization_id", org.into()),
                    ("statement_id", statement_id.into()),
                    ("line_number", 1.into()),
                    ("fingerprint", vec![key; 16].into()),
                    ("quantity", 1.into()),
                    ("amount_nanos", 5.into()),
                    ("currency", "EUR".into()),
                    ("base_amount_nanos", 5.into()),
                    ("base_currency", "EUR".into()),
                    ("track_id", track_id.into()),
                    ("release_id", release_id.into()),
                ],
            )
            .await
            .expect("statement line"),
        );
    }
    let delete = |table: &str, id: i64| {
        Query::delete()
            .from_table(table.to_owned())
            .and_where(Expr::col("id").eq(id))
            .to_owned()
    };
    db.execute(&delete("statements", doomed))
        .await
        .expect("delete statement");
    assert_eq!(
        count(db, "statement_lines", a).await,
        1,
        "the statement's line went"
    );
    db.execute(&delete("tracks", track))
        .await
        .expect("delete track");
    db.execute(&delete("releases", release))
        .await
        .expect("delete release");
    let row = db
        .query_one_raw(sea_orm::Statement::from_sql_and_values(
            db.get_database_backend(),
            "SELECT track_id, release_id FROM statement_lines WHERE id = $1",
            [line_ids[0].into()],
        ))
        .await
        .expect("read line")
        .expect("line kept");
    assert_eq!(
        row.try_get::<Option<i64>>("", "track_id")
            .expect("track_id"),
        None
    );
    assert_eq!(
        row.try_get::<Option<i64>>("", "release_id")
            .expect("release_id"),
        None
    );

    // Deleting an organisation removes its rows and nobody else's.
    let delete = Query::delete()
        .from_table("organizations")
        .and_where(Expr::col("id").eq(a))
        .to_owned();
    db.execute(&delete).await.expect("delete organisation");
    assert_eq!(count(db, "statements", a).await, 0);
    assert_eq!(count(db, "statement_lines", a).await, 0);
    assert_eq!(count(db, "statement_lines", b).await, 1);
    assert_eq!(count(db, "ledger_entries", a).await, 0);
    assert_eq!(count(db, "statements", b).await, 1);
    assert_eq!(count(db, "ledger_entries", b).await, 1);
}
