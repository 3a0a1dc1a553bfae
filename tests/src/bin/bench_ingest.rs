//! Ingestion benchmark: generates a DistroKid statement (1,000,000 lines by default), ingests it
//! end to end (store → parse and match → allocate) on SQLite and, when
//! `IMPRINT_TEST_DATABASE_URL` is set, PostgreSQL, and prints lines per second and peak memory,
//! overall and per step; beside it, PostgreSQL's own `\copy` of the raw rows into a plain
//! table, the floor. On PostgreSQL it also copies the ledger entries allocation wrote,
//! server-side, into a copy of `ledger_entries` (every index, then the primary key only): what
//! those writes cost the database alone, with no client and nothing computed.
//!
//! `cargo run --release -p tests --bin bench_ingest -- [LINES] [sqlite|postgres]`
//!
//! Both backends run in one process, one after the other: memory the allocator kept from the
//! first shows in the second's peak. Name one backend to measure it alone.

#![expect(clippy::print_stdout, reason = "a benchmark prints its figures")]

use std::io::BufWriter;
use std::time::Instant;

use sea_orm::ConnectionTrait;
use tests::bench::{peak_rss_mb, reset_peak_rss, seed_catalogue, seed_money};
use tests::fixtures;

async fn run_backend(
    label: &str,
    database_url: String,
    file: &std::path::Path,
    lines: usize,
    expected_total: i128,
) -> anyhow::Result<Milestones> {
    use sea_orm::EntityTrait;
    let dir = tempfile::tempdir()?;
    let dir_str = dir.path().display().to_string();
    let env = [
        ("IMPRINT_DATABASE_URL", database_url.as_str()),
        ("IMPRINT_DATA_DIR", dir_str.as_str()),
        ("IMPRINT_NAMESPACE", "imprint-bench"),
        ("IMPRINT_MAX_UPLOAD_MB", "4096"),
    ];
    let config = api::config::Config::from_env(&env)?;
    let state = api::app::connect(&config).await?;
    api::app::migrate(&state).await?;
    let tracks = fixtures::catalogue(10_000);
    let organization_id = seed_catalogue(&state.db, &tracks).await?;
    // A payee per release and an advance per artist, as issue 14 measured it: allocation
    // writes an entry a matched line and recoups each artist's advance (`bench_money` splits
    // each release three ways).
    seed_money(&state.db, organization_id, false).await?;
    // The three steps `imprint import` takes, each timed with its own peak memory (the
    // kernel's high-water mark is reset before each; the overall peak is the largest).
    reset_peak_rss();
    let started = Instant::now();
    api::app::import(
        &state,
        file,
        &organization_id.to_string(),
        Some("DistroKid".into()),
        false,
    )
    .await?;
    let registered = (started.elapsed(), peak_rss_mb());
    let statement_id = entity::statement::Entity::find()
        .one(&state.db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no statement"))?
        .id;
    let ctx = state.job_context();
    reset_peak_rss();
    let step = Instant::now();
    workers::perform(&ctx, &workers::Job::ParseStatement { statement_id }).await?;
    let parsed = (step.elapsed(), peak_rss_mb());
    reset_peak_rss();
    let step = Instant::now();
    workers::perform(&ctx, &workers::Job::AllocateStatement { statement_id }).await?;
    let allocated = (step.elapsed(), peak_rss_mb());
    let elapsed = started.elapsed();
    let peak = registered.1.max(parsed.1).max(allocated.1);
    let statement = entity::statement::Entity::find_by_id(statement_id)
        .one(&state.db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no statement"))?;
    let total: Vec<serde_json::Value> = serde_json::from_value(statement.totals.clone())?;
    let amount = total
        .first()
        .and_then(|t| t["amount_nanos"].as_i64())
        .unwrap_or_default();
    println!(
        "{label:<10} {lines} lines in {:.2} s = {:>9.0} lines/s, peak RSS {peak:.0} MB, total {} (expected {}) {}",
        elapsed.as_secs_f64(),
        lines as f64 / elapsed.as_secs_f64(),
        amount,
        expected_total,
        if i128::from(amount) == expected_total && statement.line_count as usize == lines {
            "exact"
        } else {
            "MISMATCH"
        },
    );
    for (step, (seconds, peak)) in [
        ("store", registered),
        ("parse + match", parsed),
        ("allocate", allocated),
    ] {
        println!(
            "           {step:<14} {:>6.2} s, peak RSS {peak:>4.0} MB",
            seconds.as_secs_f64()
        );
    }
    println!(
        "           statement {}: {}, {} lines, {} errors, {} matched, {} unmatched, allocation {}",
        statement.id,
        statement.status,
        statement.line_count,
        statement.error_count,
        statement.matched_count,
        statement.unmatched_count,
        statement.allocation_status,
    );
    let ledger = if state.db.get_database_backend() == sea_orm::DbBackend::Postgres {
        Some(ledger_floor(&state.db, statement.matched_count).await?)
    } else {
        None
    };
    Ok(Milestones {
        parsed: (registered.0 + parsed.0).as_secs_f64(),
        allocated: elapsed.as_secs_f64(),
        peak_mb: peak,
        ledger,
    })
}

/// What the ledger entries allocation wrote cost the database alone: the same rows copied
/// server-side (`INSERT … SELECT`, no client, nothing computed) into a copy of
/// `ledger_entries` with all its indexes, and into one with its primary key only. Beside the
/// `\copy` floor, this is the least allocation's writes can cost on this machine with an entry
/// per line, payee and kind.
async fn ledger_floor(
    db: &sea_orm::DatabaseConnection,
    matched_lines: i64,
) -> anyhow::Result<LedgerFloor> {
    let count = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM ledger_entries",
        ))
        .await?
        .ok_or_else(|| anyhow::anyhow!("no count"))?
        .try_get::<i64>("", "n")?;
    let mut timed = Vec::new();
    for (table, create) in [
        (
            "bench_ledger_same_indexes",
            "CREATE TABLE bench_ledger_same_indexes (LIKE ledger_entries INCLUDING ALL)",
        ),
        (
            "bench_ledger_primary_key",
            "CREATE TABLE bench_ledger_primary_key (LIKE ledger_entries INCLUDING DEFAULTS, PRIMARY KEY (id))",
        ),
    ] {
        db.execute_unprepared(create).await?;
        // The allocation's own dirty pages are flushed first, so neither copy pays for them.
        db.execute_unprepared("CHECKPOINT").await?;
        let started = Instant::now();
        db.execute_unprepared(&format!("INSERT INTO {table} SELECT * FROM ledger_entries"))
            .await?;
        timed.push(started.elapsed().as_secs_f64());
        db.execute_unprepared(&format!("DROP TABLE {table}"))
            .await?;
    }
    println!(
        "           ledger: {count} entries ({:.2} per matched line); the same rows copied server-side: {:.2} s with every index, {:.2} s with the primary key only",
        count as f64 / matched_lines.max(1) as f64,
        timed[0],
        timed[1],
    );
    Ok(LedgerFloor {
        entries: count,
        same_indexes: timed[0],
        primary_key_only: timed[1],
    })
}

/// The database's own cost of the ledger entries allocation wrote (see [`ledger_floor`]).
struct LedgerFloor {
    entries: i64,
    same_indexes: f64,
    primary_key_only: f64,
}

/// Seconds from the upload to each milestone, and the peak memory.
struct Milestones {
    /// Stored, parsed and matched.
    parsed: f64,
    /// And allocated to payees.
    allocated: f64,
    peak_mb: f64,
    /// PostgreSQL only.
    ledger: Option<LedgerFloor>,
}

/// The load average, the machine being shared: figures beside it are comparable only at a
/// like load.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn copy_floor(server_url: &str, file: &std::path::Path) -> anyhow::Result<f64> {
    let base = &server_url[..server_url.rfind('/').unwrap_or(server_url.len())];
    let name = format!("imprint_t_bench_{}", std::process::id());
    let psql = |db_url: &str, command: &str| -> anyhow::Result<()> {
        let status = std::process::Command::new("psql")
            .arg(db_url)
            .arg("-qc")
            .arg(command)
            .status()?;
        anyhow::ensure!(status.success(), "psql failed: {command}");
        Ok(())
    };
    psql(server_url, &format!("CREATE DATABASE {name}"))?;
    let url = format!("{base}/{name}");
    psql(
        &url,
        "CREATE TABLE raw (reporting_date text, sale_month text, store text, artist text, title text, isrc text, upc text, quantity text, team_percentage text, song_album text, country text, withheld text, earnings text)",
    )?;
    let started = Instant::now();
    psql(
        &url,
        &format!(
            "\\copy raw FROM '{}' WITH (FORMAT csv, DELIMITER E'\\t', HEADER true)",
            file.display()
        ),
    )?;
    let seconds = started.elapsed().as_secs_f64();
    psql(server_url, &format!("DROP DATABASE {name}"))?;
    Ok(seconds)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    api::telemetry::init_logging(api::config::LogFormat::Pretty);
    let lines: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let only = std::env::args().nth(2);
    anyhow::ensure!(
        matches!(only.as_deref(), None | Some("sqlite" | "postgres")),
        "the second argument names a backend: sqlite or postgres"
    );
    let runs = |backend: &str| only.as_deref().is_none_or(|only| only == backend);
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("distrokid.tsv");
    let tracks = fixtures::catalogue(10_000);
    let started = Instant::now();
    let expected_total = {
        let mut out = BufWriter::new(std::fs::File::create(&path)?);
        fixtures::write_distrokid(&mut out, &tracks, lines, 50)?
    };
    let size = std::fs::metadata(&path)?.len();
    println!(
        "generated {lines} lines ({:.1} MB) in {:.2} s",
        size as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );

    // The parser alone (decode, detect, parse, fingerprint), no database: the part of the
    // pipeline that is pure CPU.
    let started = Instant::now();
    reset_peak_rss();
    let file = std::io::BufReader::new(std::fs::File::open(&path)?);
    let reader =
        domain::statement::StatementReader::open(file, domain::statement::ParseOptions::default())?;
    let mut fingerprints = domain::statement::Fingerprinter::new();
    let mut parsed = 0_usize;
    for item in reader {
        if let domain::statement::Item::Line(line) = item {
            std::hint::black_box(fingerprints.key(&line, domain::statement::Format::DistroKid));
            parsed += 1;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "parse only {parsed} lines in {seconds:.2} s = {:>9.0} lines/s, peak RSS {:.0} MB",
        parsed as f64 / seconds,
        peak_rss_mb()
    );
    // Its occurrence counter holds an entry per line (~70 MB for a million): gone before the
    // end-to-end runs, whose peaks would otherwise carry it.
    drop(fingerprints);

    if runs("sqlite") {
        let _sqlite = run_backend(
            "sqlite",
            format!("sqlite://{}/bench.db?mode=rwc", dir.path().display()),
            &path,
            lines,
            expected_total,
        )
        .await?;
    }
    match std::env::var(tests::DATABASE_ENV) {
        _ if !runs("postgres") => {}
        Ok(server) if !server.is_empty() => {
            let name = format!("imprint_t_bench_app_{}", std::process::id());
            let admin = sea_orm::Database::connect(&server).await?;
            admin
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await?;
            let base = &server[..server.rfind('/').unwrap_or(server.len())];
            let load_before = load_average();
            let milestones = run_backend(
                "postgres",
                format!("{base}/{name}"),
                &path,
                lines,
                expected_total,
            )
            .await?;
            admin
                .execute_unprepared(&format!("DROP DATABASE {name} WITH (FORCE)"))
                .await?;
            let floor = copy_floor(&server, &path)?;
            println!(
                "postgres \\copy floor: {lines} lines in {floor:.2} s = {:.0} lines/s",
                lines as f64 / floor
            );
            println!();
            println!(
                "SUMMARY postgres, {lines} lines, load average {load_before} before, {} after",
                load_average()
            );
            println!("| step | seconds | × \\copy floor | target |");
            println!("| --- | ---: | ---: | ---: |");
            println!("| \\copy of the same rows (floor) | {floor:.2} | 1.0 | |");
            println!(
                "| upload → parsed and matched | {:.2} | {:.1} | ≤ 5 |",
                milestones.parsed,
                milestones.parsed / floor
            );
            println!(
                "| upload → allocated | {:.2} | {:.1} | ≤ 10 |",
                milestones.allocated,
                milestones.allocated / floor
            );
            if let Some(ledger) = &milestones.ledger {
                println!(
                    "| the {} ledger entries allocation wrote, copied server-side, every index | {:.2} | {:.1} | |",
                    ledger.entries,
                    ledger.same_indexes,
                    ledger.same_indexes / floor
                );
                println!(
                    "| the same copy, primary key only | {:.2} | {:.1} | |",
                    ledger.primary_key_only,
                    ledger.primary_key_only / floor
                );
            }
            println!("| peak RSS | {:.0} MB | | ≤ 300 MB |", milestones.peak_mb);
        }
        _ => println!("postgres: skipped ({} not set)", tests::DATABASE_ENV),
    }
    Ok(())
}
