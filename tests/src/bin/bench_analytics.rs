//! Analytics load benchmark: seeds 100 artists, 10,000 tracks and 2,000,000 statement lines,
//! rebuilds the roll-ups, serves the API, and drives `rosterOverview` and a grouped `analytics`
//! query with `wrk` at 50 concurrent connections; beside them, the same aggregates as raw SQL
//! over the statement lines.
//!
//! `cargo run --release -p tests --bin bench_analytics -- [LINES]` (needs `wrk` on PATH;
//! PostgreSQL when `IMPRINT_TEST_DATABASE_URL` is set, SQLite always).

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
    let (token, hash) = api::auth::new_secret(api::auth::SESSION_TOKEN_PREFIX);
    entity::auth_token::ActiveModel {
        user_id: Set(user.id),
        token_hash: Set(hash),
        created_at: Set(now),
        expires_at: Set(now + chrono::Duration::days(1)),
        last_used_at: Set(Some(now)),
        ..Default::default()
    }
    .insert(db)
    .await?;
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
    let started = Instant::now();
    db.execute_raw(sql(format!(
        "INSERT INTO statement_lines (organization_id, statement_id, line_number, fingerprint, isrc, store, territory, \
           sale_period_start, sale_period_end, quantity, amount_nanos, currency, base_amount_nanos, base_currency, \
           track_id, release_id, match_method) \
         SELECT {o}, {sid}, g.n, 'load:' || g.n, t.isrc, \
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

fn wrk(url: &str, token: &str, body: &str, label: &str) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let script = dir.path().join("post.lua");
    std::fs::write(
        &script,
        format!(
            "wrk.method = \"POST\"\nwrk.body = {}\nwrk.headers[\"Content-Type\"] = \"application/json\"\nwrk.headers[\"Authorization\"] = \"Bearer {token}\"\n",
            serde_json::to_string(body)?
        ),
    )?;
    let output = std::process::Command::new("wrk")
        .args(["-t2", "-c50", "-d15s", "--latency", "-s"])
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
    println!(
        "  {label:<28} {:>8} req/s   p50 {:>8}   p99 {:>8}   ({})",
        find("Requests/sec:"),
        find("50%"),
        find("99%"),
        errors.trim()
    );
    Ok(())
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
    println!("  {label:<28} {best:>8.1} ms (raw SQL, best of 3)");
    Ok(())
}

async fn run(label: &str, database_url: String, lines: i64) -> anyhow::Result<()> {
    println!("{label}:");
    let dir = tempfile::tempdir()?;
    let dir_str = dir.path().display().to_string();
    let env = [
        ("IMPRINT_DATABASE_URL", database_url.as_str()),
        ("IMPRINT_DATA_DIR", dir_str.as_str()),
    ];
    let config = api::config::Config::from_env(&env)?;
    let state = api::app::connect(&config).await?;
    api::app::migrate(&state).await?;
    let (org, token) = seed(&state, lines).await?;
    let started = Instant::now();
    api::app::rebuild_analytics(&state, Some(&org.to_string())).await?;
    println!(
        "  roll-up rebuild from {lines} lines: {:.1} s",
        started.elapsed().as_secs_f64()
    );
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
    // Warm up and check the answer is data, not an error.
    let check: serde_json::Value = reqwest::Client::new()
        .post(&url)
        .bearer_auth(&token)
        .json(&overview)
        .send()
        .await?
        .json()
        .await?;
    anyhow::ensure!(
        check.get("errors").is_none(),
        "rosterOverview failed: {check}"
    );
    let wrk_url = url.clone();
    let (t, o, g) = (token.clone(), overview.to_string(), grouped.to_string());
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        wrk(&wrk_url, &t, &o, "rosterOverview")?;
        wrk(&wrk_url, &t, &g, "analytics [STORE, MONTH]")
    })
    .await??;
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
    let lines: i64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2_000_000);
    if let Ok(server) = std::env::var(tests::DATABASE_ENV)
        && !server.is_empty()
    {
        let name = format!("imprint_t_bench_analytics_{}", std::process::id());
        let admin = sea_orm::Database::connect(&server).await?;
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await?;
        let base = &server[..server.rfind('/').unwrap_or(server.len())];
        let result = run("postgres", format!("{base}/{name}"), lines).await;
        admin
            .execute_unprepared(&format!("DROP DATABASE {name} WITH (FORCE)"))
            .await?;
        result?;
    }
    let dir = tempfile::tempdir()?;
    run(
        "sqlite",
        format!("sqlite://{}/bench.db?mode=rwc", dir.path().display()),
        lines,
    )
    .await
}
