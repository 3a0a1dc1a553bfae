//! The authorization matrix: every role (and an outsider, an anonymous caller and a read-only
//! API key) against every query and mutation, each either allowed or refused: FORBIDDEN within
//! one's organisation, and for another organisation's (or artist's) objects exactly as for an
//! id of nothing.

use serde_json::{Value, json};
use tests::{TestApp, on_every_backend};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Caller {
    Owner,
    Admin,
    Manager,
    Viewer,
    /// Linked to artist A.
    Artist,
    Outsider,
    Anonymous,
    /// `read:catalogue` only.
    ReadKey,
}

const CALLERS: [Caller; 8] = [
    Caller::Owner,
    Caller::Admin,
    Caller::Manager,
    Caller::Viewer,
    Caller::Artist,
    Caller::Outsider,
    Caller::Anonymous,
    Caller::ReadKey,
];

struct Fixture {
    org: String,
    artist_a: String,
    artist_b: String,
    release_a: String,
    release_b: String,
    payee_b: String,
    tokens: Vec<(Caller, Option<String>)>,
}

async fn setup(app: &TestApp) -> Fixture {
    let owner = app.sign_up("owner@matrix.test").await;
    let org = app.create_organization(&owner, "Matrix Records").await;
    let mut ids = Vec::new();
    for name in ["Artist A", "Artist B"] {
        let data = app
            .ok(Some(&owner), "mutation($input: CreateArtistInput!) { createArtist(input: $input) { artist { id payees { id } } } }", json!({"input": {"organizationId": org, "name": name}}))
            .await;
        let artist = data["createArtist"]["artist"]["id"]
            .as_str()
            .expect("artist")
            .to_owned();
        let payee = data["createArtist"]["artist"]["payees"][0]["id"]
            .as_str()
            .expect("payee")
            .to_owned();
        let data = app
            .ok(Some(&owner), "mutation($input: CreateReleaseInput!) { createRelease(input: $input) { release { id } } }", json!({"input": {"artistId": artist, "title": format!("{name} LP"), "releaseType": "ALBUM"}}))
            .await;
        let release = data["createRelease"]["release"]["id"]
            .as_str()
            .expect("release")
            .to_owned();
        ids.push((artist, release, payee));
    }
    let (artist_a, release_a, _) = ids[0].clone();
    let (artist_b, release_b, payee_b) = ids[1].clone();
    let admin = app
        .invite_member(&owner, &org, "admin@matrix.test", "ADMIN", None)
        .await;
    let manager = app
        .invite_member(&owner, &org, "manager@matrix.test", "MANAGER", None)
        .await;
    let viewer = app
        .invite_member(&owner, &org, "viewer@matrix.test", "VIEWER", None)
        .await;
    let artist = app
        .invite_member(
            &owner,
            &org,
            "artist@matrix.test",
            "ARTIST",
            Some(&artist_a),
        )
        .await;
    let outsider = app.sign_up("outsider@elsewhere.test").await;
    app.create_organization(&outsider, "Elsewhere").await;
    let data = app
        .ok(Some(&owner), "mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret } }", json!({"input": {"organizationId": org, "name": "Partner", "scopes": ["READ_CATALOGUE"]}}))
        .await;
    let key = data["createApiKey"]["secret"]
        .as_str()
        .expect("secret")
        .to_owned();
    Fixture {
        org,
        artist_a,
        artist_b,
        release_a,
        release_b,
        payee_b,
        tokens: vec![
            (Caller::Owner, Some(owner)),
            (Caller::Admin, Some(admin)),
            (Caller::Manager, Some(manager)),
            (Caller::Viewer, Some(viewer)),
            (Caller::Artist, Some(artist)),
            (Caller::Outsider, Some(outsider)),
            (Caller::Anonymous, None),
            (Caller::ReadKey, Some(key)),
        ],
    }
}

struct Operation {
    name: &'static str,
    query: &'static str,
    variables: Value,
    allowed: &'static [Caller],
}

use Caller::*;

const MEMBERS_AND_KEY: &[Caller] = &[Owner, Admin, Manager, Viewer, Artist, ReadKey];
const READ_ALL: &[Caller] = &[Owner, Admin, Manager, Viewer, ReadKey];
const WRITERS: &[Caller] = &[Owner, Admin, Manager];
const ADMINS: &[Caller] = &[Owner, Admin];

fn operations(f: &Fixture) -> Vec<Operation> {
    vec![
        Operation {
            name: "organization",
            query: "query($id: ID!) { organization(id: $id) { name } }",
            variables: json!({"id": f.org}),
            allowed: MEMBERS_AND_KEY,
        },
        Operation {
            name: "organization.artists",
            query: "query($id: ID!) { organization(id: $id) { artists { totalCount } } }",
            variables: json!({"id": f.org}),
            allowed: MEMBERS_AND_KEY,
        },
        Operation {
            name: "organization.releases",
            query: "query($id: ID!) { organization(id: $id) { releases { totalCount } } }",
            variables: json!({"id": f.org}),
            allowed: MEMBERS_AND_KEY,
        },
        Operation {
            name: "organization.members",
            query: "query($id: ID!) { organization(id: $id) { members { totalCount } } }",
            variables: json!({"id": f.org}),
            allowed: READ_ALL,
        },
        Operation {
            name: "organization.apiKeys",
            query: "query($id: ID!) { organization(id: $id) { apiKeys { totalCount } } }",
            variables: json!({"id": f.org}),
            allowed: ADMINS,
        },
        Operation {
            name: "organization.auditLog",
            query: "query($id: ID!) { organization(id: $id) { auditLog { totalCount } } }",
            variables: json!({"id": f.org}),
            allowed: ADMINS,
        },
        Operation {
            name: "node(own artist)",
            query: "query($id: ID!) { node(id: $id) { id } }",
            variables: json!({"id": f.artist_a}),
            allowed: MEMBERS_AND_KEY,
        },
        Operation {
            name: "node(other artist)",
            query: "query($id: ID!) { node(id: $id) { id } }",
            variables: json!({"id": f.artist_b}),
            allowed: READ_ALL,
        },
        Operation {
            name: "node(own release)",
            query: "query($id: ID!) { node(id: $id) { id } }",
            variables: json!({"id": f.release_a}),
            allowed: MEMBERS_AND_KEY,
        },
        Operation {
            name: "node(other release)",
            query: "query($id: ID!) { node(id: $id) { id } }",
            variables: json!({"id": f.release_b}),
            allowed: READ_ALL,
        },
        Operation {
            name: "node(other payee)",
            query: "query($id: ID!) { node(id: $id) { id } }",
            variables: json!({"id": f.payee_b}),
            allowed: READ_ALL,
        },
        Operation {
            name: "createArtist",
            query: "mutation($org: ID!) { createArtist(input: {organizationId: $org, name: \"New\"}) { artist { id } } }",
            variables: json!({"org": f.org}),
            allowed: WRITERS,
        },
        Operation {
            name: "updateArtist",
            query: "mutation($id: ID!) { updateArtist(input: {artistId: $id, sortName: \"B, Artist\"}) { artist { id } } }",
            variables: json!({"id": f.artist_b}),
            allowed: WRITERS,
        },
        Operation {
            name: "createPayee",
            query: "mutation($org: ID!) { createPayee(input: {organizationId: $org, name: \"Guest\", kind: FEATURED}) { payee { id } } }",
            variables: json!({"org": f.org}),
            allowed: WRITERS,
        },
        Operation {
            name: "updatePayee",
            query: "mutation($id: ID!) { updatePayee(input: {payeeId: $id, payoutMethod: \"bank:1\"}) { payee { id } } }",
            variables: json!({"id": f.payee_b}),
            allowed: WRITERS,
        },
        Operation {
            name: "createAgreement",
            query: "mutation($id: ID!) { createAgreement(input: {artistId: $id, title: \"Deal\", masterOwner: LABEL, artistRevenueShare: \"50\", startsOn: \"2024-01-01\"}) { agreement { id } } }",
            variables: json!({"id": f.artist_b}),
            allowed: WRITERS,
        },
        Operation {
            name: "createRelease",
            query: "mutation($id: ID!) { createRelease(input: {artistId: $id, title: \"Single\", releaseType: SINGLE}) { release { id } } }",
            variables: json!({"id": f.artist_b}),
            allowed: WRITERS,
        },
        Operation {
            name: "updateRelease",
            query: "mutation($id: ID!) { updateRelease(input: {releaseId: $id, labelName: \"Matrix\"}) { release { id } } }",
            variables: json!({"id": f.release_b}),
            allowed: WRITERS,
        },
        Operation {
            name: "addTrack",
            query: "mutation($id: ID!) { addTrack(input: {releaseId: $id, title: \"Song\"}) { track { id } } }",
            variables: json!({"id": f.release_b}),
            allowed: WRITERS,
        },
        Operation {
            name: "setSplit",
            query: "mutation($id: ID!, $payee: ID!) { setSplit(input: {releaseId: $id, effectiveFrom: \"2024-01-01\", shares: [{payeeId: $payee, share: \"100\"}]}) { split { id } } }",
            variables: json!({"id": f.release_b, "payee": f.payee_b}),
            allowed: WRITERS,
        },
        Operation {
            name: "setReleaseStatus(other artist)",
            query: "mutation($id: ID!) { setReleaseStatus(input: {releaseId: $id, status: TAKEN_DOWN}) { release { id } } }",
            variables: json!({"id": f.release_b}),
            allowed: WRITERS,
        },
        Operation {
            name: "inviteMember",
            query: "mutation($org: ID!) { inviteMember(input: {organizationId: $org, email: \"new@matrix.test\", role: VIEWER}) { invitation { id } } }",
            variables: json!({"org": f.org}),
            allowed: ADMINS,
        },
        Operation {
            name: "createApiKey",
            query: "mutation($org: ID!) { createApiKey(input: {organizationId: $org, name: \"k\", scopes: [READ_ANALYTICS]}) { apiKey { id } } }",
            variables: json!({"org": f.org}),
            allowed: ADMINS,
        },
        Operation {
            name: "artistLeaves",
            query: "mutation($id: ID!) { artistLeaves(input: {artistId: $id}) { artist { id } } }",
            variables: json!({"id": f.artist_b}),
            allowed: WRITERS,
        },
    ]
}

async fn every_role_against_every_operation(app: TestApp) {
    let fixture = setup(&app).await;
    let mut mismatches = Vec::new();
    let mut checked = 0;
    for op in operations(&fixture) {
        for caller in CALLERS {
            let token = fixture
                .tokens
                .iter()
                .find(|(c, _)| *c == caller)
                .and_then(|(_, t)| t.clone());
            let response = app
                .graphql(token.as_deref(), op.query, op.variables.clone())
                .await;
            let code = response["errors"][0]["extensions"]["code"]
                .as_str()
                .unwrap_or("")
                .to_owned();
            let expect_allowed = op.allowed.contains(&caller);
            let first_field = response["data"]
                .as_object()
                .and_then(|d| d.values().next().cloned())
                .unwrap_or(Value::Null);
            // Hidden: answered as for an id of nothing (NOT_FOUND, or null without an error).
            let hidden = code == "NOT_FOUND" || (code.is_empty() && first_field.is_null());
            let refused = hidden || matches!(code.as_str(), "FORBIDDEN" | "UNAUTHENTICATED");
            let refused_as_expected = match caller {
                Anonymous => code == "UNAUTHENTICATED",
                // Another organisation's objects do not exist for an outsider: never FORBIDDEN,
                // which would tell her they do.
                Outsider => hidden,
                // Within the organisation: FORBIDDEN for what the role does not allow, hidden
                // for another artist's objects (for an artist member).
                _ => hidden || code == "FORBIDDEN",
            };
            checked += 1;
            if expect_allowed && refused {
                mismatches.push(format!(
                    "{} as {caller:?}: expected allowed, got {response}",
                    op.name
                ));
            } else if expect_allowed && response.get("errors").is_some() {
                mismatches.push(format!(
                    "{} as {caller:?}: unexpected error {}",
                    op.name, response["errors"]
                ));
            } else if !expect_allowed && !refused_as_expected {
                mismatches.push(format!(
                    "{} as {caller:?}: expected a refusal, got {response}",
                    op.name
                ));
            }
            if !expect_allowed {
                // A refusal never comes with the data.
                if !first_field.is_null() {
                    mismatches.push(format!(
                        "{} as {caller:?}: refused but returned data {first_field}",
                        op.name
                    ));
                }
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {checked} checks failed:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    assert_eq!(checked, 24 * CALLERS.len());
}

async fn artists_take_down_only_where_their_agreement_allows(app: TestApp) {
    let owner = app.sign_up("owner@takedown.test").await;
    let org = app.create_organization(&owner, "Takedown Records").await;
    let data = app.ok(Some(&owner), "mutation($org: ID!) { createArtist(input: {organizationId: $org, name: \"Lumen\"}) { artist { id } } }", json!({"org": org})).await;
    let artist = data["createArtist"]["artist"]["id"]
        .as_str()
        .expect("artist")
        .to_owned();
    let data = app.ok(Some(&owner), "mutation($id: ID!) { createRelease(input: {artistId: $id, title: \"Paper Suns\", releaseType: SINGLE, upc: \"036000291452\", releaseDate: \"2024-05-01\"}) { release { id } } }", json!({"id": artist})).await;
    let release = data["createRelease"]["release"]["id"]
        .as_str()
        .expect("release")
        .to_owned();
    app.ok(Some(&owner), "mutation($id: ID!) { addTrack(input: {releaseId: $id, title: \"Paper Suns\", isrc: \"QZABC2400001\"}) { track { id } } }", json!({"id": release})).await;
    app.ok(Some(&owner), "mutation($id: ID!) { setReleaseStatus(input: {releaseId: $id, status: LIVE}) { release { status } } }", json!({"id": release})).await;
    let agreement = app.ok(Some(&owner), "mutation($id: ID!) { createAgreement(input: {artistId: $id, title: \"Deal\", masterOwner: ARTIST, artistRevenueShare: \"70\", startsOn: \"2024-01-01\"}) { agreement { id } } }", json!({"id": artist})).await;
    let agreement = agreement["createAgreement"]["agreement"]["id"]
        .as_str()
        .expect("agreement")
        .to_owned();
    let artist_token = app
        .invite_member(&owner, &org, "lumen@takedown.test", "ARTIST", Some(&artist))
        .await;

    let take_down = "mutation($id: ID!, $s: ReleaseStatus!) { setReleaseStatus(input: {releaseId: $id, status: $s}) { release { status } userErrors { code message } } }";
    let refused = app
        .ok(
            Some(&artist_token),
            take_down,
            json!({"id": release, "s": "TAKEN_DOWN"}),
        )
        .await;
    assert_eq!(
        refused["setReleaseStatus"]["userErrors"][0]["code"],
        "NOT_ALLOWED"
    );
    assert!(refused["setReleaseStatus"]["release"].is_null());

    app.ok(Some(&owner), "mutation($id: ID!) { updateAgreement(input: {agreementId: $id, artistMayTakeDown: true}) { agreement { artistMayTakeDown } } }", json!({"id": agreement})).await;
    let other_move = app
        .graphql(
            Some(&artist_token),
            take_down,
            json!({"id": release, "s": "SCHEDULED"}),
        )
        .await;
    assert_eq!(
        other_move["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "artists only take down"
    );
    let done = app
        .ok(
            Some(&artist_token),
            take_down,
            json!({"id": release, "s": "TAKEN_DOWN"}),
        )
        .await;
    assert_eq!(done["setReleaseStatus"]["release"]["status"], "TAKEN_DOWN");
}

on_every_backend!(
    every_role_against_every_operation,
    artists_take_down_only_where_their_agreement_allows
);
