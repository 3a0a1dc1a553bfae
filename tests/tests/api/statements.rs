//! Statement ingestion through the API: upload, parse, match, re-upload, overlap, bad files,
//! templates, progress, and a worker killed mid-file.

use std::time::Duration;

use serde_json::{Value, json};
use tests::{Backend, TestApp, on_every_backend};

struct Label {
    token: String,
    org: String,
    track: String,
}

/// An organisation with one artist, a release with UPC 036000291452 and a track USAB12400001.
async fn label(app: &TestApp, email: &str) -> Label {
    let token = app.sign_up(email).await;
    let org = app.create_organization(&token, "Statement Records").await;
    let data = app.ok(Some(&token), "mutation($org: ID!) { createArtist(input: {organizationId: $org, name: \"Ada Vesper\"}) { artist { id } } }", json!({"org": org})).await;
    let artist = data["createArtist"]["artist"]["id"]
        .as_str()
        .expect("artist")
        .to_owned();
    let data = app.ok(Some(&token), "mutation($id: ID!) { createRelease(input: {artistId: $id, title: \"Night Ferry\", releaseType: ALBUM, upc: \"036000291452\"}) { release { id } } }", json!({"id": artist})).await;
    let release = data["createRelease"]["release"]["id"]
        .as_str()
        .expect("release")
        .to_owned();
    let data = app.ok(Some(&token), "mutation($id: ID!) { addTrack(input: {releaseId: $id, title: \"Harbour Lights\", isrc: \"USAB12400001\"}) { track { id } } }", json!({"id": release})).await;
    let track = data["addTrack"]["track"]["id"]
        .as_str()
        .expect("track")
        .to_owned();
    app.ok(Some(&token), "mutation($id: ID!) { addTrack(input: {releaseId: $id, title: \"Lowtide\", isrc: \"USAB12400002\"}) { track { id } } }", json!({"id": release})).await;
    Label { token, org, track }
}

use tests::fixtures::distrokid;

const MATCHED_1: &str =
    "2025-03-05|2025-01|Spotify|Ada Vesper|Harbour Lights|USAB12400001||120|100|Song|US|0|.452113";
const MATCHED_2: &str =
    "2025-03-05|2025-01|Apple Music|Ada Vesper|Lowtide|usab-124-00002||3|100|Song|GB|0|2.1";
const BY_UPC: &str =
    "2025-03-05|2025-01|Bandcamp|Ada Vesper|Night Ferry||036000291452|1|100|Album|DE|0|7.00";
const UNKNOWN: &str =
    "2025-03-05|2025-01|Deezer|Ada Vesper|Salt & Static|QZXYZ2500077||40|100|Song|FR|0|0.123456789";
const BAD_NUMBER: &str =
    "2025-03-05|2025-01|Tidal|Ada Vesper|Harbour Lights|USAB12400001||2|100|Song|SE|0|12,3.4";
const RETURN: &str =
    "2025-03-05|2025-02|Spotify|Ada Vesper|Harbour Lights|USAB12400001||-1|100|Song|US|0|-0.01";

fn statement_id(upload: &Value) -> String {
    upload["data"]["uploadStatement"]["statement"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("upload failed: {upload}"))
        .to_owned()
}

async fn upload_parse_match_reupload_and_overlap(app: TestApp) {
    let l = label(&app, "statements@label.test").await;
    let file = distrokid(&[MATCHED_1, MATCHED_2, BY_UPC, UNKNOWN, BAD_NUMBER, RETURN]);
    let upload = app
        .upload_statement(&l.token, &l.org, "distrokid-2025-01.tsv", file.clone())
        .await;
    assert_eq!(upload["data"]["uploadStatement"]["duplicate"], false);
    let id = statement_id(&upload);
    let st = app.wait_for_statement(&l.token, &id).await;
    assert_eq!(st["status"], "PARSED", "{st}");
    assert_eq!(st["format"], "distro_kid");
    assert_eq!(
        st["lineCount"], 5,
        "the bad line is an error, the good ones are kept"
    );
    assert_eq!(st["errorCount"], 1);
    assert_eq!(
        st["matchedCount"], 4,
        "two by ISRC (one hyphenated, lower case), one by UPC, the return"
    );
    assert_eq!(st["unmatchedCount"], 1);
    // .452113 + 2.1 + 7.00 + 0.123456789 − 0.01 = 9.665569789
    assert_eq!(
        st["totals"],
        json!([{"amount": {"amount": "9.665569789", "currency": "USD"}, "lineCount": 5}])
    );

    let errors = app.ok(Some(&l.token), "query($id: ID!) { statement(id: $id) { errors { edges { node { lineNumber reason raw } } } } }", json!({"id": id})).await;
    let error = &errors["statement"]["errors"]["edges"][0]["node"];
    assert_eq!(
        error["lineNumber"], 6,
        "header is line 1, the bad row is line 6"
    );
    assert!(error["raw"].as_str().unwrap_or_default().contains("12,3.4"));

    // The same file again: the same statement, nothing new.
    let again = app
        .upload_statement(&l.token, &l.org, "renamed.tsv", file)
        .await;
    assert_eq!(again["data"]["uploadStatement"]["duplicate"], true);
    assert_eq!(statement_id(&again), id);

    // An overlapping export: two lines already imported, one new.
    const NEW: &str =
        "2025-03-06|2025-02|Spotify|Ada Vesper|Lowtide|USAB12400002||10|100|Song|JP|0|0.05";
    let overlap = app
        .upload_statement(
            &l.token,
            &l.org,
            "distrokid-overlap.tsv",
            distrokid(&[MATCHED_1, MATCHED_2, NEW]),
        )
        .await;
    let overlap_id = statement_id(&overlap);
    let st = app.wait_for_statement(&l.token, &overlap_id).await;
    assert_eq!(st["lineCount"], 1, "overlapping lines count once: {st}");
    assert_eq!(st["totals"][0]["amount"]["amount"], "0.05");
    assert!(
        st["warnings"]
            .as_array()
            .expect("warnings")
            .iter()
            .any(|w| w
                .as_str()
                .unwrap_or_default()
                .contains("2 lines were already imported")),
        "{st}"
    );

    // Assign the unknown ISRC to a track; it is remembered for later statements.
    let matched = app.ok(Some(&l.token), "mutation($s: ID!, $t: ID!) { matchStatementLines(input: {statementId: $s, identifier: \"QZ-XYZ-25-00077\", trackId: $t}) { matchedLineCount statement { unmatchedCount matchedCount } userErrors { message } } }", json!({"s": id, "t": l.track})).await;
    assert_eq!(matched["matchStatementLines"]["matchedLineCount"], 1);
    assert_eq!(
        matched["matchStatementLines"]["statement"]["unmatchedCount"],
        0
    );
    const LATER: &str =
        "2025-04-05|2025-03|Deezer|Ada Vesper|Salt and Static|QZXYZ2500077||41|100|Song|FR|0|0.2";
    let later = app
        .upload_statement(
            &l.token,
            &l.org,
            "distrokid-2025-03.tsv",
            distrokid(&[LATER]),
        )
        .await;
    let st = app
        .wait_for_statement(&l.token, &statement_id(&later))
        .await;
    assert_eq!(st["matchedCount"], 1, "the alias matched it: {st}");
    let lines = app.ok(Some(&l.token), "query($id: ID!) { statement(id: $id) { lines { edges { node { matchMethod track { isrc } territory } } } } }", json!({"id": statement_id(&later)})).await;
    assert_eq!(
        lines["statement"]["lines"]["edges"][0]["node"],
        json!({"matchMethod": "alias", "track": {"isrc": "USAB12400001"}, "territory": "FR"})
    );
}

async fn bad_files_are_reported_not_lost(app: TestApp) {
    let l = label(&app, "bad@label.test").await;
    let empty = app
        .upload_statement(&l.token, &l.org, "empty.tsv", Vec::new())
        .await;
    assert_eq!(
        empty["data"]["uploadStatement"]["userErrors"][0]["field"],
        json!(["file"])
    );
    assert!(empty["data"]["uploadStatement"]["statement"].is_null());

    let binary: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let upload = app
        .upload_statement(&l.token, &l.org, "photo.jpg", binary)
        .await;
    let st = app
        .wait_for_statement(&l.token, &statement_id(&upload))
        .await;
    assert_eq!(st["status"], "FAILED");
    assert!(
        st["failureReason"].as_str().is_some_and(|r| !r.is_empty()),
        "{st}"
    );

    let unknown = app
        .upload_statement(
            &l.token,
            &l.org,
            "mystery.csv",
            b"Foo,Bar,Baz\n1,2,3\n".to_vec(),
        )
        .await;
    let st = app
        .wait_for_statement(&l.token, &statement_id(&unknown))
        .await;
    assert_eq!(st["status"], "FAILED");
    assert!(
        st["failureReason"]
            .as_str()
            .unwrap_or_default()
            .contains("unknown"),
        "{st}"
    );

    // Truncated in the middle of a row: the complete rows are kept, and the cut row is kept
    // at zero and called out, never silently dropped.
    let mut truncated = distrokid(&[MATCHED_1, MATCHED_2]);
    truncated.extend_from_slice(b"2025-03-05\t2025-01\tSpot");
    let upload = app
        .upload_statement(&l.token, &l.org, "truncated.tsv", truncated)
        .await;
    let st = app
        .wait_for_statement(&l.token, &statement_id(&upload))
        .await;
    assert_eq!(st["status"], "PARSED");
    assert_eq!(st["lineCount"], 3);
    assert_eq!(st["totals"][0]["amount"]["amount"], "2.552113");
    let warnings = st["warnings"].to_string();
    assert!(
        warnings.contains("1 lines have no amount") && warnings.contains("line 4"),
        "{st}"
    );
}

async fn import_templates_read_unknown_layouts(app: TestApp) {
    let l = label(&app, "templates@label.test").await;
    let csv = "Period;Song Code;Song;Country;Plays;Revenue EUR\r\n2025-01;USAB12400001;Harbour Lights;DE;1200;1,50\r\n2025-01;USAB12400002;Lowtide;AT;10;0,25\r\n";
    let created = app.ok(Some(&l.token), "mutation($org: ID!) { createImportTemplate(input: {organizationId: $org, name: \"Local radio\", mapping: {amount: \"Revenue EUR\", isrc: \"song code\", title: \"Song\", territory: \"Country\", quantity: \"Plays\", salePeriod: \"Period\", decimalComma: true}}) { importTemplate { name } userErrors { field message } } }", json!({"org": l.org})).await;
    assert_eq!(
        created["createImportTemplate"]["importTemplate"]["name"], "Local radio",
        "{created}"
    );
    let upload = app
        .upload_statement(&l.token, &l.org, "radio.csv", csv.as_bytes().to_vec())
        .await;
    let st = app
        .wait_for_statement(&l.token, &statement_id(&upload))
        .await;
    assert_eq!(st["status"], "PARSED", "{st}");
    assert_eq!(st["format"], "template");
    assert_eq!(st["lineCount"], 2);
    assert_eq!(st["matchedCount"], 2);
    assert_eq!(st["totals"][0]["amount"]["amount"], "1.75");
}

async fn compressed_uploads_and_the_command_line(app: TestApp) {
    use std::io::Write;
    let l = label(&app, "zip@label.test").await;
    // A .gz of one statement.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&distrokid(&[MATCHED_1, MATCHED_2]))
        .expect("gzip");
    let upload = app
        .upload_statement(
            &l.token,
            &l.org,
            "distrokid.tsv.gz",
            gz.finish().expect("gzip"),
        )
        .await;
    let st = app
        .wait_for_statement(&l.token, &statement_id(&upload))
        .await;
    assert_eq!(
        (st["status"].clone(), st["lineCount"].clone()),
        (json!("PARSED"), json!(2)),
        "{st}"
    );

    // A .zip holding two statements (and a file that is not one).
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    zip.start_file("january.tsv", options).expect("entry");
    zip.write_all(&distrokid(&[BY_UPC, UNKNOWN]))
        .expect("write");
    zip.start_file("february.tsv", options).expect("entry");
    zip.write_all(&distrokid(&[RETURN, BAD_NUMBER]))
        .expect("write");
    zip.start_file("readme.pdf", options).expect("entry");
    zip.write_all(b"%PDF-1.4").expect("write");
    let bytes = zip.finish().expect("zip").into_inner();
    let upload = app
        .upload_statement(&l.token, &l.org, "export.zip", bytes)
        .await;
    let st = app
        .wait_for_statement(&l.token, &statement_id(&upload))
        .await;
    assert_eq!(st["status"], "PARSED", "{st}");
    assert_eq!(st["lineCount"], 3);
    assert_eq!(st["errorCount"], 1);
    let errors = app.ok(Some(&l.token), "query($id: ID!) { statement(id: $id) { errors { edges { node { lineNumber reason } } } } }", json!({"id": statement_id(&upload)})).await;
    let reason = errors["statement"]["errors"]["edges"][0]["node"]["reason"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(reason.starts_with("in `february.tsv`"), "{reason}");

    // `imprint import` goes through the same door: the second import changes nothing.
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("cli.tsv");
    std::fs::write(
        &path,
        distrokid(&[
            MATCHED_1,
            "2025-05-05|2025-04|Tidal|Ada Vesper|Lowtide|USAB12400002||9|100|Song|NO|0|0.09",
        ]),
    )
    .expect("write");
    let first = api::app::import(&app.state, &path, &l.org, Some("DistroKid".into()), true)
        .await
        .expect("import");
    assert!(
        first.contains(": parsed,") && first.contains(" 1 lines"),
        "{first}"
    );
    let second = api::app::import(&app.state, &path, &l.org, None, true)
        .await
        .expect("import again");
    assert!(second.contains("already imported"), "{second}");
    assert!(
        api::app::import(&app.state, &path, "999999", None, true)
            .await
            .is_err()
    );
}

on_every_backend!(
    compressed_uploads_and_the_command_line,
    upload_parse_match_reupload_and_overlap,
    bad_files_are_reported_not_lost,
    import_templates_read_unknown_layouts
);

/// A worker killed with SIGKILL in the middle of a file leaves a partial statement; the retried
/// job finishes it with exactly the right lines and total.
async fn kill_and_retry(backend: Backend) {
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    let Some(app) = TestApp::spawn_with(backend, false).await else {
        return;
    };
    let l = label(&app, "kill@label.test").await;
    let lines = 200_000;
    let tracks = tests::fixtures::catalogue(50);
    let mut file = Vec::new();
    let expected_total =
        tests::fixtures::write_distrokid(&mut file, &tracks, lines, 0).expect("generate");
    let upload = app
        .upload_statement(&l.token, &l.org, "big.tsv", file)
        .await;
    let gid = statement_id(&upload);
    let statement = entity::statement::Entity::find()
        .filter(entity::statement::Column::Filename.eq("big.tsv"))
        .one(&app.state.db)
        .await
        .expect("query")
        .expect("registered");

    let config = &app.state.config;
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_test_worker"));
    command
        .env("IMPRINT_DATABASE_URL", &config.database_url)
        .env("IMPRINT_DATA_DIR", &config.data_dir)
        .env("IMPRINT_NAMESPACE", &config.namespace)
        .env("RUST_LOG", "warn");
    match &config.queue {
        api::config::QueueBackend::Sqlite { url } => command.env("IMPRINT_QUEUE_URL", url),
        api::config::QueueBackend::Redis { url } => command.env("IMPRINT_REDIS_URL", url),
    };
    let mut worker = command.spawn().expect("worker process");
    let count = |db: sea_orm::DatabaseConnection, id: i64| async move {
        entity::statement_line::Entity::find()
            .filter(entity::statement_line::Column::StatementId.eq(id))
            .count(&db)
            .await
            .expect("count")
    };
    let partial = app
        .eventually(Duration::from_secs(120), || {
            let db = app.state.db.clone();
            async move {
                let n = count(db, statement.id).await;
                (n >= 5_000).then_some(n)
            }
        })
        .await;
    worker.kill().expect("SIGKILL");
    worker.wait().expect("reaped");
    let after_kill = count(app.state.db.clone(), statement.id).await;
    assert!(
        after_kill < lines as u64,
        "the kill came too late to test anything ({after_kill} lines)"
    );
    assert!(after_kill >= partial);
    let st = entity::statement::Entity::find_by_id(statement.id)
        .one(&app.state.db)
        .await
        .expect("query")
        .expect("statement");
    assert_eq!(st.status, "parsing", "left mid-file");

    // The retried job (the queue runs it again; here it is run directly, like a worker would).
    workers::perform(
        &app.state.job_context(),
        &workers::Job::ParseStatement {
            statement_id: statement.id,
        },
    )
    .await
    .expect("retry");
    let done = app.wait_for_statement(&l.token, &gid).await;
    assert_eq!(done["status"], "PARSED");
    assert_eq!(done["lineCount"], lines as i64);
    let expected = domain::money::decimal_from_nanos(i64::try_from(expected_total).expect("fits"));
    assert_eq!(
        done["totals"][0]["amount"]["amount"],
        domain::money::Money::new(
            i64::try_from(expected_total).expect("fits"),
            domain::money::Currency::parse("USD").expect("usd")
        )
        .to_decimal_string(),
        "total {expected}"
    );
    assert!(
        done["warnings"].as_array().expect("warnings").is_empty(),
        "a retry is not an overlap: {done}"
    );
    // A third run changes nothing.
    workers::perform(
        &app.state.job_context(),
        &workers::Job::ParseStatement {
            statement_id: statement.id,
        },
    )
    .await
    .expect("again");
    assert_eq!(
        count(app.state.db.clone(), statement.id).await,
        lines as u64
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_killed_mid_file_sqlite() {
    kill_and_retry(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_killed_mid_file_postgres() {
    kill_and_retry(Backend::Postgres).await;
}

/// `statementProgress` over graphql-ws: the current state first, then each step to the end.
async fn progress_subscription(backend: Backend) {
    use futures::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;

    let Some(app) = TestApp::spawn_with(backend, false).await else {
        return;
    };
    let l = label(&app, "live@label.test").await;
    let upload = app
        .upload_statement(
            &l.token,
            &l.org,
            "live.tsv",
            distrokid(&[MATCHED_1, MATCHED_2]),
        )
        .await;
    let id = statement_id(&upload);

    let url = app.base_url.replace("http://", "ws://") + "/graphql/ws";
    let mut request = url.into_client_request().expect("request");
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().expect("header"),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("websocket");
    let send = |v: Value| Message::Text(v.to_string().into());
    socket.send(send(json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {}", l.token)}}))).await.expect("init");
    let ack = loop {
        let message = tokio::time::timeout(Duration::from_secs(30), socket.next())
            .await
            .expect("in time")
            .expect("open")
            .expect("frame");
        if let Message::Text(text) = message {
            break serde_json::from_str::<Value>(&text).expect("json");
        }
    };
    assert_eq!(ack["type"], "connection_ack");
    socket
        .send(send(json!({"id": "1", "type": "subscribe", "payload": {"query": "subscription($id: ID!) { statementProgress(statementId: $id) { status lineCount } }", "variables": {"id": id}}})))
        .await
        .expect("subscribe");
    let mut statuses = Vec::new();
    let mut first = true;
    loop {
        let message = tokio::time::timeout(Duration::from_secs(30), socket.next())
            .await
            .expect("in time")
            .expect("open")
            .expect("frame");
        let Message::Text(text) = message else {
            continue;
        };
        let value: Value = serde_json::from_str(&text).expect("json");
        match value["type"].as_str() {
            Some("next") => {
                statuses.push(value["payload"]["data"]["statementProgress"].clone());
                if first {
                    first = false;
                    // Subscribed: now let the worker run the job.
                    let ctx = app.state.job_context();
                    let row = <entity::statement::Entity as sea_orm::EntityTrait>::find()
                        .one(&app.state.db)
                        .await
                        .expect("query")
                        .expect("statement");
                    tokio::spawn(async move {
                        workers::perform(
                            &ctx,
                            &workers::Job::ParseStatement {
                                statement_id: row.id,
                            },
                        )
                        .await
                        .expect("parse");
                    });
                }
            }
            Some("complete") => break,
            other => panic!("unexpected message {other:?}: {value}"),
        }
    }
    assert_eq!(
        statuses.first(),
        Some(&json!({"status": "UPLOADED", "lineCount": 0}))
    );
    assert_eq!(
        statuses.last(),
        Some(&json!({"status": "PARSED", "lineCount": 2}))
    );
    assert!(
        statuses.iter().any(|s| s["status"] == "PARSING"),
        "{statuses:?}"
    );

    // Another organisation's member cannot read it: to her it does not exist.
    let outsider = app.sign_up("nosy@elsewhere.test").await;
    let denied = app
        .graphql(
            Some(&outsider),
            "query($id: ID!) { statement(id: $id) { id } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(denied["errors"][0]["extensions"]["code"], "NOT_FOUND");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statement_progress_over_graphql_ws_sqlite() {
    progress_subscription(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statement_progress_over_graphql_ws_postgres() {
    progress_subscription(Backend::Postgres).await;
}
