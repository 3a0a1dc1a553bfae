//! Chaos: worker processes killed with SIGKILL at seeded random points while statements are
//! parsed, matched and allocated and a payout run is computed, each kill followed at once by a
//! new worker, which must take up the dead one's jobs (after its missed heartbeats) and finish
//! them. After every round of kills the books are checked to the nano-unit: every statement's
//! lines sum to its file, the ledger holds exactly the matched lines' money, and paid + carried
//! + reserved + recouped + pending = allocated.
//!
//! `IMPRINT_CHAOS_KILLS` sets the number of kills per backend (100 by default, the CI run; more
//! in a long run), `IMPRINT_CHAOS_SEED` replays a run (its seed is printed).

use std::process::{Child, Command};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tests::{Backend, TestApp};

const TIMEOUT: Duration = Duration::from_secs(300);
const LINES_PER_STATEMENT: usize = 400;
const TRACKS: usize = 12;

/// xorshift64*: the test's only source of randomness, so a seed replays a run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// A statement of distinct sales (amounts drawn from `rng`, so no two statements share a line),
/// and its total in nano-units.
fn statement(rng: &mut Rng, isrcs: &[String]) -> (Vec<u8>, i128) {
    let mut text = format!("{}\r\n", tests::fixtures::DISTROKID_HEADER);
    let mut total: i128 = 0;
    for i in 0..LINES_PER_STATEMENT {
        let nanos = i64::try_from(rng.below(3_000_000_000)).unwrap_or(0) - 50_000_000;
        total += i128::from(nanos);
        let month = i % 12 + 1;
        let amount = domain::money::decimal_from_nanos(nanos);
        text.push_str(&format!(
            "2025-{month:02}-28\t2025-{month:02}\tSpotify\tAda Vesper\tSong {}\t{}\t\t{}\t100\tSong\tUS\t0\t{amount}\r\n",
            i % isrcs.len(),
            isrcs[i % isrcs.len()],
            rng.below(50) + 1,
        ));
    }
    (text.into_bytes(), total)
}

fn nanos(amount: &Value) -> i128 {
    let text = amount.as_str().unwrap_or("0");
    i128::from(domain::money::parse_decimal_str(text).unwrap_or_else(|_| panic!("{text}")))
}

struct Label {
    token: String,
    org: String,
    isrcs: Vec<String>,
}

async fn label(app: &TestApp) -> Label {
    let token = app.sign_up("chaos@label.test").await;
    let org = app.create_organization(&token, "Chaos Records").await;
    let data = app.ok(Some(&token), "mutation($org: ID!) { createArtist(input: {organizationId: $org, name: \"Ada Vesper\"}) { artist { id payees { id } } } }", json!({"org": org})).await;
    let artist = data["createArtist"]["artist"]["id"]
        .as_str()
        .expect("artist")
        .to_owned();
    let ada = data["createArtist"]["artist"]["payees"][0]["id"]
        .as_str()
        .expect("payee")
        .to_owned();
    let data = app
        .ok(
            Some(&token),
            "mutation($input: CreatePayeeInput!) { createPayee(input: $input) { payee { id } } }",
            json!({"input": {"organizationId": org, "name": "Pat Producer", "kind": "PRODUCER"}}),
        )
        .await;
    let producer = data["createPayee"]["payee"]["id"]
        .as_str()
        .expect("producer")
        .to_owned();
    // An advance to recoup, so allocation moves recoupable balances too.
    app.ok(Some(&token), "mutation($input: AddRecoupableInput!) { addRecoupable(input: $input) { userErrors { message } } }", json!({"input": {"organizationId": org, "kind": "ADVANCE", "description": "Advance", "amount": "500", "incurredOn": "2024-01-01", "artistId": artist}})).await;
    let data = app.ok(Some(&token), "mutation($id: ID!) { createRelease(input: {artistId: $id, title: \"Chaos\", releaseType: ALBUM}) { release { id } } }", json!({"id": artist})).await;
    let release = data["createRelease"]["release"]["id"]
        .as_str()
        .expect("release")
        .to_owned();
    let mut isrcs = Vec::new();
    for i in 0..TRACKS {
        let isrc = format!("USCH{:08}", 25_000_000 + i);
        app.ok(Some(&token), "mutation($id: ID!, $isrc: String!, $title: String!) { addTrack(input: {releaseId: $id, title: $title, isrc: $isrc}) { track { id } } }", json!({"id": release, "isrc": isrc, "title": format!("Song {i}")})).await;
        isrcs.push(isrc);
    }
    let data = app.ok(Some(&token), "mutation($input: SetSplitInput!) { setSplit(input: $input) { split { id } userErrors { message } } }", json!({"input": {"releaseId": release, "effectiveFrom": "2020-01-01", "shares": [{"payeeId": ada, "share": "70"}, {"payeeId": producer, "share": "30"}]}})).await;
    assert!(data["setSplit"]["split"]["id"].is_string(), "{data}");
    Label { token, org, isrcs }
}

/// A worker process like `imprint worker`, which a test may kill.
fn worker(app: &TestApp) -> Child {
    let config = &app.state.config;
    let mut command = Command::new(env!("CARGO_BIN_EXE_test_worker"));
    command
        .env("IMPRINT_DATABASE_URL", &config.database_url)
        .env("IMPRINT_DATA_DIR", &config.data_dir)
        .env("IMPRINT_NAMESPACE", &config.namespace)
        .env("IMPRINT_WORKER_HEARTBEAT_MS", "300")
        .env("RUST_LOG", "error");
    match &config.queue {
        api::config::QueueBackend::Sqlite { url } => command.env("IMPRINT_QUEUE_URL", url),
        api::config::QueueBackend::Redis { url } => command.env("IMPRINT_REDIS_URL", url),
    };
    command.spawn().expect("worker process")
}

const STATEMENT: &str = "query($id: ID!) { statement(id: $id) { status lineCount unmatchedCount allocatedCount unallocatedCount allocationStatus totals { amount { amount } } } }";
const SUMMARY: &str = "query($id: ID!) { organization(id: $id) { moneySummary { currency allocated { amount } paid { amount } carriedForward { amount } reserved { amount } recouped { amount } pending { amount } balanced } } }";

/// Statements not yet parsed and allocated: work a kill now interrupts.
async fn unfinished(app: &TestApp) -> u64 {
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    entity::statement::Entity::find()
        .filter(
            sea_orm::Condition::any()
                .add(entity::statement::Column::Status.ne("parsed"))
                .add(entity::statement::Column::AllocationStatus.ne("allocated")),
        )
        .count(&app.state.db)
        .await
        .unwrap_or(0)
}

/// Waits until every statement is parsed and allocated, then checks the books.
async fn settle_and_check(app: &TestApp, l: &Label, statements: &[(String, i128)], round: u64) {
    let started = Instant::now();
    let mut expected: i128 = 0;
    for (id, total) in statements {
        let st = app
            .eventually(TIMEOUT, || async {
                let data = app.ok(Some(&l.token), STATEMENT, json!({"id": id})).await;
                let st = data["statement"].clone();
                (st["status"] == "PARSED" && st["allocationStatus"] == "ALLOCATED").then_some(st)
            })
            .await;
        assert_eq!(
            st["lineCount"], LINES_PER_STATEMENT,
            "round {round}: no line lost or doubled: {st}"
        );
        assert_eq!(st["unmatchedCount"], 0, "{st}");
        assert_eq!(st["allocatedCount"], st["lineCount"], "{st}");
        assert_eq!(
            nanos(&st["totals"][0]["amount"]["amount"]),
            *total,
            "round {round}: the lines sum to the file"
        );
        expected += total;
    }
    let data = app.ok(Some(&l.token), SUMMARY, json!({"id": l.org})).await;
    let summary = &data["organization"]["moneySummary"][0];
    assert_eq!(
        nanos(&summary["allocated"]["amount"]),
        expected,
        "round {round}: the ledger holds exactly the lines' money: {summary}"
    );
    assert_eq!(summary["balanced"], true, "round {round}: {summary}");
    eprintln!(
        "  after kill {round}: {} statements, books exact and balanced (settled in {:.1} s)",
        statements.len(),
        started.elapsed().as_secs_f64()
    );
}

async fn chaos(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, false).await else {
        return;
    };
    let kills = env_number("IMPRINT_CHAOS_KILLS", 100);
    let seed = env_number(
        "IMPRINT_CHAOS_SEED",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
            | 1,
    );
    eprintln!("chaos on {backend:?}: {kills} kills, IMPRINT_CHAOS_SEED={seed}");
    let mut rng = Rng(seed);
    let l = label(&app).await;
    let checks = 5.min(kills.max(1));
    let per_check = kills.div_ceil(checks).max(1);
    let mut statements: Vec<(String, i128)> = Vec::new();
    let mut run: Option<String> = None;
    let mut mid_job = 0;
    let mut current = worker(&app);
    for kill in 1..=kills {
        // Fresh work before every kill: a statement to parse, match and allocate, and half-way
        // a payout run to compute.
        let (bytes, total) = statement(&mut rng, &l.isrcs);
        let name = format!("chaos-{kill}.tsv");
        let upload = app.upload_statement(&l.token, &l.org, &name, bytes).await;
        let id = upload["data"]["uploadStatement"]["statement"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{upload}"))
            .to_owned();
        statements.push((id, total));
        if kill == kills.div_ceil(2) {
            let data = app.ok(Some(&l.token), "mutation($org: ID!) { createPayoutRun(input: {organizationId: $org, periodEnd: \"2025-06-30\"}) { payoutRun { id } userErrors { message } } }", json!({"org": l.org})).await;
            run = data["createPayoutRun"]["payoutRun"]["id"]
                .as_str()
                .map(str::to_owned);
        }
        // Then SIGKILL at a random point of it, and a new worker takes over.
        tokio::time::sleep(Duration::from_millis(10 + rng.below(400))).await;
        if unfinished(&app).await > 0 {
            mid_job += 1;
        }
        current.kill().expect("SIGKILL");
        current.wait().expect("reaped");
        current = worker(&app);
        if kill % per_check == 0 || kill == kills {
            settle_and_check(&app, &l, &statements, kill).await;
        }
    }
    eprintln!("  {mid_job} of {kills} kills came while a statement was still being processed");
    let killed = kills;
    // The payout run, computed under the kills, is approved and paid; the books still balance.
    let run = run.expect("a payout run");
    let ready = app
        .eventually(TIMEOUT, || async {
            let data = app.ok(Some(&l.token), "query($id: ID!) { node(id: $id) { ... on PayoutRun { status payouts(first: 100) { edges { node { payee { id } payable { amount } status } } } } } }", json!({"id": run})).await;
            (data["node"]["status"] == "READY").then(|| data["node"].clone())
        })
        .await;
    app.ok(Some(&l.token), "mutation($id: ID!) { approvePayoutRun(input: {payoutRunId: $id}) { userErrors { message } } }", json!({"id": run})).await;
    let payments: Vec<Value> = ready["payouts"]["edges"]
        .as_array()
        .expect("payouts")
        .iter()
        .filter(|e| nanos(&e["node"]["payable"]["amount"]) > 0)
        .map(|e| json!({"payeeId": e["node"]["payee"]["id"], "paymentReference": "CHAOS-1"}))
        .collect();
    let data = app.ok(Some(&l.token), "mutation($id: ID!, $p: [PaymentInput!]!) { markPayoutRunPaid(input: {payoutRunId: $id, payments: $p}) { payoutRun { status } userErrors { message } } }", json!({"id": run, "p": payments})).await;
    assert_eq!(data["markPayoutRunPaid"]["userErrors"], json!([]), "{data}");
    let data = app.ok(Some(&l.token), SUMMARY, json!({"id": l.org})).await;
    let summary = &data["organization"]["moneySummary"][0];
    assert_eq!(summary["balanced"], true, "after paying: {summary}");
    assert!(nanos(&summary["paid"]["amount"]) > 0, "{summary}");
    current.kill().ok();
    current.wait().ok();
    eprintln!("chaos on {backend:?}: {killed} kills survived, seed {seed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_killed_at_random_points_lose_and_double_nothing_sqlite() {
    chaos(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_killed_at_random_points_lose_and_double_nothing_postgres() {
    chaos(Backend::Postgres).await;
}

/// A job whose push was lost is owed by its row: the sweeper pushes it again, and running it
/// twice (the push was not lost after all) parses the statement once.
async fn a_lost_push_is_swept(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, false).await else {
        return;
    };
    let l = label(&app).await;
    let mut rng = Rng(7);
    let (bytes, total) = statement(&mut rng, &l.isrcs);
    let upload = app
        .upload_statement(&l.token, &l.org, "lost.tsv", bytes)
        .await;
    let id = upload["data"]["uploadStatement"]["statement"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{upload}"))
        .to_owned();
    let ctx = app.state.job_context();
    // Not yet overdue: nothing to sweep.
    let swept = workers::sweeper::sweep(&ctx, workers::sweeper::OVERDUE)
        .await
        .expect("sweep");
    assert_eq!(swept, 0);
    // Overdue (as after a lost push): the parse is pushed again.
    let swept = workers::sweeper::sweep(&ctx, Duration::ZERO)
        .await
        .expect("sweep");
    assert!(swept >= 1, "the uploaded statement is owed its parse");
    let row = api::graphql::ids::decode(api::graphql::ids::Kind::Statement, &id.clone().into())
        .expect("statement id");
    for _ in 0..2 {
        workers::perform(&ctx, &workers::Job::ParseStatement { statement_id: row })
            .await
            .expect("parse");
    }
    let st = app.wait_for_statement(&l.token, &id).await;
    assert_eq!(st["lineCount"], LINES_PER_STATEMENT, "{st}");
    assert_eq!(nanos(&st["totals"][0]["amount"]["amount"]), total);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_push_is_swept_sqlite() {
    a_lost_push_is_swept(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_push_is_swept_postgres() {
    a_lost_push_is_swept(Backend::Postgres).await;
}

/// A worker whose Redis stops answering for a while (`CLIENT PAUSE`) stays up and goes on
/// working once it answers again, rather than exiting and leaving its jobs to the orphan
/// timeout. PostgreSQL + Redis only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_rides_out_a_redis_pause() {
    let Some(app) = TestApp::spawn_with(Backend::Postgres, false).await else {
        return;
    };
    let api::config::QueueBackend::Redis { url } = app.state.config.queue.clone() else {
        eprintln!("skipped: the queue is not on Redis");
        return;
    };
    let l = label(&app).await;
    let mut rng = Rng(11);
    let mut current = worker(&app);
    let parse = |name: &'static str, bytes: Vec<u8>| {
        let (app, l) = (&app, &l);
        async move {
            let upload = app.upload_statement(&l.token, &l.org, name, bytes).await;
            let id = upload["data"]["uploadStatement"]["statement"]["id"]
                .as_str()
                .unwrap_or_else(|| panic!("{upload}"))
                .to_owned();
            app.wait_for_statement(&l.token, &id).await
        }
    };
    let (bytes, _) = statement(&mut rng, &l.isrcs);
    let st = parse("before.tsv", bytes).await;
    assert_eq!(st["status"], "PARSED", "{st}");

    let paused = Command::new("redis-cli")
        .args(["-u", &url, "CLIENT", "PAUSE", "5000", "ALL"])
        .output()
        .expect("redis-cli");
    assert!(paused.status.success(), "{paused:?}");
    tokio::time::sleep(Duration::from_secs(8)).await;
    assert!(
        current.try_wait().expect("status").is_none(),
        "the worker exited during the pause"
    );
    let (bytes, total) = statement(&mut rng, &l.isrcs);
    let st = parse("after.tsv", bytes).await;
    assert_eq!(st["status"], "PARSED", "{st}");
    assert_eq!(nanos(&st["totals"][0]["amount"]["amount"]), total);
    current.kill().ok();
    current.wait().ok();
}
