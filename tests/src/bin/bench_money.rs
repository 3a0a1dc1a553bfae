//! Money benchmark: allocates a 1,000,000-line statement (by default) to payees by splits,
//! agreements and advances, then computes a payout run for 10,000 payees, on SQLite and, when
//! `IMPRINT_TEST_DATABASE_URL` is set, PostgreSQL; prints the times, rates and peak memory.
//!
//! `cargo run --release -p tests --bin bench_money -- [LINES] [PAYEES]`

#![expect(clippy::print_stdout, reason = "a benchmark prints its figures")]

use std::io::BufWriter;
use std::time::Instant;

use chrono::{NaiveDate, Utc};
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set, Statement};
use tests::bench::{peak_rss_mb, reset_peak_rss, seed_catalogue, seed_money};
use tests::fixtures;

const NANOS: i64 = 1_000_000_000;

async fn scalar(db: &sea_orm::DatabaseConnection, sql: &str, value: i64) -> anyhow::Result<i64> {
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            sql,
            [value.into()],
        ))
        .await?;
    Ok(row
        .and_then(|r| r.try_get_by_index::<Option<i64>>(0).ok().flatten())
        .unwrap_or(0))
}

/// An organisation with `payees` payees, each with three earnings entries in the period.
async fn seed_payees(db: &sea_orm::DatabaseConnection, payees: i64) -> anyhow::Result<i64> {
    let now = Utc::now();
    let org = entity::organization::ActiveModel {
        name: Set("Many payees".into()),
        kind: Set("collective".into()),
        base_currency: Set("USD".into()),
        created_at: Set(now),
        analytics_version: Set(0),
        payout_period_months: Set(3),
        reserve_release_periods: Set(2),
        ..Default::default()
    }
    .insert(db)
    .await?;
    for start in (0..payees).step_by(1_000) {
        let rows = (start..(start + 1_000).min(payees)).map(|i| entity::payee::ActiveModel {
            organization_id: Set(org.id),
            name: Set(format!("Payee {i}")),
            kind: Set("producer".to_owned()),
            currency: Set("USD".to_owned()),
            minimum_payout_nanos: Set(if i % 7 == 0 { 100 * NANOS } else { 0 }),
            reserve_ppb: Set(if i % 5 == 0 { NANOS / 10 } else { 0 }),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        });
        entity::payee::Entity::insert_many(rows)
            .exec_without_returning(db)
            .await?;
    }
    let first = scalar(
        db,
        "SELECT MIN(id) FROM payees WHERE organization_id = $1",
        org.id,
    )
    .await?;
    let period = NaiveDate::from_ymd_opt(2025, 2, 1);
    for start in (0..payees * 3).step_by(3_000) {
        let rows =
            (start..(start + 3_000).min(payees * 3)).map(|i| entity::ledger_entry::ActiveModel {
                organization_id: Set(org.id),
                payee_id: Set(Some(first + i / 3)),
                account: Set(if i % 3 == 2 { "recoupment" } else { "earnings" }.to_owned()),
                amount_nanos: Set(1_234_567_891 * (i % 13 + 1)),
                currency: Set("USD".to_owned()),
                cause: Set(format!("seed:{i}")),
                period: Set(period),
                created_at: Set(now),
                ..Default::default()
            });
        entity::ledger_entry::Entity::insert_many(rows)
            .exec_without_returning(db)
            .await?;
    }
    Ok(org.id)
}

async fn run_backend(
    label: &str,
    database_url: String,
    file: &std::path::Path,
    payees: i64,
) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let dir_str = dir.path().display().to_string();
    let env = [
        ("IMPRINT_DATABASE_URL", database_url.as_str()),
        ("IMPRINT_DATA_DIR", dir_str.as_str()),
        ("IMPRINT_NAMESPACE", "imprint-bench-money"),
        ("IMPRINT_MAX_UPLOAD_MB", "4096"),
    ];
    let config = api::config::Config::from_env(&env)?;
    let state = api::app::connect(&config).await?;
    api::app::migrate(&state).await?;
    let db = &state.db;
    let tracks = fixtures::catalogue(10_000);
    let org = seed_catalogue(db, &tracks).await?;
    seed_money(db, org, true).await?;
    let started = Instant::now();
    api::app::import(
        &state,
        file,
        &org.to_string(),
        Some("DistroKid".into()),
        false,
    )
    .await?;
    let statement = entity::statement::Entity::find()
        .one(db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no statement"))?;
    let ctx = state.job_context();
    workers::perform(
        &ctx,
        &workers::Job::ParseStatement {
            statement_id: statement.id,
        },
    )
    .await?;
    println!(
        "{label:<10} parsed and matched in {:.2} s (not part of the figures below)",
        started.elapsed().as_secs_f64()
    );

    reset_peak_rss();
    let started = Instant::now();
    workers::perform(
        &ctx,
        &workers::Job::AllocateStatement {
            statement_id: statement.id,
        },
    )
    .await?;
    let seconds = started.elapsed().as_secs_f64();
    let matched = scalar(
        db,
        "SELECT COUNT(*) FROM statement_lines WHERE statement_id = $1 AND track_id IS NOT NULL",
        statement.id,
    )
    .await?;
    let entries = scalar(
        db,
        "SELECT COUNT(*) FROM ledger_entries WHERE statement_id = $1",
        statement.id,
    )
    .await?;
    let allocated = scalar(
        db,
        "SELECT CAST(SUM(amount_nanos) AS BIGINT) FROM ledger_entries WHERE statement_id = $1",
        statement.id,
    )
    .await?;
    let expected = scalar(
        db,
        "SELECT CAST(SUM(base_amount_nanos) AS BIGINT) FROM statement_lines WHERE statement_id = $1 AND track_id IS NOT NULL",
        statement.id,
    )
    .await?;
    println!(
        "{label:<10} allocated {matched} matched lines in {seconds:.2} s = {:>8.0} lines/s, {entries} ledger entries, peak RSS {:.0} MB, {}",
        matched as f64 / seconds,
        peak_rss_mb(),
        if allocated == expected {
            "exact"
        } else {
            "MISMATCH"
        }
    );
    let started = Instant::now();
    workers::perform(
        &ctx,
        &workers::Job::AllocateStatement {
            statement_id: statement.id,
        },
    )
    .await?;
    println!(
        "{label:<10} allocating it again (a retry, nothing to write) {:.2} s",
        started.elapsed().as_secs_f64()
    );

    let many = seed_payees(db, payees).await?;
    let run = entity::payout_run::ActiveModel {
        organization_id: Set(many),
        period_end: Set(
            NaiveDate::from_ymd_opt(2025, 3, 31).ok_or_else(|| anyhow::anyhow!("date"))?
        ),
        status: Set("draft".into()),
        created_at: Set(Utc::now()),
        updated_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    reset_peak_rss();
    let started = Instant::now();
    workers::perform(
        &ctx,
        &workers::Job::RunPayout {
            payout_run_id: run.id,
        },
    )
    .await?;
    let seconds = started.elapsed().as_secs_f64();
    let count = scalar(
        db,
        "SELECT COUNT(*) FROM payouts WHERE payout_run_id = $1",
        run.id,
    )
    .await?;
    let status = entity::payout_run::Entity::find_by_id(run.id)
        .one(db)
        .await?
        .map(|r| r.status)
        .unwrap_or_default();
    println!(
        "{label:<10} payout run for {count} payees ({} ledger entries) in {seconds:.2} s, peak RSS {:.0} MB, status {status}",
        payees * 3,
        peak_rss_mb()
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    api::telemetry::init_logging(api::config::LogFormat::Pretty);
    let mut args = std::env::args().skip(1);
    let lines: usize = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let payees: i64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("distrokid.tsv");
    let tracks = fixtures::catalogue(10_000);
    {
        let mut out = BufWriter::new(std::fs::File::create(&path)?);
        fixtures::write_distrokid(&mut out, &tracks, lines, 50)?;
    }
    println!("generated {lines} lines");
    run_backend(
        "sqlite",
        format!("sqlite://{}/bench.db?mode=rwc", dir.path().display()),
        &path,
        payees,
    )
    .await?;
    if let Ok(server) = std::env::var(tests::DATABASE_ENV)
        && !server.is_empty()
    {
        let name = format!("imprint_t_bench_money_{}", std::process::id());
        let admin = sea_orm::Database::connect(&server).await?;
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await?;
        let base = &server[..server.rfind('/').unwrap_or(server.len())];
        let result = run_backend("postgres", format!("{base}/{name}"), &path, payees).await;
        admin
            .execute_unprepared(&format!("DROP DATABASE {name} WITH (FORCE)"))
            .await?;
        result?;
    }
    Ok(())
}
