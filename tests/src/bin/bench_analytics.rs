//! Analytics load benchmark: seeds 100 artists, 10,000 tracks and 2,000,000 statement lines,
//! rebuilds the roll-ups, serves the API, and drives `rosterOverview` and a grouped `analytics`
//! query with `wrk` at 50 concurrent connections; beside them, the same aggregates as raw SQL
//! over the statement lines.
//!
//! `cargo run --release -p tests --bin bench_analytics -- [LINES] [--reuse] [--only postgres|sqlite]
//! [--seconds N]` (needs `wrk` on PATH; PostgreSQL when `IMPRINT_TEST_DATABASE_URL` is set,
//! SQLite always).
//!
//! Load runs `wrk -t1 -c50` (one thread: on two cores a second would take CPU from the
//! server), after a warm-up, so it measures cached answers; then each query is timed cold, one
//! request at a time right after a refresh is announced, so every aggregate behind it is
//! computed. Every figure is printed beside the load average, the machine being shared.
//!
//! `--reuse` keeps the seeded databases (PostgreSQL database `imprint_bench_analytics_<LINES>`,
//! SQLite file `target/bench-analytics/sqlite-<LINES>.db`) and, on the next run, serves them as
//! they are instead of seeding again; delete them to start afresh. Beside each load figure the
//! bench prints the SQL statements the server sent per request. The serving settings are read
//! from the environment as by `imprint serve` (`IMPRINT_HTTP_WORKERS`,
//! `IMPRINT_AUTH_CACHE_SECONDS=0` and `IMPRINT_ANALYTICS_VERSION_CHECK_MS=0` turn the caches off). `--serve` starts the server on
//! the seeded database, prints its URL, a token and the two request bodies, and waits (for
//! probing by hand: `perf`, `curl`, `wrk` with other settings) instead of measuring.

#![expect(clippy::print_stdout, reason = "a benchmark prints its figures")]

use std::net::TcpListener;
use std::time::Instant;

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ConnectionTrait, DbBackend, Set, Statement};

const ARTISTS: i64 = 100;
const RELEASES_PER_ARTIST: i64 = 10;
const TRACKS_PER_RELEASE: i64 = 10;

async fn seed(state: &api::state::AppState, lines: i64) -> anyhow::Result<(i64, String)> {
    let db = &state.db;
    let now = Utc::now();
    let org = entity::organization::ActiveModel {
        name: Set("Load Records".into()),
        kind: Set("label".into()),
        base_currency: Set("USD".into()),
        created_at: Set(now),
        analytics_version: Set(0),
        payout_period_months: Set(entity::organization::DEFAULT_PAYOUT_PERIOD_MONTHS),
        reserve_release_periods: Set(entity::organization::DEFAULT_RESERVE_RELEASE_PERIODS),
        ..Default::default()
    }
    .insert(db)
    .await?;
    let user = entity::user::ActiveModel {
        email: Set("load@bench.test".into()),
        name: Set("Load".into()),
        password_hash: Set(String::new()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    entity::membership::ActiveModel {
        organization_id: Set(org.id),
        user_id: Set(user.id),
        role: Set("owner".into()),
        artist_id: Set(None),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    let token = api::auth::issue_session(db, user.id, chrono::Duration::days(1)).await?;
    let backend = db.get_database_backend();
    let sql = |s: String| Statement::from_string(backend, s);
    let o = org.id;
    let series = |n: i64| match backend {
        DbBackend::Postgres => format!("generate_series(1, {n}) AS g(n)"),
        _ => format!(
            "(WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {n}) SELECT n FROM s) AS g"
        ),
    };
    let ts = "'2025-01-01 00:00:00+00:00'";
    db.execute_raw(sql(format!(
        "INSERT INTO artists (organization_id, name, joined_on, created_at, updated_at) \
         SELECT {o}, 'Artist ' || n, '2020-01-01', {ts}, {ts} FROM {}",
        series(ARTISTS)
    )))
    .await?;
    db.execute_raw(sql(format!(
        "INSERT INTO releases (organization_id, artist_id, title, release_type, status, created_at, updated_at) \
         SELECT {o}, a.id, a.name || ' release ' || g.n, 'album', 'live', {ts}, {ts} \
         FROM artists a CROSS JOIN {} WHERE a.organization_id = {o}",
        series(RELEASES_PER_ARTIST)
    )))
    .await?;
    db.execute_raw(sql(format!(
        "INSERT INTO tracks (organization_id, release_id, title, isrc, position, created_at, updated_at) \
         SELECT {o}, r.id, 'Track ' || r.id || '-' || g.n, 'QZLOD' || {}, g.n, {ts}, {ts} \
         FROM releases r CROSS JOIN {} WHERE r.organization_id = {o}",
        match backend {
            DbBackend::Postgres => "lpad(CAST(r.id * 100 + g.n AS text), 7, '0')",
            _ => "substr('0000000' || (r.id * 100 + g.n), -7, 7)",
        },
        series(TRACKS_PER_RELEASE)
    )))
    .await?;
    let statement = entity::statement::ActiveModel {
        organization_id: Set(o),
        filename: Set("load.tsv".into()),
        sha256: Set("load".into()),
        storage_key: Set("none".into()),
        size_bytes: Set(0),
        status: Set("parsed".into()),
        totals: Set(serde_json::json!([])),
        warnings: Set(serde_json::json!([])),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    let track_count = ARTISTS * RELEASES_PER_ARTIST * TRACKS_PER_RELEASE;
    let month = match backend {
        DbBackend::Postgres => {
            "CAST(DATE '2024-01-01' + ((g.n % 24) * INTERVAL '1 month') AS date)".to_owned()
        }
        _ => "date('2024-01-01', '+' || (g.n % 24) || ' months')".to_owned(),
    };
    // A distinct 8-byte key per line.
    let key = match backend {
        DbBackend::Postgres => "int8send(CAST(g.n AS BIGINT))",
        _ => "CAST(g.n AS BLOB)",
    };
    let started = Instant::now();
    db.execute_raw(sql(format!(
        "INSERT INTO statement_lines (organization_id, statement_id, line_number, fingerprint, isrc, store, territory, \
           sale_period_start, sale_period_end, quantity, amount_nanos, currency, base_amount_nanos, base_currency, \
           track_id, release_id, match_method) \
         SELECT {o}, {sid}, g.n, {key}, t.isrc, \
           CASE g.n % 6 WHEN 0 THEN 'Spotify' WHEN 1 THEN 'Apple Music' WHEN 2 THEN 'Amazon Music' WHEN 3 THEN 'Deezer' WHEN 4 THEN 'Tidal' ELSE 'YouTube Music' END, \
           CASE g.n % 8 WHEN 0 THEN 'US' WHEN 1 THEN 'GB' WHEN 2 THEN 'DE' WHEN 3 THEN 'FR' WHEN 4 THEN 'BR' WHEN 5 THEN 'JP' WHEN 6 THEN 'AU' ELSE 'SE' END, \
           {month}, {month}, g.n % 300 + 1, (CAST(g.n AS BIGINT) * 7919) % 5000000000, 'USD', (CAST(g.n AS BIGINT) * 7919) % 5000000000, 'USD', t.id, t.release_id, 'isrc' \
         FROM {} JOIN tracks t ON t.organization_id = {o} AND t.position = (g.n % {TRACKS_PER_RELEASE}) + 1 \
           AND t.release_id = (SELECT MIN(id) FROM releases WHERE organization_id = {o}) + ((g.n / {TRACKS_PER_RELEASE}) % {}) ",
        series(lines),
        ARTISTS * RELEASES_PER_ARTIST,
        sid = statement.id,
    )))
    .await?;
    println!(
        "  seeded {ARTISTS} artists, {track_count} tracks, {lines} lines in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok((o, token))
}

/// A seed left by an earlier `--reuse` run: the organisation and a fresh token for its user, or
/// `None` when there is none (or an incomplete one, which is refused).
async fn reuse_seed(
    state: &api::state::AppState,
    lines: i64,
) -> anyhow::Result<Option<(i64, String)>> {
    let db = &state.db;
    let backend = db.get_database_backend();
    let found = db
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT o.id AS org, u.id AS user_id FROM organizations o \
             JOIN memberships m ON m.organization_id = o.id JOIN users u ON u.id = m.user_id \
             WHERE o.name = 'Load Records' AND u.email = 'load@bench.test'"
                .to_owned(),
        ))
        .await?;
    let Some(row) = found else {
        return Ok(None);
    };
    let org: i64 = row.try_get("", "org")?;
    let user_id: i64 = row.try_get("", "user_id")?;
    let counted = db
        .query_one_raw(Statement::from_string(
            backend,
            format!("SELECT COUNT(*) AS n FROM statement_lines WHERE organization_id = {org}"),
        ))
        .await?
        .map(|r| r.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or(0);
    anyhow::ensure!(
        counted == lines,
        "the kept database holds {counted} lines, not {lines} (a seed was interrupted?): delete it and run again"
    );
    let token = api::auth::issue_session(db, user_id, chrono::Duration::days(1)).await?;
    Ok(Some((org, token)))
}

/// CPU time this process (the server; `wrk` and the database run apart) has used so far, in
/// milliseconds, from `/proc/self/stat` (0 where that is not readable).
fn server_cpu_ms() -> u64 {
    // utime and stime, fields 14 and 15, in clock ticks of 10 ms (USER_HZ is 100 on Linux).
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|stat| {
            let after_name = stat.rsplit_once(')')?.1;
            let fields: Vec<&str> = after_name.split_whitespace().collect();
            let user: u64 = fields.get(11)?.parse().ok()?;
            let system: u64 = fields.get(12)?.parse().ok()?;
            Some((user + system) * 10)
        })
        .unwrap_or(0)
}

/// The load average over 1, 5 and 15 minutes, from `/proc/loadavg` ("?" where unreadable): the
/// machine is shared, so every figure is printed beside it.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "?".into())
}

/// What `wrk` reported for one query.
struct Load {
    requests: u64,
}

fn wrk(url: &str, token: &str, body: &str, seconds: u32, label: &str) -> anyhow::Result<Load> {
    let dir = tempfile::tempdir()?;
    let script = dir.path().join("post.lua");
    std::fs::write(
        &script,
        format!(
            "wrk.method = \"POST\"\nwrk.body = {}\nwrk.headers[\"Content-Type\"] = \"application/json\"\nwrk.headers[\"Authorization\"] = \"Bearer {token}\"\n",
            serde_json::to_string(body)?
        ),
    )?;
    // One wrk thread: on two cores a second one takes CPU from the server it measures.
    let output = std::process::Command::new("wrk")
        .args(["-t1", "-c50", &format!("-d{seconds}s"), "--latency", "-s"])
        .arg(&script)
        .arg(url)
        .output()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let find = |prefix: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(prefix))
            .map(|l| l.split_whitespace().nth(1).unwrap_or("?").to_owned())
            .unwrap_or_else(|| "?".into())
    };
    let errors = text
        .lines()
        .find(|l| l.contains("Non-2xx") || l.contains("Socket errors"))
        .unwrap_or("no errors");
    let requests = text
        .lines()
        .find(|l| l.contains(" requests in "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    print!(
        "  {label:<28} {:>8} req/s   p50 {:>8}   p99 {:>8}   ({})",
        find("Requests/sec:"),
        find("50%"),
        find("99%"),
        errors.trim()
    );
    Ok(Load { requests })
}

async fn raw_sql(db: &sea_orm::DatabaseConnection, label: &str, query: &str) -> anyhow::Result<()> {
    let backend = db.get_database_backend();
    let mut best = f64::MAX;
    for _ in 0..3 {
        let started = Instant::now();
        db.query_all_raw(Statement::from_string(backend, query.to_owned()))
            .await?;
        best = best.min(started.elapsed().as_secs_f64() * 1000.0);
    }
    println!(
        "  {label:<28} {best:>8.1} ms (raw SQL, best of 3)   load {}",
        load_average()
    );
    Ok(())
}

/// The cold path: a refresh is announced (the version bumped and `AnalyticsRefreshed`
/// published, as the job does), then one request, so every aggregate behind it misses the cache;
/// `rounds` times, one request at a time.
async fn cold(
    state: &api::state::AppState,
    org: i64,
    url: &str,
    token: &str,
    body: &serde_json::Value,
    label: &str,
) -> anyhow::Result<()> {
    let rounds = 15;
    let client = reqwest::Client::new();
    let mut times = Vec::with_capacity(rounds);
    let mut queries = 0;
    for _ in 0..rounds {
        let backend = state.db.get_database_backend();
        state
            .db
            .execute_raw(Statement::from_string(
                backend,
                format!(
                    "UPDATE organizations SET analytics_version = analytics_version + 1 WHERE id = {org}"
                ),
            ))
            .await?;
        state
            .events
            .publish(&workers::Event::AnalyticsRefreshed {
                organization_id: org,
            })
            .await?;
        // The event reaches the server through the bus (Redis pub/sub in production): let it.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let before = state.query_count();
        let started = Instant::now();
        let answer: serde_json::Value = client
            .post(url)
            .bearer_auth(token)
            .json(body)
            .send()
            .await?
            .json()
            .await?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        queries += state.query_count() - before;
        anyhow::ensure!(answer.get("errors").is_none(), "{label} failed: {answer}");
    }
    times.sort_by(f64::total_cmp);
    #[expect(clippy::cast_precision_loss, reason = "counts far below 2^52")]
    let per_request = queries as f64 / rounds as f64;
    println!(
        "  {label:<28} cold: min {:.1} ms   p50 {:.1} ms   max {:.1} ms   {per_request:.2} SQL/request   load {}",
        times[0],
        times[rounds / 2],
        times[rounds - 1],
        load_average()
    );
    Ok(())
}

/// Command-line options.
struct Options {
    lines: i64,
    reuse: bool,
    only: Option<String>,
    seconds: u32,
    serve: bool,
}

impl Options {
    fn parse() -> anyhow::Result<Self> {
        let mut options = Self {
            lines: 2_000_000,
            reuse: false,
            only: None,
            seconds: 15,
            serve: false,
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--reuse" => options.reuse = true,
                "--serve" => options.serve = true,
                "--only" => {
                    let which = args.next().unwrap_or_default();
                    anyhow::ensure!(
                        which == "postgres" || which == "sqlite",
                        "--only takes postgres or sqlite"
                    );
                    options.only = Some(which);
                }
                "--seconds" => {
                    options.seconds = args
                        .next()
                        .and_then(|n| n.parse().ok())
                        .ok_or_else(|| anyhow::anyhow!("--seconds takes a number"))?;
                }
                n => {
                    options.lines = n
                        .parse()
                        .map_err(|_| anyhow::anyhow!("`{n}` is not a number of lines"))?;
                }
            }
        }
        Ok(options)
    }

    fn runs(&self, backend: &str) -> bool {
        self.only.as_deref().is_none_or(|only| only == backend)
    }
}

async fn run(label: &str, database_url: String, options: &Options) -> anyhow::Result<()> {
    println!("{label}:");
    let lines = options.lines;
    let dir = tempfile::tempdir()?;
    let dir_str = dir.path().display().to_string();
    let env = [
        ("IMPRINT_DATABASE_URL", database_url.as_str()),
        ("IMPRINT_DATA_DIR", dir_str.as_str()),
    ];
    let mut config = api::config::Config::from_env(&env)?;
    // The serving settings under test come from the environment, as for `imprint serve`
    // (`IMPRINT_HTTP_WORKERS`, `IMPRINT_AUTH_CACHE_SECONDS`, `IMPRINT_ANALYTICS_VERSION_CHECK_MS`).
    let serving = api::config::Config::from_env(&api::config::ProcessEnv)?;
    config.http_workers = serving.http_workers;
    config.principal_cache_ttl = serving.principal_cache_ttl;
    config.analytics_version_check = serving.analytics_version_check;
    println!(
        "  {} HTTP workers, principal cache {:?}, analytics version check {:?}",
        config.http_workers, config.principal_cache_ttl, config.analytics_version_check
    );
    let state = api::app::connect(&config).await?;
    api::app::migrate(&state).await?;
    let kept = if options.reuse {
        reuse_seed(&state, lines).await?
    } else {
        None
    };
    let (org, token) = match kept {
        Some(kept) => {
            println!("  reusing the seeded database ({lines} lines)");
            kept
        }
        None => {
            let seeded = seed(&state, lines).await?;
            let started = Instant::now();
            api::app::rebuild_analytics(&state, Some(&seeded.0.to_string())).await?;
            println!(
                "  roll-up rebuild from {lines} lines: {:.1} s",
                started.elapsed().as_secs_f64()
            );
            seeded
        }
    };
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let url = format!("http://{}/graphql", listener.local_addr()?);
    tokio::spawn(api::app::http_server(state.clone(), listener)?);
    let org_id = api::graphql::ids::encode(api::graphql::ids::Kind::Organization, org);
    let overview = serde_json::json!({
        "query": "query($o: ID!) { rosterOverview(organizationId: $o, period: {from: \"2025-01-01\", to: \"2025-12-31\"}) { totals { quantity earnings { amount } } artists { artist { name } current { earnings { amount } } changePercent } topTracks { track { title } figures { earnings { amount } } } topStores { store } topTerritories { territory } } }",
        "variables": {"o": org_id.as_str()},
    });
    let grouped = serde_json::json!({
        "query": "query($o: ID!) { analytics(organizationId: $o, groupBy: [STORE, MONTH], filter: {from: \"2024-06-01\", to: \"2025-05-31\"}) { totals { quantity earnings { amount } } rows { store month figures { quantity earnings { amount } } } } }",
        "variables": {"o": org_id.as_str()},
    });
    // Warm up (the answers are cached from here on) and check they are data, not errors.
    for (name, body) in [("rosterOverview", &overview), ("analytics", &grouped)] {
        let check: serde_json::Value = reqwest::Client::new()
            .post(&url)
            .bearer_auth(&token)
            .json(body)
            .send()
            .await?
            .json()
            .await?;
        anyhow::ensure!(check.get("errors").is_none(), "{name} failed: {check}");
    }
    if options.serve {
        println!(
            "  serving {url}\n  token {token}\n  rosterOverview {overview}\n  analytics {grouped}"
        );
        std::future::pending::<()>().await;
    }
    println!(
        "  wrk -t1 -c50 -d{}s, after a warm-up (cached answers)",
        options.seconds
    );
    for (label, body) in [
        ("rosterOverview", overview.to_string()),
        ("analytics [STORE, MONTH]", grouped.to_string()),
    ] {
        let before = state.query_count();
        let cpu_before = server_cpu_ms();
        let (wrk_url, t, seconds) = (url.clone(), token.clone(), options.seconds);
        let load =
            tokio::task::spawn_blocking(move || wrk(&wrk_url, &t, &body, seconds, label)).await??;
        let queries = state.query_count().saturating_sub(before);
        let cpu = server_cpu_ms().saturating_sub(cpu_before);
        // Precision is not the point: per-request figures, to two decimals.
        #[expect(clippy::cast_precision_loss, reason = "counts far below 2^52")]
        let (per_request, cpu_per_request) = {
            let requests = load.requests.max(1) as f64;
            (queries as f64 / requests, cpu as f64 / requests)
        };
        println!(
            "   {per_request:.2} SQL/request, server {cpu_per_request:.2} ms CPU/request   load {}",
            load_average()
        );
    }
    cold(&state, org, &url, &token, &overview, "rosterOverview").await?;
    cold(
        &state,
        org,
        &url,
        &token,
        &grouped,
        "analytics [STORE, MONTH]",
    )
    .await?;
    raw_sql(&state.db, "roster by artist (lines)", &format!(
        "SELECT r.artist_id, SUM(l.base_amount_nanos), SUM(l.quantity) FROM statement_lines l JOIN releases r ON r.id = l.release_id \
         WHERE l.organization_id = {org} AND l.sale_period_start >= '2025-01-01' AND l.sale_period_start <= '2025-12-31' GROUP BY r.artist_id"
    )).await?;
    raw_sql(&state.db, "store × month (lines)", &format!(
        "SELECT store, sale_period_start, SUM(base_amount_nanos), SUM(quantity) FROM statement_lines \
         WHERE organization_id = {org} AND sale_period_start >= '2024-06-01' AND sale_period_start <= '2025-05-31' GROUP BY store, sale_period_start"
    )).await?;
    raw_sql(&state.db, "store × month (roll-ups)", &format!(
        "SELECT store, month, SUM(earnings_base_nanos), SUM(quantity) FROM analytics_monthly \
         WHERE organization_id = {org} AND month >= '2024-06-01' AND month <= '2025-05-31' GROUP BY store, month"
    )).await?;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = Options::parse()?;
    if options.runs("postgres")
        && let Ok(server) = std::env::var(tests::DATABASE_ENV)
        && !server.is_empty()
    {
        let admin = sea_orm::Database::connect(&server).await?;
        let name = if options.reuse {
            format!("imprint_bench_analytics_{}", options.lines)
        } else {
            format!("imprint_t_bench_analytics_{}", std::process::id())
        };
        let exists = admin
            .query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                format!("SELECT 1 AS one FROM pg_database WHERE datname = '{name}'"),
            ))
            .await?
            .is_some();
        if !exists {
            admin
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await?;
        }
        let base = &server[..server.rfind('/').unwrap_or(server.len())];
        let result = run("postgres", format!("{base}/{name}"), &options).await;
        if !options.reuse {
            admin
                .execute_unprepared(&format!("DROP DATABASE {name} WITH (FORCE)"))
                .await?;
        }
        result?;
    }
    if !options.runs("sqlite") {
        return Ok(());
    }
    let temporary = tempfile::tempdir()?;
    let folder = if options.reuse {
        let kept = std::path::PathBuf::from("target/bench-analytics");
        std::fs::create_dir_all(&kept)?;
        kept
    } else {
        temporary.path().to_path_buf()
    };
    run(
        "sqlite",
        format!(
            "sqlite://{}/sqlite-{}.db?mode=rwc",
            folder.display(),
            options.lines
        ),
        &options,
    )
    .await
}
