//! Hostile and broken statement files are contained: a bomb or a line without end fails its
//! statement at once with the reason; an amount out of range is a line error while the good
//! lines stay, and neither the statement's totals nor the analytics break on it; a failed
//! statement is parsed again once a template exists; what retrying cannot fix fails on the
//! first try; refreshes of one organisation's analytics never collide.

use std::io::Write;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tests::{Backend, TestApp, on_every_backend};

const HEADER: &str = tests::fixtures::DISTROKID_HEADER;

fn row(sale_month: &str, amount: &str) -> String {
    format!(
        "2025-03-05\t{sale_month}\tSpotify\tAda Vesper\tHarbour Lights\tUSAB12400001\t\t1\t100\tSong\tUS\t0\t{amount}"
    )
}

fn distrokid(rows: &[String]) -> Vec<u8> {
    let mut text = format!("{HEADER}\r\n");
    for r in rows {
        text.push_str(r);
        text.push_str("\r\n");
    }
    text.into_bytes()
}

fn gzip(parts: impl IntoIterator<Item = Vec<u8>>) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    for part in parts {
        gz.write_all(&part).expect("gzip");
    }
    gz.finish().expect("gzip finish")
}

fn statement_id(upload: &Value) -> String {
    upload["data"]["uploadStatement"]["statement"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("upload failed: {upload}"))
        .to_owned()
}

async fn org(app: &TestApp, email: &str) -> (String, String) {
    let token = app.sign_up(email).await;
    let org = app.create_organization(&token, "Hostile Records").await;
    (token, org)
}

async fn errors_of(app: &TestApp, token: &str, id: &str) -> Vec<(i64, String)> {
    let data = app
        .ok(
            Some(token),
            "query($id: ID!) { statement(id: $id) { errors(first: 50) { edges { node { lineNumber reason } } } } }",
            json!({ "id": id }),
        )
        .await;
    data["statement"]["errors"]["edges"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            (
                e["node"]["lineNumber"].as_i64().expect("line"),
                e["node"]["reason"].as_str().expect("reason").to_owned(),
            )
        })
        .collect()
}

async fn stored_lines(app: &TestApp, statement: &str) -> i64 {
    use sea_orm::ConnectionTrait;
    let db = &app.state.db;
    let row = db
        .query_one_raw(sea_orm::Statement::from_sql_and_values(
            db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM statement_lines WHERE statement_id = $1",
            [tests::decode_id(statement).into()],
        ))
        .await
        .expect("count")
        .expect("row");
    row.try_get::<i64>("", "n").expect("n")
}

/// Roll-up rows and the lines they count, for the organisation.
async fn rollup(app: &TestApp, org: &str) -> (i64, i64) {
    use sea_orm::ConnectionTrait;
    let db = &app.state.db;
    let row = db
        .query_one_raw(sea_orm::Statement::from_sql_and_values(
            db.get_database_backend(),
            "SELECT COUNT(*) AS n, CAST(COALESCE(SUM(line_count), 0) AS BIGINT) AS lines FROM analytics_monthly WHERE organization_id = $1",
            [tests::decode_id(org).into()],
        ))
        .await
        .expect("rollup")
        .expect("row");
    (
        row.try_get::<i64>("", "n").expect("n"),
        row.try_get::<i64>("", "lines").expect("lines"),
    )
}

async fn bombs_and_endless_lines_fail_at_once(app: TestApp) {
    let (token, org) = org(&app, "bomb@hostile.test").await;
    // 64 MiB of valid rows in a gzip of well under 1 MiB; the test server allows 8 MiB.
    let good = row("2025-01", "0.01");
    let mut body = Vec::with_capacity(64 * 1024 * 1024 + good.len());
    while body.len() < 64 * 1024 * 1024 {
        body.extend_from_slice(good.as_bytes());
        body.extend_from_slice(b"\r\n");
    }
    let bomb = gzip([distrokid(&[]), body]);
    assert!(bomb.len() < 1024 * 1024, "{}", bomb.len());
    let started = Instant::now();
    let upload = app
        .upload_statement(&token, &org, "bomb.tsv.gz", bomb)
        .await;
    let id = statement_id(&upload);
    let st = app.wait_for_statement(&token, &id).await;
    assert_eq!(st["status"], "FAILED", "{st}");
    assert!(
        st["failureReason"]
            .as_str()
            .unwrap_or_default()
            .contains("decompresses to more than 8388608 bytes"),
        "{st}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    // What was written before the limit does not stay behind a failed statement.
    assert_eq!(stored_lines(&app, &id).await, 0);

    // 4 MiB without a line break, gzipped: refused at the 1 MiB line limit.
    let endless = gzip([
        distrokid(&[row("2025-01", "1")]),
        vec![b'9'; 4 * 1024 * 1024],
    ]);
    let upload = app
        .upload_statement(&token, &org, "endless.tsv.gz", endless)
        .await;
    let st = app.wait_for_statement(&token, &statement_id(&upload)).await;
    assert_eq!(st["status"], "FAILED", "{st}");
    assert!(
        st["failureReason"]
            .as_str()
            .unwrap_or_default()
            .contains("line 3 is longer than 1048576 bytes"),
        "{st}"
    );
}

async fn out_of_range_amounts_are_line_errors(app: TestApp) {
    let (token, org) = org(&app, "overflow@hostile.test").await;
    let file = distrokid(&[
        row("2025-01", "1.50"),
        // Beyond what a line may carry.
        row("2025-01", "9300000000"),
        row("2025-01", "9000000000"),
        // Each fits; with the line before it, the statement's total would not.
        row("2025-01", "9000000000"),
        row("2025-01", "2.25"),
    ]);
    let upload = app.upload_statement(&token, &org, "huge.tsv", file).await;
    let id = statement_id(&upload);
    let st = app.wait_for_statement(&token, &id).await;
    assert_eq!(st["status"], "PARSED", "{st}");
    assert_eq!(st["lineCount"], 3, "{st}");
    assert_eq!(st["errorCount"], 2, "{st}");
    assert_eq!(st["totals"][0]["amount"]["amount"], "9000000003.75", "{st}");
    let errors = errors_of(&app, &token, &id).await;
    assert_eq!(
        errors.iter().map(|e| e.0).collect::<Vec<_>>(),
        [3, 5],
        "{errors:?}"
    );
    assert!(errors[0].1.contains("out of range"), "{errors:?}");
    assert!(
        errors[1].1.contains("past ±9223372036.854775807"),
        "{errors:?}"
    );
    // The analytics refresh went through: one roll-up row of three lines.
    let (rows, lines) = app
        .eventually(Duration::from_secs(30), || async {
            let r = rollup(&app, &org).await;
            (r.1 == 3).then_some(r)
        })
        .await;
    assert_eq!((rows, lines), (1, 3));
    // Analytics reports the month's total exactly, summed without a BIGINT SUM.
    let totals = "query($org: ID!) { analytics(organizationId: $org, groupBy: [MONTH]) { totals { lineCount earnings { amount } } } }";
    let exact = app.ok(Some(&token), totals, json!({"org": org})).await;
    assert_eq!(
        exact["analytics"]["totals"]["earnings"]["amount"], "9000000003.75",
        "{exact}"
    );

    // A second statement in the same month and roll-up group: the group's sum is beyond an
    // i64 of nano-units. The refresh saturates it rather than failing every later refresh.
    let upload = app
        .upload_statement(
            &token,
            &org,
            "huge-2.tsv",
            distrokid(&[row("2025-01", "8999999999"), row("2025-01", "0.75")]),
        )
        .await;
    let st = app.wait_for_statement(&token, &statement_id(&upload)).await;
    assert_eq!(st["status"], "PARSED", "{st}");
    assert_eq!(st["lineCount"], 2, "{st}");
    let (rows, lines) = app
        .eventually(Duration::from_secs(30), || async {
            let r = rollup(&app, &org).await;
            (r.1 == 5).then_some(r)
        })
        .await;
    assert_eq!((rows, lines), (1, 5));
    workers::perform(
        &app.state.job_context(),
        &workers::Job::RefreshAnalytics {
            organization_id: tests::decode_id(&org),
            statement_id: None,
        },
    )
    .await
    .expect("a whole refresh over the saturated month");

    // Asked for, the month's total (beyond an i64 of nano-units) is an error that says so, not
    // a saturated or wrapped number.
    let refused = app
        .eventually(Duration::from_secs(30), || async {
            let body = app.graphql(Some(&token), totals, json!({"org": org})).await;
            body["errors"].is_array().then_some(body)
        })
        .await;
    assert!(
        refused["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("cannot be reported"),
        "{refused}"
    );
    assert!(
        refused["data"].is_null() || refused["data"]["analytics"].is_null(),
        "no number beside the error: {refused}"
    );
}

async fn silent_misreads_are_reported(app: TestApp) {
    let (token, org) = org(&app, "misread@hostile.test").await;
    let shifted = row("2025-01", "1.00").replace("Harbour Lights", "Harbour\tLights");
    let file = distrokid(&[
        row("2025-01", "0,123"),
        shifted,
        row("Jan-ish 2025", "2.00"),
        row("2025-01", "3.00"),
    ]);
    let upload = app
        .upload_statement(&token, &org, "misread.tsv", file)
        .await;
    let id = statement_id(&upload);
    let st = app.wait_for_statement(&token, &id).await;
    assert_eq!(st["status"], "PARSED", "{st}");
    assert_eq!(st["lineCount"], 2, "{st}");
    let errors = errors_of(&app, &token, &id).await;
    assert_eq!(
        errors.iter().map(|e| e.0).collect::<Vec<_>>(),
        [2, 3],
        "{errors:?}"
    );
    assert!(errors[0].1.contains("ambiguous"), "{errors:?}");
    assert!(
        errors[1].1.contains("14 cells but the header has 13"),
        "{errors:?}"
    );
    let warnings = st["warnings"].to_string();
    assert!(
        warnings.contains("have a date that could not be read") && warnings.contains("line 4"),
        "{warnings}"
    );
}

async fn a_failed_statement_is_parsed_again_after_a_template(app: TestApp) {
    let (token, org) = org(&app, "reparse@hostile.test").await;
    let csv = "Period;Song Code;Song;Country;Plays;Revenue EUR\r\n2025-01;USAB12400001;Harbour Lights;DE;1200;1,50\r\n";
    let upload = app
        .upload_statement(&token, &org, "radio.csv", csv.as_bytes().to_vec())
        .await;
    let id = statement_id(&upload);
    let st = app.wait_for_statement(&token, &id).await;
    assert_eq!(st["status"], "FAILED", "{st}");
    assert!(
        st["failureReason"]
            .as_str()
            .unwrap_or_default()
            .contains("createImportTemplate"),
        "{st}"
    );
    let reparse = "mutation($id: ID!) { reparseStatement(input: {statementId: $id}) { statement { id status } userErrors { field message } } }";
    // Someone without write access to the organisation's money cannot.
    let stranger = app.sign_up("stranger@hostile.test").await;
    let refused = app
        .graphql(Some(&stranger), reparse, json!({ "id": id }))
        .await;
    assert!(refused["errors"].is_array(), "{refused}");
    app.ok(Some(&token), "mutation($org: ID!) { createImportTemplate(input: {organizationId: $org, name: \"Radio\", mapping: {amount: \"Revenue EUR\", isrc: \"song code\", title: \"Song\", territory: \"Country\", quantity: \"Plays\", salePeriod: \"Period\", decimalComma: true}}) { importTemplate { name } } }", json!({"org": org})).await;
    let again = app.ok(Some(&token), reparse, json!({ "id": id })).await;
    assert_eq!(
        again["reparseStatement"]["statement"]["status"], "UPLOADED",
        "{again}"
    );
    let st = app.wait_for_statement(&token, &id).await;
    assert_eq!(st["status"], "PARSED", "{st}");
    assert_eq!(st["format"], "template");
    assert_eq!(st["lineCount"], 1);
    assert_eq!(st["failureReason"], Value::Null);
    // A parsed statement is not parsed again.
    let twice = app.ok(Some(&token), reparse, json!({ "id": id })).await;
    assert_eq!(
        twice["reparseStatement"]["userErrors"][0]["field"],
        json!(["statementId"]),
        "{twice}"
    );
}

async fn what_retrying_cannot_fix_fails_on_the_first_try(app: TestApp) {
    let (token, org) = org(&app, "gone@hostile.test").await;
    let upload = app
        .upload_statement(
            &token,
            &org,
            "gone.tsv",
            distrokid(&[row("2025-01", "1.00")]),
        )
        .await;
    let id = statement_id(&upload);
    // The stored file disappears before a worker reads it (this app runs no workers).
    let api::config::FileStoreLocation::Local(dir) = &app.state.config.file_store else {
        panic!("the test store is a folder");
    };
    let model =
        <entity::statement::Entity as sea_orm::EntityTrait>::find_by_id(tests::decode_id(&id))
            .one(&app.state.db)
            .await
            .expect("query")
            .expect("statement");
    std::fs::remove_file(dir.join(&model.storage_key)).expect("remove the stored file");
    // Through the queue, as a worker runs it.
    let ctx = app.state.job_context();
    let started = Instant::now();
    tokio::spawn(async move {
        let never = std::future::pending::<std::io::Result<()>>();
        let _ = workers::run(ctx, 1, never).await;
    });
    let done = app.wait_for_statement(&token, &id).await;
    assert_eq!(done["status"], "FAILED", "{done}");
    let reason = done["failureReason"].as_str().unwrap_or_default();
    assert!(reason.contains("is missing"), "{reason}");
    assert!(!reason.contains("gave up after"), "not retried: {reason}");
    assert!(started.elapsed() < Duration::from_secs(20));
}

async fn refreshes_of_one_organisation_never_collide(app: TestApp) {
    let (token, org) = org(&app, "refresh@hostile.test").await;
    let rows: Vec<String> = (0..200)
        .map(|i| {
            row(&format!("2025-{:02}", i % 12 + 1), "0.10")
                .replace(
                    "\tUS\t",
                    &format!("\t{}\t", ["US", "GB", "DE", "FR"][i % 4]),
                )
                .replace("Spotify", &format!("Store {}", i % 7))
        })
        .collect();
    let upload = app
        .upload_statement(&token, &org, "many.tsv", distrokid(&rows))
        .await;
    let st = app.wait_for_statement(&token, &statement_id(&upload)).await;
    assert_eq!(st["status"], "PARSED", "{st}");
    let organization_id = tests::decode_id(&org);
    let ctx = app.state.job_context();
    for _ in 0..5 {
        let jobs = (0..4).map(|_| {
            let ctx = ctx.clone();
            tokio::spawn(async move {
                workers::perform(
                    &ctx,
                    &workers::Job::RefreshAnalytics {
                        organization_id,
                        statement_id: None,
                    },
                )
                .await
            })
        });
        for result in futures::future::join_all(jobs).await {
            result.expect("join").expect("refresh");
        }
    }
    let (_, lines) = rollup(&app, &org).await;
    assert_eq!(lines, 200);
}

/// `imprint import` of a file that fails: an error with the reason (the command prints it and
/// exits with code 1), never a report of a statement "failed, format ?" and success.
async fn import_of_a_failing_file_is_an_error_with_the_reason(app: TestApp) {
    let (_token, org) = org(&app, "import@hostile.test").await;
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("unknown.csv");
    std::fs::write(&path, "name,colour,size\nx,red,3\n").expect("write");
    let result = api::app::import(&app.state, &path, &org, None, true).await;
    let message = format!("{:#}", result.expect_err("the import fails"));
    assert!(
        message.contains("failed: unknown statement layout"),
        "{message}"
    );
    assert!(message.contains("createImportTemplate"), "{message}");
    // A good file imports, and says so.
    let good = dir.path().join("good.tsv");
    std::fs::write(&good, distrokid(&[row("2025-01", "1.00")])).expect("write");
    let report = api::app::import(&app.state, &good, &org, None, true)
        .await
        .expect("imports");
    assert!(
        report.contains(": parsed, format distro_kid, 1 lines"),
        "{report}"
    );
}

on_every_backend!(
    import_of_a_failing_file_is_an_error_with_the_reason,
    out_of_range_amounts_are_line_errors,
    silent_misreads_are_reported,
    a_failed_statement_is_parsed_again_after_a_template,
    refreshes_of_one_organisation_never_collide,
);

/// An app whose statements may decompress to 8 MiB at most.
async fn with_small_limits(backend: Backend) -> Option<TestApp> {
    TestApp::spawn_configured(backend, true, |config| {
        config.statement_limits.max_decompressed_bytes = 8 * 1024 * 1024;
    })
    .await
}

/// An app that runs no workers until the test starts them.
async fn without_workers(backend: Backend) -> Option<TestApp> {
    TestApp::spawn_with(backend, false).await
}

macro_rules! on_every_backend_spawned_by {
    ($spawn:ident: $($scenario:ident),+ $(,)?) => {
        $(
            mod $scenario {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let app = super::$spawn(tests::Backend::Sqlite).await.expect("sqlite app");
                    super::$scenario(app).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(app) = super::$spawn(tests::Backend::Postgres).await {
                        super::$scenario(app).await;
                    }
                }
            }
        )+
    };
}

on_every_backend_spawned_by!(with_small_limits: bombs_and_endless_lines_fail_at_once);
on_every_backend_spawned_by!(without_workers: what_retrying_cannot_fix_fails_on_the_first_try);

/// `imprint import` beside a running server on one SQLite file: the import's own connections
/// (a second process's, as far as SQLite's locks go) wait for the server's writes instead of
/// failing with "database is locked", while the server parses uploads of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_beside_a_running_server_on_sqlite() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("sqlite app");
    let (token, org) = org(&app, "beside@hostile.test").await;
    let other = api::app::connect(&app.state.config)
        .await
        .expect("a second set of connections");
    let dir = tempfile::tempdir().expect("dir");
    let file = |n: usize, amount: &str| {
        let rows: Vec<String> = (0..300)
            .map(|i| {
                row(&format!("2025-{:02}", i % 12 + 1), amount)
                    .replace("Spotify", &format!("Store {n}-{i}"))
            })
            .collect();
        distrokid(&rows)
    };
    let mut paths = Vec::new();
    for n in 0..6 {
        let path = dir.path().join(format!("import-{n}.tsv"));
        std::fs::write(&path, file(n, "0.25")).expect("write");
        paths.push(path);
    }
    let imports = futures::future::join_all(
        paths
            .iter()
            .map(|path| api::app::import(&other, path, &org, None, true)),
    );
    let names: Vec<String> = (0..6).map(|n| format!("upload-{n}.tsv")).collect();
    let uploads = futures::future::join_all(
        names
            .iter()
            .enumerate()
            .map(|(n, name)| app.upload_statement(&token, &org, name, file(n + 100, "0.5"))),
    );
    let (imported, uploaded) = futures::join!(imports, uploads);
    for report in imported {
        let report = report.expect("the import waits for the lock, and succeeds");
        assert!(report.contains(": parsed,"), "{report}");
    }
    for upload in uploaded {
        let st = app.wait_for_statement(&token, &statement_id(&upload)).await;
        assert_eq!(st["status"], "PARSED", "{st}");
    }
}
