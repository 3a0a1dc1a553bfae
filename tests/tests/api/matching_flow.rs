//! Matching flows through to the money and the analytics: lines matched after a statement was
//! parsed (an identifier assigned, a track added later) are allocated and rolled up by jobs,
//! with nothing else to call.

use std::time::Duration;

use serde_json::{Value, json};
use tests::{TestApp, on_every_backend};

const TIMEOUT: Duration = Duration::from_secs(60);

use tests::fixtures::distrokid;

const KNOWN: &str =
    "2025-03-05|2025-01|Spotify|Ada Vesper|Harbour Lights|USAB12400001||120|100|Song|US|0|1.25";
const UNKNOWN_1: &str =
    "2025-03-05|2025-01|Deezer|Ada Vesper|Salt & Static|QZXYZ2500077||40|100|Song|FR|0|2.50";
const UNKNOWN_2: &str =
    "2025-03-05|2025-01|Tidal|Ada Vesper|Salt & Static|QZXYZ2500077||4|100|Song|SE|0|0.25";
const LATER: &str =
    "2025-04-05|2025-02|Spotify|Ada Vesper|Undertow|USAB12400009||10|100|Song|US|0|3.00";

struct Label {
    token: String,
    org: String,
    release: String,
    track: String,
    payee: String,
}

async fn label(app: &TestApp) -> Label {
    let token = app.sign_up("flow@label.test").await;
    let org = app.create_organization(&token, "Flow Records").await;
    let data = app.ok(Some(&token), "mutation($org: ID!) { createArtist(input: {organizationId: $org, name: \"Ada Vesper\"}) { artist { id payees { id } } } }", json!({"org": org})).await;
    let artist = data["createArtist"]["artist"]["id"]
        .as_str()
        .expect("artist")
        .to_owned();
    let payee = data["createArtist"]["artist"]["payees"][0]["id"]
        .as_str()
        .expect("payee")
        .to_owned();
    let data = app.ok(Some(&token), "mutation($id: ID!) { createRelease(input: {artistId: $id, title: \"Night Ferry\", releaseType: ALBUM}) { release { id } } }", json!({"id": artist})).await;
    let release = data["createRelease"]["release"]["id"]
        .as_str()
        .expect("release")
        .to_owned();
    let data = app.ok(Some(&token), "mutation($id: ID!) { addTrack(input: {releaseId: $id, title: \"Harbour Lights\", isrc: \"USAB12400001\"}) { track { id } } }", json!({"id": release})).await;
    let track = data["addTrack"]["track"]["id"]
        .as_str()
        .expect("track")
        .to_owned();
    let data = app.ok(Some(&token), "mutation($input: SetSplitInput!) { setSplit(input: $input) { split { id } userErrors { message } } }", json!({"input": {"releaseId": release, "effectiveFrom": "2020-01-01", "shares": [{"payeeId": payee, "share": "100"}]}})).await;
    assert!(data["setSplit"]["split"]["id"].is_string(), "{data}");
    Label {
        token,
        org,
        release,
        track,
        payee,
    }
}

const STATEMENT: &str = "query($id: ID!) { statement(id: $id) { status matchedCount unmatchedCount allocatedCount unallocatedCount } }";

/// Waits until the statement has `allocated` lines allocated and none unmatched.
async fn wait_allocated(app: &TestApp, l: &Label, statement: &str, allocated: i64) -> Value {
    app.eventually(TIMEOUT, || async {
        let data = app
            .ok(Some(&l.token), STATEMENT, json!({"id": statement}))
            .await;
        let st = data["statement"].clone();
        (st["allocatedCount"] == allocated && st["unmatchedCount"] == 0).then_some(st)
    })
    .await
}

async fn earned(app: &TestApp, l: &Label) -> String {
    let data = app
        .ok(
            Some(&l.token),
            "query($id: ID!) { node(id: $id) { ... on Payee { balances { earned { amount } } } } }",
            json!({"id": l.payee}),
        )
        .await;
    data["node"]["balances"][0]["earned"]["amount"]
        .as_str()
        .unwrap_or("0")
        .to_owned()
}

/// The lines with no track in the analytics of January 2025.
async fn trackless_lines(app: &TestApp, l: &Label) -> i64 {
    let data = app
        .ok(
            Some(&l.token),
            "query($org: ID!) { analytics(organizationId: $org, groupBy: [TRACK], first: 100) { rows { track { isrc } figures { lineCount } } } }",
            json!({"org": l.org}),
        )
        .await;
    data["analytics"]["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .filter(|r| r["track"].is_null())
        .map(|r| r["figures"]["lineCount"].as_i64().unwrap_or(0))
        .sum()
}

async fn matched_lines_are_allocated_and_rolled_up(app: TestApp) {
    let l = label(&app).await;
    let upload = app
        .upload_statement(
            &l.token,
            &l.org,
            "dk.tsv",
            distrokid(&[KNOWN, UNKNOWN_1, UNKNOWN_2]),
        )
        .await;
    let id = upload["data"]["uploadStatement"]["statement"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{upload}"))
        .to_owned();
    app.wait_for_statement(&l.token, &id).await;
    let st = app
        .eventually(TIMEOUT, || async {
            let data = app.ok(Some(&l.token), STATEMENT, json!({"id": id})).await;
            (data["statement"]["allocatedCount"] == 1).then(|| data["statement"].clone())
        })
        .await;
    assert_eq!(st["unmatchedCount"], 2, "{st}");
    assert_eq!(earned(&app, &l).await, "1.25");
    app.eventually(TIMEOUT, || async {
        (trackless_lines(&app, &l).await == 2).then_some(())
    })
    .await;

    // Assign the unknown ISRC: its two lines are allocated and rolled up, nothing else called.
    let data = app.ok(Some(&l.token), "mutation($s: ID!, $t: ID!) { matchStatementLines(input: {statementId: $s, identifier: \"QZXYZ2500077\", trackId: $t}) { matchedLineCount userErrors { message } } }", json!({"s": id, "t": l.track})).await;
    assert_eq!(data["matchStatementLines"]["matchedLineCount"], 2, "{data}");
    let st = wait_allocated(&app, &l, &id, 3).await;
    assert_eq!(st["unallocatedCount"], 0, "{st}");
    assert_eq!(earned(&app, &l).await, "4.00");
    app.eventually(TIMEOUT, || async {
        (trackless_lines(&app, &l).await == 0).then_some(())
    })
    .await;

    // A statement whose track is added afterwards: adding the track is enough.
    let upload = app
        .upload_statement(&l.token, &l.org, "dk-later.tsv", distrokid(&[LATER]))
        .await;
    let later = upload["data"]["uploadStatement"]["statement"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{upload}"))
        .to_owned();
    let st = app.wait_for_statement(&l.token, &later).await;
    assert_eq!(st["unmatchedCount"], 1, "{st}");
    app.ok(Some(&l.token), "mutation($id: ID!) { addTrack(input: {releaseId: $id, title: \"Undertow\", isrc: \"USAB12400009\"}) { track { id } } }", json!({"id": l.release})).await;
    wait_allocated(&app, &l, &later, 1).await;
    assert_eq!(earned(&app, &l).await, "7.00");

    // Matching again changes nothing twice.
    let data = app.ok(Some(&l.token), "mutation($s: ID!, $t: ID!) { matchStatementLines(input: {statementId: $s, identifier: \"QZXYZ2500077\", trackId: $t}) { matchedLineCount userErrors { message } } }", json!({"s": id, "t": l.track})).await;
    assert_eq!(data["matchStatementLines"]["matchedLineCount"], 0, "{data}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(earned(&app, &l).await, "7.00");
}

on_every_backend!(matched_lines_are_allocated_and_rolled_up);
