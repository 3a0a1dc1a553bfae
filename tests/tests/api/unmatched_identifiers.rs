//! `Statement.unmatchedIdentifiers`: a statement's unmatched lines grouped by identifier, with
//! exact totals and the organisation's look-alike tracks; matched from a group in one call; and
//! never shown to another organisation or to an artist member.

use serde_json::{Value, json};
use tests::fixtures::distrokid;
use tests::{TestApp, on_every_backend};

const KNOWN: &str =
    "2025-03-05|2025-01|Spotify|Ada Vesper|Harbour Lights|USAB12400001||120|100|Song|US|0|1.25";
// Two lines of an ISRC one typo away from "Salt & Static" (QZXYZ2500078), under a title that
// does not match it either.
const TYPO_1: &str = "2025-03-05|2025-01|Deezer|Ada Vesper|Salt & Static (Radio Edit)|QZXYZ2500077||40|100|Song|FR|0|2.50";
const TYPO_2: &str = "2025-03-05|2025-01|Tidal|Ada Vesper|Salt & Static (Radio Edit)|QZXYZ2500077||4|100|Song|SE|0|0.000000001";
// Three lines of an ISRC nothing looks like, summing past a nano-unit carry.
const STRANGER_1: &str =
    "2025-03-05|2025-01|Spotify|Somebody|Far Away|GBXXX9900001||1|100|Song|GB|0|0.999999999";
const STRANGER_2: &str =
    "2025-03-05|2025-01|Spotify|Somebody|Far Away|GBXXX9900001||1|100|Song|DE|0|0.000000001";
const STRANGER_3: &str =
    "2025-03-05|2025-01|Spotify|Somebody|Far Away|GBXXX9900001||1|100|Song|US|0|-0.5";

const GROUPS: &str = "query($id: ID!, $first: Int, $after: String) { statement(id: $id) { unmatchedCount \
    unmatchedIdentifiers(first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } \
      nodes { kind identifier isrc upc title artistName lineCount revenue { amount currency } \
        suggestions { score reason track { id title isrc } } } } } }";

struct Label {
    token: String,
    org: String,
    artist: String,
    harbour: String,
    salt: String,
}

async fn label(app: &TestApp, email: &str) -> Label {
    let token = app.sign_up(email).await;
    let org = app.create_organization(&token, "Queue Records").await;
    let artist = app.create_artist(&token, &org, "Ada Vesper").await;
    let release = app.create_release(&token, &artist, "Night Ferry").await;
    let mut ids = Vec::new();
    for (title, isrc) in [
        ("Harbour Lights", "USAB12400001"),
        ("Salt & Static", "QZXYZ2500078"),
    ] {
        ids.push(app.add_track(&token, &release, title, isrc).await);
    }
    Label {
        token,
        org,
        artist,
        harbour: ids[0].clone(),
        salt: ids[1].clone(),
    }
}

async fn upload(app: &TestApp, l: &Label, rows: &[&str]) -> String {
    let upload = app
        .upload_statement(&l.token, &l.org, "dk.tsv", distrokid(rows))
        .await;
    let id = upload["data"]["uploadStatement"]["statement"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{upload}"))
        .to_owned();
    app.wait_for_statement(&l.token, &id).await;
    id
}

fn nodes(data: &Value) -> Vec<Value> {
    data["statement"]["unmatchedIdentifiers"]["nodes"]
        .as_array()
        .cloned()
        .unwrap_or_else(|| panic!("{data}"))
}

async fn grouped_with_totals_and_suggestions(app: TestApp) {
    let l = label(&app, "queue@label.test").await;
    let id = upload(
        &app,
        &l,
        &[KNOWN, TYPO_1, STRANGER_1, TYPO_2, STRANGER_2, STRANGER_3],
    )
    .await;
    let data = app
        .ok(Some(&l.token), GROUPS, json!({"id": id, "first": 10}))
        .await;
    assert_eq!(data["statement"]["unmatchedCount"], 5, "{data}");
    let groups = nodes(&data);
    assert_eq!(
        data["statement"]["unmatchedIdentifiers"]["totalCount"], 2,
        "{data}"
    );
    // Most lines first; each group's revenue is the exact sum of its lines.
    let stranger = &groups[0];
    assert_eq!(stranger["kind"], "ISRC");
    assert_eq!(stranger["identifier"], "GBXXX9900001");
    assert_eq!(stranger["title"], "Far Away");
    assert_eq!(stranger["lineCount"], 3);
    assert_eq!(stranger["revenue"]["amount"], "0.50", "{stranger}");
    assert_eq!(stranger["revenue"]["currency"], "USD");
    assert_eq!(stranger["suggestions"], json!([]), "{stranger}");
    let typo = &groups[1];
    assert_eq!(typo["identifier"], "QZXYZ2500077");
    assert_eq!(typo["lineCount"], 2);
    assert_eq!(typo["revenue"]["amount"], "2.500000001", "{typo}");
    let suggested = &typo["suggestions"][0];
    assert_eq!(suggested["track"]["id"], l.salt.as_str(), "{typo}");
    assert_eq!(suggested["reason"], "ISRC_ONE_TYPO");
    assert_eq!(suggested["score"], 90);
    // The other track only shares the artist: not suggested.
    assert!(
        typo["suggestions"]
            .as_array()
            .is_some_and(|s| s.iter().all(|s| s["track"]["id"] != l.harbour.as_str())),
        "{typo}"
    );

    // Paged by the connection's cursor.
    let first = app
        .ok(Some(&l.token), GROUPS, json!({"id": id, "first": 1}))
        .await;
    let page = &first["statement"]["unmatchedIdentifiers"];
    assert_eq!(page["pageInfo"]["hasNextPage"], true, "{first}");
    assert_eq!(nodes(&first).len(), 1);
    let next = app
        .ok(
            Some(&l.token),
            GROUPS,
            json!({"id": id, "first": 1, "after": page["pageInfo"]["endCursor"]}),
        )
        .await;
    assert_eq!(nodes(&next)[0]["identifier"], "QZXYZ2500077", "{next}");
    assert_eq!(
        next["statement"]["unmatchedIdentifiers"]["pageInfo"]["hasNextPage"],
        false
    );
    let bad = app
        .graphql(
            Some(&l.token),
            GROUPS,
            json!({"id": id, "first": 1, "after": "nonsense"}),
        )
        .await;
    assert_eq!(
        bad["errors"][0]["extensions"]["code"], "BAD_REQUEST",
        "{bad}"
    );

    // Matched in one click from the group: the group leaves the queue.
    let data = app.ok(Some(&l.token), "mutation($s: ID!, $i: String!, $t: ID!) { matchStatementLines(input: {statementId: $s, identifier: $i, trackId: $t}) { matchedLineCount userErrors { message } } }", json!({"s": id, "i": typo["identifier"], "t": suggested["track"]["id"]})).await;
    assert_eq!(data["matchStatementLines"]["matchedLineCount"], 2, "{data}");
    let data = app
        .ok(Some(&l.token), GROUPS, json!({"id": id, "first": 10}))
        .await;
    assert_eq!(
        data["statement"]["unmatchedIdentifiers"]["totalCount"], 1,
        "{data}"
    );
    assert_eq!(nodes(&data)[0]["identifier"], "GBXXX9900001");
}

async fn titles_without_identifiers_are_grouped_and_suggested(app: TestApp) {
    let l = label(&app, "titles@label.test").await;
    // No ISRC, no UPC: a misspelt title, twice, and another one.
    let id = upload(
        &app,
        &l,
        &[
            "2025-03-05|2025-01|Spotify|Ada Vesper|Harbor Lights|||1|100|Song|US|0|1.00",
            "2025-03-05|2025-01|Deezer|Ada Vesper|Harbor Lights|||1|100|Song|FR|0|2.00",
            "2025-03-05|2025-01|Deezer|Nobody|Quiet Thing|||1|100|Song|FR|0|4.00",
        ],
    )
    .await;
    let data = app
        .ok(Some(&l.token), GROUPS, json!({"id": id, "first": 10}))
        .await;
    let groups = nodes(&data);
    assert_eq!(groups.len(), 2, "{data}");
    let harbor = &groups[0];
    assert_eq!(harbor["kind"], "TITLE_ARTIST", "{harbor}");
    assert_eq!(harbor["identifier"], Value::Null);
    assert_eq!(harbor["title"], "Harbor Lights");
    assert_eq!(harbor["artistName"], "Ada Vesper");
    assert_eq!(harbor["lineCount"], 2);
    assert_eq!(harbor["revenue"]["amount"], "3.00", "{harbor}");
    assert_eq!(harbor["suggestions"][0]["track"]["id"], l.harbour.as_str());
    assert_eq!(harbor["suggestions"][0]["reason"], "TITLE_ARTIST");
    assert_eq!(groups[1]["title"], "Quiet Thing");
    assert_eq!(groups[1]["suggestions"], json!([]), "{data}");
}

async fn other_organisations_and_artists_see_no_lines(app: TestApp) {
    let l = label(&app, "owner@label.test").await;
    let id = upload(&app, &l, &[TYPO_1, STRANGER_1]).await;
    let own = app
        .ok(Some(&l.token), GROUPS, json!({"id": id, "first": 10}))
        .await;
    assert_eq!(nodes(&own).len(), 2, "{own}");

    // Another organisation's owner: the statement is as missing as one that does not exist.
    let stranger = app.sign_up("other@label.test").await;
    app.create_organization(&stranger, "Other Records").await;
    let denied = app
        .graphql(Some(&stranger), GROUPS, json!({"id": id, "first": 10}))
        .await;
    assert_eq!(
        denied["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{denied}"
    );
    assert!(denied["data"]["statement"].is_null(), "{denied}");
    assert!(!denied.to_string().contains("GBXXX9900001"), "{denied}");

    // An artist member of the same organisation: statements cover every artist.
    let ada = app
        .invite_member(
            &l.token,
            &l.org,
            "ada@label.test",
            "ARTIST",
            Some(&l.artist),
        )
        .await;
    let denied = app
        .graphql(Some(&ada), GROUPS, json!({"id": id, "first": 10}))
        .await;
    let code = &denied["errors"][0]["extensions"]["code"];
    assert!(code == "FORBIDDEN" || code == "NOT_FOUND", "{denied}");
    assert!(!denied.to_string().contains("GBXXX9900001"), "{denied}");
    assert!(!denied.to_string().contains("QZXYZ2500077"), "{denied}");
}

on_every_backend!(
    grouped_with_totals_and_suggestions,
    titles_without_identifiers_are_grouped_and_suggested,
    other_organisations_and_artists_see_no_lines,
);
