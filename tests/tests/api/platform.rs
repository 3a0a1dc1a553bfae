//! The platform around the schema: health, readiness, metrics, GraphiQL, limits, the SDL snapshot.

use serde_json::json;
use tests::{TestApp, on_every_backend};

#[test]
fn checked_in_schema_matches_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../api/schema.graphql");
    let checked_in = std::fs::read_to_string(path).expect("api/schema.graphql is checked in");
    let current = api::graphql::sdl();
    assert!(
        checked_in == current,
        "api/schema.graphql is stale: run `cargo run --bin imprint -- schema > api/schema.graphql` and review the diff"
    );
}

async fn health_readiness_and_metrics(app: TestApp) {
    let health = app
        .client
        .get(format!("{}/healthz", app.base_url))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status(), 200);
    let ready = app
        .client
        .get(format!("{}/readyz", app.base_url))
        .send()
        .await
        .expect("readyz");
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = ready.json().await.expect("json");
    assert_eq!(
        body,
        json!({"database": "ok", "queue": "ok", "events": "ok", "files": "ok"})
    );

    app.graphql(None, "{ viewer { user { id } } }", json!({}))
        .await;
    let metrics = app
        .client
        .get(format!("{}/metrics", app.base_url))
        .send()
        .await
        .expect("metrics");
    let text = metrics.text().await.expect("text");
    assert!(
        text.contains("imprint_http_requests_total{route=\"/graphql\",status=\"200\"}"),
        "{text}"
    );

    let graphiql = app
        .client
        .get(format!("{}/graphql", app.base_url))
        .send()
        .await
        .expect("graphiql");
    assert_eq!(graphiql.status(), 200);
    assert!(graphiql.text().await.expect("html").contains("graphiql"));
}

async fn abusive_queries_are_refused(app: TestApp) {
    let token = app.sign_up("deep@label.test").await;
    let org = app.create_organization(&token, "Deep Records").await;
    // Artist → releases → artist → releases … past the depth limit.
    let query = String::from(
        "query($id: ID!) { organization(id: $id) { releases { edges { node { artist { releases { edges { node { artist { releases { edges { node { id } } } } } } } } } } } } }",
    );
    let response = app.graphql(Some(&token), &query, json!({"id": org})).await;
    let message = response["errors"][0]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(message.contains("nested too deep"), "{response}");
    assert!(response["data"].is_null());
    // Malformed input is a GraphQL error, not a 500.
    let response = app
        .graphql(
            Some(&token),
            "mutation { createArtist(input: {organizationId: 5, name: \"x\"}) { artist { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(response["errors"][0]["extensions"]["code"], "NOT_FOUND");
}

on_every_backend!(health_readiness_and_metrics, abusive_queries_are_refused);

/// A nested query costs a fixed number of SQL statements, however many rows it returns: every
/// relation goes through a DataLoader.
async fn nested_queries_are_not_n_plus_one(app: TestApp) {
    let token = app.sign_up("loaders@label.test").await;
    let org = app.create_organization(&token, "Loader Records").await;
    let query = "query($id: ID!) { organization(id: $id) { releases(first: 50) { edges { node { title artist { name profiles { store } agreements { title } } tracks { isrc artists { role artist { name } } effectiveSplit { shares { share payee { name } } } } splits { shares { payee { name } } } } } } } }";
    let mut counts = Vec::new();
    let mut n = 0;
    for round in 0..2 {
        // Round 0: 1 artist × 1 release × 2 tracks; round 1: 4 more artists, 8 more releases.
        let artists = if round == 0 { 1 } else { 4 };
        for _ in 0..artists {
            n += 1;
            let data = app.ok(Some(&token), "mutation($org: ID!, $name: String!) { createArtist(input: {organizationId: $org, name: $name, profiles: [{store: SPOTIFY}]}) { artist { id payees { id } } } }", json!({"org": org, "name": format!("Artist {n}")})).await;
            let artist = data["createArtist"]["artist"]["id"]
                .as_str()
                .expect("artist")
                .to_owned();
            let payee = data["createArtist"]["artist"]["payees"][0]["id"]
                .as_str()
                .expect("payee")
                .to_owned();
            for r in 0..if round == 0 { 1 } else { 2 } {
                let data = app.ok(Some(&token), "mutation($id: ID!, $t: String!) { createRelease(input: {artistId: $id, title: $t, releaseType: EP}) { release { id } } }", json!({"id": artist, "t": format!("EP {n}-{r}")})).await;
                let release = data["createRelease"]["release"]["id"]
                    .as_str()
                    .expect("release")
                    .to_owned();
                for t in 0..2 {
                    app.ok(Some(&token), "mutation($id: ID!, $isrc: String!) { addTrack(input: {releaseId: $id, title: \"T\", isrc: $isrc}) { track { id } } }", json!({"id": release, "isrc": format!("QZLDR25{n:02}{r}{t:02}")})).await;
                }
                app.ok(Some(&token), "mutation($id: ID!, $p: ID!) { setSplit(input: {releaseId: $id, effectiveFrom: \"2024-01-01\", shares: [{payeeId: $p, share: \"100\"}]}) { split { id } } }", json!({"id": release, "p": payee})).await;
            }
        }
        let before = app.state.query_count();
        let data = app.ok(Some(&token), query, json!({"id": org})).await;
        counts.push(app.state.query_count() - before);
        let releases = data["organization"]["releases"]["edges"]
            .as_array()
            .map_or(0, Vec::len);
        assert_eq!(releases, if round == 0 { 1 } else { 9 });
    }
    // A DataLoader batches what arrives within one tick, so a relation may now and then take two
    // batches; what must not happen is a statement per row (9 releases, 18 tracks here).
    assert!(
        counts[1] <= counts[0] + 4,
        "SQL statements for 1 release vs 9 releases: {counts:?}"
    );
    assert!(
        counts[1] <= 24,
        "an N+1 would be 60 or more here: {counts:?}"
    );
}

on_every_backend!(nested_queries_are_not_n_plus_one);
