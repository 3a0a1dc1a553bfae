//! Analytics benchmark against a real `imprint serve`: 50 clients, 50 credentials, 12 periods,
//! random queries; cold and warm answers measured apart.
//!
//! `cargo run --release -p tests --bin bench_analytics -- [--lines N] [--quick] [--reuse]
//! [--only postgres|sqlite] [--seconds N] [--clients N] [--phases roster|everything|both]
//! [--no-cold-table]`
//!
//! 1. Seeds an organisation with N statement lines (1,000,000 by default; `--quick`: 100,000
//!    and 20 s of load) over 200 artists × 25 tracks (5 releases of 5 tracks each), spread over
//!    36 months (2023-01 to 2025-12), 6 stores and 8 territories, and rebuilds its roll-ups; on
//!    PostgreSQL (`IMPRINT_TEST_DATABASE_URL`) unless `--only sqlite`, on SQLite when
//!    `--only sqlite` (or `--sqlite` beside PostgreSQL) is given. `--reuse` keeps the seed
//!    (database `imprint_bench_analytics_<N>`, file `target/bench-analytics/sqlite-<N>.db`) and
//!    serves it as it is on the next run.
//! 2. Starts `imprint serve --no-workers` (the binary next to this one, or `IMPRINT_BIN`) on a
//!    free port, its serving settings read from the environment as usual (`IMPRINT_HTTP_WORKERS`,
//!    …; the per-key rate limit is turned off).
//! 3. Creates 50 credentials: 20 API keys (`read:analytics read:catalogue`), 10 OWNER and 10
//!    VIEWER sessions, and 10 ARTIST sessions for 10 different artists.
//! 4. Times a single client, one request at a time, every request cold (a period the server has
//!    not been asked before): `rosterOverview` and `analytics` grouped by each dimension and each
//!    pair of dimensions.
//! 5. Runs the clients (default 50) at once, each with its own credential, for the given
//!    seconds, twice: first `rosterOverview` alone (the dashboard), then every question
//!    (`rosterOverview`, `analytics` by each dimension and pair, with no filter, a store, a
//!    territory or both), each over random periods among 12 (the default "last 12 months with
//!    data" included). A question is the credential's scope (the label, or one artist), the
//!    query and the period. Each phase reports ALL its answers, the COLD ones (asked before the
//!    server had answered that question once: the first ask, and asks waiting for the same
//!    computation) and the WARM ones (answered before) apart.
//! 6. Checks `rosterOverview`'s totals for 2024 against a SUM over the lines in SQL, exact to
//!    the nano-unit (the run fails otherwise), and prints the server's peak RSS (`VmHWM`), the
//!    load average at start and end, and a SUMMARY table for the README.

#![expect(clippy::print_stdout, reason = "a benchmark prints its figures")]

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{Months, NaiveDate, Utc};
use sea_orm::{ActiveModelTrait, ConnectionTrait, DbBackend, Set, Statement};
use tests::bench::{Latencies, Percentiles, load_average, parse_nanos, process_peak_rss_mb};

const ARTISTS: i64 = 200;
const RELEASES_PER_ARTIST: i64 = 5;
const TRACKS_PER_RELEASE: i64 = 5;
const MONTHS: u32 = 36;
const ORGANISATION: &str = "Load Records";
const DIMENSIONS: [&str; 6] = ["ARTIST", "RELEASE", "TRACK", "STORE", "TERRITORY", "MONTH"];
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The first day of month `i` of the seeded history (0 is January 2023).
fn month_start(i: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2023, 1, 1).expect("a date") + Months::new(i)
}

/// The last day of month `i`.
fn month_end(i: u32) -> NaiveDate {
    month_start(i + 1).pred_opt().expect("a date")
}

/// A period of whole months, `start` to `start + length - 1`; `None` is the server's default.
type Period = Option<(u32, u32)>;

/// The 12 periods the clients ask for: the default, and 11 others.
const LOAD_PERIODS: [Period; 12] = [
    None,
    Some((0, 12)),
    Some((12, 12)),
    Some((24, 12)),
    Some((24, 6)),
    Some((30, 6)),
    Some((21, 3)),
    Some((24, 3)),
    Some((33, 3)),
    Some((0, 36)),
    Some((29, 1)),
    Some((18, 18)),
];

/// Periods the load never asks for, each used once by the cold table.
fn cold_periods() -> impl Iterator<Item = (u32, u32)> {
    (2..=MONTHS).flat_map(|length| {
        (0..=MONTHS - length)
            .map(move |start| (start, length))
            .filter(|p| !LOAD_PERIODS.contains(&Some(*p)))
    })
}

/// A filter the load adds to `analytics`.
#[derive(Clone, Copy, Debug)]
enum Filter {
    None,
    Store,
    Territory,
    Both,
}

/// One question asked of the API.
#[derive(Clone, Debug)]
enum Ask {
    Roster,
    Analytics {
        group_by: Vec<&'static str>,
        filter: Filter,
    },
}

impl Ask {
    /// Every grouping: each dimension, then each pair.
    fn groupings() -> Vec<Vec<&'static str>> {
        let mut all: Vec<Vec<&'static str>> = DIMENSIONS.iter().map(|d| vec![*d]).collect();
        for (i, a) in DIMENSIONS.iter().enumerate() {
            for b in &DIMENSIONS[i + 1..] {
                all.push(vec![*a, *b]);
            }
        }
        all
    }

    fn label(&self) -> String {
        match self {
            Self::Roster => "rosterOverview".into(),
            Self::Analytics { group_by, filter } => {
                format!("analytics [{}] {filter:?}", group_by.join(", "))
            }
        }
    }

    /// The request body for organisation `org` (a global id) over `period`.
    fn body(&self, org: &str, period: Period) -> serde_json::Value {
        let range = period.map(|(start, length)| {
            (
                month_start(start).to_string(),
                month_end(start + length - 1).to_string(),
            )
        });
        match self {
            Self::Roster => {
                let period = range.map_or(String::new(), |(from, to)| {
                    format!(", period: {{from: \"{from}\", to: \"{to}\"}}")
                });
                serde_json::json!({
                    "query": format!("query($o: ID!) {{ rosterOverview(organizationId: $o{period}) {{ from to totals {{ quantity earnings {{ amount }} }} artists {{ artistName current {{ earnings {{ amount }} }} changePercent }} topTracks {{ trackTitle figures {{ earnings {{ amount }} }} }} topStores {{ store }} topTerritories {{ territory }} }} }}"),
                    "variables": {"o": org},
                })
            }
            Self::Analytics { group_by, filter } => {
                let mut parts = Vec::new();
                if let Some((from, to)) = range {
                    parts.push(format!("from: \"{from}\", to: \"{to}\""));
                }
                if matches!(filter, Filter::Store | Filter::Both) {
                    parts.push("stores: [\"Spotify\"]".into());
                }
                if matches!(filter, Filter::Territory | Filter::Both) {
                    parts.push("territories: [\"US\", \"GB\"]".into());
                }
                let filter = if parts.is_empty() {
                    String::new()
                } else {
                    format!(", filter: {{{}}}", parts.join(", "))
                };
                serde_json::json!({
                    "query": format!("query($o: ID!) {{ analytics(organizationId: $o, groupBy: [{}]{filter}) {{ totals {{ quantity earnings {{ amount }} }} moreRows rows {{ artistName releaseTitle trackTitle store territory month figures {{ quantity earnings {{ amount }} }} }} }} }}", group_by.join(", ")),
                    "variables": {"o": org},
                })
            }
        }
    }
}

/// Who asks: the secret and what the server answers for (the label, or one artist).
#[derive(Clone, Debug)]
struct Credential {
    kind: &'static str,
    secret: String,
    scope: String,
}

/// The seeded organisation: its number and line count.
struct Seed {
    org: i64,
}

async fn seed(db: &sea_orm::DatabaseConnection, lines: i64) -> anyhow::Result<Seed> {
    let now = Utc::now();
    let org = entity::organization::ActiveModel {
        name: Set(ORGANISATION.into()),
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
    let releases = ARTISTS * RELEASES_PER_ARTIST;
    let tracks = releases * TRACKS_PER_RELEASE;
    // Month, store, territory and track each from a different arithmetic of the line number,
    // so every combination occurs.
    let month = match backend {
        DbBackend::Postgres => {
            format!(
                "CAST(DATE '2023-01-01' + (((g.n / 7) % {MONTHS}) * INTERVAL '1 month') AS date)"
            )
        }
        _ => format!("date('2023-01-01', '+' || ((g.n / 7) % {MONTHS}) || ' months')"),
    };
    let key = match backend {
        DbBackend::Postgres => "int8send(CAST(g.n AS BIGINT))",
        _ => "CAST(g.n AS BLOB)",
    };
    let track = format!("((CAST(g.n AS BIGINT) * 7919) % {tracks})");
    let started = Instant::now();
    db.execute_raw(sql(format!(
        "INSERT INTO statement_lines (organization_id, statement_id, line_number, fingerprint, isrc, store, territory, \
           sale_period_start, sale_period_end, quantity, amount_nanos, currency, base_amount_nanos, base_currency, \
           track_id, release_id, match_method) \
         SELECT {o}, {sid}, g.n, {key}, t.isrc, \
           CASE g.n % 6 WHEN 0 THEN 'Spotify' WHEN 1 THEN 'Apple Music' WHEN 2 THEN 'Amazon Music' WHEN 3 THEN 'Deezer' WHEN 4 THEN 'Tidal' ELSE 'YouTube Music' END, \
           CASE g.n % 8 WHEN 0 THEN 'US' WHEN 1 THEN 'GB' WHEN 2 THEN 'DE' WHEN 3 THEN 'FR' WHEN 4 THEN 'BR' WHEN 5 THEN 'JP' WHEN 6 THEN 'AU' ELSE 'SE' END, \
           {month}, {month}, g.n % 300 + 1, (CAST(g.n AS BIGINT) * 104729) % 5000000000, 'USD', (CAST(g.n AS BIGINT) * 104729) % 5000000000, 'USD', t.id, t.release_id, 'isrc' \
         FROM {} JOIN tracks t ON t.organization_id = {o} AND t.position = ({track} % {TRACKS_PER_RELEASE}) + 1 \
           AND t.release_id = (SELECT MIN(id) FROM releases WHERE organization_id = {o}) + ({track} / {TRACKS_PER_RELEASE}) ",
        series(lines),
        sid = statement.id,
    )))
    .await?;
    println!(
        "  seeded {ARTISTS} artists, {tracks} tracks, {lines} lines over {MONTHS} months in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(Seed { org: o })
}

/// A seed left by an earlier `--reuse` run, or `None` (an incomplete one is refused).
async fn reuse_seed(db: &sea_orm::DatabaseConnection, lines: i64) -> anyhow::Result<Option<Seed>> {
    let backend = db.get_database_backend();
    let found = db
        .query_one_raw(Statement::from_string(
            backend,
            format!("SELECT MIN(id) AS org FROM organizations WHERE name = '{ORGANISATION}'"),
        ))
        .await?
        .and_then(|row| row.try_get::<Option<i64>>("", "org").ok().flatten());
    let Some(org) = found else {
        return Ok(None);
    };
    let counted = count(
        db,
        &format!("SELECT COUNT(*) AS n FROM statement_lines WHERE organization_id = {org}"),
    )
    .await?;
    anyhow::ensure!(
        counted == lines,
        "the kept database holds {counted} lines, not {lines} (a seed was interrupted?): delete it and run again"
    );
    Ok(Some(Seed { org }))
}

async fn count(db: &sea_orm::DatabaseConnection, query: &str) -> anyhow::Result<i64> {
    Ok(db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            query.to_owned(),
        ))
        .await?
        .map(|r| r.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or(0))
}

/// 50 credentials (in proportion for another count): API keys, OWNER, VIEWER and ARTIST
/// sessions, the artist members each for a different artist.
async fn credentials(
    db: &sea_orm::DatabaseConnection,
    org: i64,
    wanted: usize,
) -> anyhow::Result<Vec<Credential>> {
    let backend = db.get_database_backend();
    let artists: Vec<i64> = db
        .query_all_raw(Statement::from_string(
            backend,
            format!("SELECT id FROM artists WHERE organization_id = {org} ORDER BY id"),
        ))
        .await?
        .iter()
        .map(|r| r.try_get::<i64>("", "id"))
        .collect::<Result<_, _>>()?;
    let now = Utc::now();
    // Unique per run, so that `--reuse` can add its own users beside an earlier run's.
    let run = format!("{}-{}", std::process::id(), now.timestamp_millis());
    let mut out = Vec::with_capacity(wanted);
    for i in 0..wanted {
        let kind = match i % 5 {
            0 | 1 => "api key",
            2 => "owner",
            3 => "viewer",
            _ => "artist",
        };
        if kind == "api key" {
            let (secret, hash) = api::auth::new_secret(api::auth::API_KEY_PREFIX);
            entity::api_key::ActiveModel {
                organization_id: Set(org),
                name: Set(format!("bench {run} {i}")),
                token_prefix: Set(secret.chars().take(12).collect()),
                token_hash: Set(hash),
                scopes: Set("read:analytics read:catalogue".into()),
                created_by_user_id: Set(None),
                created_at: Set(now),
                last_used_at: Set(None),
                revoked_at: Set(None),
                expires_at: Set(None),
                ..Default::default()
            }
            .insert(db)
            .await?;
            out.push(Credential {
                kind,
                secret,
                scope: "label".into(),
            });
            continue;
        }
        let user = entity::user::ActiveModel {
            email: Set(format!("bench-{run}-{i}@bench.test")),
            name: Set(format!("Bench {i}")),
            password_hash: Set(String::new()),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(db)
        .await?;
        let artist_id = (kind == "artist").then(|| artists[(i * 7) % artists.len()]);
        entity::membership::ActiveModel {
            organization_id: Set(org),
            user_id: Set(user.id),
            role: Set(kind.into()),
            artist_id: Set(artist_id),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(db)
        .await?;
        let secret = api::auth::issue_session(db, user.id, chrono::Duration::days(1)).await?;
        out.push(Credential {
            kind,
            secret,
            scope: artist_id.map_or("label".into(), |a| format!("artist {a}")),
        });
    }
    Ok(out)
}

/// `imprint serve`, killed when dropped.
struct Server {
    child: tokio::process::Child,
    url: String,
    log: std::path::PathBuf,
}

impl Server {
    async fn start(database_url: &str, data_dir: &std::path::Path) -> anyhow::Result<Self> {
        let binary = match std::env::var_os("IMPRINT_BIN") {
            Some(path) => std::path::PathBuf::from(path),
            None => std::env::current_exe()?
                .parent()
                .ok_or_else(|| anyhow::anyhow!("the bench has no folder"))?
                .join("imprint"),
        };
        anyhow::ensure!(
            binary.exists(),
            "no server binary at {} (build it: cargo build --release --bin imprint, or set IMPRINT_BIN)",
            binary.display()
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let log = data_dir.join("server.log");
        let log_file = std::fs::File::create(&log)?;
        let child = tokio::process::Command::new(&binary)
            .args(["serve", "--no-workers", "--no-migrate"])
            .env("IMPRINT_DATABASE_URL", database_url)
            .env("IMPRINT_DATA_DIR", data_dir)
            .env("IMPRINT_LISTEN", format!("127.0.0.1:{port}"))
            .env("IMPRINT_RATE_API_KEY_PER_KEY", "0")
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .kill_on_drop(true)
            .spawn()?;
        let server = Self {
            child,
            url: format!("http://127.0.0.1:{port}/graphql"),
            log,
        };
        let started = Instant::now();
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(120),
                "the server did not listen within 120 s; its log: {}",
                server.log.display()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        println!(
            "  server {} (pid {}) listening after {:.1} s",
            binary.display(),
            server.pid(),
            started.elapsed().as_secs_f64()
        );
        Ok(server)
    }

    fn pid(&self) -> u32 {
        self.child.id().unwrap_or(0)
    }
}

/// What one request came to: the answer (kept only when asked for), or what went wrong.
enum Outcome {
    Data(Option<serde_json::Value>, f64),
    Error(String, f64),
    Timeout,
}

/// An answer read only as far as telling success from failure: the clients share the
/// server's two cores, so they skip building a JSON tree of every 20 KB answer.
#[derive(serde::Deserialize)]
struct Skimmed {
    data: Option<serde::de::IgnoredAny>,
    errors: Option<serde_json::Value>,
}

/// Bytes of every answer received, for the answers' mean size in the summary.
static RECEIVED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Sends `body`; `keep` returns the whole answer, else it is only checked for errors.
async fn ask(
    client: &reqwest::Client,
    url: &str,
    secret: &str,
    body: &serde_json::Value,
    keep: bool,
) -> Outcome {
    let started = Instant::now();
    let sent = client.post(url).bearer_auth(secret).json(body).send().await;
    let answer = match sent {
        Ok(response) => {
            let status = response.status();
            response.bytes().await.map(|bytes| (status, bytes))
        }
        Err(err) => Err(err),
    };
    let millis = started.elapsed().as_secs_f64() * 1000.0;
    let (status, bytes) = match answer {
        Err(err) if err.is_timeout() => return Outcome::Timeout,
        Err(err) => return Outcome::Error(err.to_string(), millis),
        Ok(answer) => answer,
    };
    RECEIVED.fetch_add(bytes.len() as u64, std::sync::atomic::Ordering::Relaxed);
    let failed = |why: &dyn std::fmt::Display| {
        Outcome::Error(
            format!("{status}: {why}: {}", String::from_utf8_lossy(&bytes)),
            millis,
        )
    };
    if !status.is_success() {
        return failed(&"not a success");
    }
    if keep {
        return match serde_json::from_slice::<serde_json::Value>(&bytes) {
            Ok(json) if json.get("errors").is_none() => Outcome::Data(Some(json), millis),
            Ok(_) => failed(&"errors"),
            Err(err) => failed(&err),
        };
    }
    match serde_json::from_slice::<Skimmed>(&bytes) {
        Ok(Skimmed {
            data: Some(_),
            errors: None,
        }) => Outcome::Data(None, millis),
        Ok(_) => failed(&"errors or no data"),
        Err(err) => failed(&err),
    }
}

fn record(latencies: &mut Latencies, outcome: &Outcome, first_error: &Mutex<Option<String>>) {
    match outcome {
        Outcome::Data(_, millis) => latencies.millis.push(*millis),
        Outcome::Error(message, millis) => {
            latencies.millis.push(*millis);
            latencies.errors += 1;
            let mut first = first_error.lock().expect("not poisoned");
            if first.is_none() {
                *first = Some(message.chars().take(400).collect());
            }
        }
        Outcome::Timeout => latencies.timeouts += 1,
    }
}

/// A small deterministic generator (xorshift64*): the clients' choices, reproducible per run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let x = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D);
        usize::try_from(x % n as u64).unwrap_or(0)
    }
}

/// One line of the SUMMARY.
struct Row {
    what: String,
    latencies: Latencies,
}

fn print_row(row: &Row) {
    let Percentiles {
        count,
        p50,
        p95,
        p99,
        max,
    } = row.latencies.percentiles();
    println!(
        "| {:<48} | {count:>7} | {p50:>8.1} | {p95:>8.1} | {p99:>8.1} | {max:>8.1} | {:>6} | {:>8} |",
        row.what, row.latencies.errors, row.latencies.timeouts
    );
}

/// The single client: every request cold, one at a time.
async fn cold_table(
    url: &str,
    org: &str,
    owner: &Credential,
    rounds: usize,
    first_error: &Mutex<Option<String>>,
) -> anyhow::Result<Vec<Row>> {
    let client = reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .build()?;
    let mut periods = cold_periods();
    let mut asks = vec![Ask::Roster];
    asks.extend(Ask::groupings().into_iter().map(|group_by| Ask::Analytics {
        group_by,
        filter: Filter::None,
    }));
    let mut rows = Vec::new();
    for a in asks {
        let mut latencies = Latencies::default();
        for _ in 0..rounds {
            let period = periods
                .next()
                .ok_or_else(|| anyhow::anyhow!("out of cold periods"))?;
            let outcome = ask(
                &client,
                url,
                &owner.secret,
                &a.body(org, Some(period)),
                false,
            )
            .await;
            record(&mut latencies, &outcome, first_error);
        }
        let row = Row {
            what: format!("cold, 1 client: {}", a.label().trim_end_matches(" None")),
            latencies,
        };
        print_row(&row);
        rows.push(row);
    }
    Ok(rows)
}

/// What the load asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mix {
    /// `rosterOverview` alone: the dashboard, the issue's target case.
    Roster,
    /// A third `rosterOverview`, the rest `analytics` by every grouping and filter.
    Everything,
}

/// What a load phase measured: answers by what the server had when they were asked.
#[derive(Default)]
struct Measured {
    /// Questions not answered yet when asked: the first ask, and asks that came while it was
    /// still being computed (they wait for the same computation).
    cold: Latencies,
    /// Questions the server had already answered once.
    warm: Latencies,
    /// Every answer.
    all: Latencies,
    distinct: usize,
}

/// The load: every client with its own credential, random periods and questions.
async fn load(
    url: &str,
    org: &str,
    credentials: &[Credential],
    seconds: u64,
    mix: Mix,
    first_error: &Arc<Mutex<Option<String>>>,
) -> anyhow::Result<Measured> {
    let client = reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .pool_max_idle_per_host(credentials.len())
        .build()?;
    // Questions asked, and questions answered at least once.
    let asked: Arc<Mutex<HashSet<String>>> = Arc::default();
    let answered: Arc<Mutex<HashSet<String>>> = Arc::default();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let groupings = Ask::groupings();
    let filters = [Filter::None, Filter::Store, Filter::Territory, Filter::Both];
    let mut tasks = Vec::new();
    for (i, credential) in credentials.iter().enumerate() {
        let (client, url, org, credential, asked, answered, first_error, groupings) = (
            client.clone(),
            url.to_owned(),
            org.to_owned(),
            credential.clone(),
            asked.clone(),
            answered.clone(),
            first_error.clone(),
            groupings.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (i as u64 + 1).wrapping_mul(0xBF58_476D));
            let mut measured = Measured::default();
            while Instant::now() < deadline {
                let period = LOAD_PERIODS[rng.below(LOAD_PERIODS.len())];
                let a = if mix == Mix::Roster || rng.below(3) == 0 {
                    Ask::Roster
                } else {
                    Ask::Analytics {
                        group_by: groupings[rng.below(groupings.len())].clone(),
                        filter: filters[rng.below(filters.len())],
                    }
                };
                let question = format!("{} | {} | {period:?}", credential.scope, a.label());
                asked.lock().expect("not poisoned").insert(question.clone());
                let is_warm = answered.lock().expect("not poisoned").contains(&question);
                let outcome = ask(
                    &client,
                    &url,
                    &credential.secret,
                    &a.body(&org, period),
                    false,
                )
                .await;
                if matches!(outcome, Outcome::Data(..)) {
                    answered.lock().expect("not poisoned").insert(question);
                }
                record(&mut measured.all, &outcome, &first_error);
                record(
                    if is_warm {
                        &mut measured.warm
                    } else {
                        &mut measured.cold
                    },
                    &outcome,
                    &first_error,
                );
            }
            measured
        }));
    }
    let mut measured = Measured::default();
    for task in tasks {
        let m = task.await?;
        measured.cold.merge(m.cold);
        measured.warm.merge(m.warm);
        measured.all.merge(m.all);
    }
    measured.distinct = asked.lock().expect("not poisoned").len();
    Ok(measured)
}

/// `rosterOverview`'s totals for 2024 against a SUM over the lines: exact, or the run fails.
async fn check_totals(
    db: &sea_orm::DatabaseConnection,
    seed: &Seed,
    url: &str,
    org: &str,
    owner: &Credential,
) -> anyhow::Result<String> {
    let client = reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .build()?;
    let answer = match ask(
        &client,
        url,
        &owner.secret,
        &Ask::Roster.body(org, Some((12, 12))),
        true,
    )
    .await
    {
        Outcome::Data(Some(json), _) => json,
        Outcome::Data(None, _) => anyhow::bail!("the totals check kept no answer"),
        Outcome::Error(message, _) => anyhow::bail!("the totals check failed: {message}"),
        Outcome::Timeout => anyhow::bail!("the totals check timed out"),
    };
    let totals = &answer["data"]["rosterOverview"]["totals"];
    let amount = totals["earnings"]["amount"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("no totals in {answer}"))?;
    let served = parse_nanos(amount).ok_or_else(|| anyhow::anyhow!("`{amount}` is no amount"))?;
    let served_quantity = totals["quantity"].as_i64().unwrap_or(-1);
    let backend = db.get_database_backend();
    // Summed as text-free integers: PostgreSQL's SUM of BIGINT is NUMERIC, exact; SQLite's is
    // an exact 64-bit integer (it fails rather than round).
    let row = db
        .query_one_raw(Statement::from_string(
            backend,
            format!(
                "SELECT CAST(SUM(base_amount_nanos) AS TEXT) AS nanos, CAST(SUM(quantity) AS TEXT) AS quantity \
                 FROM statement_lines WHERE organization_id = {} \
                 AND sale_period_start >= '{}' AND sale_period_start <= '{}'",
                seed.org,
                month_start(12),
                month_end(23)
            ),
        ))
        .await?
        .ok_or_else(|| anyhow::anyhow!("no sum"))?;
    let summed: i128 = row.try_get::<String>("", "nanos")?.parse()?;
    let quantity: i64 = row.try_get::<String>("", "quantity")?.parse()?;
    anyhow::ensure!(
        served == summed && served_quantity == quantity,
        "TOTALS DIFFER for 2024: the API says {amount} USD and {served_quantity} units, the lines sum to {summed} nano-units and {quantity} units"
    );
    Ok(format!(
        "2024 totals exact: {amount} USD, {quantity} units (API = SQL sum over the lines)"
    ))
}

/// Command-line options.
struct Options {
    lines: i64,
    reuse: bool,
    postgres: bool,
    sqlite: bool,
    seconds: u64,
    clients: usize,
    cold_rounds: usize,
    /// The load phases to run (`--phases roster|everything|both`).
    phases: Vec<Mix>,
}

impl Options {
    fn parse() -> anyhow::Result<Self> {
        let mut options = Self {
            lines: 1_000_000,
            reuse: false,
            postgres: true,
            sqlite: false,
            seconds: 60,
            clients: 50,
            cold_rounds: 5,
            phases: vec![Mix::Roster, Mix::Everything],
        };
        let mut lines = None;
        let mut seconds = None;
        let number = |what: &str, value: Option<String>| -> anyhow::Result<u64> {
            value
                .and_then(|n| n.replace('_', "").parse().ok())
                .ok_or_else(|| anyhow::anyhow!("{what} takes a number"))
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--reuse" => options.reuse = true,
                "--no-cold-table" => options.cold_rounds = 0,
                "--phases" => {
                    options.phases = match args.next().as_deref() {
                        Some("roster") => vec![Mix::Roster],
                        Some("everything") => vec![Mix::Everything],
                        Some("both") => vec![Mix::Roster, Mix::Everything],
                        _ => anyhow::bail!("--phases takes roster, everything or both"),
                    }
                }
                "--quick" => {
                    options.lines = 100_000;
                    options.seconds = 20;
                    options.cold_rounds = 3;
                }
                "--sqlite" => options.sqlite = true,
                "--only" => match args.next().as_deref() {
                    Some("postgres") => (options.postgres, options.sqlite) = (true, false),
                    Some("sqlite") => (options.postgres, options.sqlite) = (false, true),
                    _ => anyhow::bail!("--only takes postgres or sqlite"),
                },
                "--lines" => lines = Some(i64::try_from(number("--lines", args.next())?)?),
                "--seconds" => seconds = Some(number("--seconds", args.next())?),
                "--clients" => {
                    options.clients = usize::try_from(number("--clients", args.next())?)?
                }
                n => lines = Some(i64::try_from(number(&format!("`{n}`"), Some(n.into()))?)?),
            }
        }
        options.lines = lines.unwrap_or(options.lines);
        options.seconds = seconds.unwrap_or(options.seconds);
        anyhow::ensure!(options.clients > 0, "--clients takes at least 1");
        Ok(options)
    }
}

async fn run(label: &str, database_url: String, options: &Options) -> anyhow::Result<Vec<String>> {
    println!("{label}: {} lines", options.lines);
    let load_at_start = load_average();
    let dir = tempfile::tempdir()?;
    let dir_str = dir.path().display().to_string();
    let env = [
        ("IMPRINT_DATABASE_URL", database_url.as_str()),
        ("IMPRINT_DATA_DIR", dir_str.as_str()),
    ];
    let config = api::config::Config::from_env(&env)?;
    let state = api::app::connect(&config).await?;
    api::app::migrate(&state).await?;
    let kept = if options.reuse {
        reuse_seed(&state.db, options.lines).await?
    } else {
        None
    };
    let seeded = match kept {
        Some(kept) => {
            println!("  reusing the seeded database");
            kept
        }
        None => {
            let seeded = seed(&state.db, options.lines).await?;
            let started = Instant::now();
            api::app::rebuild_analytics(&state, Some(&seeded.org.to_string())).await?;
            println!(
                "  roll-up rebuild: {:.1} s",
                started.elapsed().as_secs_f64()
            );
            seeded
        }
    };
    let credentials = credentials(&state.db, seeded.org, options.clients).await?;
    let server = Server::start(&database_url, dir.path()).await?;
    let org = api::graphql::ids::encode(api::graphql::ids::Kind::Organization, seeded.org);
    let owner = credentials
        .iter()
        .find(|c| c.kind == "owner")
        .unwrap_or(&credentials[0])
        .clone();
    let first_error = Arc::new(Mutex::new(None));
    println!(
        "| {:<48} | {:>7} | {:>8} | {:>8} | {:>8} | {:>8} | {:>6} | {:>8} |",
        "what (ms)", "count", "p50", "p95", "p99", "max", "errors", "timeouts"
    );
    let mut rows = if options.cold_rounds > 0 {
        cold_table(&server.url, &org, &owner, options.cold_rounds, &first_error).await?
    } else {
        Vec::new()
    };
    println!(
        "  load: {} clients ({} API keys, {} owners, {} viewers, {} artists), {} s, 12 periods",
        credentials.len(),
        credentials.iter().filter(|c| c.kind == "api key").count(),
        credentials.iter().filter(|c| c.kind == "owner").count(),
        credentials.iter().filter(|c| c.kind == "viewer").count(),
        credentials.iter().filter(|c| c.kind == "artist").count(),
        options.seconds
    );
    let mut distinct = Vec::new();
    let mut answers = 0;
    for mix in options.phases.clone() {
        let name = match mix {
            Mix::Roster => "rosterOverview",
            Mix::Everything => "every question",
        };
        RECEIVED.store(0, std::sync::atomic::Ordering::Relaxed);
        let measured = load(
            &server.url,
            &org,
            &credentials,
            options.seconds,
            mix,
            &first_error,
        )
        .await?;
        answers += measured.all.millis.len();
        let received = RECEIVED.swap(0, std::sync::atomic::Ordering::Relaxed);
        #[expect(clippy::cast_precision_loss, reason = "counts far below 2^52")]
        let mean = received as f64 / measured.all.millis.len().max(1) as f64 / 1024.0;
        println!(
            "  {name}: {} answers, {mean:.1} KB each on average",
            measured.all.millis.len()
        );
        distinct.push(format!("{name}: {}", measured.distinct));
        let clients = credentials.len();
        for (what, latencies) in [
            ("ALL", measured.all),
            ("COLD (not answered yet)", measured.cold),
            ("WARM (answered before)", measured.warm),
        ] {
            let row = Row {
                what: format!("{name}, {clients} clients: {what}"),
                latencies,
            };
            print_row(&row);
            rows.push(row);
        }
    }
    let distinct = distinct.join(", ");
    #[expect(clippy::cast_precision_loss, reason = "counts far below 2^52")]
    let rate = answers as f64 / (options.phases.len() as u64 * options.seconds.max(1)) as f64;
    let check = check_totals(&state.db, &seeded, &server.url, &org, &owner).await?;
    let peak = process_peak_rss_mb(server.pid());
    let load_at_end = load_average();
    drop(server);
    println!("  {check}");
    if let Some(error) = first_error.lock().expect("not poisoned").as_ref() {
        println!("  first error: {error}");
    }
    let mut summary = vec![format!(
        "{label}, {} lines, {} clients × {} credentials, {} s per load phase, distinct questions ({distinct}), {rate:.0} answers/s; server peak RSS {peak:.0} MB; load {load_at_start} → {load_at_end}",
        options.lines,
        credentials.len(),
        credentials.len(),
        options.seconds
    )];
    summary.extend(rows.iter().map(|row| {
        let p = row.latencies.percentiles();
        format!(
            "| {label} | {} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {} | {} |",
            row.what,
            p.count,
            p.p50,
            p.p95,
            p.p99,
            p.max,
            row.latencies.errors,
            row.latencies.timeouts
        )
    }));
    summary.push(format!("{label}: {check}"));
    Ok(summary)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = Options::parse()?;
    let mut summary = Vec::new();
    if options.postgres {
        let server = std::env::var(tests::DATABASE_ENV)
            .map_err(|_| anyhow::anyhow!("set {} (or pass --only sqlite)", tests::DATABASE_ENV))?;
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
        summary.extend(result?);
    }
    if options.sqlite {
        let temporary = tempfile::tempdir()?;
        let folder = if options.reuse {
            let kept = std::path::PathBuf::from("target/bench-analytics");
            std::fs::create_dir_all(&kept)?;
            kept
        } else {
            temporary.path().to_path_buf()
        };
        let url = format!(
            "sqlite://{}/sqlite-{}.db?mode=rwc",
            std::path::absolute(&folder)?.display(),
            options.lines
        );
        summary.extend(run("sqlite", url, &options).await?);
    }
    println!("\nSUMMARY (latencies in ms, measured by the clients)");
    println!("| backend | what | count | p50 | p95 | p99 | max | errors | timeouts |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for line in summary.iter().filter(|l| l.starts_with('|')) {
        println!("{line}");
    }
    for line in summary.iter().filter(|l| !l.starts_with('|')) {
        println!("{line}");
    }
    Ok(())
}
