//! The leaks found by trying Imprint as an artist member, a narrow API key and an outsider,
//! each closed: an object reached by any path is released only if the caller could fetch it
//! directly, personal details need `read_personal`, scopes grant exactly what they name, and
//! another organisation's or artist's id answers as an id of nothing.

use serde_json::{Value, json};
use tests::{TestApp, on_every_backend};

/// Juniper's contract; each artist's document is `…/<name>-SECRET-DOC`.
const SECRET_DOC: &str = "https://contracts.example/Juniper-SECRET-DOC";
const SECRET_EMAIL: &str = "producer-secret@mail.test";
const SECRET_METHOD: &str = "IBAN FR76 SECRET METHOD";

struct Label {
    owner: String,
    org: String,
    ada: String,
    juniper: String,
    release: String,
    producer: String,
    ada_payee: String,
}

fn id(data: &Value, path: &[&str]) -> String {
    let mut v = data;
    for p in path {
        v = &v[*p];
    }
    v.as_str()
        .unwrap_or_else(|| panic!("no {path:?} in {data}"))
        .to_owned()
}

async fn key(app: &TestApp, l: &Label, scopes: &[&str]) -> String {
    let data = app
        .ok(
            Some(&l.owner),
            "mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret } }",
            json!({"input": {"organizationId": l.org, "name": "Partner", "scopes": scopes}}),
        )
        .await;
    id(&data, &["createApiKey", "secret"])
}

/// Ada's release, featuring Juniper, split with Ada, Juniper and a producer; both artists with
/// an agreement whose document is secret.
async fn label(app: &TestApp) -> Label {
    let owner = app.sign_up("owner@paths.test").await;
    let org = app.create_organization(&owner, "Paths Records").await;
    let mut artists = Vec::new();
    for name in ["Ada", "Juniper"] {
        let data = app
            .ok(Some(&owner), "mutation($input: CreateArtistInput!) { createArtist(input: $input) { artist { id payees { id } } } }", json!({"input": {"organizationId": org, "name": name}}))
            .await;
        let artist = id(&data, &["createArtist", "artist", "id"]);
        let payee = data["createArtist"]["artist"]["payees"][0]["id"]
            .as_str()
            .expect("payee")
            .to_owned();
        app.ok(Some(&owner), "mutation($input: CreateAgreementInput!) { createAgreement(input: $input) { agreement { id } userErrors { message } } }", json!({"input": {"artistId": artist, "title": format!("{name} deal"), "masterOwner": "LABEL", "artistRevenueShare": "50", "startsOn": "2024-01-01", "documentUrl": format!("https://contracts.example/{name}-SECRET-DOC")}}))
            .await;
        artists.push((artist, payee));
    }
    let (ada, ada_payee) = artists[0].clone();
    let (juniper, juniper_payee) = artists[1].clone();
    let data = app
        .ok(Some(&owner), "mutation($input: CreatePayeeInput!) { createPayee(input: $input) { payee { id } userErrors { message } } }", json!({"input": {"organizationId": org, "name": "Pat Producer", "kind": "PRODUCER", "email": SECRET_EMAIL, "payoutMethod": SECRET_METHOD}}))
        .await;
    let producer = id(&data, &["createPayee", "payee", "id"]);
    app.ok(Some(&owner), "mutation($input: UpdatePayeeInput!) { updatePayee(input: $input) { userErrors { message } } }", json!({"input": {"payeeId": juniper_payee, "email": "juniper-secret@mail.test", "payoutMethod": SECRET_METHOD}}))
        .await;
    let data = app
        .ok(Some(&owner), "mutation($input: CreateReleaseInput!) { createRelease(input: $input) { release { id } } }", json!({"input": {"artistId": ada, "title": "Harbour", "releaseType": "SINGLE"}}))
        .await;
    let release = id(&data, &["createRelease", "release", "id"]);
    app.ok(Some(&owner), "mutation($input: AddTrackInput!) { addTrack(input: $input) { track { id } userErrors { message } } }", json!({"input": {"releaseId": release, "title": "Harbour", "artists": [{"artistId": ada, "role": "PRIMARY"}, {"artistId": juniper, "role": "FEATURED"}]}}))
        .await;
    let data = app
        .ok(Some(&owner), "mutation($input: SetSplitInput!) { setSplit(input: $input) { split { id } userErrors { message } } }", json!({"input": {"releaseId": release, "effectiveFrom": "2024-01-01", "shares": [{"payeeId": ada_payee, "share": "50"}, {"payeeId": juniper_payee, "share": "30"}, {"payeeId": producer, "share": "20"}]}}))
        .await;
    assert!(data["setSplit"]["split"]["id"].is_string(), "{data}");
    Label {
        owner,
        org,
        ada,
        juniper,
        release,
        producer,
        ada_payee,
    }
}

fn assert_hides(response: &Value, secrets: &[&str], who: &str) {
    let text = response["data"].to_string();
    for secret in secrets {
        assert!(!text.contains(secret), "{who} read {secret}: {response}");
    }
}

/// An artist member reaches neither the featured artist's contract nor a co-payee's email and
/// bank details through her own release; she sees who shares, by name and role.
async fn an_artist_reads_her_release_not_her_collaborators_secrets(app: TestApp) {
    let l = label(&app).await;
    let ada = app
        .invite_member(&l.owner, &l.org, "ada@paths.test", "ARTIST", Some(&l.ada))
        .await;
    let query = "query($id: ID!) { node(id: $id) { ... on Release { title tracks { artists { name role artist { id name agreements { documentUrl artistRevenueShare advance { amount } } payees { email payoutMethod } } } } splits { shares { share payeeName payeeKind payee { id name email payoutMethod balances { earned { amount } } } } } } } }";
    let response = app
        .graphql(Some(&ada), query, json!({"id": l.release}))
        .await;
    assert_eq!(response["data"]["node"]["title"], "Harbour", "{response}");
    assert_hides(
        &response,
        &[SECRET_DOC, SECRET_EMAIL, SECRET_METHOD, "juniper-secret"],
        "Ada",
    );
    let credits = &response["data"]["node"]["tracks"][0]["artists"];
    let featured = credits
        .as_array()
        .and_then(|c| c.iter().find(|c| c["role"] == "FEATURED"))
        .unwrap_or_else(|| panic!("{response}"));
    assert_eq!(featured["name"], "Juniper");
    assert!(featured["artist"].is_null(), "{featured}");
    let shares = response["data"]["node"]["splits"][0]["shares"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let names: Vec<&str> = shares
        .iter()
        .filter_map(|s| s["payeeName"].as_str())
        .collect();
    assert_eq!(names, ["Ada", "Juniper", "Pat Producer"], "{response}");
    assert_eq!(shares[2]["payeeKind"], "PRODUCER");
    for share in &shares[1..] {
        assert!(share["payee"].is_null(), "a co-payee's object: {share}");
    }
    assert_eq!(shares[0]["payee"]["id"], l.ada_payee.as_str());

    // Her own payee's details are hers to read.
    let own = app
        .ok(
            Some(&ada),
            "query($id: ID!) { node(id: $id) { ... on Payee { email payoutMethod } } }",
            json!({"id": l.ada_payee}),
        )
        .await;
    assert!(own["node"].is_object(), "{own}");
    // Another artist's or the label's objects are as ids of nothing.
    for other in [&l.juniper, &l.producer] {
        let response = app
            .graphql(
                Some(&ada),
                "query($id: ID!) { node(id: $id) { id } }",
                json!({"id": other}),
            )
            .await;
        assert_eq!(response, json!({"data": {"node": null}}));
    }
}

/// A viewer sees names and figures, not payees' or members' contact details.
async fn a_viewer_sees_names_not_contact_details(app: TestApp) {
    let l = label(&app).await;
    let viewer = app
        .invite_member(&l.owner, &l.org, "viewer@paths.test", "VIEWER", None)
        .await;
    let response = app
        .graphql(
            Some(&viewer),
            "query($id: ID!) { organization(id: $id) { payees { edges { node { name email payoutMethod } } } members { edges { node { role user { name email } } } } } }",
            json!({"id": l.org}),
        )
        .await;
    assert_hides(
        &response,
        &[SECRET_EMAIL, SECRET_METHOD, "owner@paths.test"],
        "a viewer",
    );
    let payees = &response["data"]["organization"]["payees"]["edges"];
    assert!(
        payees
            .as_array()
            .is_some_and(|p| p.iter().any(|e| e["node"]["name"] == "Pat Producer")),
        "{response}"
    );
    let codes: Vec<&str> = response["errors"]
        .as_array()
        .map(|e| {
            e.iter()
                .filter_map(|e| e["extensions"]["code"].as_str())
                .collect()
        })
        .unwrap_or_default();
    assert!(
        !codes.is_empty() && codes.iter().all(|c| *c == "FORBIDDEN"),
        "{response}"
    );
    // A manager reads them.
    let manager = app
        .invite_member(&l.owner, &l.org, "manager@paths.test", "MANAGER", None)
        .await;
    let response = app
        .ok(
            Some(&manager),
            "query($id: ID!) { node(id: $id) { ... on Payee { email payoutMethod } } }",
            json!({"id": l.producer}),
        )
        .await;
    assert_eq!(response["node"]["email"], SECRET_EMAIL);
}

/// `read:analytics` reads figures and the names beside them, never the catalogue behind them.
async fn an_analytics_key_reads_figures_not_contracts(app: TestApp) {
    let l = label(&app).await;
    let analytics = key(&app, &l, &["READ_ANALYTICS"]).await;
    let response = app
        .graphql(
            Some(&analytics),
            "query($id: ID!) { rosterOverview(organizationId: $id) { artists { artistName artist { name agreements { documentUrl } payees { email payoutMethod } } } } organization(id: $id) { payees { edges { node { email payoutMethod } } } } }",
            json!({"id": l.org}),
        )
        .await;
    assert_hides(
        &response,
        &[SECRET_DOC, SECRET_EMAIL, SECRET_METHOD],
        "read:analytics",
    );
    assert!(response["data"]["rosterOverview"].is_object(), "{response}");
    let payees = &response["data"]["organization"]["payees"];
    assert!(payees.is_null(), "{response}");
}

/// A scope grants what it names: a statements key neither splits nor runs payouts; a payouts
/// key neither splits nor approves or pays.
async fn scopes_grant_exactly_what_they_name(app: TestApp) {
    let l = label(&app).await;
    let statements = key(&app, &l, &["WRITE_STATEMENTS"]).await;
    let payouts = key(&app, &l, &["WRITE_PAYOUTS"]).await;
    let split = "mutation($input: SetSplitInput!) { setSplit(input: $input) { split { id } userErrors { message } } }";
    let split_input = json!({"input": {"releaseId": l.release, "effectiveFrom": "2025-01-01", "shares": [{"payeeId": l.ada_payee, "share": "100"}]}});
    let create = "mutation($org: ID!) { createPayoutRun(input: {organizationId: $org, periodEnd: \"2025-12-31\"}) { payoutRun { id } userErrors { message } } }";
    for token in [&statements, &payouts] {
        let response = app.graphql(Some(token), split, split_input.clone()).await;
        assert_eq!(
            response["errors"][0]["extensions"]["code"], "FORBIDDEN",
            "{response}"
        );
    }
    let response = app
        .graphql(Some(&statements), create, json!({"org": l.org}))
        .await;
    assert_eq!(
        response["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{response}"
    );
    // The payouts key creates the run, then may neither approve nor pay it.
    let data = app.ok(Some(&payouts), create, json!({"org": l.org})).await;
    let run = id(&data, &["createPayoutRun", "payoutRun", "id"]);
    for mutation in [
        "mutation($id: ID!) { approvePayoutRun(input: {payoutRunId: $id}) { payoutRun { id } } }",
        "mutation($id: ID!) { markPayoutRunPaid(input: {payoutRunId: $id, payments: []}) { payoutRun { id } } }",
    ] {
        let response = app
            .graphql(Some(&payouts), mutation, json!({"id": run}))
            .await;
        assert_eq!(
            response["errors"][0]["extensions"]["code"], "FORBIDDEN",
            "{mutation}: {response}"
        );
    }
    let response = app
        .graphql(
            Some(&statements),
            "mutation($id: ID!) { cancelPayoutRun(input: {payoutRunId: $id}) { payoutRun { id } } }",
            json!({"id": run}),
        )
        .await;
    assert_eq!(
        response["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{response}"
    );
}

/// Another organisation's id answers exactly as an id of nothing, in roots and mutations.
async fn foreign_ids_are_ids_of_nothing(app: TestApp) {
    let l = label(&app).await;
    let stranger = app.sign_up("stranger@paths.test").await;
    app.create_organization(&stranger, "Elsewhere").await;
    let nothing = api::graphql::ids::encode(api::graphql::ids::Kind::Release, 987_654).to_string();
    let nothing_org =
        api::graphql::ids::encode(api::graphql::ids::Kind::Organization, 987_654).to_string();
    let cases = [
        (
            "query($id: ID!) { node(id: $id) { id } }",
            &l.release,
            &nothing,
        ),
        (
            "query($id: ID!) { organization(id: $id) { name } }",
            &l.org,
            &nothing_org,
        ),
        (
            "mutation($id: ID!) { updateRelease(input: {releaseId: $id, title: \"Mine\"}) { release { id } } }",
            &l.release,
            &nothing,
        ),
        (
            "mutation($id: ID!) { createArtist(input: {organizationId: $id, name: \"Mine\"}) { artist { id } } }",
            &l.org,
            &nothing_org,
        ),
        (
            "query($id: ID!) { rosterOverview(organizationId: $id) { totals { quantity } } }",
            &l.org,
            &nothing_org,
        ),
    ];
    for (query, real, missing) in cases {
        let foreign = app
            .graphql(Some(&stranger), query, json!({"id": real}))
            .await;
        let absent = app
            .graphql(Some(&stranger), query, json!({"id": missing}))
            .await;
        let strip = |v: &Value| {
            let mut v = v.clone();
            if let Some(errors) = v["errors"].as_array_mut() {
                for e in errors {
                    e.as_object_mut().map(|o| o.remove("locations"));
                }
            }
            v
        };
        assert_eq!(strip(&foreign), strip(&absent), "{query}");
        assert_ne!(
            foreign["errors"][0]["extensions"]["code"], "FORBIDDEN",
            "{foreign}"
        );
    }
}

/// `node` of a payout run that does not pay the artist is hidden from her, as in her list.
async fn an_artist_sees_only_the_runs_that_pay_her(app: TestApp) {
    let l = label(&app).await;
    let juniper = app
        .invite_member(
            &l.owner,
            &l.org,
            "juniper@paths.test",
            "ARTIST",
            Some(&l.juniper),
        )
        .await;
    let data = app
        .ok(Some(&l.owner), "mutation($org: ID!) { createPayoutRun(input: {organizationId: $org, periodEnd: \"2025-12-31\"}) { payoutRun { id } userErrors { message } } }", json!({"org": l.org}))
        .await;
    let run = id(&data, &["createPayoutRun", "payoutRun", "id"]);
    let listed = app
        .ok(
            Some(&juniper),
            "query($id: ID!) { organization(id: $id) { payoutRuns { totalCount } } }",
            json!({"id": l.org}),
        )
        .await;
    let count = listed["organization"]["payoutRuns"]["totalCount"]
        .as_u64()
        .unwrap_or(99);
    let node = app
        .ok(
            Some(&juniper),
            "query($id: ID!) { node(id: $id) { id } }",
            json!({"id": run}),
        )
        .await;
    // Nothing was earned, so the run pays nobody: neither the list nor node shows it to her.
    assert_eq!(count, 0, "{listed}");
    assert!(node["node"].is_null(), "{node}");
}

on_every_backend!(
    an_artist_reads_her_release_not_her_collaborators_secrets,
    a_viewer_sees_names_not_contact_details,
    an_analytics_key_reads_figures_not_contracts,
    scopes_grant_exactly_what_they_name,
    foreign_ids_are_ids_of_nothing,
    an_artist_sees_only_the_runs_that_pay_her,
);
